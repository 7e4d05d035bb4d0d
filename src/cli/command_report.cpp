// fool report: contact sheet(s), a confidence-against-evaluations plot and report.md for one run,
// or a side-by-side comparison of several (seeds, encodings, models).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "cli/common.h"
#include "fool/io/contact_sheet.h"
#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/io/plot.h"
#include "fool/io/run_reader.h"
#include "fool/sweep/aggregate.h"
#include "fool/train/retrain.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"
#include "fool/util/text.h"

namespace fool::cli {
namespace {
namespace fs = std::filesystem;

constexpr const char* kDefaultComparisonOut = "report-comparison";
constexpr std::size_t kMaxListedClasses = 100;
constexpr std::size_t kMaxRoundsCsvBytes = 16u << 20;

struct ReportOptions {
  std::vector<std::string> runs;
  std::string out;  ///< default: <run>/report, or report-comparison for several runs
  int max_page_side = 4000;
  double target = 0.99;  ///< a sweep's "evaluations to target": until every class reaches it
};

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

/// 1234567 -> "1,234,567"
std::string thousands(int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return (value < 0 ? "-" : "") + digits;
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

/// "9 of 10 (90.0%)" from a summary fraction.
std::string fraction_text(double fraction, std::size_t total) {
  const auto count = static_cast<long long>(std::llround(fraction * static_cast<double>(total)));
  char text[64];
  std::snprintf(text, sizeof text, "%lld of %zu (%.1f%%)", count, total, 100.0 * fraction);
  return text;
}

/// The key figures of a run, as (name, value) rows; the same rows for every run so they line up.
std::vector<std::pair<std::string, std::string>> key_figures(const RunData& run) {
  const RunSummary& s = run.summary;
  const std::size_t n = s.classes.size();
  std::vector<std::pair<std::string, std::string>> rows = {
      {"model", run.model_name + " (`" + s.model + "`)"},
      {"search", s.search},
      {"encoding", s.encoding},
      {"seed", std::to_string(s.seed)},
      {"classes", std::to_string(n)},
      {"generations", thousands(s.generations)},
      {"evaluations", thousands(s.evaluations)},
      {"forward equivalents", thousands(s.forward_equivalents)},
      {"wall time", format("%.1f s", s.seconds)},
      {"evaluations/s", thousands(static_cast<int64_t>(std::llround(s.evaluations_per_second)))},
      {"device", s.device},
      {"median confidence", format("%.6f", s.median_confidence)},
      {"min confidence", format("%.6f", s.min_confidence)},
  };
  for (const auto& [threshold, fraction] : s.fraction_at_least) {
    rows.emplace_back("classes >= " + threshold, fraction_text(fraction, n));
  }
  // Regularity at a glance: CPPN patterns are smooth, ascent and direct images noise-like.
  rows.emplace_back("mean TV per pixel", format("%.4f", total_variation_per_pixel(read_elite_table(run).images)));
  return rows;
}

std::string classes_below(const RunSummary& s, double threshold) {
  std::vector<const ClassResult*> below;
  for (const auto& c : s.classes) {
    if (c.confidence < threshold) below.push_back(&c);
  }
  if (below.empty()) return "none";
  std::ostringstream out;
  out << below.size() << ": ";
  for (std::size_t i = 0; i < below.size() && i < kMaxListedClasses; ++i) {
    out << (i ? ", " : "") << below[i]->index;
    if (below[i]->label != std::to_string(below[i]->index)) out << " " << markdown_cell(below[i]->label);
    out << " (" << format("%.4f", below[i]->confidence) << ")";
  }
  if (below.size() > kMaxListedClasses) out << ", ... " << below.size() - kMaxListedClasses << " more in archive.csv";
  return out.str();
}

LinePlot progress_plot(const RunData& run, const std::string& title) {
  LinePlot plot;
  plot.title = title;
  plot.x_label = "evaluations";
  plot.y_label = "elite confidence";
  PlotSeries min{"min", {}, {}, 3}, median{"median", {}, {}, 0}, max{"max", {}, {}, 2};
  for (const auto& p : run.progress) {
    for (auto* s : {&min, &median, &max}) s->x.push_back(static_cast<double>(p.evaluations));
    min.y.push_back(p.min);
    median.y.push_back(p.median);
    max.y.push_back(p.max);
  }
  plot.series = {max, median, min};
  return plot;
}

std::string run_title(const RunData& run) {
  return run.model_name + ", " + run.summary.encoding + ", seed " + std::to_string(run.summary.seed);
}

/// A run's transfer.csv (fool evaluate): each evaluating model's probabilities of the elites' classes.
struct TransferColumns {
  std::vector<std::string> models;
  std::vector<std::vector<double>> confidence;  ///< [model][elite]
};

/// transfer.csv and detection.csv are at most a few MB (1000 classes x a few models).
constexpr std::size_t kMaxSideCsvBytes = 64u << 20;

/// Reads `file` as CSV with at least a header, every row as wide as it; throws fool::Error (kIo).
std::vector<std::vector<std::string>> read_side_csv(const std::string& file) {
  auto rows = parse_csv(read_file(file, kMaxSideCsvBytes));
  const auto bad = [&](const std::string& what) {
    return Error(ErrorKind::kIo, "'" + file + "' " + what + ". Fix: write it again with fool evaluate, or delete it.");
  };
  if (rows.empty()) throw bad("is empty");
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != rows[0].size()) throw bad("row " + std::to_string(r + 1) + " has the wrong number of fields");
  }
  return rows;
}

std::optional<TransferColumns> read_transfer(const std::string& run_dir) {
  const std::string file = (fs::path(run_dir) / "transfer.csv").string();
  if (!fs::exists(file)) return std::nullopt;
  const auto rows = read_side_csv(file);
  TransferColumns t;
  for (std::size_t c = 0; c < rows[0].size(); ++c) {
    const std::string& name = rows[0][c];
    if (!ends_with(name, "_confidence") || ends_with(name, "_top1_confidence") || name == "source_confidence") continue;
    t.models.push_back(name.substr(0, name.size() - std::string("_confidence").size()));
    t.confidence.emplace_back();
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const auto v = csv_number(rows[r][c]);
      if (!v || !(*v >= 0 && *v <= 1)) {
        throw Error(ErrorKind::kIo, "'" + file + "' row " + std::to_string(r + 1) + ": " + name + " '" + rows[r][c] +
                                        "' is not a probability. Fix: write it again with fool evaluate.");
      }
      t.confidence.back().push_back(*v);
    }
  }
  return t;
}

