#include "fool/io/genome_json.h"

#include "fool/encoding/cppn.h"
#include "fool/util/error.h"

namespace fool {
namespace {

constexpr const char* kInputNames[kCppnInputs] = {"x", "y", "d", "bias"};

[[noreturn]] void bad_genome(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::kIo, "genome '" + source + "': " + what + ". Fix: pass a genome JSON that fool run wrote.");
}

}  // namespace

std::optional<nlohmann::json> genome_to_json(const Encoding& encoding, const GenomeBatch& genomes, int64_t index) {
  const auto* cppn = dynamic_cast<const CppnEncoding*>(&encoding);
  if (cppn == nullptr) return std::nullopt;
  const auto one = trim_cppn(genomes.index_select(at::tensor({index}, at::kLong).to(genomes["active"].device())).to(at::kCPU));
  const auto active = one["active"][0], activation = one["activation"][0], rank = one["rank"][0];
  const auto edge = one["edge"][0], weight = one["weight"][0];
  const int64_t m = active.size(0);
  const auto& o = encoding.options();
  nlohmann::json j = {{"fool_genome", 1},
                      {"encoding", "cppn"},
                      {"image", {{"channels", o.shape.channels}, {"height", o.shape.height}, {"width", o.shape.width}}},
                      {"color_space", enum_name(o.color_space)},
                      {"coordinates", enum_name(o.coordinates)}};
  j["activations"] = nlohmann::json::array();
  for (auto a : cppn->activations()) j["activations"].push_back(activation_name(a));
  j["nodes"] = nlohmann::json::array();
  for (int64_t i = 0; i < m; ++i) {
    if (!active[i].item<bool>()) continue;
    nlohmann::json node = {{"id", i}};
    if (i < kCppnInputs) {
      node["kind"] = "input";
      node["name"] = kInputNames[i];
    } else {
      node["kind"] = i < kCppnInputs + cppn->outputs() ? "output" : "hidden";
      node["activation"] = activation_name(cppn->activations()[static_cast<std::size_t>(activation[i].item<int64_t>())]);
      node["rank"] = rank[i].item<double>();
    }
    j["nodes"].push_back(node);
  }
  j["connections"] = nlohmann::json::array();
  for (int64_t to = 0; to < m; ++to) {
    for (int64_t from = 0; from < m; ++from) {
      if (edge[to][from].item<bool>()) {
        j["connections"].push_back({{"from", from}, {"to", to}, {"weight", weight[to][from].item<float>()}});
      }
    }
  }
  return j;
}

LoadedGenome genome_from_json(const nlohmann::json& j, const std::string& source) {
  LoadedGenome loaded;
  try {
    if (j.value("fool_genome", 0) != 1) bad_genome(source, "not a fool genome file (no \"fool_genome\": 1)");
    if (j.at("encoding").get<std::string>() != "cppn") bad_genome(source, "encoding is not cppn");
    EncodingOptions options;
    const auto& image = j.at("image");
    options.shape = {image.at("channels").get<int64_t>(), image.at("height").get<int64_t>(),
                     image.at("width").get<int64_t>()};
    // Checked here, once: "HSV" or "rgb" is refused, never drawn as another colour space.
    options.color_space = enum_from_name<ColorSpace>(j.at("color_space").get<std::string>(),
                                                     "genome '" + source + "': color_space", ErrorKind::kIo);
    options.coordinates = enum_from_name<Coordinates>(j.at("coordinates").get<std::string>(),
                                                      "genome '" + source + "': coordinates", ErrorKind::kIo);
    std::string names;
    for (const auto& a : j.at("activations")) names += (names.empty() ? "" : ",") + a.get<std::string>();
    options.activations = names;
    auto encoding = std::make_unique<CppnEncoding>(options);
    std::map<std::string, int64_t> activation_index;
    for (std::size_t a = 0; a < encoding->activations().size(); ++a) {
      activation_index[activation_name(encoding->activations()[a])] = static_cast<int64_t>(a);
    }
    int64_t m = kCppnInputs + encoding->outputs();
    for (const auto& node : j.at("nodes")) m = std::max(m, node.at("id").get<int64_t>() + 1);
    auto active = at::zeros({1, m}, at::kBool);
    auto activation = at::zeros({1, m}, at::kLong);
    auto rank = at::zeros({1, m}, at::kDouble);
    auto edge = at::zeros({1, m, m}, at::kBool);
    auto weight = at::zeros({1, m, m}, at::kFloat);
    for (const auto& node : j.at("nodes")) {
      const int64_t id = node.at("id").get<int64_t>();
      if (id < 0) bad_genome(source, "negative node id");
      active[0][id] = true;
      if (id < kCppnInputs) continue;
      auto it = activation_index.find(node.at("activation").get<std::string>());
      if (it == activation_index.end()) bad_genome(source, "node " + std::to_string(id) + " uses an activation outside the set");
      activation[0][id] = it->second;
      rank[0][id] = node.at("rank").get<double>();
    }
    for (const auto& c : j.at("connections")) {
      const int64_t from = c.at("from").get<int64_t>(), to = c.at("to").get<int64_t>();
      if (from < 0 || to < 0 || from >= m || to >= m || !active[0][from].item<bool>() || !active[0][to].item<bool>()) {
        bad_genome(source, "connection " + std::to_string(from) + "->" + std::to_string(to) + " names a missing node");
      }
      if (rank[0][from].item<double>() >= rank[0][to].item<double>() && from >= kCppnInputs) {
        bad_genome(source, "connection " + std::to_string(from) + "->" + std::to_string(to) + " goes against the rank order");
      }
      edge[0][to][from] = true;
      weight[0][to][from] = c.at("weight").get<float>();
    }
    for (int64_t i = 0; i < kCppnInputs + encoding->outputs(); ++i) {
      if (!active[0][i].item<bool>()) bad_genome(source, "input or output node " + std::to_string(i) + " is missing");
    }
    loaded.genome = GenomeBatch({{"active", active}, {"activation", activation}, {"rank", rank}, {"edge", edge}, {"weight", weight}});
    loaded.encoding = std::move(encoding);
  } catch (const nlohmann::json::exception& e) {
    bad_genome(source, std::string("missing or mistyped field (") + e.what() + ")");
  }
  for (const char* key : {"class", "label", "confidence"}) {
    if (j.contains(key)) loaded.metadata[key] = j[key];
  }
  return loaded;
}

}  // namespace fool
