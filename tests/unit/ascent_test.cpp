// The paper's gradient ascent (PAPER.md §2.2) on the bundled LeNet: every digit to >= 0.9999
// within 100 steps from both starts, deterministic under a seed, counted honestly, and the
// original's blur (scipy.ndimage.gaussian_filter) reproduced.
#include "fool/search/ascent.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fool/encoding/encoding.h"
#include "fool/search/random.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

struct AscentRun {
  std::unique_ptr<Encoding> encoding;
  std::unique_ptr<Scorer> scorer;
  std::unique_ptr<Ascent> search;
  std::vector<Search::Step> steps;
};

/// The MNIST recipe: the original's hyper-parameters at the fast end of its search table (decay 0,
/// early progress 0.04, late 0.2) with the step sized on the pixels that can still move.
SearchOptions mnist_recipe() {
  SearchOptions o;
  o.ascent_decay = 0;
  o.ascent_early_progress = 0.04;
  o.ascent_late_progress = 0.2;
  o.ascent_project = true;
  return o;
}

AscentRun ascend(AscentStart start, int64_t steps, uint64_t seed = 1, SearchOptions options = {}) {
  AscentRun r;
  EncodingOptions encoding_options;
  encoding_options.shape = test::bundled_lenet().info().input;
  r.encoding = make_encoding("direct", encoding_options);
  r.scorer = std::make_unique<Scorer>(test::bundled_lenet(), ScoringOptions{});
  options.ascent_start = start;
  SearchContext context{r.scorer.get(), r.encoding.get(), at::arange(10, at::kLong), 200, 0, make_generator(kCpu, seed),
                        options};
  r.search = std::make_unique<Ascent>(context);
  for (int64_t g = 0; g <= steps; ++g) r.steps.push_back(r.search->step(g));
  return r;
}

class AscentFrom : public ::testing::TestWithParam<AscentStart> {};

TEST_P(AscentFrom, EveryDigitReaches9999Within100Steps) {
  const auto r = ascend(GetParam(), 100, 1, mnist_recipe());
  const auto& archive = r.search->archive();
  const auto confidence = archive.confidence();
  EXPECT_GE(confidence.min().item<double>(), 0.9999) << confidence;
  // Milestones: the step at which each digit first reached 0.9999, all within the budget.
  const auto reached = archive.milestones().select(1, 3);
  EXPECT_TRUE(reached.ge(0).all().item<bool>()) << reached;
  EXPECT_TRUE(reached.le(100).all().item<bool>()) << reached;
  // The elites are the 8-bit images the direct encoding renders: their stored confidence is the
  // model's probability of those images.
  const auto images = r.encoding->render(archive.genomes());
  EXPECT_TRUE(at::equal(images, images.mul(255).round().div(255))) << "elites are 8-bit images";
  const auto again =
      test::bundled_lenet().probabilities(images).gather(1, at::arange(10, at::kLong).view({10, 1})).view({10});
  EXPECT_TRUE(at::allclose(again, confidence, 1e-5, 1e-6));
}

INSTANTIATE_TEST_SUITE_P(Starts, AscentFrom, ::testing::Values(AscentStart::kMeanPlus, AscentStart::kUniform),
                         [](const auto& info) {
                           return info.param == AscentStart::kMeanPlus ? "mean_plus" : "uniform";
                         });

TEST(Ascent, OneSeedGivesOneRunAndEveryStepIsCounted) {
  const auto a = ascend(AscentStart::kMeanPlus, 12, 3);
  const auto b = ascend(AscentStart::kMeanPlus, 12, 3);
  EXPECT_TRUE(at::equal(a.search->archive().genomes()["genes"], b.search->archive().genomes()["genes"]));
  EXPECT_TRUE(at::equal(a.search->archive().confidence(), b.search->archive().confidence()));
  // Generation 0 scores the ten starting images; every step then costs a forward and a backward
  // (3 forward equivalents) per image plus the scoring of the result.
  EXPECT_EQ(a.steps[0].evaluations, 10);
  EXPECT_EQ(a.steps[0].forward_equivalents, 10);
  for (std::size_t g = 1; g < a.steps.size(); ++g) {
    EXPECT_EQ(a.steps[g].evaluations, 10);
    EXPECT_EQ(a.steps[g].forward_equivalents, 40);
  }
  EXPECT_EQ(a.search->next_forward_equivalents(13), 40);
}

