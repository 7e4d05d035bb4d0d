#include "fool/run/checkpoint.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "fool/util/error.h"
#include "fool/util/sha256.h"

namespace fool {
namespace {

constexpr char kMagic[8] = {'F', 'O', 'O', 'L', 'C', 'K', 'P', 'T'};
constexpr std::size_t kHeader = 8 + 4 + 8 + 64;
constexpr const char* kFixResume = "Fix: resume from an intact copy, or start the run again.";

/// Settings that may differ between a run and its resumption (fool resume --generations, another
/// machine or path); every other setting decides the run's course and must match.
const std::set<std::string> kResumableSettings = {
    "generations",     "out",   "force",  "threads",   "dump-every", "checkpoint-every", "target-confidence",
    "max-evaluations", "model", "device", "batch-size"};

/// Settings added after checkpoints were first written, with the default that older runs ran with:
/// a checkpoint that does not name one is compared as if it held this value.
const std::map<std::string, nlohmann::json> kAddedSettings = {
    {"refine-steps", 0},      {"refine-from", 1},        {"refine-optimizer", "adam"}, {"refine-lr", 0.1},
    {"ascent-max-step", 0.0}, {"more-models", ""},       {"ensemble-fitness", "min"},  {"cppn-output", "abs"},
    {"cppn-hidden", ""},      {"cppn-init-weight", 10.0}};

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::kCheckpoint, "checkpoint '" + source + "': " + what);
}

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i)
    bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  out.append(bytes, sizeof(T));
}

template <class T>
T get(const std::string& in, std::size_t offset) {
  uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
  return static_cast<T>(value);
}

void put_tensors(c10::impl::GenericDict& dict, const std::string& prefix,
                 const std::map<std::string, at::Tensor>& tensors) {
  c10::List<std::string> names;
  c10::List<at::Tensor> values;
  for (const auto& [name, t] : tensors) {
    names.push_back(name);
    values.push_back(t.to(at::kCPU).contiguous());
  }
  dict.insert(prefix + "_names", names);
  dict.insert(prefix + "_values", values);
}

std::map<std::string, at::Tensor> get_tensors(const c10::impl::GenericDict& dict, const std::string& prefix,
                                              const std::string& source) {
  auto names = dict.at(prefix + "_names").toList();
  auto values = dict.at(prefix + "_values").toList();
  if (names.size() != values.size())
    bad(source, prefix + ": " + std::to_string(names.size()) + " names for " + std::to_string(values.size()) +
                    " tensors. " + kFixResume);
  std::map<std::string, at::Tensor> out;
  for (std::size_t i = 0; i < names.size(); ++i) out[names.get(i).toStringRef()] = values.get(i).toTensor();
  return out;
}

}  // namespace

std::string differing_setting(const std::string& a, const std::string& b) {
  const auto ja = nlohmann::json::parse(a, nullptr, false), jb = nlohmann::json::parse(b, nullptr, false);
  if (!ja.is_object() || !jb.is_object()) return ja == jb ? "" : "settings";
  std::set<std::string> keys;
  for (const auto& item : ja.items()) keys.insert(item.key());
  for (const auto& item : jb.items()) keys.insert(item.key());
  for (const auto& key : keys) {
    if (kResumableSettings.count(key)) continue;
    const auto added = kAddedSettings.find(key);
    const auto absent = added == kAddedSettings.end() ? nlohmann::json() : added->second;
    const auto va = ja.contains(key) ? ja[key] : absent;
    const auto vb = jb.contains(key) ? jb[key] : absent;
    // Version-1 checkpoints predate "search": a missing one is MAP-Elites.
    if (key == "search" && (va.is_null() || vb.is_null()) && (va == "map-elites" || vb == "map-elites")) continue;
    if (va != vb) return key;
  }
  return "";
}

