#pragma once
// The MAP-Elites archive with one cell per target class (PAPER.md §1.2). All state lives in
// tensors on the run's device.
#include <ATen/ATen.h>

#include "fool/encoding/genomes.h"

namespace fool {

class Archive {
 public:
  Archive() = default;
  /// `targets`: int64 [T] class indices, cell j holds the elite of class targets[j].
  Archive(at::Tensor targets);

  /// MAP-Elites insertion for every cell at once: a child replaces the elite of cell j when its
  /// probability of class targets[j] is strictly greater, or equal and its log-probability greater
  /// (an empty cell takes any child). One child may take several cells. `probabilities`: [N,K] of
  /// `children`; `log_probabilities` [N,K] from the same forward (Scorer), undefined: their log.
  /// The log-probabilities break the ties of float32 probabilities: two images that both underflow
  /// to 0 (a network that gives every image of the population another class with a logit gap over
  /// 104), or both round to 1, still differ, so selection keeps working at both ends. Returns the
  /// number of replacements (the one host synchronisation of a generation).
  int64_t insert(const GenomeBatch& children, const at::Tensor& probabilities, int64_t generation,
                 const at::Tensor& log_probabilities = {});

  int64_t cells() const { return targets_.size(0); }
  const at::Tensor& targets() const { return targets_; }
  const GenomeBatch& genomes() const { return genomes_; }
  /// [T] float32: the elite's probability of its class, −1 for an empty cell.
  const at::Tensor& confidence() const { return confidence_; }
  /// [T] float32: the elite's log-probability of its class (the tie-breaker), −inf for an empty cell.
  const at::Tensor& log_confidence() const { return log_confidence_; }
  /// [T] int64: the generation the elite was found in, −1 for an empty cell.
  const at::Tensor& generation() const { return generation_; }
  /// [T,4] int64: for each cell the first generation whose elite was the argmax of its class
  /// (column 0) and reached probability ≥ 0.99, 0.999, 0.9999 (columns 1-3); −1: not yet.
  const at::Tensor& milestones() const { return milestones_; }
  bool filled() const;

  /// Restores a saved archive (checkpoints); an undefined `milestones` (checkpoints written before
  /// they existed) restarts them at −1, an undefined `log_confidence` is the log of `confidence`.
  void restore(at::Tensor targets, GenomeBatch genomes, at::Tensor confidence, at::Tensor generation,
               at::Tensor milestones = {}, at::Tensor log_confidence = {});

 private:
  at::Tensor targets_;
  GenomeBatch genomes_;
  at::Tensor confidence_;
  at::Tensor log_confidence_;
  at::Tensor generation_;
  at::Tensor milestones_;
};

/// The confidence thresholds of Archive::milestones() columns 1-3.
constexpr double kMilestoneThresholds[3] = {0.99, 0.999, 0.9999};

}  // namespace fool
