#pragma once
// A sweep on this machine: its unfinished cells run as child processes (`fool sweep --out DIR
// --task I`), `jobs` at a time, each with its share of the CPUs this process may use, each
// child's output in logs/<cell>.log. A SIGINT or SIGTERM reaches every running cell, which
// checkpoints and stops; a child whose parent dies gets SIGTERM too, so no cell runs on unseen.
#include <atomic>
#include <string>

#include "fool/sweep/sweep.h"

namespace fool {

struct LocalSweepOptions {
  int jobs = 1;                               ///< cells at a time
  int threads = 0;                            ///< threads per cell where the spec sets none; 0: the CPUs / jobs
  std::string executable = "/proc/self/exe";  ///< the fool binary to start for each cell (default: this one)
};

/// Runs every cell of `plan` that is not finished. Returns 0 when every cell has finished, 128 +
/// the signal when one stopped the sweep, else the exit code of the first cell that failed (after
/// running all the others).
int run_sweep_locally(const SweepPlan& plan, const LocalSweepOptions& options, const std::atomic<int>* stop_signal);

/// The path of the running executable (/proc/self/exe), for starting cells and Slurm tasks.
std::string own_executable();

}  // namespace fool