std::string encode_checkpoint(const Search& search, const ProgressRecord& last, const CheckpointIdentity& identity) {
  const auto& archive = search.archive();
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("settings", identity.settings_json);
  dict.insert("model_sha256", identity.model_sha256);
  dict.insert("encoding", identity.encoding);
  dict.insert("search", identity.search);
  dict.insert("generation", last.generation);
  dict.insert("evaluations", last.evaluations);
  dict.insert("forward_equivalents", last.forward_equivalents);
  dict.insert("seconds", last.seconds);
  dict.insert("targets", archive.targets().to(at::kCPU));
  dict.insert("confidence", archive.confidence().to(at::kCPU));
  dict.insert("found", archive.generation().to(at::kCPU));
  dict.insert("milestones", archive.milestones().to(at::kCPU));
  dict.insert("log_confidence", archive.log_confidence().to(at::kCPU));
  put_tensors(dict, "genome", archive.genomes().fields());
  put_tensors(dict, "search_state", search.state());
  {
    at::Generator generator = search.context().generator;  // a handle: the run's generator itself
    std::lock_guard<std::mutex> lock(generator.mutex());
    dict.insert("generator_state", generator.get_state());
  }
  const std::vector<char> payload = torch::jit::pickle_save(dict);
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kCheckpointVersion);
  put<uint64_t>(out, payload.size());
  out += sha256_hex(payload.data(), payload.size());
  out.append(payload.data(), payload.size());
  return out;
}

Checkpoint decode_checkpoint(const std::string& bytes, const std::string& source) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    bad(source, "not a fool checkpoint. Fix: pass the run directory that fool run wrote.");
  }
  if (bytes.size() < kHeader) bad(source, std::string("truncated header. ") + kFixResume);
  const auto version = get<uint32_t>(bytes, 8);
  if (version != 1 && version != kCheckpointVersion) {
    bad(source, "format version " + std::to_string(version) + ", this fool reads versions 1 and " +
                    std::to_string(kCheckpointVersion) + ". Fix: resume it with the fool version that wrote it.");
  }
  const auto size = get<uint64_t>(bytes, 12);
  if (bytes.size() - kHeader != size) {
    bad(source, "truncated or padded (" + std::to_string(bytes.size() - kHeader) + " payload bytes, header says " +
                    std::to_string(size) + "). " + kFixResume);
  }
  const std::string checksum = bytes.substr(20, 64);
  if (sha256_hex(bytes.data() + kHeader, size) != checksum) {
    bad(source, std::string("checksum mismatch: the file is corrupt. ") + kFixResume);
  }
  Checkpoint c;
  try {
    const std::vector<char> payload(bytes.begin() + kHeader, bytes.end());
    auto dict = torch::jit::pickle_load(payload).toGenericDict();
    c.identity.settings_json = dict.at("settings").toStringRef();
    c.identity.model_sha256 = dict.at("model_sha256").toStringRef();
    c.identity.encoding = dict.at("encoding").toStringRef();
    c.identity.search = version == 1 ? "map-elites" : dict.at("search").toStringRef();
    c.generation = dict.at("generation").toInt();
    c.evaluations = dict.at("evaluations").toInt();
    c.forward_equivalents =
        dict.contains("forward_equivalents") ? dict.at("forward_equivalents").toInt() : c.evaluations;
    if (dict.contains("milestones")) c.milestones = dict.at("milestones").toTensor();
    if (dict.contains("log_confidence")) c.log_confidence = dict.at("log_confidence").toTensor();
    c.seconds = dict.at("seconds").toDouble();
    c.targets = dict.at("targets").toTensor();
    c.confidence = dict.at("confidence").toTensor();
    c.found = dict.at("found").toTensor();
    c.genomes = GenomeBatch(get_tensors(dict, "genome", source));
    if (version != 1) c.search_state = get_tensors(dict, "search_state", source);
    c.generator_state = dict.at("generator_state").toTensor();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // c10::Error for a missing key or a value of the wrong type: the checksum was right, so the
    // file was written so (by another program, or edited and re-summed).
    std::string text = e.what();
    bad(source, "malformed contents (" + text.substr(0, text.find('\n')) + "). " + kFixResume);
  }
  return c;
}

