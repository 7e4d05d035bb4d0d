#pragma once
// Gradient-refined genomes (--refine-steps K): before MAP-Elites scores a generation's children,
// each child's continuous genes (the encoding's: direct pixels, CPPN connection weights) take K
// gradient steps up the log-probability of one target class, and the refined genes are written
// back into the genome (Lamarckian): the saved genome renders to the saved image, byte for byte.
//
// The class a child climbs is the cell it is nearest to taking, judged at its first step: the
// largest log p_j(child) − log confidence_j over the cells j. A child of cell c's elite is usually
// nearest to c, so effort spreads over the cells the way parent selection spreads it, and a child
// that already beats another cell's elite climbs that one.
//
// Every step renders the child's 8-bit image (so the objective is that of the file that will be
// written) with the gradient of the continuous image (straight-through), then one forward and one
// backward pass: 3 forward equivalents per child and step, counted into forward_equivalents.
// Children refine in chunks of the run's batch size; with a fixed thread count the result is bit
// for bit the same for a seed.
#include <ATen/ATen.h>

#include "fool/search/search.h"

namespace fool {

class Refiner {
 public:
  /// Image-sized forward passes one refinement step costs per child: a forward and a backward.
  static constexpr int64_t kStepCost = 3;

  /// Throws fool::Error (kUsage) when the encoding has no continuous genes to refine.
  explicit Refiner(const SearchContext& context);

  /// `children` after `steps()` gradient steps each, towards the cells of `archive` (filled).
  GenomeBatch refine(const GenomeBatch& children, const Archive& archive) const;
  /// The cell each of `children` would climb, and its log-probability objective before any step:
  /// for tests and `fool bench`. [N] int64 cells, [N] float log p.
  std::pair<at::Tensor, at::Tensor> targets(const GenomeBatch& children, const Archive& archive) const;

  int64_t steps() const { return steps_; }

 private:
  GenomeBatch refine_chunk(const GenomeBatch& children, const Archive& archive) const;
  SearchContext context_;
  int64_t steps_;
  RefineOptimizer optimizer_;
  double lr_;
};

}  // namespace fool
