#pragma once
// MAP-Elites with one cell per class (PAPER.md §1.2), as batched tensor operations: each
// generation draws parents uniformly over the cells, mutates them, renders and scores the whole
// batch with one (chunked) forward pass, and inserts the children into every cell they beat.
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>

#include "fool/encoding/encoding.h"
#include "fool/evo/archive.h"
#include "fool/evo/scoring.h"
#include "fool/model/model.h"

namespace fool {

struct SearchSettings {
  int64_t population = 200;  ///< initial genomes and offspring per generation
  int64_t batch_size = 1024; ///< forward chunk size (0: the whole population at once)
};

/// One row of progress.csv (the original bestfit.dat), statistics over the target cells.
struct GenerationStats {
  int64_t generation = 0;
  int64_t evaluations = 0;
  double seconds = 0;  ///< wall time since the run (or the resumed part) began
  double min = 0, median = 0, mean = 0, max = 0;
  int64_t filled = 0;
  int64_t replacements = 0;  ///< cell replacements in this generation
};

class MapElites {
 public:
  /// `targets`: int64 [T] class indices on the model's device. The generator must belong to the
  /// same device. The scorer (and its model) and the encoding must outlive this object.
  MapElites(const Scorer& scorer, const Encoding& encoding, at::Tensor targets, SearchSettings settings,
            at::Generator generator);
  /// Scoring by the model alone (whole image at its input size).
  MapElites(const Model& model, const Encoding& encoding, at::Tensor targets, SearchSettings settings,
            at::Generator generator);

  /// Generation 0: `population` random genomes, scored and inserted.
  GenerationStats initialise();
  /// One generation of `population` offspring.
  GenerationStats step();

  const Archive& archive() const { return archive_; }
  Archive& archive() { return archive_; }
  at::Generator& generator() { return generator_; }
  int64_t generation() const { return generation_; }
  int64_t evaluations() const { return evaluations_; }
  const SearchSettings& settings() const { return settings_; }
  /// Continues counting from a checkpoint.
  void restore_counters(int64_t generation, int64_t evaluations, double seconds);
  double seconds() const;
  /// Statistics of the archive as it stands.
  GenerationStats stats(int64_t replacements) const;

 private:
  /// Scores with `*scorer`, or with `*owned_scorer` when `scorer` is null.
  MapElites(std::shared_ptr<const Scorer> owned_scorer, const Scorer* scorer, const Encoding& encoding,
            at::Tensor targets, SearchSettings settings, at::Generator generator);
  GenerationStats evaluate_and_insert(const GenomeBatch& children);

  std::shared_ptr<const Scorer> owned_scorer_;
  const Scorer& scorer_;
  const Encoding& encoding_;
  SearchSettings settings_;
  at::Generator generator_;
  Archive archive_;
  int64_t generation_ = -1;
  int64_t evaluations_ = 0;
  double seconds_before_ = 0;
  double started_ = 0;
};

}  // namespace fool
