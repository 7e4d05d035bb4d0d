// MAP-Elites insertion with one cell per class (PAPER.md §1.2).
#include "fool/search/archive.h"

#include <gtest/gtest.h>

#include <cmath>

#include "fool/search/random.h"

namespace fool {
namespace {

/// Children whose single gene is their own index, so a cell's genome names its child.
GenomeBatch numbered_children(int64_t n, float offset = 0.0f) {
  return GenomeBatch({{"genes", at::arange(n, at::kFloat).add(offset).view({n, 1})}});
}

std::vector<float> confidences(const Archive& a) {
  auto c = a.confidence().contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

TEST(Archive, StartsEmpty) {
  Archive archive(at::tensor({0, 2, 5}, at::kLong));
  EXPECT_EQ(archive.cells(), 3);
  EXPECT_FALSE(archive.filled());
  EXPECT_EQ(confidences(archive), (std::vector<float>{-1, -1, -1}));
  EXPECT_TRUE(archive.generation().eq(-1).all().item<bool>());
}

TEST(Archive, EmptyCellsTakeAnyChild) {
  Archive archive(at::tensor({0, 1, 2}, at::kLong));
  // Probability exactly 0 for every class still beats an empty cell.
  const auto probabilities = at::zeros({2, 4});
  EXPECT_EQ(archive.insert(numbered_children(2), probabilities, 0), 3);
  EXPECT_TRUE(archive.filled());
  EXPECT_EQ(confidences(archive), (std::vector<float>{0, 0, 0}));
  EXPECT_TRUE(archive.generation().eq(0).all().item<bool>());
}

TEST(Archive, EachCellTakesItsBestChild) {
  Archive archive(at::tensor({1, 3}, at::kLong));                  // cells watch classes 1 and 3
  const auto probabilities = at::tensor({0.1f, 0.2f, 0.3f, 0.4f,   // child 0
                                         0.0f, 0.7f, 0.1f, 0.2f,   // child 1: best for class 1
                                         0.1f, 0.1f, 0.1f, 0.7f})  // child 2: best for class 3
                                 .view({3, 4});
  EXPECT_EQ(archive.insert(numbered_children(3), probabilities, 0), 2);
  EXPECT_EQ(confidences(archive), (std::vector<float>{0.7f, 0.7f}));
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 2.0f);
}

TEST(Archive, LogProbabilitiesBreakTiesAtZeroAndOne) {
  // A retrained network gives every child probability 0.0f for the digits (underflow) and
  // saturated ones 1.0f: the log-probabilities of the same forward still order them.
  Archive archive(at::tensor({0, 1}, at::kLong));
  const auto p = at::tensor({1.0f, 0.0f, 1.0f, 0.0f}).view({2, 2});
  EXPECT_EQ(archive.insert(numbered_children(2), p, 0, at::tensor({-1e-9f, -140.0f, -2e-9f, -120.0f}).view({2, 2})), 2);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][0][0].item<float>(), 0.0f) << "class 0: child 0's log p is higher";
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 1.0f) << "class 1: child 1's log p is higher";
  EXPECT_FLOAT_EQ(archive.log_confidence()[1].item<float>(), -120.0f);
  // Equal probabilities, higher log-probability: replaced; lower: kept.
  EXPECT_EQ(archive.insert(numbered_children(1, 10.0f), at::tensor({1.0f, 0.0f}).view({1, 2}), 1,
                           at::tensor({-1e-10f, -130.0f}).view({1, 2})),
            1);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][0][0].item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 1.0f);
  EXPECT_EQ(confidences(archive), (std::vector<float>{1.0f, 0.0f}));
  // A higher probability always wins, whatever the log-probabilities say (they agree in practice).
  EXPECT_EQ(archive.insert(numbered_children(1, 20.0f), at::tensor({0.5f, 1e-30f}).view({1, 2}), 2,
                           at::tensor({-0.69f, -69.0f}).view({1, 2})),
            1);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 20.0f);
  // Restored without log-probabilities (an older checkpoint): the log of the confidence.
  Archive restored(at::tensor({0, 1}, at::kLong));
  restored.restore(archive.targets(), archive.genomes(), at::tensor({0.5f, -1.0f}), archive.generation());
  EXPECT_NEAR(restored.log_confidence()[0].item<float>(), std::log(0.5f), 1e-6);
  EXPECT_TRUE(std::isinf(restored.log_confidence()[1].item<float>()));
}

