#include "fool/util/cpus.h"

#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace fool {
namespace {

std::optional<long long> whole_number(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int ceil_div(long long a, long long b) { return static_cast<int>((a + b - 1) / b); }

/// The cgroup v2 directory of this process ("0::/path" in /proc/self/cgroup).
std::string cgroup_v2_dir() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + line.substr(3);
  }
  return "/sys/fs/cgroup";
}

}  // namespace

std::optional<int> cpus_from_cgroup_v2(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return std::nullopt;
  const auto q = whole_number(quota), p = whole_number(period);
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return ceil_div(*q, *p);
}

std::optional<int> cpus_from_cgroup_v1(const std::string& quota, const std::string& period) {
  const auto q = whole_number(quota), p = whole_number(period);  // "-1" (no limit) is not a whole number
  if (!q || !p || *q <= 0 || *p <= 0) return std::nullopt;
  return ceil_div(*q, *p);
}

std::optional<int> cpus_from_slurm(const char* value) {
  if (value == nullptr) return std::nullopt;
  const auto n = whole_number(value);
  if (!n || *n <= 0 || *n > 1 << 20) return std::nullopt;
  return static_cast<int>(*n);
}

CpuAllowance available_cpus() {
  CpuAllowance allowance{static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), "cores"};
  const auto limit = [&](std::optional<int> cpus, const char* what) {
    if (cpus && *cpus >= 1 && *cpus < allowance.cpus) allowance = {*cpus, what};
  };
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) limit(CPU_COUNT(&set), "CPU affinity");
  // A cgroup quota: the nearest limit on this process's path (the v2 file, else v1's pair).
  limit(cpus_from_cgroup_v2(first_line(cgroup_v2_dir() + "/cpu.max")), "cgroup cpu.max");
  limit(cpus_from_cgroup_v2(first_line("/sys/fs/cgroup/cpu.max")), "cgroup cpu.max");
  limit(cpus_from_cgroup_v1(first_line("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                            first_line("/sys/fs/cgroup/cpu/cpu.cfs_period_us")),
        "cgroup cpu.cfs_quota_us");
  limit(cpus_from_slurm(std::getenv("SLURM_CPUS_PER_TASK")), "SLURM_CPUS_PER_TASK");
  return allowance;
}

}  // namespace fool