std::string at_least_text(const std::vector<double>& v, double threshold) {
  const auto count = std::count_if(v.begin(), v.end(), [&](double p) { return p >= threshold; });
  return std::to_string(count) + "/" + std::to_string(v.size());
}

/// The Markdown of a run's transfer.csv and detection.csv, when fool evaluate wrote them.
std::string evaluation_sections(const RunData& run, const std::string& hashes) {
  std::ostringstream md;
  if (const auto t = read_transfer(run.path)) {
    md << hashes << "# Transfer to other models (fool evaluate)\n\n| model | >= 0.99 | >= 0.5 | median |\n"
       << "|---|---|---|---|\n";
    for (std::size_t m = 0; m < t->models.size(); ++m) {
      md << "| " << markdown_cell(t->models[m]) << " | " << at_least_text(t->confidence[m], 0.99) << " | "
         << at_least_text(t->confidence[m], 0.5) << " | " << format("%.6f", median(t->confidence[m])) << " |\n";
    }
    md << "\n";
  }
  const std::string detection = (fs::path(run.path) / "detection.csv").string();
  if (fs::exists(detection)) {
    const auto rows = read_side_csv(detection);
    md << hashes << "# Detection against real images (fool evaluate --real)\n\n|";
    for (const auto& h : rows[0]) md << " " << markdown_cell(h) << " |";
    md << "\n|";
    for (std::size_t i = 0; i < rows[0].size(); ++i) md << "---|";
    md << "\n";
    for (std::size_t r = 1; r < rows.size(); ++r) {
      md << "|";
      for (const auto& f : rows[r]) md << " " << markdown_cell(f) << " |";
      md << "\n";
    }
    md << "\n";
  }
  return md.str();
}