void restore_checkpoint(Search& search, const Checkpoint& c, const CheckpointIdentity& expected,
                        const std::string& source) {
  if (c.identity.model_sha256 != expected.model_sha256) {
    bad(source, "written for the model with sha256 " + c.identity.model_sha256.substr(0, 12) +
                    "..., but this run's model is " + expected.model_sha256.substr(0, 12) +
                    "... Fix: resume with the model the run started with.");
  }
  if (c.identity.encoding != expected.encoding) {
    bad(source, "written by the " + c.identity.encoding + " encoding, but this run uses " + expected.encoding + ".");
  }
  if (c.identity.search != expected.search) {
    bad(source, "written by the " + c.identity.search + " search, but this run uses " + expected.search + ".");
  }
  if (const std::string key = differing_setting(c.identity.settings_json, expected.settings_json); !key.empty()) {
    bad(source, "written by another run (its setting \"" + key +
                    "\" differs from this run's config.json). "
                    "Fix: resume the run directory the checkpoint came from.");
  }
  const auto device = search.archive().targets().device();
  const int64_t cells = search.archive().cells();
  if (c.targets.dim() != 1 || c.targets.scalar_type() != at::kLong ||
      !at::equal(c.targets, search.archive().targets().to(at::kCPU))) {
    bad(source, "written for another set of target classes. Fix: resume with the run's own config.json.");
  }
  const auto one_per_cell = [&](const at::Tensor& t, at::ScalarType type) {
    return t.dim() == 1 && t.size(0) == cells && t.scalar_type() == type;
  };
  const bool milestones_fit =
      !c.milestones.defined() || (c.milestones.dim() == 2 && c.milestones.size(0) == cells &&
                                  c.milestones.size(1) == 4 && c.milestones.scalar_type() == at::kLong);
  const bool log_fits = !c.log_confidence.defined() || one_per_cell(c.log_confidence, at::kFloat);
  if (!one_per_cell(c.confidence, at::kFloat) || !one_per_cell(c.found, at::kLong) || !milestones_fit || !log_fits) {
    bad(source, std::string("malformed archive (confidences or generations are not one per class). ") + kFixResume);
  }
  // The genomes must have the encoding's fields, types and ranks, one row per cell.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  const GenomeBatch reference = search.encoding().random(1, gen, at::kCPU);
  bool fits = c.genomes.fields().size() == reference.fields().size();
  for (const auto& [name, t] : reference.fields()) {
    const auto it = c.genomes.fields().find(name);
    fits = fits && it != c.genomes.fields().end() && it->second.scalar_type() == t.scalar_type() &&
           it->second.dim() == t.dim() && it->second.size(0) == cells;
    // Fixed-size genomes must match exactly; padded ones (CPPN node slots) may hold any capacity.
    if (fits && !search.encoding().padded()) fits = it->second.sizes().slice(1) == t.sizes().slice(1);
  }
  if (!fits) bad(source, "its genomes do not fit the " + search.encoding().name() + " encoding. " + kFixResume);
  if (c.generation < 0 || c.evaluations < 0 || c.forward_equivalents < c.evaluations || !(c.seconds >= 0)) {
    bad(source, std::string("malformed counters (negative generation, evaluations or seconds). ") + kFixResume);
  }
  SearchState state;
  for (const auto& [name, t] : c.search_state) state[name] = t.to(device);
  search.restore_state(state);
  search.archive().restore(c.targets.to(device), c.genomes.to(device), c.confidence.to(device), c.found.to(device),
                           c.milestones.defined() ? c.milestones.to(device) : at::Tensor(),
                           c.log_confidence.defined() ? c.log_confidence.to(device) : at::Tensor());
  try {
    std::lock_guard<std::mutex> lock(search.generator().mutex());
    search.generator().set_state(c.generator_state);
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    bad(source, "malformed generator state (" + text.substr(0, text.find('\n')) + "). " + kFixResume);
  }
}

}  // namespace fool
