// The CPUs a process may use: cgroup quotas and Slurm's variable as counts; the allowance is
// never more than the affinity mask.
#include "fool/util/cpus.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace fool {
namespace {

TEST(Cpus, CgroupV2QuotaRoundsUp) {
  EXPECT_EQ(cpus_from_cgroup_v2("max 100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v2("200000 100000"), 2);
  EXPECT_EQ(cpus_from_cgroup_v2("150000 100000"), 2);
  EXPECT_EQ(cpus_from_cgroup_v2("50000 100000"), 1);
  for (const char* bad : {"", "max", "-1 100000", "1e5 100000", "100000 0", "x y"}) {
    EXPECT_EQ(cpus_from_cgroup_v2(bad), std::nullopt) << bad;
  }
}

TEST(Cpus, CgroupV1QuotaAndSlurm) {
  EXPECT_EQ(cpus_from_cgroup_v1("-1", "100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cgroup_v1("300000", "100000"), 3);
  EXPECT_EQ(cpus_from_slurm(nullptr), std::nullopt);
  EXPECT_EQ(cpus_from_slurm("4"), 4);
  for (const char* bad : {"", "0", "-2", "2x", "99999999999999999999"}) {
    EXPECT_EQ(cpus_from_slurm(bad), std::nullopt) << bad;
  }
}

TEST(Cpus, NeverMoreThanTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const CpuAllowance a = available_cpus();
  EXPECT_GE(a.cpus, 1);
  EXPECT_LE(a.cpus, CPU_COUNT(&set));
  EXPECT_FALSE(a.limit.empty());
}

}  // namespace
}  // namespace fool
