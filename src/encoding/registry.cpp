#include <utility>

#include "fool/encoding/cppn.h"
#include "fool/encoding/direct.h"
#include "fool/encoding/encoding.h"
#include "fool/util/error.h"

namespace fool {
namespace {

const std::vector<std::pair<std::string, EncodingFactory>>& registry() {
  static const std::vector<std::pair<std::string, EncodingFactory>> entries = {
      {"direct", [](const EncodingOptions& o) { return std::make_unique<DirectEncoding>(o); }},
      {"cppn", [](const EncodingOptions& o) { return std::make_unique<CppnEncoding>(o); }},
  };
  return entries;
}

}  // namespace

std::vector<std::string> encoding_names() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Encoding> make_encoding(const std::string& name, const EncodingOptions& options) {
  std::string known;
  for (const auto& [entry, factory] : registry()) {
    if (entry == name) return factory(options);
    known += (known.empty() ? "" : ", ") + entry;
  }
  throw Error(ErrorKind::kUsage, "unknown encoding '" + name + "'. Fix: choose one of " + known + ".");
}

at::Tensor quantize_pixels(const at::Tensor& values) {
  return values.abs().mul(255.0).floor_().clamp_(0.0, 255.0).div_(255.0);
}

}  // namespace fool
