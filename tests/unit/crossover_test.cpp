// SBX as the original direct encoding ran it (sferes' evo_float_image, docs/reproduction-audit.md),
// and MAP-Elites breeding pairs through it.
#include "fool/encoding/crossover.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fool/encoding/direct.h"
#include "fool/search/map_elites.h"
#include "fool/search/random.h"
#include "fool/util/error.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);
constexpr double kEta = 10.0;  // the MNIST experiment's eta_c

TEST(SbxCrossover, RateZeroCopiesTheParents) {
  auto gen = make_generator(kCpu, 1);
  auto a = at::rand({50, 100}, gen);
  auto b = at::rand({50, 100}, gen);
  auto [c1, c2] = sbx_crossover(a, b, 0.0, kEta, true, gen);
  EXPECT_TRUE(at::equal(c1, a));
  EXPECT_TRUE(at::equal(c2, b));
}

TEST(SbxCrossover, RateIsPerPair) {
  // A crossed pair changes (nearly) every gene of random parents, an uncrossed one none.
  auto gen = make_generator(kCpu, 2);
  auto a = at::rand({20000, 20}, gen);
  auto b = at::rand({20000, 20}, gen);
  auto [c1, c2] = sbx_crossover(a, b, 0.5, kEta, true, gen);
  const auto row_copied = c1.eq(a).all(1).logical_and(c2.eq(b).all(1));
  const auto row_changed = c1.ne(a).any(1);
  EXPECT_TRUE(row_copied.logical_or(row_changed).all().item<bool>());
  EXPECT_NEAR(row_copied.to(at::kDouble).mean().item<double>(), 0.5, 0.015);
}

TEST(SbxCrossover, TheQuirkLeavesEqualGenesAtMidGrey) {
  // A pair of one elite with itself (p = 1/10 with ten cells): the original writes no gene, so
  // both children are the default genome, all 0.5, before mutation.
  auto gen = make_generator(kCpu, 3);
  auto a = at::rand({10, 784}, gen);
  auto [c1, c2] = sbx_crossover(a, a, 1.0, kEta, true, gen);
  EXPECT_TRUE(c1.eq(0.5f).all().item<bool>());
  EXPECT_TRUE(c2.eq(0.5f).all().item<bool>());
  // Parents equal on half their genes: those turn 0.5, the other half is crossed.
  auto b = a.clone();
  b.slice(1, 0, 392).copy_(at::rand({10, 392}, gen));
  auto [d1, d2] = sbx_crossover(a, b, 1.0, kEta, true, gen);
  EXPECT_TRUE(d1.slice(1, 392).eq(0.5f).all().item<bool>());
  EXPECT_TRUE(d2.slice(1, 392).eq(0.5f).all().item<bool>());
  EXPECT_FALSE(d1.slice(1, 0, 392).eq(0.5f).any().item<bool>());
  // sbx-copy-equal (sferes2 since 2018) copies the equal genes instead.
  auto [e1, e2] = sbx_crossover(a, a, 1.0, kEta, false, gen);
  EXPECT_TRUE(at::equal(e1, a));
  EXPECT_TRUE(at::equal(e2, a));
}

TEST(SbxCrossover, ChildrenStayInTheUnitInterval) {
  auto gen = make_generator(kCpu, 4);
  auto a = at::cat({at::zeros({1000, 10}), at::rand({1000, 10}, gen), at::full({1000, 10}, 0.999f)}, 1);
  auto b = at::cat({at::full({1000, 10}, 0.01f), at::ones({1000, 10}), at::rand({1000, 10}, gen)}, 1);
  for (double eta : {0.0, kEta}) {
    auto [c1, c2] = sbx_crossover(a, b, 1.0, eta, true, gen);
    for (const auto& c : {c1, c2}) {
      EXPECT_GE(c.min().item<float>(), 0.0f) << "eta " << eta;
      EXPECT_LE(c.max().item<float>(), 1.0f) << "eta " << eta;
      EXPECT_FALSE(c.isnan().any().item<bool>()) << "eta " << eta;
    }
  }
}

