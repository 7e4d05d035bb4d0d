#pragma once
// MAP-Elites with one cell per class (PAPER.md §1.2), as batched tensor operations. ask(0) is a
// random population (§1.1); every later ask() shares the population between the emitters of
// --emitter (fool/search/emitters.h; the default, the paper's polynomial mutation, draws parents
// uniformly over the cells and mutates each once, §1.3, §1.4, with --crossover SBX pairs first,
// as the original did: docs/reproduction-audit.md). With --refine-steps, the children then take
// gradient steps (fool/search/refine.h) before they are scored. tell() lets a child take every cell whose
// class probability it strictly beats, then shows each emitter its offspring's probabilities.
#include <memory>
#include <vector>

#include "fool/search/emitters.h"
#include "fool/search/refine.h"
#include "fool/search/search.h"

namespace fool {

class MapElites : public Search {
 public:
  explicit MapElites(const SearchContext& context);
  std::string name() const override { return "map-elites"; }
  GenomeBatch ask(int64_t generation) override;
  int64_t tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) override;
  int64_t next_evaluations() const override { return evaluations_; }
  int64_t next_forward_equivalents(int64_t generation) const override {
    return evaluations_ * (1 + Refiner::kStepCost * refine_steps(generation));
  }
  SearchState state() const override;
  void restore_state(const SearchState& state) override;

 private:
  Refiner refiner_;
  /// Gradient steps per child in `generation`: --refine-steps from --refine-from on, else 0.
  int64_t refine_steps(int64_t generation) const {
    return generation >= context_.options.refine_from ? refiner_.steps() : 0;
  }
  std::vector<std::unique_ptr<Emitter>> emitters_;
  std::vector<int64_t> shares_;   ///< each emitter's share of the population
  std::vector<int64_t> batches_;  ///< the offspring each gives for it
  int64_t evaluations_ = 0;       ///< offspring per generation after generation 0
};

}  // namespace fool
