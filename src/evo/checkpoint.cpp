#include "fool/evo/checkpoint.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <cstring>

#include "fool/util/error.h"
#include "fool/util/sha256.h"

namespace fool {
namespace {

constexpr char kMagic[8] = {'F', 'O', 'O', 'L', 'C', 'K', 'P', 'T'};
constexpr std::size_t kHeader = 8 + 4 + 8 + 64;

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::kCheckpoint, "checkpoint '" + source + "': " + what);
}

template <class T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  for (std::size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  out.append(bytes, sizeof(T));
}

template <class T>
T get(const std::string& in, std::size_t offset) {
  uint64_t value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) value |= static_cast<uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
  return static_cast<T>(value);
}

}  // namespace

std::string encode_checkpoint(MapElites& search, const CheckpointIdentity& identity) {
  const auto& archive = search.archive();
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("settings", identity.settings_json);
  dict.insert("model_sha256", identity.model_sha256);
  dict.insert("encoding", identity.encoding);
  dict.insert("generation", search.generation());
  dict.insert("evaluations", search.evaluations());
  dict.insert("seconds", search.seconds());
  dict.insert("targets", archive.targets().to(at::kCPU));
  dict.insert("confidence", archive.confidence().to(at::kCPU));
  dict.insert("found", archive.generation().to(at::kCPU));
  c10::List<std::string> names;
  c10::List<at::Tensor> values;
  for (const auto& [name, t] : archive.genomes().fields()) {
    names.push_back(name);
    values.push_back(t.to(at::kCPU).contiguous());
  }
  dict.insert("genome_names", names);
  dict.insert("genome_values", values);
  {
    std::lock_guard<std::mutex> lock(search.generator().mutex());
    dict.insert("generator_state", search.generator().get_state());
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
  if (bytes.size() < kHeader) bad(source, "truncated header. Fix: resume from an intact copy, or start the run again.");
  const auto version = get<uint32_t>(bytes, 8);
  if (version != kCheckpointVersion) {
    bad(source, "format version " + std::to_string(version) + ", this fool reads version " +
                    std::to_string(kCheckpointVersion) + ". Fix: resume it with the fool version that wrote it.");
  }
  const auto size = get<uint64_t>(bytes, 12);
  if (bytes.size() - kHeader != size) {
    bad(source, "truncated or padded (" + std::to_string(bytes.size() - kHeader) + " payload bytes, header says " +
                    std::to_string(size) + "). Fix: resume from an intact copy, or start the run again.");
  }
  const std::string checksum = bytes.substr(20, 64);
  if (sha256_hex(bytes.data() + kHeader, size) != checksum) {
    bad(source, "checksum mismatch: the file is corrupt. Fix: resume from an intact copy, or start the run again.");
  }
  Checkpoint c;
  try {
    const std::vector<char> payload(bytes.begin() + kHeader, bytes.end());
    auto dict = torch::jit::pickle_load(payload).toGenericDict();
    c.identity.settings_json = dict.at("settings").toStringRef();
    c.identity.model_sha256 = dict.at("model_sha256").toStringRef();
    c.identity.encoding = dict.at("encoding").toStringRef();
    c.generation = dict.at("generation").toInt();
    c.evaluations = dict.at("evaluations").toInt();
    c.seconds = dict.at("seconds").toDouble();
    c.targets = dict.at("targets").toTensor();
    c.confidence = dict.at("confidence").toTensor();
    c.found = dict.at("found").toTensor();
    auto names = dict.at("genome_names").toList();
    auto values = dict.at("genome_values").toList();
    std::map<std::string, at::Tensor> fields;
    for (std::size_t i = 0; i < names.size(); ++i) fields[names.get(i).toStringRef()] = values.get(i).toTensor();
    c.genomes = GenomeBatch(std::move(fields));
    c.generator_state = dict.at("generator_state").toTensor();
  } catch (const c10::Error& e) {
    std::string text = e.what_without_backtrace();
    bad(source, "unreadable contents (" + text.substr(0, text.find('\n')) + ").");
  }
  return c;
}

void restore_checkpoint(MapElites& search, const Checkpoint& c, const CheckpointIdentity& expected,
                        const std::string& source) {
  if (c.identity.model_sha256 != expected.model_sha256) {
    bad(source, "written for the model with sha256 " + c.identity.model_sha256.substr(0, 12) +
                    "..., but this run's model is " + expected.model_sha256.substr(0, 12) +
                    "... Fix: resume with the model the run started with.");
  }
  if (c.identity.encoding != expected.encoding) {
    bad(source, "written by the " + c.identity.encoding + " encoding, but this run uses " + expected.encoding + ".");
  }
  const auto device = search.archive().targets().device();
  if (!at::equal(c.targets, search.archive().targets().to(at::kCPU))) {
    bad(source, "written for another set of target classes. Fix: resume with the run's own config.json.");
  }
  search.archive().restore(c.targets.to(device), c.genomes.to(device), c.confidence.to(device), c.found.to(device));
  {
    std::lock_guard<std::mutex> lock(search.generator().mutex());
    search.generator().set_state(c.generator_state);
  }
  search.restore_counters(c.generation, c.evaluations, c.seconds);
}

}  // namespace fool
