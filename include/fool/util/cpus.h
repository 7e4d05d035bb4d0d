#pragma once
// How many CPUs this process may use: not the machine's cores but the allocation it runs in (its
// CPU affinity mask, a cgroup CPU quota, Slurm's SLURM_CPUS_PER_TASK), the smallest of them. A
// run's "every core" (--threads 0) and a sweep's split of threads between jobs both start here, so
// a run in a 2-CPU Slurm task on a 64-core node starts 2 threads, not 64 that spin-wait for each
// other.
#include <optional>
#include <string>

namespace fool {

struct CpuAllowance {
  int cpus = 1;       ///< at least 1
  std::string limit;  ///< what set it: "affinity", "cgroup cpu.max", "SLURM_CPUS_PER_TASK", ...
};

/// The CPUs this process may use now (read from the system and the environment).
CpuAllowance available_cpus();

/// A cgroup v2 cpu.max ("max 100000", "150000 100000") as whole CPUs, rounded up; nullopt for no
/// limit or text that is not that form.
std::optional<int> cpus_from_cgroup_v2(const std::string& cpu_max);

/// A cgroup v1 quota and period (cpu.cfs_quota_us, cpu.cfs_period_us) as whole CPUs, rounded up;
/// nullopt for no limit (-1) or text that is not a number.
std::optional<int> cpus_from_cgroup_v1(const std::string& quota, const std::string& period);

/// SLURM_CPUS_PER_TASK's value as a count; nullopt when it is not a positive whole number.
std::optional<int> cpus_from_slurm(const char* value);

}  // namespace fool