/// Contact sheet pages and the plot of one run; returns the Markdown section about it.
std::string report_run(const RunData& run, const std::string& out, const std::string& prefix, int max_page_side,
                       int heading) {
  ContactSheetOptions sheet;
  sheet.max_page_side = max_page_side;
  const auto pages = write_contact_sheet(run, (fs::path(out) / (prefix + "contact_sheet.png")).string(), sheet);
  const std::string plot_file = prefix + "confidence.png";
  write_line_plot(progress_plot(run, "Elite confidence: " + run_title(run)), (fs::path(out) / plot_file).string());

  const std::string hashes(static_cast<std::size_t>(heading), '#');
  std::ostringstream md;
  md << "| figure | value |\n|---|---|\n";
  for (const auto& [name, value] : key_figures(run)) md << "| " << name << " | " << markdown_cell(value) << " |\n";
  md << "\n**Classes below 0.99:** " << classes_below(run.summary, 0.99) << "\n\n";
  md << evaluation_sections(run, hashes);
  const std::string run_link = fs::relative(fs::absolute(run.path), fs::absolute(out)).generic_string();
  md << "Run directory: [`" << run.path << "`](" << run_link << "), summary in [summary.json](" << run_link
     << "/summary.json), elites in [archive.csv](" << run_link << "/archive.csv).\n\n";
  md << hashes << "# Confidence against evaluations\n\n![min, median and max elite confidence](" << plot_file
     << ")\n\n";
  md << hashes << "# Elites\n\n";
  for (std::size_t i = 0; i < pages.size(); ++i) {
    const std::string name = fs::path(pages[i]).filename().string();
    md << "![elites" << (pages.size() > 1 ? ", page " + std::to_string(i + 1) : std::string()) << "](" << name
       << ")\n\n";
  }
  return md.str();
}

/// A sweep directory: one table with a row per grid cell (seeds folded), sweep.csv and one chart.
int report_sweep(const ReportOptions& o) {
  const SweepPlan plan = read_plan(o.runs[0]);
  const SweepTable table = aggregate_sweep(plan, o.target);
  const std::string out = o.out.empty() ? (fs::path(plan.path) / "report").string() : o.out;
  make_directories(out);
  write_file_atomic((fs::path(out) / "sweep.csv").string(), sweep_table_csv(table));
  write_line_plot(sweep_plot(table), (fs::path(out) / "sweep.png").string());
  write_line_plot(sweep_classes_plot(table), (fs::path(out) / "sweep_classes.png").string());
  std::ostringstream md;
  md << "# fool report: sweep " << plan.path << "\n\n" << plan.cells.size() << " cells; grid: ";
  for (std::size_t i = 0; i < plan.axes.size(); ++i) md << (i ? " x " : "") << plan.axes[i];
  md << "\n\n"
     << sweep_table_markdown(table) << "\nThe same figures in [sweep.csv](sweep.csv).\n\n"
     << "![median elite confidence against evaluations, median over seeds](sweep.png)\n\n"
     << "![classes at or above 0.99 against evaluations, median over seeds](sweep_classes.png)\n";
  const std::string report_file = (fs::path(out) / "report.md").string();
  write_file_atomic(report_file, md.str());
  std::printf("%s\n", report_file.c_str());
  return 0;
}

