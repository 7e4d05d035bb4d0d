#pragma once
#include <ATen/ATen.h>

#include <utility>

namespace fool {

/// Simulated binary crossover (Deb & Agrawal 1995) exactly as the original MNIST and ImageNet
/// direct-encoding experiments ran it: sferes' evo_float_image `CrossOver_f<Ev, sbx>` (Deb's
/// reference code, bounds [0,1]) behind `EvoFloatImage::cross` (docs/reproduction-audit.md).
///
/// `first`, `second`: float32 [N,G] genes in [0,1], row i of each the two parents of pair i.
/// Returns the two children of every pair, each [N,G] in [0,1]:
/// - with probability 1 − `rate` a pair is not crossed: the children are copies of the parents;
/// - a crossed pair gets, per gene whose parents differ by more than FLT_EPSILON, one r ~ U[0,1)
///   that spreads both children around the parents' mean with distribution index `eta`
///   (bounded SBX), clamped to [0,1], and a fair coin that decides which child takes which;
/// - genes where the crossed parents are equal are not written by the original, so they keep the
///   fresh genome's default value 0.5 (`equal_genes_mid_grey`, the original's quirk); otherwise
///   they are copied from the parents, as sferes2 has done since 2018.
/// The original draws r and the coin only for differing genes; drawing them for every gene gives
/// the same distribution in a fixed number of batched draws.
std::pair<at::Tensor, at::Tensor> sbx_crossover(const at::Tensor& first, const at::Tensor& second, double rate,
                                                double eta, bool equal_genes_mid_grey, at::Generator& gen);

}  // namespace fool
