#include "fool/sweep/aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/run_reader.h"
#include "fool/util/statistics.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

constexpr double kNotReached = std::numeric_limits<double>::infinity();

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.count = static_cast<int64_t>(values.size());
  if (values.empty()) return s;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  s.median = median(values);  // +infinity (never reached) sorts last, so a median can be infinite
  return s;
}

/// A grid value as a row name shows it: a path by its file name without extension (the model
/// `models/converted/lenet_ethereon.pt` is `lenet_ethereon`), the empty model as `bundled`.
std::string axis_value_text(const std::string& axis, const nlohmann::ordered_json& value) {
  if (!value.is_string()) return value.dump();
  const std::string text = value.get<std::string>();
  if (axis == "model" && text.empty()) return "bundled";
  if (text.find('/') != std::string::npos && !fs::path(text).stem().empty()) return fs::path(text).stem().string();
  return text;
}

std::string number(double value, const char* pattern) {
  if (std::isinf(value)) return "";
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string markdown_spread(const Spread& s, const char* pattern) {
  if (s.count == 0) return "-";
  const auto show = [&](double v) { return std::isinf(v) ? std::string("not reached") : number(v, pattern); };
  return show(s.median) + " [" + show(s.min) + ", " + show(s.max) + "]";
}

/// milestones.csv's first_0.99 column: the generation each class's elite first reached 0.99 (-1:
/// never); empty when the file is missing or not in that form (runs from before it existed).
std::vector<int64_t> first_at_099(const std::string& path) {
  std::vector<int64_t> out;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return out;
  try {
    const auto rows = parse_csv(read_file(path, 64 << 20));
    if (rows.empty() || rows[0].size() < 4 || rows[0][3] != "first_0.99") return {};
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const auto value = rows[r].size() > 3 ? csv_integer(rows[r][3]) : std::nullopt;
      if (!value) return {};
      out.push_back(*value);
    }
  } catch (const std::exception&) {
    return {};
  }
  return out;
}

}  // namespace

