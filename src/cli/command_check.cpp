// fool check: the CI gate on a run's attack success (summary.json), optionally against a baseline.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/common.h"
#include "fool/io/run_reader.h"
#include "fool/model/classes.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {
namespace fs = std::filesystem;

struct CheckOptions {
  std::string run;  ///< run directory, or its summary.json
  double min_confidence = 0.99;
  double min_fraction = 0.9;
  std::string classes;   ///< empty: every class of the run
  std::string baseline;  ///< another summary.json (or its run directory)
  double tolerance = 0.02;
};

std::string summary_path(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) ? (fs::path(path) / "summary.json").string() : path;
}

int check(const CheckOptions& o) {
  if (o.min_confidence < 0 || o.min_confidence > 1)
    throw Error(ErrorKind::kUsage, "--min-confidence must be in [0,1].");
  if (o.min_fraction < 0 || o.min_fraction > 1) throw Error(ErrorKind::kUsage, "--min-fraction must be in [0,1].");
  if (o.tolerance < 0) throw Error(ErrorKind::kUsage, "--tolerance must be >= 0.");
  std::error_code ec;
  if (!fs::exists(o.run, ec)) {
    throw Error(ErrorKind::kIo, "run directory '" + o.run +
                                    "' does not exist. Fix: pass the --out directory of a "
                                    "fool run, or its summary.json.");
  }
  const RunSummary summary = read_summary(summary_path(o.run));

  // The classes to check: all of the run's, or the --classes selection (each must be in the run).
  std::map<int64_t, const ClassResult*> by_index;
  int64_t num_classes = 0;
  for (const auto& c : summary.classes) {
    by_index[c.index] = &c;
    num_classes = std::max(num_classes, c.index + 1);
  }
  std::vector<const ClassResult*> selected;
  if (o.classes.empty()) {
    for (const auto& c : summary.classes) selected.push_back(&c);
  } else {
    for (int64_t index : parse_classes(o.classes, num_classes)) {
      auto it = by_index.find(index);
      if (it == by_index.end()) {
        throw Error(ErrorKind::kUsage, "--classes: class " + std::to_string(index) + " is not in " + summary.source +
                                           ". Fix: choose among the run's classes.");
      }
      selected.push_back(it->second);
    }
  }

  int64_t passed = 0, failed = 0;
  for (const auto* c : selected) {
    if (c->confidence >= o.min_confidence) {
      ++passed;
      continue;
    }
    ++failed;
    std::printf("FAIL class %lld (%s): confidence %.6f < %g\n", static_cast<long long>(c->index), c->label.c_str(),
                c->confidence, o.min_confidence);
  }
  const double fraction = selected.empty() ? 0.0 : static_cast<double>(passed) / static_cast<double>(selected.size());
  const bool gate_ok = fraction >= o.min_fraction;
  std::printf("%s %lld of %zu classes (%.1f%%) reach %g; --min-fraction %g\n", gate_ok ? "ok  " : "FAIL",
              static_cast<long long>(passed), selected.size(), 100.0 * fraction, o.min_confidence, o.min_fraction);

  // Baseline: no success figure may drop by more than the tolerance.
  int64_t regressions = 0;
  if (!o.baseline.empty()) {
    const RunSummary base = read_summary(summary_path(o.baseline));
    if (!base.model_sha256.empty() && !summary.model_sha256.empty() && base.model_sha256 != summary.model_sha256) {
      spdlog::warn("the baseline {} was run on another model ({}) than {} ({})", base.source, base.model,
                   summary.source, summary.model);
    }
    int64_t compared = 0;
    auto compare = [&](const std::string& figure, double now, double before) {
      ++compared;
      if (now >= before - o.tolerance) {
        ++passed;
        return;
      }
      ++failed;
      ++regressions;
      std::printf("FAIL %s dropped by %.6f: %.6f, baseline %.6f (--tolerance %g)\n", figure.c_str(), before - now, now,
                  before, o.tolerance);
    };
    compare("median_confidence", summary.median_confidence, base.median_confidence);
    compare("min_confidence", summary.min_confidence, base.min_confidence);
    for (const auto& [threshold, before] : base.fraction_at_least) {
      auto it = std::find_if(summary.fraction_at_least.begin(), summary.fraction_at_least.end(),
                             [&](const auto& f) { return f.first == threshold; });
      if (it == summary.fraction_at_least.end()) {
        throw Error(ErrorKind::kIo, "'" + summary.source + "' has no fraction_at_least \"" + threshold +
                                        "\" that the baseline '" + base.source +
                                        "' has. Fix: compare runs written "
                                        "by the same fool version.");
      }
      compare("fraction_at_least " + threshold, it->second, before);
    }
    int64_t missing = 0;
    for (const auto* c : selected) {
      auto it = std::find_if(base.classes.begin(), base.classes.end(),
                             [&](const ClassResult& b) { return b.index == c->index; });
      if (it == base.classes.end()) {
        ++missing;
        continue;
      }
      compare("class " + std::to_string(c->index) + " (" + c->label + ") confidence", c->confidence, it->confidence);
    }
    if (missing > 0) spdlog::warn("{} checked classes are not in the baseline {}", missing, base.source);
    std::printf("%s %lld of %lld figures within --tolerance %g of the baseline %s\n", regressions ? "FAIL" : "ok  ",
                static_cast<long long>(compared - regressions), static_cast<long long>(compared), o.tolerance,
                base.source.c_str());
  }

  std::printf("%lld passed, %lld failed\n", static_cast<long long>(passed), static_cast<long long>(failed));
  std::fflush(stdout);
  return gate_ok && regressions == 0 ? 0 : 1;
}

}  // namespace

Command add_check_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "check",
      "Gate for CI: every checked class whose elite reaches --min-confidence passes; the run passes when at least "
      "--min-fraction of them do and, with --baseline, no success figure (median, min, fractions, each class) "
      "dropped by more than --tolerance. Prints a line per failure and last 'N passed, N failed'; exit 0 pass, 1 "
      "fail.");
  auto options = std::make_shared<CheckOptions>();
  app->add_option("run", options->run, "run directory (or its summary.json)")->required();
  add_number(*app, "--min-confidence", options->min_confidence, "a class passes when its elite reaches this")
      ->capture_default_str();
  add_number(*app, "--min-fraction", options->min_fraction, "the run passes when this fraction of classes pass")
      ->capture_default_str();
  app->add_option("--classes", options->classes, "classes to check, e.g. 0-4 or 1,7 (empty: all of the run's)");
  app->add_option("--baseline", options->baseline, "summary.json (or run directory) of an earlier run to compare with");
  add_number(*app, "--tolerance", options->tolerance, "largest allowed drop of a figure versus --baseline")
      ->capture_default_str();
  return {app, [options] { return check(*options); }};
}

}  // namespace fool::cli
