#include "fool/evo/map_elites.h"

#include <chrono>

#include "fool/util/error.h"

namespace fool {
namespace {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace

MapElites::MapElites(const Scorer& scorer, const Encoding& encoding, at::Tensor targets, SearchSettings settings,
                     at::Generator generator)
    : MapElites(nullptr, &scorer, encoding, std::move(targets), settings, std::move(generator)) {}

MapElites::MapElites(const Model& model, const Encoding& encoding, at::Tensor targets, SearchSettings settings,
                     at::Generator generator)
    : MapElites(std::make_shared<Scorer>(model, ScoringOptions{}), nullptr, encoding, std::move(targets), settings,
                std::move(generator)) {}

MapElites::MapElites(std::shared_ptr<const Scorer> owned_scorer, const Scorer* scorer, const Encoding& encoding,
                     at::Tensor targets, SearchSettings settings, at::Generator generator)
    : owned_scorer_(std::move(owned_scorer)),
      scorer_(scorer != nullptr ? *scorer : *owned_scorer_),
      encoding_(encoding),
      settings_(settings),
      generator_(std::move(generator)),
      archive_(std::move(targets)),
      started_(now_seconds()) {
  FOOL_CHECK(settings_.population > 0, "population must be positive");
}

double MapElites::seconds() const { return seconds_before_ + (now_seconds() - started_); }

void MapElites::restore_counters(int64_t generation, int64_t evaluations, double seconds) {
  generation_ = generation;
  evaluations_ = evaluations;
  seconds_before_ = seconds;
  started_ = now_seconds();
}

GenerationStats MapElites::initialise() {
  generation_ = 0;
  return evaluate_and_insert(encoding_.random(settings_.population, generator_, scorer_.model().device()));
}

GenerationStats MapElites::step() {
  FOOL_CHECK(generation_ >= 0, "initialise() before step()");
  ++generation_;
  // Parents uniformly over the cells (PAPER.md §1.2: the pool has one entry per cell). After
  // generation 0 every cell is filled, since any probability beats an empty cell's −1.
  auto parent_cells = at::randint(archive_.cells(), {settings_.population}, generator_,
                                  archive_.targets().options());
  auto children = encoding_.mutate(archive_.genomes().index_select(parent_cells), generator_, generation_);
  return evaluate_and_insert(children);
}

GenerationStats MapElites::evaluate_and_insert(const GenomeBatch& children) {
  auto images = encoding_.render(children, scorer_.render_height(), scorer_.render_width());
  auto probabilities = scorer_.probabilities(images, settings_.batch_size);
  evaluations_ += children.size();
  return stats(archive_.insert(children, probabilities, generation_));
}

GenerationStats MapElites::stats(int64_t replacements) const {
  const auto& confidence = archive_.confidence();
  auto filled = confidence >= 0;
  auto summary = at::stack({confidence.min(), at::quantile(confidence, 0.5), confidence.mean(), confidence.max(),
                            filled.sum().to(at::kFloat)})
                     .to(at::kCPU, at::kDouble);
  auto v = summary.accessor<double, 1>();
  GenerationStats s;
  s.generation = generation_;
  s.evaluations = evaluations_;
  s.seconds = seconds();
  s.min = v[0];
  s.median = v[1];
  s.mean = v[2];
  s.max = v[3];
  s.filled = static_cast<int64_t>(v[4]);
  s.replacements = replacements;
  return s;
}

}  // namespace fool