SweepTable aggregate_sweep(const SweepPlan& plan, double target) {
  SweepTable table;
  table.target = target;
  for (const auto& axis : plan.axes) {
    if (axis != "seed") table.axes.push_back(axis);
  }
  struct Acc {
    SweepRow row;
    std::vector<double> median, classes, to_target, rate;
    std::vector<std::vector<ProgressRecord>> curves;
    std::vector<std::vector<int64_t>> first_099;  ///< per finished cell, per class (-1: never); empty: unknown
  };
  std::vector<Acc> rows;
  std::map<std::string, std::size_t> by_name;
  for (const auto& cell : plan.cells) {
    std::vector<std::string> values;
    std::string name, key;  // rows are told apart by the values themselves, shown by short names
    for (const auto& axis : table.axes) {
      values.push_back(axis_value_text(axis, cell.grid.at(axis)));
      name += (name.empty() ? "" : ", ") + axis + "=" + values.back();
      key += cell.grid.at(axis).dump() + "\n";
    }
    if (name.empty()) name = "all";
    auto [it, inserted] = by_name.emplace(key, rows.size());
    if (inserted) {
      rows.emplace_back();
      rows.back().row.name = name;
      rows.back().row.values = values;
    }
    Acc& acc = rows[it->second];
    ++acc.row.cells;
    if (cell_state(plan, cell) != CellState::kFinished) continue;
    ++acc.row.finished;
    const RunData run = read_run((fs::path(plan.path) / cell.dir).string(), kRunSummary | kRunProgress);
    const RunSummary& s = run.summary;
    acc.median.push_back(s.median_confidence);
    double at_least = 0;
    for (const auto& c : s.classes) at_least += c.confidence >= 0.99 ? 1 : 0;
    acc.classes.push_back(at_least);
    double reached = kNotReached;
    for (const auto& p : run.progress) {
      if (p.min >= target) {
        reached = static_cast<double>(p.evaluations);
        break;
      }
    }
    if (!std::isinf(reached)) ++acc.row.reached_target;
    acc.to_target.push_back(reached);
    acc.rate.push_back(s.evaluations_per_second);
    acc.curves.push_back(run.progress);
    acc.first_099.push_back(first_at_099((fs::path(plan.path) / cell.dir / "milestones.csv").string()));
    acc.row.classes = static_cast<int64_t>(s.classes.size());
  }
  for (auto& acc : rows) {
    SweepRow& row = acc.row;
    row.median_confidence = spread(acc.median);
    row.classes_at_least_099 = spread(acc.classes);
    row.evaluations_to_target = spread(acc.to_target);
    row.evaluations_per_second = spread(acc.rate);
    if (!acc.curves.empty()) {
      std::size_t length = acc.curves.front().size();
      for (const auto& c : acc.curves) length = std::min(length, c.size());
      for (std::size_t i = 0; i < length; ++i) {
        std::vector<double> medians, evaluations;
        for (const auto& c : acc.curves) {
          medians.push_back(c[i].median);
          evaluations.push_back(static_cast<double>(c[i].evaluations));
        }
        row.curve_evaluations.push_back(median(evaluations));
        row.curve_median.push_back(median(medians));
      }
      const bool known =
          std::all_of(acc.first_099.begin(), acc.first_099.end(), [](const auto& f) { return !f.empty(); });
      for (std::size_t i = 0; i < length && known; ++i) {
        std::vector<double> counts;
        for (std::size_t c = 0; c < acc.curves.size(); ++c) {
          const int64_t generation = acc.curves[c][i].generation;
          double count = 0;
          for (int64_t first : acc.first_099[c]) count += (first >= 0 && first <= generation) ? 1 : 0;
          counts.push_back(count);
        }
        row.curve_classes.push_back(median(counts));
      }
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string sweep_table_csv(const SweepTable& t) {
  std::ostringstream csv;
  for (const auto& axis : t.axes) csv << csv_field(axis) << ",";
  csv << "cells,finished";
  for (const char* figure :
       {"median_confidence", "classes_at_least_0.99", "evaluations_to_target", "evaluations_per_second"}) {
    for (const char* stat : {"median", "min", "max"}) csv << "," << figure << "_" << stat;
  }
  csv << ",reached_target,target\n";
  for (const auto& r : t.rows) {
    for (const auto& v : r.values) csv << csv_field(v) << ",";
    csv << r.cells << "," << r.finished;
    const std::pair<const Spread*, const char*> figures[] = {{&r.median_confidence, "%.6f"},
                                                             {&r.classes_at_least_099, "%.1f"},
                                                             {&r.evaluations_to_target, "%.0f"},
                                                             {&r.evaluations_per_second, "%.1f"}};
    for (const auto& [s, pattern] : figures) {
      for (double v : {s->median, s->min, s->max}) csv << "," << (s->count == 0 ? "" : number(v, pattern));
    }
    csv << "," << r.reached_target << "," << number(t.target, "%g") << "\n";
  }
  return csv.str();
}

std::string sweep_table_markdown(const SweepTable& t) {
  std::ostringstream md;
  md << "| cell | finished | median confidence | classes >= 0.99 | evaluations to min >= " << number(t.target, "%g")
     << " | reached | evaluations/s |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : t.rows) {
    std::string name;
    for (char c : r.name) name += c == '|' ? std::string("\\|") : std::string(1, c);
    md << "| " << name << " | " << r.finished << " of " << r.cells << " | "
       << markdown_spread(r.median_confidence, "%.4f") << " | " << markdown_spread(r.classes_at_least_099, "%.0f")
       << " | " << markdown_spread(r.evaluations_to_target, "%.0f") << " | " << r.reached_target << " of " << r.finished
       << " | " << markdown_spread(r.evaluations_per_second, "%.0f") << " |\n";
  }
  md << "\nEach figure: the median over the cell's seeds, with [min, max] over the seeds beside it.\n";
  return md.str();
}

LinePlot sweep_classes_plot(const SweepTable& t) {
  LinePlot plot;
  plot.title = "Classes >= 0.99 (median over seeds)";
  plot.x_label = "evaluations";
  plot.y_label = "classes >= 0.99";
  double classes = 1;
  for (const auto& r : t.rows) {
    if (r.curve_classes.empty()) continue;
    classes = std::max(classes, static_cast<double>(r.classes));
    plot.series.push_back({r.name, r.curve_evaluations, r.curve_classes, -1});
  }
  plot.y_max = classes;
  return plot;
}

LinePlot sweep_plot(const SweepTable& t) {
  LinePlot plot;
  plot.title = "Median elite confidence (median over seeds)";
  plot.x_label = "evaluations";
  plot.y_label = "median elite confidence";
  for (const auto& r : t.rows) {
    if (r.curve_median.empty()) continue;
    plot.series.push_back({r.name, r.curve_evaluations, r.curve_median, -1});
  }
  return plot;
}

}  // namespace fool
