// fool sweep: a grid of runs (fool/sweep/sweep.h) planned into one directory, then run here
// (--jobs at a time), submitted to Slurm as a job array (--slurm), or one cell of it run by a
// task (--task I, what the local runner and the Slurm tasks start).
#include <cstdio>
#include <memory>

#include "cli/common.h"
#include "fool/sweep/local.h"
#include "fool/sweep/slurm.h"
#include "fool/sweep/sweep.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {

struct SweepOptions {
  std::string spec, out;
  int jobs = 1;
  int threads = 0;
  int64_t task = -1;
  bool status = false;
  bool slurm = false;
  bool slurm_no_submit = false;
  SlurmOptions slurm_options;
};

int sweep(const SweepOptions& o) {
  if (o.out.empty()) throw Error(ErrorKind::kUsage, "fool sweep needs --out DIR, the sweep's directory.");
  if (o.jobs < 1) throw Error(ErrorKind::kUsage, "--jobs must be >= 1.");
  if (o.threads < 0) throw Error(ErrorKind::kUsage, "--threads must be >= 0 (0: the CPUs shared between the jobs).");
  if (o.task >= 0 || o.status) {
    const SweepPlan plan = read_plan(o.out);
    if (!o.spec.empty()) {
      const SweepPlan given = plan_sweep_file(o.spec, o.out);
      if (given.spec.dump() != plan.spec.dump()) {
        throw Error(ErrorKind::kUsage, "'" + o.spec + "' is not the spec of the sweep in '" + o.out +
                                           "'. Fix: give that sweep's spec, or leave SPEC out.");
      }
    }
    if (o.status) {
      for (const auto& cell : plan.cells) {
        std::printf("%lld\t%s\t%s\n", static_cast<long long>(cell.index), enum_name(cell_state(plan, cell)).c_str(),
                    cell.dir.c_str());
      }
      return 0;
    }
    if (o.task >= static_cast<int64_t>(plan.cells.size())) {
      throw Error(ErrorKind::kUsage, "--task " + std::to_string(o.task) + ": the sweep in '" + o.out + "' has " +
                                         std::to_string(plan.cells.size()) + " cells (0-" +
                                         std::to_string(plan.cells.size() - 1) + ").");
    }
    install_signal_handlers();
    return run_cell(plan, plan.cells[static_cast<std::size_t>(o.task)], o.threads, &g_stop_signal);
  }
  if (o.spec.empty()) throw Error(ErrorKind::kUsage, "fool sweep needs SPEC, the grid file (see fool sweep --help).");
  const SweepPlan plan = plan_sweep_file(o.spec, o.out);
  write_or_check_plan(plan);
  if (o.slurm) {
    const std::string id = submit_sweep_to_slurm(plan, o.slurm_options, !o.slurm_no_submit);
    if (!id.empty()) std::printf("%s\n", id.c_str());
    return 0;
  }
  install_signal_handlers();
  // The cells run this very binary: /proc/self/exe names its inode, which a rebuild of fool during
  // the sweep does not replace (a path would then name the new binary, or nothing).
  return run_sweep_locally(plan, {o.jobs, o.threads, "/proc/self/exe"}, &g_stop_signal);
}

}  // namespace

Command add_sweep_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "sweep",
      "Run a grid of settings (seeds x models x encodings x ...) as one run directory per cell: here, --jobs at a "
      "time, or as a Slurm job array. Rerunning the same command finishes an interrupted sweep.");
  auto o = std::make_shared<SweepOptions>();
  app->add_option("spec", o->spec,
                  "JSON grid: {\"settings\": {any fool run setting}, \"grid\": {\"seed\": [1, 2, 3], ...}}");
  app->add_option("--out", o->out, "the sweep's directory (cells in cells/<name>, logs in logs/)")->required();
  add_number(*app, "--jobs", o->jobs, "cells at a time on this machine")->capture_default_str();
  add_number(*app, "--threads", o->threads,
             "threads per cell where the spec sets none (0: the CPUs this process may use, shared between jobs)")
      ->capture_default_str();
  add_number(*app, "--task", o->task, "run, resume or skip only this cell (what each Slurm task does)");
  app->add_flag("--status", o->status, "print each cell's state (pending, interrupted, finished) and exit");
  app->add_flag("--slurm", o->slurm, "write DIR/sweep.sbatch, a job array of the unfinished cells, and submit it");
  auto& s = o->slurm_options;
  add_number(*app, "--slurm-max-parallel", s.max_parallel, "array tasks at once, the %N of --array (0: no cap)");
  add_number(*app, "--slurm-time", s.time_minutes, "time limit per task in minutes (0: the partition's)");
  app->add_option("--slurm-partition", s.partition, "partition (empty: the default)");
  add_number(*app, "--slurm-cpus-per-task", s.cpus_per_task, "CPUs per task; a cell's --threads 0 uses them")
      ->capture_default_str();
  add_number(*app, "--slurm-gpus-per-task", s.gpus_per_task, "GPUs per task (give the cells --device cuda)");
  add_number(*app, "--slurm-signal-seconds", s.signal_seconds,
             "seconds before the time limit at which a task checkpoints and requeues itself (0: never)")
      ->capture_default_str();
  app->add_option("--slurm-option", s.extra, "another sbatch option, e.g. --slurm-option=--account=lab (repeatable)");
  app->add_option("--slurm-sbatch", s.sbatch, "the sbatch program")->capture_default_str();
  app->add_flag("--slurm-no-submit", o->slurm_no_submit, "write sweep.sbatch but do not submit it");
  return {app, [o] { return sweep(*o); }};
}

}  // namespace fool::cli
