#include "fool/search/archive.h"

#include <cmath>
#include <limits>

#include "fool/util/error.h"

namespace fool {

Archive::Archive(at::Tensor targets) : targets_(std::move(targets)) {
  confidence_ = at::full({targets_.size(0)}, -1.0, targets_.options().dtype(at::kFloat));
  log_confidence_ =
      at::full({targets_.size(0)}, -std::numeric_limits<float>::infinity(), targets_.options().dtype(at::kFloat));
  generation_ = at::full({targets_.size(0)}, -1, targets_.options().dtype(at::kLong));
  milestones_ = at::full({targets_.size(0), 4}, -1, targets_.options().dtype(at::kLong));
}

int64_t Archive::insert(const GenomeBatch& children, const at::Tensor& probabilities, int64_t generation,
                        const at::Tensor& log_probabilities) {
  FOOL_CHECK(probabilities.size(0) == children.size(), "one probability row per child");
  FOOL_CHECK(!log_probabilities.defined() || log_probabilities.sizes() == probabilities.sizes(),
             "one log-probability per probability");
  if (genomes_.empty()) {
    // Shape the genome storage after the first children; confidence −1 marks every cell empty.
    genomes_ = children.index_select(at::zeros({cells()}, targets_.options())).clone();
  }
  auto per_cell = probabilities.index_select(1, targets_);  // [N,T]
  auto log_per_cell = log_probabilities.defined() ? log_probabilities.index_select(1, targets_) : per_cell.log();
  // The best child per cell: the highest probability, ties broken by the log-probability.
  const auto best = std::get<0>(per_cell.max(0));  // [T]
  const auto best_child =
      at::where(per_cell == best.view({1, -1}), log_per_cell, at::full({}, -INFINITY, log_per_cell.options()))
          .argmax(0);  // [T]
  const auto best_log = log_per_cell.gather(0, best_child.view({1, -1})).view({-1});
  auto improved = (best > confidence_).logical_or((best == confidence_).logical_and(best_log > log_confidence_));
  auto cells = improved.nonzero().squeeze(1);  // the replaced cells
  const int64_t replaced = cells.size(0);
  if (replaced == 0) return 0;
  genomes_.index_copy_(cells, children.index_select(best_child.index_select(0, cells)));
  confidence_.index_copy_(0, cells, best.index_select(0, cells));
  log_confidence_.index_copy_(0, cells, best_log.index_select(0, cells));
  generation_.index_fill_(0, cells, generation);
  // Milestones of the new elites: argmax of their class, then the confidence thresholds.
  auto top = probabilities.argmax(1).index_select(0, best_child) == targets_;  // [T]
  std::vector<at::Tensor> reached = {improved.logical_and(top)};
  for (double threshold : kMilestoneThresholds) reached.push_back(confidence_ >= threshold);
  auto first = at::stack(reached, 1).logical_and(milestones_ < 0);  // [T,4]
  milestones_.masked_fill_(first, generation);
  return replaced;
}

bool Archive::filled() const { return confidence_.defined() && confidence_.min().item<float>() >= 0.0f; }

void Archive::restore(at::Tensor targets, GenomeBatch genomes, at::Tensor confidence, at::Tensor generation,
                      at::Tensor milestones, at::Tensor log_confidence) {
  targets_ = std::move(targets);
  genomes_ = std::move(genomes);
  confidence_ = std::move(confidence);
  // Checkpoints written before the tie-breaker existed: the log of the confidence (−1, empty: −inf).
  log_confidence_ = log_confidence.defined()
                        ? std::move(log_confidence)
                        : at::where(confidence_ < 0, at::full({}, -INFINITY, confidence_.options()), confidence_.log());
  generation_ = std::move(generation);
  milestones_ = milestones.defined() ? std::move(milestones)
                                     : at::full({targets_.size(0), 4}, -1, targets_.options().dtype(at::kLong));
}

}  // namespace fool
