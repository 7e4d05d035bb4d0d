#pragma once
// A sweep: a grid of run settings expanded into one run directory per cell (seeds x models x
// encodings x any setting), planned once into <out>/sweep.json, then run cell by cell on this
// machine (local.h) or as a Slurm job array (slurm.h). A cell is a normal run directory, so
// resume, check, evaluate, report and merge work on each; a cell's state is read from its files,
// so rerunning a sweep after a crash skips finished cells and resumes interrupted ones.
//
// The spec file:
//   {"settings": {"encoding": "direct", "generations": 200},   // any `fool run` setting
//    "grid": {"encoding": ["direct", "cppn"], "seed": [1, 2, 3]}}
// Cells are the cartesian product of the grid's lists, the first list varying slowest; "out" and
// "force" belong to the sweep and are refused in both.
#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fool/run/run_config.h"
#include "fool/util/enum_names.h"

namespace fool {

constexpr const char* kSweepFile = "sweep.json";     ///< the plan, in the sweep directory
constexpr const char* kSweepSpecFile = "spec.json";  ///< the spec as given, for Slurm tasks
constexpr int64_t kMaxSweepCells = 100000;

struct SweepCell {
  int64_t index = 0;
  std::string name;             ///< "0003_encoding-cppn_seed-1": unique, a file name
  std::string dir;              ///< "cells/<name>", relative to the sweep directory
  nlohmann::ordered_json grid;  ///< this cell's value of each grid axis
  nlohmann::json settings;      ///< every setting of the cell (settings_to_json), "out" empty
};

struct SweepPlan {
  std::string path;               ///< the sweep directory
  nlohmann::ordered_json spec;    ///< the spec as parsed
  std::vector<std::string> axes;  ///< grid axes in spec order
  std::vector<SweepCell> cells;
};

/// Parses a spec (JSON text) into a plan for the sweep directory `dir`: every cell's settings
/// type-checked and validated (fool/run/run_config.h validate) before anything runs; "model" and
/// "labels" paths that exist relative to the working directory become absolute (the plan's spec
/// holds them so). Throws fool::Error (kUsage) naming `source`, the key or cell and the fix.
SweepPlan plan_sweep(const std::string& spec_text, const std::string& source, const std::string& dir);
/// plan_sweep of the spec file `spec_path`, read within its size limit (1 MiB; kIo beyond).
SweepPlan plan_sweep_file(const std::string& spec_path, const std::string& dir);

/// Writes the plan into its directory (creating it: sweep.json, spec.json, cells/), or checks
/// that the directory already holds this same plan (a rerun). Throws fool::Error (kIo) when the
/// directory holds something else: another sweep's plan, or files without one.
void write_or_check_plan(const SweepPlan& plan);

/// Reads <dir>/sweep.json back. Throws fool::Error (kIo) when missing or malformed.
SweepPlan read_plan(const std::string& dir);

/// The RunConfig of `cell` in the sweep directory `dir` (out = its run directory).
RunConfig cell_config(const SweepPlan& plan, const SweepCell& cell);

enum class CellState {
  kPending,      ///< not started, or stopped before its first checkpoint
  kInterrupted,  ///< has a checkpoint but no final summary (killed, or stopped by a signal)
  kFinished,     ///< summary.json with a stop reason other than "signal"
};
template <>
struct EnumNames<CellState> {
  static const std::vector<std::pair<CellState, std::string>>& list() {
    static const std::vector<std::pair<CellState, std::string>> names = {
        {CellState::kPending, "pending"}, {CellState::kInterrupted, "interrupted"}, {CellState::kFinished, "finished"}};
    return names;
  }
};

/// What the cell's run directory shows now.
CellState cell_state(const SweepPlan& plan, const SweepCell& cell);

/// Runs (kPending), resumes (kInterrupted) or skips (kFinished) one cell in this process.
/// `threads` > 0 overrides the cell's --threads (0: the cell's own). Returns execute_run's code.
int run_cell(const SweepPlan& plan, const SweepCell& cell, int threads, const std::atomic<int>* stop_signal);

}  // namespace fool
