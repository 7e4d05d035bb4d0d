#include "fool/encoding/genomes.h"

#include "fool/util/error.h"

namespace fool {

GenomeBatch::GenomeBatch(std::map<std::string, at::Tensor> fields) : fields_(std::move(fields)) {
  int64_t n = -1;
  for (const auto& [name, t] : fields_) {
    FOOL_CHECK(t.dim() >= 1, "genome field '" + name + "' has no batch dimension");
    if (n < 0) n = t.size(0);
    FOOL_CHECK(t.size(0) == n, "genome field '" + name + "' has a different batch size");
  }
}

int64_t GenomeBatch::size() const { return fields_.empty() ? 0 : fields_.begin()->second.size(0); }

const at::Tensor& GenomeBatch::operator[](const std::string& name) const {
  auto it = fields_.find(name);
  FOOL_CHECK(it != fields_.end(), "no genome field '" + name + "'");
  return it->second;
}

at::Tensor& GenomeBatch::operator[](const std::string& name) {
  auto it = fields_.find(name);
  FOOL_CHECK(it != fields_.end(), "no genome field '" + name + "'");
  return it->second;
}

GenomeBatch GenomeBatch::index_select(const at::Tensor& index) const {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : fields_) out.emplace(name, t.index_select(0, index));
  return GenomeBatch(std::move(out));
}

at::Tensor pad_to(const at::Tensor& t, at::IntArrayRef sizes) {
  if (t.sizes() == sizes) return t;
  FOOL_CHECK(t.dim() == static_cast<int64_t>(sizes.size()), "pad_to: rank mismatch");
  auto out = at::zeros(sizes, t.options());
  at::Tensor region = out;
  for (int64_t d = 0; d < t.dim(); ++d) {
    FOOL_CHECK(t.size(d) <= sizes[d], "pad_to: cannot shrink");
    region = region.narrow(d, 0, t.size(d));
  }
  region.copy_(t);
  return out;
}

void GenomeBatch::index_copy_(const at::Tensor& index, const GenomeBatch& source) {
  for (auto& [name, target] : fields_) {
    at::Tensor incoming = source[name];
    FOOL_CHECK(incoming.dim() == target.dim(), "genome field '" + name + "' changed rank");
    std::vector<int64_t> target_sizes = target.sizes().vec();
    std::vector<int64_t> incoming_sizes = incoming.sizes().vec();
    bool grow = false;
    for (int64_t d = 1; d < target.dim(); ++d) {
      if (incoming_sizes[d] > target_sizes[d]) {
        target_sizes[d] = incoming_sizes[d];
        grow = true;
      }
      incoming_sizes[d] = target_sizes[d];
    }
    if (grow) target = pad_to(target, target_sizes);
    incoming_sizes[0] = incoming.size(0);
    target.index_copy_(0, index, pad_to(incoming, incoming_sizes));
  }
}

GenomeBatch GenomeBatch::to(const at::Device& device) const {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : fields_) out.emplace(name, t.to(device));
  return GenomeBatch(std::move(out));
}

GenomeBatch GenomeBatch::clone() const {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : fields_) out.emplace(name, t.clone());
  return GenomeBatch(std::move(out));
}

}  // namespace fool
