#pragma once
// The one progress record of a run (a row of progress.csv, the original bestfit.dat): written by
// the run loop, read back by `fool report` and by a resume, always as this type.
#include <cstdint>

#include "fool/search/archive.h"

namespace fool {

/// Statistics over the target cells after one generation.
struct ProgressRecord {
  int64_t generation = 0;   ///< 0 is the random initial generation
  int64_t evaluations = 0;  ///< images scored so far, every generation of the run included
  /// evaluations plus the search's own passes (gradients: a backward counts as two forwards), the
  /// currency in which methods compare at equal cost
  int64_t forward_equivalents = 0;
  double seconds = 0;                             ///< wall time of the run so far (resumed parts added up)
  double min = 0, median = 0, mean = 0, max = 0;  ///< of the elites' confidences (−1: empty cell)
  int64_t filled = 0;                             ///< cells holding an elite
  int64_t replacements = 0;                       ///< cells replaced in this generation
};

/// The record of `archive` as it stands (one small host copy: five numbers).
ProgressRecord progress_record(const Archive& archive, int64_t generation, int64_t evaluations,
                               int64_t forward_equivalents, double seconds, int64_t replacements);

}  // namespace fool