/// A retrain directory: the rounds table, a chart of it, and the first and last rounds' elites.
int report_rounds(const ReportOptions& o) {
  const fs::path dir = o.runs[0];
  const std::string csv = (dir / "rounds.csv").string();
  const auto rounds = parse_rounds_csv(read_file(csv, kMaxRoundsCsvBytes), csv);
  if (rounds.empty()) throw Error(ErrorKind::kIo, "'" + csv + "' has no rounds yet. Fix: let fool retrain finish one.");
  const std::string out = o.out.empty() ? (dir / "report").string() : o.out;
  make_directories(out);
  LinePlot plot;
  plot.title = "Retraining with a fooling class";
  plot.x_label = "round";
  plot.y_label = "fraction";
  PlotSeries accuracy{"test accuracy", {}, {}, -1}, median{"median confidence of the evolved images", {}, {}, -1},
      at_099{"classes >= 0.99", {}, {}, -1}, caught{"earlier fooling images labelled fooling", {}, {}, -1};
  std::ostringstream md;
  md << "# fool report: retraining " << dir.string() << "\n\n"
     << "| round | test accuracy | fooling images trained on | earlier ones labelled fooling | their median "
        "confidence | median confidence | classes >= 0.99 | classes >= 0.9999 | evaluations to 0.99 (all classes) "
        "| to 0.9999 |\n|---|---|---|---|---|---|---|---|---|---|\n";
  const auto optional = [](double v, const char* pattern) { return v < 0 ? std::string("-") : format(pattern, v); };
  for (const auto& r : rounds) {
    const double x = static_cast<double>(r.round);
    accuracy.x.push_back(x);
    accuracy.y.push_back(r.test_accuracy);
    median.x.push_back(x);
    median.y.push_back(r.median_confidence);
    at_099.x.push_back(x);
    at_099.y.push_back(r.classes > 0 ? static_cast<double>(r.at_099) / static_cast<double>(r.classes) : 0);
    if (r.earlier_as_fooling >= 0) {
      caught.x.push_back(x);
      caught.y.push_back(r.earlier_as_fooling);
    }
    md << "| " << r.round << " | " << format("%.2f%%", 100 * r.test_accuracy) << " | " << r.fooling_trained << " | "
       << optional(100 * r.earlier_as_fooling, "%.1f%%") << " | " << optional(r.earlier_median, "%.4f") << " | "
       << format("%.6f", r.median_confidence) << " | " << r.at_099 << " of " << r.classes << " | " << r.at_09999
       << " | " << (r.evaluations_to_099 < 0 ? std::string("not reached") : thousands(r.evaluations_to_099)) << " | "
       << (r.evaluations_to_09999 < 0 ? std::string("not reached") : thousands(r.evaluations_to_09999)) << " |\n";
  }
  plot.series = {accuracy, median, at_099, caught};
  write_line_plot(plot, (fs::path(out) / "rounds.png").string());
  // What fooling each network costs: evaluations until every class got to 0.99 and 0.9999.
  LinePlot cost;
  cost.title = "Evaluations until every class is fooled";
  cost.x_label = "round";
  cost.y_label = "evaluations";
  cost.y_max = 1;
  PlotSeries to_099{"to 0.99", {}, {}, -1}, to_09999{"to 0.9999", {}, {}, -1};
  for (const auto& r : rounds) {
    for (const auto& [series, value] :
         {std::pair<PlotSeries*, int64_t>{&to_099, r.evaluations_to_099}, {&to_09999, r.evaluations_to_09999}}) {
      if (value < 0) continue;
      series->x.push_back(static_cast<double>(r.round));
      series->y.push_back(static_cast<double>(value));
      cost.y_max = std::max(cost.y_max, 1.05 * static_cast<double>(value));
    }
  }
  cost.series = {to_099, to_09999};
  write_line_plot(cost, (fs::path(out) / "rounds_cost.png").string());
  md << "\n![test accuracy, median confidence and detection of earlier fooling images by round](rounds.png)\n"
     << "\n![evaluations until every class reached 0.99 and 0.9999, by round (missing: never)](rounds_cost.png)\n";
  for (const auto* r : {&rounds.front(), &rounds.back()}) {
    char name[32];  // the round's own folder, whatever the table's model column says
    std::snprintf(name, sizeof name, "round-%02lld", static_cast<long long>(r->round));
    const fs::path run_dir = dir / name / "run";
    md << "\n## Round " << r->round << "\n\n"
       << report_run(read_run(run_dir.string()), out, "round" + std::to_string(r->round) + "_", o.max_page_side, 3);
    if (rounds.size() == 1) break;
  }
  const std::string report_file = (fs::path(out) / "report.md").string();
  write_file_atomic(report_file, md.str());
  std::printf("%s\n", report_file.c_str());
  return 0;
}

