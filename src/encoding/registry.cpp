#include <utility>

#include "fool/encoding/cppn.h"
#include "fool/encoding/direct.h"
#include "fool/encoding/encoding.h"
#include "fool/util/error.h"

namespace fool {
namespace {

struct Entry {
  std::string name;
  EncodingFactory factory;
  /// The paper's population for a model with this many input channels (PAPER.md §1.1).
  std::function<int64_t(int64_t channels)> default_population;
};

const std::vector<Entry>& registry() {
  static const std::vector<Entry> entries = {
      {"direct", [](const EncodingOptions& o) { return std::make_unique<DirectEncoding>(o); },
       [](int64_t) -> int64_t { return 200; }},
      // The paper's ImageNet CPPN run (colour images) bred 400 a generation; MNIST runs 200.
      {"cppn", [](const EncodingOptions& o) { return std::make_unique<CppnEncoding>(o); },
       [](int64_t channels) -> int64_t { return channels == 3 ? 400 : 200; }},
  };
  return entries;
}

const Entry& find(const std::string& name) {
  std::string known;
  for (const auto& entry : registry()) {
    if (entry.name == name) return entry;
    known += (known.empty() ? "" : ", ") + entry.name;
  }
  throw Error(ErrorKind::kUsage, "unknown encoding '" + name + "'. Fix: choose one of " + known + ".");
}

}  // namespace

std::vector<std::string> encoding_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.name);
  return names;
}

std::unique_ptr<Encoding> make_encoding(const std::string& name, const EncodingOptions& options) {
  return find(name).factory(options);
}

int64_t default_population(const std::string& name, int64_t channels) {
  return find(name).default_population(channels);
}

at::Tensor quantize_pixels(const at::Tensor& values) {
  return values.abs().mul(255.0).floor_().clamp_(0.0, 255.0).div_(255.0);
}

}  // namespace fool