TEST(SbxCrossover, SpreadFollowsTheSbxDistribution) {
  // Parents 0.45 and 0.55 are far from the bounds (β ≈ 10, α = 2 − β^−(η+1) ≈ 2): unbounded SBX.
  // Then the children are symmetric about the parents' mean, the spread β_q = |c2 − c1|/|y2 − y1|
  // has density ½(η+1)β^η on [0,1] and ½(η+1)β^−(η+2) above, so P(β_q ≤ 1) = ½ and
  // E β_q = ½(η+1)/(η+2) + ½(η+1)/η; and a fair coin decides which child is the larger.
  auto gen = make_generator(kCpu, 5);
  const int64_t n = 400000;
  auto a = at::full({1, n}, 0.45f);
  auto b = at::full({1, n}, 0.55f);
  auto [c1, c2] = sbx_crossover(a, b, 1.0, kEta, true, gen);
  auto spread = ((c2 - c1).abs() / 0.1).to(at::kDouble);
  const double standard_error = spread.std().item<double>() / std::sqrt(static_cast<double>(n));
  const double expected_mean = 0.5 * (kEta + 1) / (kEta + 2) + 0.5 * (kEta + 1) / kEta;
  EXPECT_NEAR(spread.mean().item<double>(), expected_mean, 5 * standard_error);
  EXPECT_NEAR((spread <= 1.0).to(at::kDouble).mean().item<double>(), 0.5, 0.005);
  EXPECT_NEAR(((c1 + c2) * 0.5 - 0.5).abs().max().item<double>(), 0.0, 1e-5) << "not centred on the mean";
  EXPECT_NEAR((c1 > c2).to(at::kDouble).mean().item<double>(), 0.5, 0.005);
  // Larger η_c keeps children closer to their parents.
  auto [d1, d2] = sbx_crossover(a, b, 1.0, 30.0, true, gen);
  auto tight = ((d2 - d1).abs() / 0.1 - 1.0).abs().mean().item<double>();
  EXPECT_LT(tight, (spread - 1.0).abs().mean().item<double>());
}

TEST(SbxCrossover, SameSeedSameChildren) {
  auto gen = make_generator(kCpu, 6);
  auto a = at::rand({30, 50}, gen);
  auto b = at::rand({30, 50}, gen);
  auto gen_1 = make_generator(kCpu, 7);
  auto gen_2 = make_generator(kCpu, 7);
  auto [x1, x2] = sbx_crossover(a, b, 0.5, kEta, true, gen_1);
  auto [y1, y2] = sbx_crossover(a, b, 0.5, kEta, true, gen_2);
  EXPECT_TRUE(at::equal(x1, y1));
  EXPECT_TRUE(at::equal(x2, y2));
}

TEST(SbxCrossover, DirectEncodingCrossesPairsIntoTwoHalves) {
  EncodingOptions options;
  options.shape = {1, 28, 28};
  options.crossover = Crossover::kSbx;
  options.crossover_rate = 1.0;
  DirectEncoding direct(options);
  auto gen = make_generator(kCpu, 8);
  auto first = direct.random(6, gen, kCpu);
  auto children = direct.crossover(first, first, gen);
  ASSERT_EQ(children.size(), 12);
  EXPECT_TRUE(children["genes"].eq(0.5f).all().item<bool>()) << "pairs of one genome with itself";
  options.crossover = Crossover::kNone;
  auto copies = DirectEncoding(options).crossover(first, direct.random(6, gen, kCpu), gen);
  EXPECT_TRUE(at::equal(copies["genes"].slice(0, 0, 6), first["genes"]));
}

TEST(SbxCrossover, CppnRefusesIt) {
  EncodingOptions options;
  options.shape = {1, 28, 28};
  options.crossover = Crossover::kSbx;
  try {
    make_encoding("cppn", options);
    FAIL() << "cppn accepted --crossover sbx";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("--crossover"), std::string::npos) << e.what();
  }
}

TEST(SbxCrossover, MapElitesAsksForPopulationChildrenOfPairs) {
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  const Scorer scorer(model, ScoringOptions{});
  for (auto crossover : {Crossover::kNone, Crossover::kSbx, Crossover::kSbxCopyEqual}) {
    EncodingOptions options;
    options.shape = model.info().input;
    options.crossover = crossover;
    const auto encoding = make_encoding("direct", options);
    auto run = [&](uint64_t seed) {
      SearchContext context{&scorer,        encoding.get(), at::arange(10, at::kLong), 7, 0, make_generator(kCpu, seed),
                            SearchOptions{}};
      MapElites me(context);
      me.step(0);
      return me.ask(1)["genes"];
    };
    const auto children = run(9);
    EXPECT_EQ(children.size(0), 7) << enum_name(crossover);  // an odd population drops the last child
    EXPECT_GE(children.min().item<float>(), 0.0f);
    EXPECT_LE(children.max().item<float>(), 1.0f);
    EXPECT_TRUE(at::equal(children, run(9))) << enum_name(crossover) << ": one seed, one batch";
  }
}

}  // namespace
}  // namespace fool
