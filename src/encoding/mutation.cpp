#include "fool/encoding/mutation.h"

namespace fool {

void polynomial_mutation_(at::Tensor& genes, double rate, double eta, at::Generator& gen, const at::Tensor& mask,
                          double low, double high) {
  if (rate <= 0.0) return;
  // One uniform draw per gene serves twice: u < rate selects the gene, and u / rate is then
  // itself U[0,1), the r of the operator.
  auto u = at::rand(genes.sizes(), gen, genes.options());
  auto selected = u < rate;
  if (mask.defined()) selected.logical_and_(mask);
  auto r = u.mul_(1.0 / rate);
  auto below_half = r < 0.5;
  // t = 2r below one half, 2(1−r) above; δ = ±(t^(1/(η+1)) − 1).
  auto t = at::where(below_half, r * 2.0, (1.0 - r) * 2.0).pow_(1.0 / (eta + 1.0)).sub_(1.0);
  auto delta = at::where(below_half, t, -t);
  if (high - low != 1.0) delta.mul_(high - low);
  genes.copy_(at::where(selected, (genes + delta).clamp_(low, high), genes));
}

}  // namespace fool
