// The direct encoding (PAPER.md §1.3): one gene in [0,1] per pixel value, uniform
// initialisation, per-gene polynomial mutation at a rate that halves on a schedule.
#include <gtest/gtest.h>

#include <cmath>

#include "fool/encoding/direct.h"
#include "fool/search/random.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

DirectEncoding make_direct(double rate = 0.1, int64_t halve_every = 1000, ImageShape shape = {1, 28, 28}) {
  EncodingOptions options;
  options.shape = shape;
  options.mutation_rate = rate;
  options.halve_every = halve_every;
  return DirectEncoding(options);
}

/// Fraction of genes that changed between two [N,G] tensors, with the binomial standard error.
std::pair<double, double> changed_fraction(const at::Tensor& before, const at::Tensor& after, double p) {
  const double n = static_cast<double>(before.numel());
  return {before.ne(after).sum().item<double>() / n, std::sqrt(p * (1 - p) / n)};
}

TEST(DirectEncoding, OneUniformGenePerPixelValue) {
  const auto direct = make_direct(0.1, 1000, {3, 8, 10});
  auto gen = make_generator(kCpu, 1);
  const auto genes = direct.random(500, gen, kCpu)["genes"];
  EXPECT_EQ(genes.sizes().vec(), (std::vector<int64_t>{500, 3 * 8 * 10}));
  EXPECT_GE(genes.min().item<float>(), 0.0f);
  EXPECT_LE(genes.max().item<float>(), 1.0f);
  // U[0,1]: mean 1/2 and variance 1/12 over 120,000 draws.
  EXPECT_NEAR(genes.mean().item<double>(), 0.5, 0.005);
  EXPECT_NEAR(genes.var().item<double>(), 1.0 / 12.0, 0.002);
}

TEST(DirectEncoding, RenderIsTheQuantisedGenome) {
  const auto direct = make_direct(0.1, 1000, {3, 4, 5});
  auto gen = make_generator(kCpu, 2);
  const auto genomes = direct.random(7, gen, kCpu);
  const auto images = direct.render(genomes);
  // Genes in [C,H,W] order, then floor(255·g)/255 (the original int(|g|·255)).
  const auto expected = genomes["genes"].view({7, 3, 4, 5}).mul(255).floor().div(255);
  EXPECT_TRUE(at::allclose(images, expected, 0.0, 1e-6));
}

TEST(DirectEncoding, MutateKeepsGenesInRangeAndShape) {
  const auto direct = make_direct(0.5);
  auto gen = make_generator(kCpu, 3);
  auto genomes = direct.random(200, gen, kCpu);
  for (int g = 1; g <= 20; ++g) genomes = direct.mutate(genomes, gen, g);
  const auto genes = genomes["genes"];
  EXPECT_EQ(genes.sizes().vec(), (std::vector<int64_t>{200, 784}));
  EXPECT_GE(genes.min().item<float>(), 0.0f);
  EXPECT_LE(genes.max().item<float>(), 1.0f);
}

TEST(DirectEncoding, EveryChildDiffersFromItsParent) {
  const auto direct = make_direct(0.1);
  auto gen = make_generator(kCpu, 4);
  const auto parents = direct.random(200, gen, kCpu);
  const auto children = direct.mutate(parents, gen, 1);
  // P(no gene of 784 mutates) = 0.9^784, about 1e-36.
  EXPECT_TRUE(parents["genes"].ne(children["genes"]).any(1).all().item<bool>());
}

TEST(DirectEncoding, ObservedMutationFractionMatchesTheRate) {
  for (double rate : {0.1, 0.02, 0.5}) {
    const auto direct = make_direct(rate, 0);
    auto gen = make_generator(kCpu, 5);
    // Parents at 0.5: every δ moves the gene (|δ| <= 1 never clamps back onto 0.5).
    const GenomeBatch parents({{"genes", at::full({200, 784}, 0.5f)}});
    const auto [fraction, sd] = changed_fraction(parents["genes"], direct.mutate(parents, gen, 1)["genes"], rate);
    EXPECT_NEAR(fraction, rate, 5 * sd) << "rate " << rate;
  }
}

TEST(DirectEncoding, RateHalvesEveryHalveEveryGenerations) {
  const auto direct = make_direct(0.1, 1000);
  EXPECT_DOUBLE_EQ(direct.rate_at(0), 0.1);
  EXPECT_DOUBLE_EQ(direct.rate_at(999), 0.1);
  EXPECT_DOUBLE_EQ(direct.rate_at(1000), 0.05);
  EXPECT_DOUBLE_EQ(direct.rate_at(1999), 0.05);
  EXPECT_DOUBLE_EQ(direct.rate_at(2000), 0.025);
  EXPECT_DOUBLE_EQ(direct.rate_at(5500), 0.1 / 32);
  const auto constant = make_direct(0.1, 0);
  EXPECT_DOUBLE_EQ(constant.rate_at(0), 0.1);
  EXPECT_DOUBLE_EQ(constant.rate_at(1000000), 0.1);
}

TEST(DirectEncoding, MutateUsesTheScheduledRate) {
  const auto direct = make_direct(0.2, 10);
  const GenomeBatch parents({{"genes", at::full({200, 784}, 0.5f)}});
  for (int64_t generation : {1, 15, 25}) {
    auto gen = make_generator(kCpu, 6);
    const double rate = direct.rate_at(generation);
    const auto [fraction, sd] =
        changed_fraction(parents["genes"], direct.mutate(parents, gen, generation)["genes"], rate);
    EXPECT_NEAR(fraction, rate, 5 * sd) << "generation " << generation;
  }
}

}  // namespace
}  // namespace fool
