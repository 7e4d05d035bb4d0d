#pragma once
// Merging runs of one model: the shards of one big run (--shard I/N), or independent runs (seeds,
// sweeps), into one run directory holding, per class, the best elite of any of them with its
// image, genome and provenance (which run, which generation). The result is a run directory in
// the usual layout (summary.json, archive.csv, elites/, config.json, a one-row progress.csv), so
// check, evaluate and report read it like any run.
#include <string>
#include <vector>

namespace fool {

struct MergeOptions {
  std::vector<std::string> inputs;  ///< run directories, or sweep directories (their cells)
  std::string out;
  bool force = false;        ///< write into a non-empty --out
  bool allow_mixed = false;  ///< merge runs of different models or encodings (same image size)
};

struct MergeResult {
  std::size_t runs = 0;
  std::size_t classes = 0;
};

/// Throws fool::Error: kUsage for runs that do not belong together (another model, encoding or
/// image size, or a label that differs for the same class) without allow_mixed, kIo for unreadable
/// runs, unfinished sweep cells or an --out that cannot be written.
MergeResult merge_runs(const MergeOptions& options);

/// The run directories that `inputs` name: each run directory itself, and each finished cell of a
/// sweep directory (an unfinished one throws fool::Error, kIo).
std::vector<std::string> expand_run_inputs(const std::vector<std::string>& inputs);

}  // namespace fool
