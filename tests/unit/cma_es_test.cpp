// sep-CMA-ES (fool/search/cma_es.h) against the known result on the sphere: linear convergence
// at CMA-ES's rate, evaluations to f = 1e-8 growing about linearly with the dimension (Hansen's
// tutorial: about 1,000-2,000 on the 10-D sphere with the default lambda), several instances in
// one batch independent of each other, and an exact restart from saved state.
#include "fool/search/cma_es.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "fool/search/random.h"

namespace fool {
namespace {

/// Evaluations until every instance has f(mean... best sample) <= 1e-8 on the sphere centred at
/// 1 (the search starts at 0, sigma 0.5), with Hansen's default lambda = 4 + floor(3 ln n).
int64_t evaluations_to_1e_8(int64_t n, int64_t instances, uint64_t seed) {
  const int64_t lambda = 4 + static_cast<int64_t>(3 * std::log(static_cast<double>(n)));
  SepCmaEs cma(instances, n, lambda, 0.5, at::TensorOptions(at::kDouble));
  auto gen = make_generator(at::kCPU, seed);
  for (int64_t g = 1; g <= 100000 / lambda; ++g) {
    auto x = cma.sample(gen);
    auto f = (x - 1.0).pow(2).sum(2);  // [instances, lambda], minimised
    cma.update(-f);
    if (f.amin(1).amax().item<double>() <= 1e-8) return g * lambda;
  }
  return -1;
}

TEST(SepCmaEs, SphereConvergesAtCmaEsRate) {
  for (int64_t n : {10, 30, 100}) {
    std::vector<int64_t> runs;
    for (uint64_t seed = 1; seed <= 3; ++seed) runs.push_back(evaluations_to_1e_8(n, 1, seed));
    std::sort(runs.begin(), runs.end());
    std::printf("sep-CMA-ES sphere n=%lld: evaluations to 1e-8, seeds 1-3: %lld %lld %lld\n", static_cast<long long>(n),
                static_cast<long long>(runs[0]), static_cast<long long>(runs[1]), static_cast<long long>(runs[2]));
    ASSERT_GT(runs[0], 0) << "did not converge in n=" << n;
    // Linear convergence at about 0.1-0.2 lambda/n per generation: ~1,500 for n=10.
    EXPECT_LT(runs[1], 250 * n) << "n=" << n;
    EXPECT_GT(runs[1], 30 * n) << "n=" << n << ": faster than any evolution strategy can be";
  }
}

TEST(SepCmaEs, InstancesInOneBatchAreIndependent) {
  // Eight instances at once converge as one does, each on its own.
  const int64_t one = evaluations_to_1e_8(10, 1, 5), eight = evaluations_to_1e_8(10, 8, 5);
  ASSERT_GT(one, 0);
  ASSERT_GT(eight, 0);
  EXPECT_LT(eight, 3 * one) << "the slowest of 8 should not be far behind one";
}

TEST(SepCmaEs, SavedStateContinuesExactly) {
  auto run = [](bool via_save) {
    SepCmaEs cma(2, 12, 8, 0.3, at::TensorOptions(at::kFloat));
    auto gen = make_generator(at::kCPU, 3);
    for (int g = 0; g < 30; ++g) {
      if (via_save && g == 15) {
        SearchState state;
        cma.save(state, "x.");
        SepCmaEs copy(2, 12, 8, 0.3, at::TensorOptions(at::kFloat));
        copy.restore(state, "x.");
        cma = copy;
      }
      auto x = cma.sample(gen);
      cma.update(-(x - 0.7).pow(2).sum(2));
      if (g == 20) cma.restart(at::tensor({1, 0}).to(at::kBool));
    }
    return cma.mean().clone();
  };
  EXPECT_TRUE(at::equal(run(false), run(true)));
}

}  // namespace
}  // namespace fool
