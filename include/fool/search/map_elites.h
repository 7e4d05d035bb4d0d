#pragma once
// MAP-Elites with one cell per class (PAPER.md §1.2), as batched tensor operations. ask(0) is a
// random population (§1.1); every later ask() draws `population` parents uniformly over the cells
// (the pool has one entry per cell) and mutates each once (§1.3, §1.4); with --crossover other
// than none it draws population/2 pairs, crosses each into two children through the encoding and
// mutates those, as the original did (docs/reproduction-audit.md). tell() lets a child take every
// cell whose class probability it strictly beats.
#include "fool/search/search.h"

namespace fool {

class MapElites : public Search {
 public:
  explicit MapElites(const SearchContext& context);
  std::string name() const override { return "map-elites"; }
  GenomeBatch ask(int64_t generation) override;
  int64_t tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) override;
};

}  // namespace fool
