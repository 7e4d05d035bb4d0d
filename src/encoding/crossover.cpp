#include "fool/encoding/crossover.h"

#include <limits>
#include <vector>

#include "fool/encoding/encoding.h"
#include "fool/util/error.h"

namespace fool {
namespace {

/// β_q of bounded SBX for the spread β = 1 + 2·(distance to the bound)/(y2 − y1) (Deb's code).
at::Tensor spread_factor(const at::Tensor& beta, const at::Tensor& r, double eta) {
  const double exponent = 1.0 / (eta + 1.0);
  auto alpha = 2.0 - beta.pow(-(eta + 1.0));
  auto inside = (r * alpha).pow(exponent);
  auto outside = (1.0 / (2.0 - r * alpha)).pow(exponent);
  return at::where(r <= 1.0 / alpha, inside, outside);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> sbx_crossover(const at::Tensor& first, const at::Tensor& second, double rate,
                                                double eta, bool equal_genes_mid_grey, at::Generator& gen) {
  FOOL_CHECK(first.sizes() == second.sizes() && first.dim() == 2, "sbx_crossover needs two [N,G] gene tensors");
  const auto options = first.options();
  const int64_t pairs = first.size(0);
  auto crossed = (at::rand({pairs, 1}, gen, options) < rate);  // per pair (EvoFloatImage::cross)
  auto r = at::rand(first.sizes(), gen, options);              // per gene
  auto coin = at::rand(first.sizes(), gen, options) < 0.5;     // misc::flip_coin()

  auto y1 = at::minimum(first, second);
  auto y2 = at::maximum(first, second);
  auto distance = y2 - y1;
  auto differ = distance > std::numeric_limits<float>::epsilon();
  auto safe_distance = at::where(differ, distance, at::ones_like(distance));  // no 0/0 on equal genes
  auto sum = y1 + y2;
  auto low = (sum - spread_factor(1.0 + 2.0 * y1 / safe_distance, r, eta) * distance).mul_(0.5).clamp_(0.0, 1.0);
  auto high =
      (sum + spread_factor(1.0 + 2.0 * (1.0 - y2) / safe_distance, r, eta) * distance).mul_(0.5).clamp_(0.0, 1.0);
  auto child1 = at::where(coin, low, high);
  auto child2 = at::where(coin, high, low);

  if (equal_genes_mid_grey) {
    auto mid_grey = at::full({}, 0.5, options);
    child1 = at::where(differ, child1, mid_grey);
    child2 = at::where(differ, child2, mid_grey);
  } else {
    child1 = at::where(differ, child1, first);
    child2 = at::where(differ, child2, second);
  }
  return {at::where(crossed, child1, first), at::where(crossed, child2, second)};
}

GenomeBatch Encoding::crossover(const GenomeBatch& first, const GenomeBatch& second, at::Generator&) const {
  std::map<std::string, at::Tensor> fields;
  for (const auto& [name, a] : first.fields()) {
    const auto& b = second[name];
    // Padded encodings: bring both halves to the larger capacity (zero means absent).
    std::vector<int64_t> sizes = a.sizes().vec();
    for (size_t d = 1; d < sizes.size(); ++d) sizes[d] = std::max(sizes[d], b.size(static_cast<int64_t>(d)));
    std::vector<int64_t> sizes_b = sizes;
    sizes_b[0] = b.size(0);
    fields[name] = at::cat({pad_to(a, sizes), pad_to(b, sizes_b)});
  }
  return GenomeBatch(std::move(fields));
}

}  // namespace fool
