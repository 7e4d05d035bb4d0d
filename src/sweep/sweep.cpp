#include "fool/sweep/sweep.h"

#include <filesystem>
#include <set>

#include "fool/io/files.h"
#include "fool/io/json.h"
#include "fool/run/run.h"
#include "fool/util/error.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

constexpr std::size_t kMaxSpecBytes = 1 << 20;
constexpr std::size_t kMaxPlanBytes = 64 << 20;  // 100,000 cells of index, name and grid values
constexpr std::size_t kMaxSummaryBytes = 64 << 20;
constexpr std::size_t kMaxValueNameChars = 40;

Error spec_error(const std::string& source, const std::string& what) {
  return Error(ErrorKind::kUsage, "sweep spec '" + source + "': " + what);
}

/// A grid value as it appears in a cell's name: the text of a string, the JSON of anything else,
/// with every character outside [A-Za-z0-9.+-] replaced by '_' and long values cut to their end
/// (a model path keeps its file name).
std::string value_name(const nlohmann::ordered_json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  for (char& c : text) {
    const bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-';
    if (!plain) c = '_';
  }
  if (text.size() > kMaxValueNameChars) text = text.substr(text.size() - kMaxValueNameChars);
  return text.empty() ? "_" : text;
}

std::string padded(int64_t value, int width) {
  std::string text = std::to_string(value);
  return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(text.size()))), '0') + text;
}

nlohmann::ordered_json plan_json(const SweepPlan& plan) {
  nlohmann::ordered_json cells = nlohmann::ordered_json::array();
  for (const auto& cell : plan.cells) {
    cells.push_back({{"index", cell.index}, {"name", cell.name}, {"dir", cell.dir}, {"grid", cell.grid}});
  }
  return {{"format", 1}, {"spec", plan.spec}, {"axes", plan.axes}, {"cells", cells}};
}

/// The file settings of a spec ("model", "labels") as absolute paths where they name an existing
/// file relative to the working directory, so that every cell, a task on another node of the
/// cluster or a rerun from another folder, reads the same file. Idempotent.
void resolve_file_paths(nlohmann::ordered_json& spec) {
  const auto resolve = [](nlohmann::ordered_json& value) {
    if (!value.is_string()) return;
    const std::string text = value.get<std::string>();
    std::error_code ec;
    if (text.empty() || fs::path(text).is_absolute() || !fs::exists(text, ec)) return;
    value = fs::absolute(text, ec).lexically_normal().string();
  };
  for (const char* part : {"settings", "grid"}) {
    if (!spec.contains(part) || !spec[part].is_object()) continue;
    for (const char* key : {"model", "labels"}) {
      if (!spec[part].contains(key)) continue;
      auto& value = spec[part][key];
      if (value.is_array()) {
        for (auto& v : value) resolve(v);
      } else {
        resolve(value);
      }
    }
  }
}

}  // namespace

SweepPlan plan_sweep(const std::string& spec_text, const std::string& source, const std::string& dir) {
  SweepPlan plan;
  plan.path = dir;
  try {
    plan.spec = nlohmann::ordered_json::parse(spec_text);
  } catch (const nlohmann::json::exception& e) {
    throw spec_error(source, std::string("not valid JSON (") + e.what() + ").");
  }
  if (plan.spec.is_object()) resolve_file_paths(plan.spec);
  const auto& spec = plan.spec;
  if (!spec.is_object()) {
    throw spec_error(source, "not a JSON object. Fix: {\"settings\": {...}, \"grid\": {\"seed\": [1, 2, 3]}}.");
  }
  for (const auto& item : spec.items()) {
    if (item.key() != "settings" && item.key() != "grid") {
      throw spec_error(source, "unknown key \"" + item.key() + "\". Fix: only \"settings\" and \"grid\".");
    }
  }
  const nlohmann::ordered_json settings = spec.value("settings", nlohmann::ordered_json::object());
  const nlohmann::ordered_json grid = spec.value("grid", nlohmann::ordered_json::object());
  if (!settings.is_object()) throw spec_error(source, "\"settings\" is not an object of fool run settings.");
  if (!grid.is_object()) throw spec_error(source, "\"grid\" is not an object of setting: [values].");
  for (const auto* part : {&settings, &grid}) {
    for (const auto& item : part->items()) {
      if (item.key() == "out" || item.key() == "force") {
        throw spec_error(source, "\"" + item.key() +
                                     "\" belongs to the sweep (each cell's run directory is cells/<name>). "
                                     "Fix: remove it, and give the sweep's directory with --out.");
      }
    }
  }
  int64_t total = 1;
  std::vector<std::vector<nlohmann::ordered_json>> values;
  for (const auto& item : grid.items()) {
    if (settings.contains(item.key())) {
      throw spec_error(source, "\"" + item.key() + "\" is both a setting and a grid axis. Fix: keep one.");
    }
    if (!item.value().is_array() || item.value().empty()) {
      throw spec_error(
          source, "grid \"" + item.key() + "\" is not a non-empty list. Fix: e.g. \"" + item.key() + "\": [1, 2, 3].");
    }
    const auto n = static_cast<int64_t>(item.value().size());
    if (n > kMaxSweepCells / total) {
      throw spec_error(source, "the grid has more than " + std::to_string(kMaxSweepCells) +
                                   " cells. Fix: split it into several sweeps.");
    }
    total *= n;
    plan.axes.push_back(item.key());
    values.emplace_back(item.value().begin(), item.value().end());
  }
  const int width = std::max(3, static_cast<int>(std::to_string(total - 1).size()));
  std::set<std::string> names;
  for (int64_t index = 0; index < total; ++index) {
    SweepCell cell;
    cell.index = index;
    cell.name = padded(index, width);
    nlohmann::json cell_settings = nlohmann::json::parse(settings.dump());
    int64_t rest = index;
    for (std::size_t a = plan.axes.size(); a-- > 0;) {  // the last axis varies fastest
      const auto n = static_cast<int64_t>(values[a].size());
      const auto& value = values[a][static_cast<std::size_t>(rest % n)];
      rest /= n;
      cell.grid[plan.axes[a]] = value;
      cell_settings[plan.axes[a]] = nlohmann::json::parse(value.dump());
    }
    nlohmann::ordered_json ordered_grid;  // spec order, not the reverse order of the loop above
    for (const auto& axis : plan.axes) {
      ordered_grid[axis] = cell.grid[axis];
      cell.name += "_" + value_name(nlohmann::ordered_json(axis)) + "-" + value_name(cell.grid[axis]);
    }
    cell.grid = ordered_grid;
    cell.dir = "cells/" + cell.name;
    if (!names.insert(cell.name).second) throw spec_error(source, "two cells are named " + cell.name + ".");
    RunConfig config;
    try {
      settings_from_json(cell_settings, config, source);
      validate(config);
    } catch (const Error& e) {
      throw Error(e.kind(), "sweep spec '" + source + "', cell " + cell.name + ": " + e.what());
    }
    cell.settings = settings_to_json(config);
    plan.cells.push_back(std::move(cell));
  }
  return plan;
}

