#include "fool/search/map_elites.h"

#include "fool/util/error.h"

namespace fool {

MapElites::MapElites(const SearchContext& context) : Search(context) {}

GenomeBatch MapElites::ask(int64_t generation) {
  const auto& c = context_;
  if (generation == 0) return c.encoding->random(c.population, context_.generator, c.scorer->model().device());
  FOOL_CHECK(!archive_.genomes().empty(), "MAP-Elites asks for offspring only after generation 0 was told");
  // Parents uniformly over the cells (PAPER.md §1.2). After generation 0 every cell is filled,
  // since any probability beats an empty cell's −1.
  const auto cell_options = archive_.targets().options();
  if (c.encoding->options().crossover == Crossover::kNone) {
    auto parent_cells = at::randint(archive_.cells(), {c.population}, context_.generator, cell_options);
    return c.encoding->mutate(archive_.genomes().index_select(parent_cells), context_.generator, generation);
  }
  // With crossover, as the original's epoch(): pairs of parents, each drawn uniformly over the
  // cells, two children per pair, both mutated (an odd population drops the last child).
  const int64_t pairs = (c.population + 1) / 2;
  auto parent_cells = at::randint(archive_.cells(), {2 * pairs}, context_.generator, cell_options);
  auto children =
      c.encoding->crossover(archive_.genomes().index_select(parent_cells.slice(0, 0, pairs)),
                            archive_.genomes().index_select(parent_cells.slice(0, pairs)), context_.generator);
  if (2 * pairs != c.population) children = children.index_select(at::arange(c.population, cell_options));
  return c.encoding->mutate(children, context_.generator, generation);
}

int64_t MapElites::tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) {
  return archive_.insert(genomes, probabilities, generation);
}

}  // namespace fool
