#pragma once
// A whole run from its settings: the model loaded once, the encoding and the search built by
// name, the run directory created (or reopened from its checkpoint), and the run loop with the
// standard reporters (progress.csv, snapshots, checkpoint, elites and summary, console). `fool
// run` and `fool resume` are this and nothing else, so a search registered anywhere (a test, a
// later method) runs with every output, checkpoint and resume without a change to the CLI.
#include <atomic>

#include "fool/run/run_config.h"

namespace fool {

enum class RunMode {
  kFresh,   ///< a new run directory (an existing non-empty one only with `force`)
  kResume,  ///< continue the run directory's checkpoint.fool (missing: a checkpoint error)
};

constexpr const char* kCheckpointFile = "checkpoint.fool";

/// Runs `config` into config.out. `stop_signal`, when given and non-zero, ends the run after the
/// current generation with every output written. Returns 0, or 128 + the signal when one stopped
/// it. Throws fool::Error for bad settings, models, files or checkpoints.
int execute_run(RunConfig config, RunMode mode, const std::atomic<int>* stop_signal = nullptr);

}  // namespace fool