int report(const ReportOptions& o) {
  if (o.max_page_side < 256) throw Error(ErrorKind::kUsage, "--max-page-side must be >= 256 pixels.");
  if (!(o.target > 0 && o.target <= 1)) throw Error(ErrorKind::kUsage, "--target must be in (0,1].");
  if (o.runs.size() == 1 && fs::exists(fs::path(o.runs[0]) / kSweepFile)) return report_sweep(o);
  if (o.runs.size() == 1 && fs::exists(fs::path(o.runs[0]) / "rounds.csv")) return report_rounds(o);
  // The default folder lies inside the run directory: written under the run's lock, not while
  // a run writes there (taken before reading, so a running run is named as such).
  std::shared_ptr<DirectoryLock> lock;
  const bool inside_run = o.out.empty() && o.runs.size() == 1;
  if (inside_run && fs::is_directory(o.runs[0])) {
    lock = DirectoryLock::acquire(o.runs[0], "wait for it to end, or write the report elsewhere with --out DIR.");
  }
  std::vector<RunData> runs;
  for (const auto& dir : o.runs) runs.push_back(read_run(dir));
  const std::string out = !o.out.empty()     ? o.out
                          : runs.size() == 1 ? (fs::path(runs[0].path) / "report").string()
                                             : std::string(kDefaultComparisonOut);
  if (inside_run) {
    make_own_directory(out);  // fool's own folder in the run: a link in its place is refused, not followed
  } else {
    make_directories(out);
  }

  std::ostringstream md;
  if (runs.size() == 1) {
    md << "# fool report: " << runs[0].path << "\n\n" << report_run(runs[0], out, "", o.max_page_side, 1);
  } else {
    // Column names: directory names, the full path where two share a name.
    std::vector<std::string> names;
    std::set<std::string> seen, duplicated;
    for (const auto& run : runs) {
      const std::string name = fs::path(run.path).lexically_normal().filename().string();
      if (!seen.insert(name).second) duplicated.insert(name);
      names.push_back(name);
    }
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (duplicated.count(names[i]) || names[i].empty()) names[i] = runs[i].path;
    }
    md << "# fool report: " << runs.size() << " runs compared\n\n| figure |";
    for (const auto& name : names) md << " " << markdown_cell(name) << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < runs.size(); ++i) md << "---|";
    md << "\n";
    std::vector<std::vector<std::pair<std::string, std::string>>> figures;
    for (const auto& run : runs) figures.push_back(key_figures(run));
    std::vector<std::string> rows;
    for (const auto& figure_set : figures) {
      for (const auto& [name, value] : figure_set) {
        if (std::find(rows.begin(), rows.end(), name) == rows.end()) rows.push_back(name);
      }
    }
    for (const auto& row : rows) {
      md << "| " << row << " |";
      for (const auto& figure_set : figures) {
        auto it = std::find_if(figure_set.begin(), figure_set.end(), [&](const auto& f) { return f.first == row; });
        md << " " << (it == figure_set.end() ? std::string("-") : markdown_cell(it->second)) << " |";
      }
      md << "\n";
    }

    LinePlot plot;
    plot.title = "Median elite confidence";
    plot.x_label = "evaluations";
    plot.y_label = "median elite confidence";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      PlotSeries s{names[i] + " (" + runs[i].summary.encoding + ", seed " + std::to_string(runs[i].summary.seed) + ")",
                   {},
                   {},
                   -1};
      for (const auto& p : runs[i].progress) {
        s.x.push_back(static_cast<double>(p.evaluations));
        s.y.push_back(p.median);
      }
      plot.series.push_back(s);
    }
    // The transfer matrix: each run's elites (rows) scored by each model of its transfer.csv (columns).
    std::vector<std::optional<TransferColumns>> transfers;
    std::vector<std::string> columns;
    for (const auto& run : runs) {
      transfers.push_back(read_transfer(run.path));
      if (!transfers.back()) continue;
      for (const auto& m : transfers.back()->models) {
        if (std::find(columns.begin(), columns.end(), m) == columns.end()) columns.push_back(m);
      }
    }
    if (!columns.empty()) {
      md << "\n**Transfer matrix** (fool evaluate): elites of each run at or above 0.99 on each model, median "
            "in brackets\n\n| run (fooled model) |";
      for (const auto& c : columns) md << " " << markdown_cell(c) << " |";
      md << "\n|---|";
      for (std::size_t i = 0; i < columns.size(); ++i) md << "---|";
      md << "\n";
      for (std::size_t i = 0; i < runs.size(); ++i) {
        if (!transfers[i]) continue;
        md << "| " << markdown_cell(names[i] + " (" + runs[i].model_name + ")") << " |";
        for (const auto& c : columns) {
          const auto& t = *transfers[i];
          const auto it = std::find(t.models.begin(), t.models.end(), c);
          if (it == t.models.end()) {
            md << " - |";
            continue;
          }
          const auto& v = t.confidence[static_cast<std::size_t>(it - t.models.begin())];
          md << " " << at_least_text(v, 0.99) << " (" << format("%.4f", median(v)) << ") |";
        }
        md << "\n";
      }
    }
    write_line_plot(plot, (fs::path(out) / "comparison.png").string());
    md << "\n![median elite confidence of each run](comparison.png)\n\n";
    for (std::size_t i = 0; i < runs.size(); ++i) {
      md << "## " << names[i] << "\n\n"
         << report_run(runs[i], out, "run" + std::to_string(i + 1) + "_", o.max_page_side, 2);
    }
  }
  const std::string report_file = (fs::path(out) / "report.md").string();
  write_file_atomic(report_file, md.str());
  std::printf("%s\n", report_file.c_str());
  return 0;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "report",
      "Contact sheet of the elites, a plot of min/median/max confidence against evaluations and report.md with the "
      "key figures; several runs give a side-by-side comparison.");
  auto options = std::make_shared<ReportOptions>();
  app->add_option("runs", options->runs, "run directories, or one sweep directory (a table over its cells)")
      ->required();
  add_number(*app, "--target", options->target,
             "a sweep's evaluations-to-target column: until every class reaches this confidence")
      ->capture_default_str();
  app->add_option("--out", options->out,
                  std::string("report directory (default: <run>/report; several runs: ") + kDefaultComparisonOut + ")");
  add_number(*app, "--max-page-side", options->max_page_side,
             "largest contact sheet page side in pixels; more "
             "elites go onto further pages")
      ->capture_default_str();
  return {app, [options] { return report(*options); }};
}

}  // namespace fool::cli
