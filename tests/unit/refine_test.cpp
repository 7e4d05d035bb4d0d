// Gradient-refined genomes (fool/search/refine.h): the CPPN's differentiable renderer against
// finite differences, the straight-through images equal to the exact 8-bit ones, refined children
// better than the same children unrefined, refinement deterministic, and a refined run that
// counts every pass and resumes exactly.
#include "fool/search/refine.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>

#include "fool/encoding/cppn.h"
#include "fool/io/files.h"
#include "fool/io/run_reader.h"
#include "fool/run/checkpoint.h"
#include "fool/run/run.h"
#include "fool/search/random.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

/// "cppn-layered": CPPNs made for refinement (hidden layers 6,6, logistic outputs, weights in
/// [−3,3]; RGB on colour models).
EncodingOptions layered_options(EncodingOptions options) {
  options.cppn_hidden = "6,6";
  options.cppn_output = CppnOutput::kLogistic;
  options.cppn_init_weight = 3.0;
  if (options.shape.channels == 3) options.color_space = ColorSpace::kRgb;
  return options;
}

std::unique_ptr<Encoding> encoding_for(const std::string& name, const ImageShape& shape) {
  EncodingOptions options;
  options.shape = shape;
  if (name == "cppn-layered") return make_encoding("cppn", layered_options(options));
  return make_encoding(name, options);
}

/// Random genomes; CPPNs mutated `rounds` times so that they have hidden nodes of every kind.
GenomeBatch genomes_of(const Encoding& encoding, int64_t n, int rounds, uint64_t seed) {
  auto gen = make_generator(kCpu, seed);
  GenomeBatch g = encoding.random(n, gen, kCpu);
  for (int r = 0; r < rounds; ++r) g = encoding.mutate(g, gen, r + 1);
  return g;
}

TEST(CppnRenderer, WeightGradientsMatchFiniteDifferences) {
  for (const auto& [name, channels] :
       {std::pair<const char*, int64_t>{"cppn", 1}, {"cppn", 3}, {"cppn-layered", 1}, {"cppn-layered", 3}}) {
    SCOPED_TRACE(name);
    const auto encoding = encoding_for(name, {channels, 9, 11});
    const auto& cppn = dynamic_cast<const CppnEncoding&>(*encoding);
    const auto genomes = genomes_of(cppn, 6, 12, 7 + static_cast<uint64_t>(channels));
    const auto weight = genomes["weight"].to(at::kDouble);
    // A fixed random linear read-out of the outputs: L(w) = Σ R · outputs(w).
    auto gen = make_generator(kCpu, 3);
    const auto probe = at::randn({genomes.size(), cppn.outputs(), 9, 11}, gen, at::TensorOptions().dtype(at::kDouble));
    const auto loss = [&](const at::Tensor& w) {
      return (cppn.render_outputs_differentiable(genomes, w, 9, 11) * probe).sum();
    };
    at::Tensor grad;
    {
      at::AutoGradMode on(true);
      auto w = weight.clone().requires_grad_(true);
      grad = torch::autograd::grad({loss(w)}, {w})[0];
    }
    at::NoGradGuard off;
    EXPECT_TRUE(grad.masked_select(genomes["edge"].logical_not()).eq(0).all().item<bool>())
        << "absent connections get no gradient";
    // Central differences on every existing connection of the first genomes.
    const auto edges = genomes["edge"].nonzero();  // [E,3]
    ASSERT_GT(edges.size(0), 20);
    int64_t checked = 0, nonzero = 0;
    const double h = 1e-6;
    for (int64_t e = 0; e < std::min<int64_t>(edges.size(0), 60); ++e) {
      const auto n = edges[e][0].item<int64_t>(), i = edges[e][1].item<int64_t>(), j = edges[e][2].item<int64_t>();
      auto plus = weight.clone(), minus = weight.clone();
      plus[n][i][j] += h;
      minus[n][i][j] -= h;
      const double fd = (loss(plus).item<double>() - loss(minus).item<double>()) / (2 * h);
      const double analytic = grad[n][i][j].item<double>();
      EXPECT_NEAR(analytic, fd, 1e-5 * std::max(1.0, std::abs(fd))) << "genome " << n << " edge " << j << "->" << i;
      ++checked;
      nonzero += std::abs(fd) > 1e-3;
    }
    EXPECT_GT(nonzero, checked / 4) << "most connections move the image";
  }
}

