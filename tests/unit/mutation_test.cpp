// Polynomial mutation (Deb; sferes' simplified form, PAPER.md §1.3).
#include "fool/encoding/mutation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fool/search/random.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

TEST(PolynomialMutation, MeanStepIsOneOverEtaPlusTwo) {
  // With t = 2r ~ U(0,1) on either side, |δ| = 1 − t^(1/(η+1)), so E|δ| = 1/(η+2). Starting
  // from 0.5, clamping to [0,1] only touches |δ| > 0.5, i.e. t < 2^-(η+1): negligible here.
  for (double eta : {15.0, 30.0}) {
    auto gen = make_generator(kCpu, 11);
    auto genes = at::full({1000000}, 0.5f);
    polynomial_mutation_(genes, 1.0, eta, gen);
    const auto step = (genes - 0.5).abs().to(at::kDouble);
    const double standard_error = step.std().item<double>() / std::sqrt(static_cast<double>(step.numel()));
    EXPECT_NEAR(step.mean().item<double>(), 1.0 / (eta + 2.0), 5 * standard_error) << "eta " << eta;
    // Symmetric: as many steps up as down.
    EXPECT_NEAR((genes > 0.5f).to(at::kDouble).mean().item<double>(), 0.5, 0.005) << "eta " << eta;
  }
}

TEST(PolynomialMutation, LargerEtaGivesSmallerSteps) {
  auto gen = make_generator(kCpu, 12);
  auto small_eta = at::full({100000}, 0.5f);
  auto large_eta = at::full({100000}, 0.5f);
  polynomial_mutation_(small_eta, 1.0, 5.0, gen);
  polynomial_mutation_(large_eta, 1.0, 50.0, gen);
  EXPECT_GT((small_eta - 0.5).abs().mean().item<double>(), 2 * (large_eta - 0.5).abs().mean().item<double>());
}

TEST(PolynomialMutation, StaysInTheUnitInterval) {
  auto gen = make_generator(kCpu, 13);
  auto genes = at::cat({at::zeros({50000}), at::ones({50000}), at::rand({50000}, gen)});
  polynomial_mutation_(genes, 1.0, 0.0, gen);  // η = 0: the widest steps
  EXPECT_GE(genes.min().item<float>(), 0.0f);
  EXPECT_LE(genes.max().item<float>(), 1.0f);
}

TEST(PolynomialMutation, RateZeroChangesNothing) {
  auto gen = make_generator(kCpu, 14);
  auto genes = at::rand({1000}, gen);
  const auto before = genes.clone();
  polynomial_mutation_(genes, 0.0, 15.0, gen);
  EXPECT_TRUE(at::equal(genes, before));
}

TEST(PolynomialMutation, MaskRestrictsWhichGenesMayChange) {
  auto gen = make_generator(kCpu, 15);
  auto genes = at::full({100, 100}, 0.5f);
  auto mask = at::zeros({100, 100}, at::kBool);
  mask.slice(1, 0, 50).fill_(true);
  polynomial_mutation_(genes, 1.0, 15.0, gen, mask);
  EXPECT_TRUE(genes.slice(1, 50, 100).eq(0.5f).all().item<bool>()) << "a masked-out gene changed";
  EXPECT_GT(genes.slice(1, 0, 50).ne(0.5f).to(at::kDouble).mean().item<double>(), 0.99);
}

TEST(PolynomialMutation, SameSeedSameResult) {
  auto gen_a = make_generator(kCpu, 16);
  auto gen_b = make_generator(kCpu, 16);
  auto a = at::full({5000}, 0.3f);
  auto b = at::full({5000}, 0.3f);
  polynomial_mutation_(a, 0.1, 15.0, gen_a);
  polynomial_mutation_(b, 0.1, 15.0, gen_b);
  EXPECT_TRUE(at::equal(a, b));
}

}  // namespace
}  // namespace fool
