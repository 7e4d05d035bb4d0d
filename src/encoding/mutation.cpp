#include "fool/encoding/mutation.h"

#include <cmath>
#include <vector>

#include "fool/util/error.h"

namespace fool {
namespace {

/// Flat indices of the elements a per-element Bernoulli(rate) draw selects, in increasing order.
/// Drawn as geometric gaps between successive successes — the same distribution as one uniform
/// per element, with about `rate` as many random numbers.
at::Tensor bernoulli_positions(int64_t total, double rate, at::Generator& gen, const at::TensorOptions& options) {
  const auto long_options = options.dtype(at::kLong);
  if (rate >= 0.5) return (at::rand({total}, gen, options.dtype(at::kFloat)) < rate).nonzero().view({-1});
  const double expected = static_cast<double>(total) * rate;
  const int64_t chunk = static_cast<int64_t>(expected + 6.0 * std::sqrt(expected)) + 16;
  const double log_miss = std::log1p(-rate);
  std::vector<at::Tensor> parts;
  int64_t last = -1;
  while (last < total - 1) {
    // gap = floor(log(V) / log(1 − rate)) + 1 with V ~ U(0,1] is geometric on {1, 2, ...}.
    auto v = 1.0 - at::rand({chunk}, gen, options.dtype(at::kDouble));
    auto positions = (v.log_().div_(log_miss).floor_() + 1.0).to(at::kLong).cumsum(0).add_(last);
    parts.push_back(positions);
    last = positions[chunk - 1].item<int64_t>();  // one scalar; usually a single chunk suffices
  }
  auto positions = parts.size() == 1 ? parts[0] : at::cat(parts);
  return positions.masked_select(positions < total).to(long_options.device());
}

}  // namespace

void polynomial_mutation_(at::Tensor& genes, double rate, double eta, at::Generator& gen, const at::Tensor& mask,
                          double low, double high) {
  if (rate <= 0.0) return;
  FOOL_CHECK(genes.is_contiguous(), "polynomial_mutation_ needs contiguous genes");
  auto flat = genes.view({-1});
  auto positions = bernoulli_positions(flat.numel(), std::min(rate, 1.0), gen, genes.options());
  if (mask.defined()) positions = positions.masked_select(mask.reshape({-1}).index_select(0, positions));
  // δ from r ~ U[0,1): (2r)^(1/(η+1)) − 1 below one half, 1 − (2(1−r))^(1/(η+1)) above.
  auto r = at::rand({positions.size(0)}, gen, genes.options());
  auto below_half = r < 0.5;
  auto t = at::where(below_half, r * 2.0, (1.0 - r) * 2.0).pow_(1.0 / (eta + 1.0)).sub_(1.0);
  auto delta = at::where(below_half, t, -t).mul_(high - low);
  flat.index_copy_(0, positions, flat.index_select(0, positions).add_(delta).clamp_(low, high));
}

}  // namespace fool