TEST(CppnRenderer, DifferentiableOutputsEqualTheExactRenderer) {
  for (const int64_t channels : {1, 3}) {
    const auto encoding = encoding_for("cppn", {channels, 20, 24});
    const auto& cppn = dynamic_cast<const CppnEncoding&>(*encoding);
    const auto genomes = genomes_of(cppn, 16, 10, 21);
    at::NoGradGuard off;
    EXPECT_TRUE(at::equal(cppn.render_outputs_differentiable(genomes, genomes["weight"], 20, 24),
                          cppn.render_outputs(genomes, 20, 24)));
  }
}

/// render_differentiable's values are render()'s, exactly, for both encodings, at the model's size
/// and at another; with a gradient.
TEST(Refinement, StraightThroughImagesAreTheExactEightBitImages) {
  for (const std::string name : {"direct", "cppn", "cppn-layered"}) {
    for (const int64_t channels : {1, 3}) {
      const auto encoding = encoding_for(name, {channels, 12, 12});
      const auto genomes = genomes_of(*encoding, 8, name == "direct" ? 1 : 10, 5);
      for (const int64_t size : {12, 17}) {
        at::AutoGradMode on(true);
        auto genes = encoding->continuous_genes(genomes).clone().requires_grad_(true);
        const auto images = encoding->render_differentiable(genomes, genes, size, size);
        EXPECT_TRUE(at::equal(images.detach(), encoding->render(genomes, size, size))) << name << " " << size;
        const auto grad = torch::autograd::grad({images.mul(images).sum()}, {genes})[0];
        EXPECT_GT(grad.abs().sum().item<double>(), 0) << name << ": no gradient reaches the genes";
      }
    }
  }
}

struct Refined {
  GenomeBatch before, after;
  at::Tensor cells, log_p_before, log_p_after;
};

/// Children of a random archive on the bundled LeNet, refined K steps.
Refined refine_children(const std::string& encoding_name, int64_t steps, RefineOptimizer optimizer, double lr,
                        uint64_t seed = 1) {
  const auto encoding = encoding_for(encoding_name, test::bundled_lenet().info().input);
  Scorer scorer(test::bundled_lenet(), ScoringOptions{});
  SearchOptions options;
  options.refine_steps = steps;
  options.refine_optimizer = optimizer;
  options.refine_lr = lr;
  SearchContext context{&scorer, encoding.get(), at::arange(10, at::kLong), 40, 16, make_generator(kCpu, seed),
                        options};
  Archive archive(context.targets);
  const auto parents = genomes_of(*encoding, 40, encoding_name == "direct" ? 0 : 6, seed);
  archive.insert(parents, scorer.probabilities(encoding->render(parents), 0), 0);
  auto gen = make_generator(kCpu, seed + 100);
  Refined r;
  r.before = encoding->mutate(parents, gen, 1);
  Refiner refiner(context);
  r.after = refiner.refine(r.before, archive);
  std::tie(r.cells, r.log_p_before) = refiner.targets(r.before, archive);
  const auto p = scorer.probabilities(encoding->render(r.after), 0);
  r.log_p_after =
      p.index_select(1, archive.targets()).gather(1, r.cells.view({-1, 1})).view({-1}).clamp_min(1e-30).log();
  return r;
}

class RefineEach : public ::testing::TestWithParam<std::string> {};

TEST_P(RefineEach, RefinedChildrenScoreHigherThanTheSameChildrenUnrefined) {
  // Step sizes from a grid (bench/RESULTS.md): 3 steps each. MNIST children are mostly confident
  // already, so the mean gain in log-probability comes from the few that are not; a CPPN child
  // whose 8-bit image does not change gains exactly 0.
  const bool direct = GetParam() == "direct";
  for (const auto optimizer : {RefineOptimizer::kAdam, RefineOptimizer::kSgd}) {
    const double sgd_lr = direct ? 0.3 : GetParam() == "cppn" ? 0.1 : 0.01;  // layered CPPNs: steeper
    const double lr = optimizer == RefineOptimizer::kAdam ? 0.1 : sgd_lr;
    const auto r = refine_children(GetParam(), 3, optimizer, lr);
    const auto gain = r.log_p_after - r.log_p_before;
    const auto better = gain.gt(0).sum().item<int64_t>(), worse = gain.lt(0).sum().item<int64_t>();
    EXPECT_GT(gain.mean().item<double>(), direct ? 0.5 : 0.05) << enum_name(optimizer) << ": " << gain;
    EXPECT_GT(better, 2 * worse) << enum_name(optimizer) << ": " << gain;
    if (direct) {
      EXPECT_GE(better, 38) << enum_name(optimizer) << ": " << gain;
    }
  }
}