TEST(Archive, EqualProbabilityDoesNotReplace) {
  Archive archive(at::tensor({0, 1}, at::kLong));
  archive.insert(numbered_children(1), at::tensor({0.6f, 0.4f}).view({1, 2}), 0);
  // A different child with exactly the elites' probabilities: strict > means no change.
  EXPECT_EQ(archive.insert(numbered_children(1, 10.0f), at::tensor({0.6f, 0.4f}).view({1, 2}), 1), 0);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][0][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 0.0f);
  EXPECT_TRUE(archive.generation().eq(0).all().item<bool>()) << "generation moved without a replacement";
  // Lower is not better either.
  EXPECT_EQ(archive.insert(numbered_children(1, 20.0f), at::tensor({0.5f, 0.3f}).view({1, 2}), 2), 0);
  // Strictly higher in one class replaces that cell only.
  EXPECT_EQ(archive.insert(numbered_children(1, 30.0f), at::tensor({0.61f, 0.39f}).view({1, 2}), 3), 1);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][0][0].item<float>(), 30.0f);
  EXPECT_FLOAT_EQ(archive.genomes()["genes"][1][0].item<float>(), 0.0f);
  EXPECT_EQ(archive.generation()[0].item<int64_t>(), 3);
  EXPECT_EQ(archive.generation()[1].item<int64_t>(), 0);
}

TEST(Archive, OneChildMayTakeSeveralCells) {
  Archive archive(at::tensor({0, 1, 2, 3}, at::kLong));
  archive.insert(numbered_children(1), at::full({1, 4}, 0.1f), 0);
  // Child 1 beats the elites of classes 0, 2 and 3 at once (probabilities need not sum to 1
  // for the archive; it compares per class).
  const auto probabilities = at::tensor({0.05f, 0.05f, 0.05f, 0.05f,  //
                                         0.3f, 0.05f, 0.2f, 0.4f})
                                 .view({2, 4});
  EXPECT_EQ(archive.insert(numbered_children(2, 100.0f), probabilities, 7), 3);
  const auto genes = archive.genomes()["genes"].view({4});
  EXPECT_TRUE(at::equal(genes, at::tensor({101.0f, 0.0f, 101.0f, 101.0f})));
  EXPECT_EQ(confidences(archive), (std::vector<float>{0.3f, 0.1f, 0.2f, 0.4f}));
  EXPECT_TRUE(at::equal(archive.generation(), at::tensor({7, 0, 7, 7}, at::kLong)));
}

TEST(Archive, ReplacementsNeverLowerAConfidence) {
  Archive archive(at::arange(10, at::kLong));
  auto gen = make_generator(at::Device(at::kCPU), 3);
  auto previous = at::full({10}, -1.0f);
  std::vector<at::Tensor> all_probabilities;
  for (int g = 0; g < 50; ++g) {
    const auto probabilities = at::softmax(at::randn({16, 10}, gen) * 3, 1);
    all_probabilities.push_back(probabilities);
    const int64_t replaced = archive.insert(numbered_children(16, 16.0f * g), probabilities, g);
    const auto now = archive.confidence();
    EXPECT_TRUE(now.ge(previous).all().item<bool>()) << "generation " << g;
    EXPECT_EQ(replaced, now.gt(previous).sum().item<int64_t>()) << "generation " << g;
    previous = now.clone();
  }
  // Each elite's confidence is its own genome's probability of the cell's class, and its
  // generation the one its child was born in.
  const auto table = at::cat(all_probabilities);  // row = child number
  for (int64_t cell = 0; cell < 10; ++cell) {
    const auto child = static_cast<int64_t>(archive.genomes()["genes"][cell][0].item<float>());
    EXPECT_FLOAT_EQ(archive.confidence()[cell].item<float>(), table[child][cell].item<float>()) << "cell " << cell;
    EXPECT_EQ(archive.generation()[cell].item<int64_t>(), child / 16) << "cell " << cell;
  }
  // After 800 draws, the best of each column.
  EXPECT_TRUE(at::equal(archive.confidence(), std::get<0>(table.max(0))));
}

}  // namespace
}  // namespace fool