SweepPlan plan_sweep_file(const std::string& spec_path, const std::string& dir) {
  return plan_sweep(read_file(spec_path, kMaxSpecBytes), spec_path, dir);
}

void write_or_check_plan(const SweepPlan& plan) {
  const fs::path dir(plan.path);
  const fs::path plan_file = dir / kSweepFile;
  std::error_code ec;
  if (fs::exists(plan_file, ec)) {
    const SweepPlan existing = read_plan(plan.path);
    if (existing.spec.dump() != plan.spec.dump()) {
      throw Error(ErrorKind::kIo, "'" + plan.path +
                                      "' holds a sweep of another spec (its spec.json). Fix: another --out, or "
                                      "the same spec to finish that sweep.");
    }
    return;
  }
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      throw Error(ErrorKind::kIo, "--out '" + plan.path + "' exists and is not a directory. Fix: another --out.");
    }
    if (!fs::is_empty(dir, ec)) {
      throw Error(ErrorKind::kIo, "--out '" + plan.path + "' is not empty and holds no " + kSweepFile +
                                      ". Fix: a new directory for the sweep.");
    }
  }
  make_directories(plan.path);
  make_own_directory((dir / "cells").string());
  write_file_atomic((dir / kSweepSpecFile).string(), plan.spec.dump(2) + "\n");
  write_file_atomic(plan_file.string(), plan_json(plan).dump(1) + "\n");
}

SweepPlan read_plan(const std::string& dir) {
  const std::string file = (fs::path(dir) / kSweepFile).string();
  if (!fs::exists(file)) {
    throw Error(ErrorKind::kIo, "'" + dir + "' has no " + kSweepFile +
                                    ". Fix: plan the sweep first with fool sweep SPEC --out " + dir + ".");
  }
  // The spec is the plan: the cells are expanded from it again (and validated again), so a
  // sweep.json edited by hand cannot send a task to a cell the spec does not have.
  SweepPlan plan = plan_sweep_file((fs::path(dir) / kSweepSpecFile).string(), dir);
  nlohmann::json written;
  try {
    written = nlohmann::json::parse(read_file(file, kMaxPlanBytes));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kIo, "'" + file + "' is not valid JSON (" + e.what() + "). Fix: plan the sweep again.");
  }
  if (!written.is_object() || !written.contains("cells") || !written["cells"].is_array() ||
      written["cells"].size() != plan.cells.size()) {
    throw Error(ErrorKind::kIo, "'" + file + "' does not match its " + kSweepSpecFile +
                                    ". Fix: plan the sweep again in a new directory.");
  }
  return plan;
}

RunConfig cell_config(const SweepPlan& plan, const SweepCell& cell) {
  RunConfig config;
  settings_from_json(cell.settings, config, plan.path + "/" + kSweepSpecFile);
  config.out = (fs::path(plan.path) / cell.dir).string();
  return config;
}

CellState cell_state(const SweepPlan& plan, const SweepCell& cell) {
  const fs::path dir = fs::path(plan.path) / cell.dir;
  std::error_code ec;
  const bool checkpoint = fs::is_regular_file(dir / kCheckpointFile, ec);
  if (fs::is_regular_file(dir / "summary.json", ec)) {
    try {
      const auto summary = nlohmann::json::parse(read_file((dir / "summary.json").string(), kMaxSummaryBytes));
      const auto reason = summary.value("stop_reason", std::string("generations"));
      if (reason != "signal") return CellState::kFinished;
    } catch (const std::exception&) {
      // a torn or malformed summary: the run did not end cleanly; its checkpoint decides
    }
  }
  return checkpoint ? CellState::kInterrupted : CellState::kPending;
}

int run_cell(const SweepPlan& plan, const SweepCell& cell, int threads, const std::atomic<int>* stop_signal) {
  RunConfig config = cell_config(plan, cell);
  if (threads > 0 && config.model.threads == 0) config.model.threads = threads;
  switch (cell_state(plan, cell)) {
    case CellState::kFinished:
      return 0;
    case CellState::kInterrupted:
      return execute_run(config, RunMode::kResume, stop_signal);
    case CellState::kPending:
      config.force = true;  // what a run killed before its first checkpoint left goes
      return execute_run(config, RunMode::kFresh, stop_signal);
  }
  return 0;
}

}  // namespace fool
