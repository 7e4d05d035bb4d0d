#include "fool/io/genome_json.h"

#include <cmath>
#include <map>
#include <vector>

#include "fool/encoding/cppn.h"
#include "fool/util/error.h"

namespace fool {
namespace {

constexpr const char* kInputNames[kCppnInputs] = {"x", "y", "d", "bias"};

[[noreturn]] void bad_genome(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::kIo, "genome '" + source + "': " + what + ". Fix: pass a genome JSON that fool run wrote.");
}

/// An integer field, refused when it is 2.5 or "2" rather than read as 2.
int64_t integer_field(const nlohmann::json& object, const char* key, const std::string& source) {
  const auto& v = object.at(key);
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))) {
    bad_genome(source, std::string("\"") + key + "\" is " + v.dump() + ", not an integer");
  }
  return v.get<int64_t>();
}

}  // namespace

std::optional<nlohmann::json> genome_to_json(const Encoding& encoding, const GenomeBatch& genomes, int64_t index) {
  const auto* cppn = dynamic_cast<const CppnEncoding*>(&encoding);
  if (cppn == nullptr) return std::nullopt;
  const auto one =
      trim_cppn(genomes.index_select(at::tensor({index}, at::kLong).to(genomes["active"].device())).to(at::kCPU));
  const auto active = one["active"][0], activation = one["activation"][0], rank = one["rank"][0];
  const auto edge = one["edge"][0], weight = one["weight"][0];
  const int64_t m = active.size(0);
  const auto& o = encoding.options();
  nlohmann::json j = {{"fool_genome", 1},
                      {"encoding", "cppn"},
                      {"image", {{"channels", o.shape.channels}, {"height", o.shape.height}, {"width", o.shape.width}}},
                      {"color_space", enum_name(o.color_space)},
                      {"coordinates", enum_name(o.coordinates)},
                      {"output", enum_name(o.cppn_output)}};
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
      node["activation"] =
          activation_name(cppn->activations()[static_cast<std::size_t>(activation[i].item<int64_t>())]);
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
    if (!j.is_object() || j.value("fool_genome", 0) != 1) {
      bad_genome(source, "not a fool genome file (no \"fool_genome\": 1)");
    }
    if (j.at("encoding").get<std::string>() != "cppn") bad_genome(source, "encoding is not cppn");
    EncodingOptions options;
    const auto& image = j.at("image");
    options.shape = {image.at("channels").get<int64_t>(), image.at("height").get<int64_t>(),
                     image.at("width").get<int64_t>()};
    const auto& shape = options.shape;
    if ((shape.channels != 1 && shape.channels != 3) || shape.height < 1 || shape.width < 1 ||
        shape.height > kMaxGenomeImageSide || shape.width > kMaxGenomeImageSide) {
      bad_genome(source, "image " + std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
                             std::to_string(shape.width) + " is not 1 or 3 channels of 1.." +
                             std::to_string(kMaxGenomeImageSide) + " pixels a side");
    }
    // Checked here, once: "HSV" or "cmyk" is refused, never drawn as another colour space.
    options.color_space = enum_from_name<ColorSpace>(j.at("color_space").get<std::string>(),
                                                     "genome '" + source + "': color_space", ErrorKind::kIo);
    options.coordinates = enum_from_name<Coordinates>(j.at("coordinates").get<std::string>(),
                                                      "genome '" + source + "': coordinates", ErrorKind::kIo);
    // Absent in genomes written before --cppn-output: the original's |activation|.
    options.cppn_output = enum_from_name<CppnOutput>(j.value("output", std::string("abs")),
                                                     "genome '" + source + "': output", ErrorKind::kIo);
    std::string names;
    for (const auto& a : j.at("activations")) names += (names.empty() ? "" : ",") + a.get<std::string>();
    options.activations = names;
    auto encoding = std::make_unique<CppnEncoding>(options);
    std::map<std::string, int64_t> activation_index;
    for (std::size_t a = 0; a < encoding->activations().size(); ++a) {
      activation_index[activation_name(encoding->activations()[a])] = static_cast<int64_t>(a);
    }
    // Node slots: the ids, which fool writes densely from 0. The limit keeps the [M,M] edge
    // tensors and the renderer's level plan small (a single id of 30000 would need 4.5 GB).
    const auto& nodes = j.at("nodes");
    const auto& connections = j.at("connections");
    if (!nodes.is_array() || !connections.is_array())
      bad_genome(source, "\"nodes\" and \"connections\" must be arrays");
    int64_t m = kCppnInputs + encoding->outputs();
    for (const auto& node : nodes) {
      const int64_t id = integer_field(node, "id", source);
      if (id < 0) bad_genome(source, "negative node id");
      if (id >= kMaxGenomeNodes) {
        bad_genome(source, "node id " + std::to_string(id) + " is beyond the limit of " +
                               std::to_string(kMaxGenomeNodes) + " node slots (ids 0.." +
                               std::to_string(kMaxGenomeNodes - 1) + ")");
      }
      m = std::max(m, id + 1);
    }
    if (static_cast<int64_t>(connections.size()) > m * m) {
      bad_genome(source, std::to_string(connections.size()) + " connections, more than the " + std::to_string(m * m) +
                             " that " + std::to_string(m) + " nodes can have");
    }
    // Built on the host, then copied into tensors once.
    std::vector<uint8_t> active(static_cast<std::size_t>(m), 0), edge(static_cast<std::size_t>(m * m), 0);
    std::vector<int64_t> activation(static_cast<std::size_t>(m), 0);
    std::vector<double> rank(static_cast<std::size_t>(m), 0.0);
    std::vector<float> weight(static_cast<std::size_t>(m * m), 0.0f);
    for (const auto& node : nodes) {
      const int64_t id = integer_field(node, "id", source);
      const auto slot = static_cast<std::size_t>(id);
      active[slot] = 1;
      if (id < kCppnInputs) continue;
      auto it = activation_index.find(node.at("activation").get<std::string>());
      if (it == activation_index.end())
        bad_genome(source, "node " + std::to_string(id) + " uses an activation outside the set");
      activation[slot] = it->second;
      rank[slot] = node.at("rank").get<double>();
      if (!std::isfinite(rank[slot])) bad_genome(source, "node " + std::to_string(id) + " has no finite rank");
    }
    for (const auto& c : connections) {
      const int64_t from = integer_field(c, "from", source), to = integer_field(c, "to", source);
      if (from < 0 || to < 0 || from >= m || to >= m || !active[static_cast<std::size_t>(from)] ||
          !active[static_cast<std::size_t>(to)]) {
        bad_genome(source, "connection " + std::to_string(from) + "->" + std::to_string(to) + " names a missing node");
      }
      if (rank[static_cast<std::size_t>(from)] >= rank[static_cast<std::size_t>(to)] && from >= kCppnInputs) {
        bad_genome(source,
                   "connection " + std::to_string(from) + "->" + std::to_string(to) + " goes against the rank order");
      }
      const float w = c.at("weight").get<float>();
      if (!std::isfinite(w))
        bad_genome(source, "connection " + std::to_string(from) + "->" + std::to_string(to) + " has no finite weight");
      edge[static_cast<std::size_t>(to * m + from)] = 1;
      weight[static_cast<std::size_t>(to * m + from)] = w;
    }
    for (int64_t i = 0; i < kCppnInputs + encoding->outputs(); ++i) {
      if (!active[static_cast<std::size_t>(i)])
        bad_genome(source, "input or output node " + std::to_string(i) + " is missing");
    }
    const auto tensor = [](auto& values, at::IntArrayRef sizes, at::ScalarType type) {
      return at::from_blob(values.data(), sizes, type).clone();
    };
    loaded.genome = GenomeBatch({{"active", tensor(active, {1, m}, at::kByte).to(at::kBool)},
                                 {"activation", tensor(activation, {1, m}, at::kLong)},
                                 {"rank", tensor(rank, {1, m}, at::kDouble)},
                                 {"edge", tensor(edge, {1, m, m}, at::kByte).to(at::kBool)},
                                 {"weight", tensor(weight, {1, m, m}, at::kFloat)}});
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
