// The search loop on the bundled LeNet: determinism under a seed and MAP-Elites' bookkeeping.
#include "fool/search/map_elites.h"

#include <gtest/gtest.h>

#include "fool/encoding/encoding.h"
#include "fool/run/progress.h"
#include "fool/search/random.h"
#include "support/test_support.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

struct SearchResult {
  at::Tensor confidence, generation, genes;
  std::vector<ProgressRecord> stats;
};

SearchResult search(const std::string& encoding_name, uint64_t seed, int64_t generations, int64_t population = 40,
                    int64_t batch_size = 0) {
  EncodingOptions options;
  options.shape = test::bundled_lenet().info().input;
  const auto encoding = make_encoding(encoding_name, options);
  const Scorer scorer(test::bundled_lenet(), ScoringOptions{});
  SearchContext context{&scorer,        encoding.get(), at::arange(10, at::kLong),
                        population,     batch_size,     make_generator(kCpu, seed),
                        SearchOptions{}};
  MapElites me(context);
  SearchResult result;
  int64_t evaluations = 0;
  for (int64_t g = 0; g < generations; ++g) {
    const auto step = me.step(g);
    evaluations += step.evaluations;
    result.stats.push_back(
        progress_record(me.archive(), g, evaluations, evaluations, 0.001 * static_cast<double>(g), step.replacements));
  }
  result.confidence = me.archive().confidence().clone();
  result.generation = me.archive().generation().clone();
  result.genes = encoding->render(me.archive().genomes());
  return result;
}

class SearchOnBundledModel : public ::testing::TestWithParam<std::string> {};

TEST_P(SearchOnBundledModel, OneSeedGivesOneRun) {
  const auto a = search(GetParam(), 5, 8);
  const auto b = search(GetParam(), 5, 8);
  EXPECT_TRUE(at::equal(a.confidence, b.confidence)) << a.confidence << b.confidence;
  EXPECT_TRUE(at::equal(a.generation, b.generation));
  EXPECT_TRUE(at::equal(a.genes, b.genes));
  const auto c = search(GetParam(), 6, 8);
  EXPECT_FALSE(at::equal(a.confidence, c.confidence)) << "seeds 5 and 6 gave the same archive";
}

TEST_P(SearchOnBundledModel, ForwardChunkSizeDoesNotChangeTheScores) {
  // Chunking the forward pass changes only the batch the kernels see: the probabilities of the
  // rendered population agree to float rounding. (Whole runs are not compared: a difference in
  // the last bit can flip a strict > between two near-certain children and the runs diverge.)
  EncodingOptions options;
  options.shape = test::bundled_lenet().info().input;
  const auto encoding = make_encoding(GetParam(), options);
  auto gen = make_generator(kCpu, 3);
  auto genomes = encoding->random(40, gen, kCpu);
  genomes = encoding->mutate(genomes, gen, 1);
  const auto images = encoding->render(genomes);
  const auto whole = test::bundled_lenet().probabilities(images, 0);
  const auto chunked = test::bundled_lenet().probabilities(images, 16);
  EXPECT_TRUE(at::allclose(whole, chunked, 1e-5, 1e-6)) << (whole - chunked).abs().max();
}

TEST_P(SearchOnBundledModel, StatisticsFollowTheArchive) {
  const auto r = search(GetParam(), 2, 12);
  ASSERT_EQ(r.stats.size(), 12u);
  for (std::size_t g = 0; g < r.stats.size(); ++g) {
    const auto& s = r.stats[g];
    EXPECT_EQ(s.generation, static_cast<int64_t>(g));
    EXPECT_EQ(s.evaluations, 40 * static_cast<int64_t>(g + 1));
    EXPECT_EQ(s.filled, 10) << "every cell is filled by generation 0";
    EXPECT_LE(s.min, s.median);
    EXPECT_LE(s.median, s.max);
    EXPECT_LE(s.min, s.mean);
    EXPECT_LE(s.mean, s.max);
    EXPECT_GE(s.min, 0.0);
    EXPECT_LE(s.max, 1.0);
    EXPECT_GE(s.replacements, 0);
    EXPECT_LE(s.replacements, 10);
    if (g > 0) {
      // Elites never get worse: every order statistic is non-decreasing.
      EXPECT_GE(s.min, r.stats[g - 1].min) << "generation " << g;
      EXPECT_GE(s.median, r.stats[g - 1].median) << "generation " << g;
      EXPECT_GE(s.max, r.stats[g - 1].max) << "generation " << g;
      EXPECT_GE(s.seconds, r.stats[g - 1].seconds);
    }
  }
  EXPECT_EQ(r.stats[0].replacements, 10);
  EXPECT_NEAR(r.stats.back().min, r.confidence.min().item<double>(), 1e-7);
  EXPECT_NEAR(r.stats.back().max, r.confidence.max().item<double>(), 1e-7);
  EXPECT_TRUE(r.generation.ge(0).all().item<bool>());
  EXPECT_TRUE(r.generation.le(11).all().item<bool>());
}

TEST_P(SearchOnBundledModel, ElitesScoreTheirStoredConfidence) {
  // The archive's confidence is the model's probability of the cell's class for the rendered
  // elite: re-scoring the stored genomes gives the same numbers.
  const auto r = search(GetParam(), 4, 6);
  const auto probabilities = test::bundled_lenet().probabilities(r.genes);
  const auto own = probabilities.gather(1, at::arange(10, at::kLong).view({10, 1})).view({10});
  EXPECT_TRUE(at::allclose(own, r.confidence, 1e-5, 1e-6)) << own << r.confidence;
}

TEST(DirectSearch, ImprovesTheMedianOnTheBundledModel) {
  const auto r = search("direct", 1, 30, 100);
  EXPECT_GT(r.stats.back().median, r.stats.front().median + 0.2)
      << "median " << r.stats.front().median << " -> " << r.stats.back().median;
}

INSTANTIATE_TEST_SUITE_P(Registry, SearchOnBundledModel, ::testing::ValuesIn(encoding_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace fool
