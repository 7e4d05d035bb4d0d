#pragma once
// A sweep as one Slurm job array: a task per unfinished cell, each `fool sweep --out DIR --task
// $SLURM_ARRAY_TASK_ID` (which runs, resumes or skips its cell). Slurm's --signal warns a task
// before its time limit: the batch script passes SIGTERM to fool, which checkpoints, and requeues
// the task, which then resumes its cell; a task preempted or requeued by hand (SIGTERM from
// Slurm) checkpoints and resumes the same way. Nothing here schedules: Slurm does.
#include <cstdint>
#include <string>
#include <vector>

#include "fool/sweep/sweep.h"

namespace fool {

struct SlurmOptions {
  int64_t max_parallel = 0;        ///< the array's %N: tasks running at once (0: Slurm's choice)
  int64_t time_minutes = 0;        ///< --time per task (0: the partition's default)
  std::string partition;           ///< --partition (empty: the default)
  int64_t cpus_per_task = 1;       ///< --cpus-per-task; the cell's --threads 0 uses them all
  int64_t gpus_per_task = 0;       ///< --gpus-per-task (0: none)
  int64_t signal_seconds = 120;    ///< --signal=B:USR1@N: checkpoint and requeue N s before the limit
  std::vector<std::string> extra;  ///< more sbatch options, each "--name=value"
  std::string sbatch = "sbatch";   ///< the submitting program
};

/// "0-3,7,9-12": the indices, ascending, as Slurm's --array ranges.
std::string array_ranges(const std::vector<int64_t>& indices);

/// The batch script for the cells `indices` of `plan` (absolute paths throughout).
std::string slurm_script(const SweepPlan& plan, const std::vector<int64_t>& indices, const SlurmOptions& options,
                         const std::string& executable);

/// Writes <dir>/sweep.sbatch for the unfinished cells and, unless `submit` is false, submits it
/// with `sbatch --parsable`; returns the job id ("" when not submitted or nothing is left to run).
/// Throws fool::Error (kUsage) for bad options, (kIo) when sbatch is missing or refuses, with its
/// message.
std::string submit_sweep_to_slurm(const SweepPlan& plan, const SlurmOptions& options, bool submit);

}  // namespace fool
