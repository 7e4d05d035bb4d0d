#include "fool/search/map_elites.h"

#include "fool/util/error.h"

namespace fool {

MapElites::MapElites(const SearchContext& context) : Search(context), refiner_(context_) {
  const auto names = parse_emitters(context.options.emitter, context.encoding->name());
  const auto count = static_cast<int64_t>(names.size());
  for (int64_t i = 0; i < count; ++i) {
    emitters_.push_back(make_emitter(names[static_cast<std::size_t>(i)], context));
    // An equal share each, the remainder to the first ones.
    shares_.push_back(context.population / count + (i < context.population % count ? 1 : 0));
    batches_.push_back(emitters_.back()->prepare(shares_.back()));
    evaluations_ += batches_.back();
  }
  if (evaluations_ <= 0) {
    throw Error(ErrorKind::kUsage, "--population " + std::to_string(context.population) + " gives no offspring to " +
                                       std::to_string(count) + " emitters. Fix: a larger --population.");
  }
}

GenomeBatch MapElites::ask(int64_t generation) {
  const auto& c = context_;
  if (generation == 0) return c.encoding->random(c.population, context_.generator, c.scorer->model().device());
  FOOL_CHECK(!archive_.genomes().empty(), "MAP-Elites asks for offspring only after generation 0 was told");
  // After generation 0 every cell is filled, since any probability beats an empty cell's −1.
  std::vector<GenomeBatch> parts;
  for (std::size_t i = 0; i < emitters_.size(); ++i) {
    if (batches_[i] > 0) parts.push_back(emitters_[i]->ask(archive_, shares_[i], context_.generator, generation));
  }
  auto children = concat(parts);
  if (refine_steps(generation) > 0) {
    children = refiner_.refine(children, archive_);
    extra_forward_equivalents_ += Refiner::kStepCost * refiner_.steps() * children.size();
  }
  return children;
}

int64_t MapElites::tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) {
  const at::Tensor log_probabilities = scored_log_probabilities(probabilities);
  if (generation == 0) return archive_.insert(genomes, probabilities, generation, log_probabilities);
  const at::Tensor before = archive_.confidence().clone();
  const int64_t replaced = archive_.insert(genomes, probabilities, generation, log_probabilities);
  const at::Tensor targets = probabilities.index_select(1, archive_.targets());
  int64_t offset = 0;
  for (std::size_t i = 0; i < emitters_.size(); ++i) {
    if (batches_[i] == 0) continue;
    emitters_[i]->tell(targets.slice(0, offset, offset + batches_[i]), before, archive_);
    offset += batches_[i];
  }
  return replaced;
}

SearchState MapElites::state() const {
  SearchState state;
  for (std::size_t i = 0; i < emitters_.size(); ++i) emitters_[i]->save(state, "emitter" + std::to_string(i) + ".");
  return state;
}

void MapElites::restore_state(const SearchState& state) {
  for (std::size_t i = 0; i < emitters_.size(); ++i) emitters_[i]->restore(state, "emitter" + std::to_string(i) + ".");
}

}  // namespace fool