TEST(Ascent, DecayPullsTowardsTheCentreAndZeroingsZero) {
  SearchOptions options;
  options.ascent_decay = 0.3;
  options.ascent_small_norm_percentile = 50;
  options.ascent_centre = 0.25;
  const auto r = ascend(AscentStart::kUniform, 1, 5, options);
  const auto genes = r.search->state().at("images").flatten(1);
  // Half the pixels of every image (those of the smallest norm) are set to the centre.
  const auto at_centre = genes.eq(0.25f).sum(1).to(at::kDouble) / static_cast<double>(genes.size(1));
  EXPECT_TRUE(at_centre.ge(0.45).all().item<bool>()) << at_centre;
}

TEST(Ascent, MaxStepBoundsEveryPixelsChange) {
  // Far from the target (a uniform start) the progress rule asks for big steps; --ascent-max-step
  // caps each pixel's change, and without it the same step moves some pixel further.
  SearchOptions options = mnist_recipe();
  const auto free = ascend(AscentStart::kUniform, 1, 2, options);
  options.ascent_max_step = 0.01;
  const auto capped = ascend(AscentStart::kUniform, 1, 2, options);
  const auto start = ascend(AscentStart::kUniform, 0, 2, options).search->state().at("images");
  const auto moved = (capped.search->state().at("images") - start).abs().max().item<double>();
  EXPECT_LE(moved, 0.01 + 1e-6);
  EXPECT_GT(moved, 0.005) << "the cap scales the step, it does not stop it";
  EXPECT_GT((free.search->state().at("images") - start).abs().max().item<double>(), 0.02);
}

TEST(Ascent, WorksOnPixelsOnly) {
  EncodingOptions encoding_options;
  encoding_options.shape = test::bundled_lenet().info().input;
  const auto cppn = make_encoding("cppn", encoding_options);
  const Scorer scorer(test::bundled_lenet(), ScoringOptions{});
  SearchContext context{&scorer, cppn.get(), at::arange(10, at::kLong), 200, 0, make_generator(kCpu, 1), {}};
  try {
    Ascent search(context);
    ADD_FAILURE() << "ascent accepted the CPPN encoding";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("direct"), std::string::npos) << e.what();
  }
}

TEST(GaussianBlur, MatchesScipysFilterWithReflectBorders) {
  // scipy.ndimage.gaussian_filter(x, sigma): a separable kernel exp(-i²/2σ²), normalised,
  // truncated at int(4σ + 0.5), with "reflect" borders (d c b a | a b c d | d c b a).
  const double sigma = 0.8;
  const int64_t radius = 3;  // int(4 * 0.8 + 0.5)
  std::vector<double> w;
  double total = 0;
  for (int64_t i = -radius; i <= radius; ++i) total += std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma));
  for (int64_t i = -radius; i <= radius; ++i)
    w.push_back(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)) / total);
  const int64_t h = 5, width = 6;
  auto x = at::arange(h * width, at::kDouble).pow(1.5).div(10).view({1, 1, h, width});
  const auto reflect = [](int64_t i, int64_t n) {
    i = ((i % (2 * n)) + 2 * n) % (2 * n);
    return i >= n ? 2 * n - 1 - i : i;
  };
  auto expected = at::zeros_like(x);
  auto xa = x.accessor<double, 4>();
  auto ea = expected.accessor<double, 4>();
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < width; ++c) {
      double sum = 0;
      for (int64_t i = -radius; i <= radius; ++i) {
        for (int64_t j = -radius; j <= radius; ++j) {
          sum += w[static_cast<std::size_t>(i + radius)] * w[static_cast<std::size_t>(j + radius)] *
                 xa[0][0][reflect(r + i, h)][reflect(c + j, width)];
        }
      }
      ea[0][0][r][c] = sum;
    }
  }
  const auto blurred = gaussian_blur(x, sigma);
  EXPECT_TRUE(at::allclose(blurred, expected, 1e-12, 1e-12)) << (blurred - expected).abs().max();
  // A constant image stays constant.
  const auto flat = at::full({2, 3, 7, 7}, 0.4, at::kFloat);
  EXPECT_TRUE(at::allclose(gaussian_blur(flat, 1.0), flat, 1e-6, 1e-6));
}

}  // namespace
}  // namespace fool
