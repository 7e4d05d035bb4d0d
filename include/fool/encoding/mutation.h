#pragma once
#include <ATen/ATen.h>

namespace fool {

/// Deb's polynomial mutation in sferes' simplified form (PAPER.md §1.3), applied in place to
/// `genes` in [0,1]: each element with probability `rate` moves by δ, where for r ~ U[0,1)
/// δ = (2r)^(1/(η+1)) − 1 if r < 0.5 else 1 − (2(1−r))^(1/(η+1)); the result is clamped to [0,1].
/// `mask` (optional, same shape, bool) restricts which elements may mutate. Genes in another
/// range [low, high] move by (high − low)·δ, which is the same operator on the rescaled gene.
void polynomial_mutation_(at::Tensor& genes, double rate, double eta, at::Generator& gen, const at::Tensor& mask = {},
                          double low = 0.0, double high = 1.0);

}  // namespace fool
