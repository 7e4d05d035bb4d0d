#pragma once
// A sweep's results as one table: a row per grid cell with the seeds folded together (every axis
// but "seed" makes the row), and for each row the median, min and max over its seeds of the
// median confidence, the classes >= 0.99, the evaluations until every class reached the target,
// and evaluations/s; plus the median over seeds of each row's median confidence against
// evaluations, for one chart.
#include <cstdint>
#include <string>
#include <vector>

#include "fool/io/plot.h"
#include "fool/sweep/sweep.h"

namespace fool {

/// Median, min and max of one figure over a row's finished seeds (+infinity: not reached).
struct Spread {
  double median = 0, min = 0, max = 0;
  int64_t count = 0;  ///< values (finished seeds)
};

struct SweepRow {
  std::string name;                 ///< "encoding=cppn, model=..." (or "all")
  std::vector<std::string> values;  ///< one per SweepTable::axes
  int64_t cells = 0, finished = 0;
  Spread median_confidence, classes_at_least_099, evaluations_to_target, evaluations_per_second;
  int64_t reached_target = 0;                           ///< finished seeds whose every class reached the target
  std::vector<double> curve_evaluations, curve_median;  ///< median over seeds, row by row of progress.csv
  std::vector<double> curve_classes;  ///< classes >= 0.99 at each of those rows (milestones.csv), median over seeds
  int64_t classes = 0;                ///< target classes of its runs
};

struct SweepTable {
  std::vector<std::string> axes;  ///< the grid axes that make rows (all but "seed")
  double target = 0.99;
  std::vector<SweepRow> rows;
};

/// Reads every finished cell of `plan` (summary.json, progress.csv). Throws fool::Error (kIo)
/// for a malformed cell.
SweepTable aggregate_sweep(const SweepPlan& plan, double target);

/// CSV: one row per SweepRow; an unreached target is an empty field.
std::string sweep_table_csv(const SweepTable& table);
/// Markdown: the same figures as "median [min, max]".
std::string sweep_table_markdown(const SweepTable& table);
/// Median confidence against evaluations, a series per row.
LinePlot sweep_plot(const SweepTable& table);
/// Classes >= 0.99 against evaluations, a series per row (the QD coverage curve, with class
/// confidence as the quality).
LinePlot sweep_classes_plot(const SweepTable& table);

}  // namespace fool