TEST_P(RefineEach, IsBitForBitDeterministicAndLamarckian) {
  const auto a = refine_children(GetParam(), 2, RefineOptimizer::kAdam, 0.05, 4);
  const auto b = refine_children(GetParam(), 2, RefineOptimizer::kAdam, 0.05, 4);
  for (const auto& [field, tensor] : a.after.fields()) EXPECT_TRUE(at::equal(tensor, b.after[field])) << field;
  if (GetParam() != "direct") {
    // Only the weights move: the topology and activations are the children's own, and every
    // weight of a connection stays in range, absent ones 0.
    for (const auto* field : {"active", "activation", "edge", "rank"}) {
      EXPECT_TRUE(at::equal(a.after[field], a.before[field])) << field;
    }
    const auto& w = a.after["weight"];
    EXPECT_FALSE(at::equal(w, a.before["weight"]));
    EXPECT_LE(w.abs().max().item<double>(), kCppnWeightRange);
    EXPECT_TRUE(w.masked_select(a.after["edge"].logical_not()).eq(0).all().item<bool>());
  } else {
    const auto& g = a.after["genes"];
    EXPECT_GE(g.min().item<double>(), 0.0);
    EXPECT_LE(g.max().item<double>(), 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Encodings, RefineEach, ::testing::Values("direct", "cppn", "cppn-layered"));

RunConfig refined_run(const std::string& out, const std::string& encoding, int64_t generations) {
  RunConfig c;
  c.out = out;
  c.encoding = encoding == "direct" ? "direct" : "cppn";
  if (encoding == "cppn-layered") c.encoding_options = layered_options(c.encoding_options);
  c.generations = generations;
  c.population = 20;
  c.batch_size = 8;  // refinement in chunks
  c.seed = 5;
  c.checkpoint_every = 2;
  c.model.threads = 2;
  c.search_options.refine_steps = 2;
  return c;
}

TEST_P(RefineEach, RunsThroughTheRunLoopCountsEveryPassAndResumesExactly) {
  test::TempDir tmp;
  EXPECT_EQ(execute_run(refined_run(tmp / "whole", GetParam(), 6), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(refined_run(tmp / "parts", GetParam(), 3), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(refined_run(tmp / "parts", GetParam(), 6), RunMode::kResume), 0);
  EXPECT_EQ(read_file(tmp / "parts/archive.csv"), read_file(tmp / "whole/archive.csv"));
  const RunData whole = read_run(tmp / "whole"), parts = read_run(tmp / "parts");
  ASSERT_EQ(whole.elite_images.size(), parts.elite_images.size());
  for (std::size_t i = 0; i < whole.elite_images.size(); ++i) {
    EXPECT_EQ(read_file(whole.elite_images[i]), read_file(parts.elite_images[i])) << whole.elite_images[i];
  }
  // Generation 0 scores 20; each later one refines 20 children 2 steps (3 each) and scores them.
  EXPECT_EQ(whole.summary.evaluations, 20 * 6);
  EXPECT_EQ(whole.summary.forward_equivalents, 20 + 5 * 20 * (1 + 3 * 2));
  EXPECT_EQ(parts.summary.forward_equivalents, whole.summary.forward_equivalents);
}

TEST(Refinement, ElitesEmitterContinuesTheElitesAscentAndResumesExactly) {
  // Half the children are unmutated elites: refinement continues their ascent, so an elite's cell
  // improves whenever its copy's gradient steps do; the run resumes exactly like any other.
  test::TempDir tmp;
  const auto config = [&](const std::string& out, int64_t generations) {
    RunConfig c = refined_run(out, "cppn-layered", generations);
    c.search_options.emitter = "polynomial,elites";
    return c;
  };
  EXPECT_EQ(execute_run(config(tmp / "whole", 6), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(config(tmp / "parts", 3), RunMode::kFresh), 0);
  EXPECT_EQ(execute_run(config(tmp / "parts", 6), RunMode::kResume), 0);
  EXPECT_EQ(read_file(tmp / "parts/archive.csv"), read_file(tmp / "whole/archive.csv"));
  const RunData run = read_run(tmp / "whole");
  EXPECT_EQ(run.summary.forward_equivalents, 20 + 5 * 20 * (1 + 3 * 2));
  const auto& progress = run.progress;
  ASSERT_EQ(progress.size(), 6u);
  EXPECT_GT(progress.back().median, progress.front().median);

  // Without refinement a copy scores as its elite: refused.
  RunConfig plain = config(tmp / "plain", 2);
  plain.search_options.refine_steps = 0;
  try {
    execute_run(plain, RunMode::kFresh);
    ADD_FAILURE() << "--emitter elites without --refine-steps accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("--refine-steps"), std::string::npos) << e.what();
  }
}

TEST(Refinement, StartsAtRefineFromAndTheBudgetKnowsIt) {
  test::TempDir tmp;
  RunConfig c = refined_run(tmp / "late", "direct", 100);
  c.search_options.refine_from = 3;
  // Generations 1-2 plain (20 each), 3 and later refined (20 * 7 each): 20 + 40 + 2 * 140 = 340;
  // one more refined generation would pass the budget.
  c.max_forward_equivalents = 479;
  EXPECT_EQ(execute_run(c, RunMode::kFresh), 0);
  const RunData run = read_run(tmp / "late");
  EXPECT_EQ(run.summary.generations, 5);
  EXPECT_EQ(run.summary.evaluations, 100);
  EXPECT_EQ(run.summary.forward_equivalents, 340);
}

TEST(Refinement, CheckpointsFromBeforeRefinementStillResume) {
  // A checkpoint written before these settings existed does not name them: it ran with their
  // defaults, and only another value is a different run.
  const std::string old = R"({"seed": 1, "encoding": "cppn"})";
  EXPECT_EQ(differing_setting(old, R"({"seed": 1, "encoding": "cppn", "refine-steps": 0, "refine-from": 1,
                                       "refine-optimizer": "adam", "refine-lr": 0.1, "ascent-max-step": 0.0,
                                       "cppn-output": "abs", "cppn-hidden": "", "cppn-init-weight": 10.0})"),
            "");
  EXPECT_EQ(differing_setting(old, R"({"seed": 1, "encoding": "cppn", "cppn-output": "logistic"})"), "cppn-output");
  EXPECT_EQ(differing_setting(old, R"({"seed": 1, "encoding": "cppn", "refine-steps": 2})"), "refine-steps");
  EXPECT_EQ(differing_setting(old, R"({"seed": 1, "encoding": "cppn", "ascent-max-step": 0.1})"), "ascent-max-step");
  EXPECT_EQ(differing_setting(old, R"({"seed": 2, "encoding": "cppn", "threads": 4})"), "seed");
}

TEST(Refinement, SettingsAreChecked) {
  test::TempDir tmp;
  auto expect_usage = [&](RunConfig c, const std::string& words) {
    try {
      validate(c);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  RunConfig c = refined_run(tmp / "x", "direct", 2);
  c.search = "ascent";
  expect_usage(c, "--refine-steps");
  c = refined_run(tmp / "x", "direct", 2);
  c.search_options.refine_lr = 0;
  expect_usage(c, "--refine-lr");
  c.search_options.refine_lr = std::nan("");
  expect_usage(c, "--refine-lr");
  c = refined_run(tmp / "x", "cppn", 2);
  c.search_options.refine_steps = -1;
  expect_usage(c, "--refine-steps");
  c.search_options.refine_steps = 1001;
  expect_usage(c, "--refine-steps");
  c = refined_run(tmp / "x", "cppn", 2);
  c.search_options.refine_from = 0;
  expect_usage(c, "--refine-from");
}

}  // namespace
}  // namespace fool
