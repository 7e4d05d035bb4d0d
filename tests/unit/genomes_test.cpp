// GenomeBatch: named tensors sharing a batch dimension; zero-padding makes batches of different
// capacity compatible (the rule variable-size encodings follow: zero means absent).
#include "fool/encoding/genomes.h"

#include <gtest/gtest.h>

#include "fool/util/error.h"

namespace fool {
namespace {

TEST(GenomeBatch, SizeAndFields) {
  GenomeBatch batch({{"a", at::zeros({4, 3})}, {"b", at::zeros({4, 2, 2})}});
  EXPECT_EQ(batch.size(), 4);
  EXPECT_FALSE(batch.empty());
  EXPECT_TRUE(GenomeBatch().empty());
  EXPECT_EQ(GenomeBatch().size(), 0);
  EXPECT_THROW(batch["missing"], Error);
}

TEST(GenomeBatch, RejectsFieldsOfDifferentBatchSize) {
  try {
    GenomeBatch({{"a", at::zeros({4, 3})}, {"b", at::zeros({5, 3})}});
    FAIL() << "accepted fields with 4 and 5 rows";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  }
}

TEST(GenomeBatch, IndexSelectTakesRowsInOrder) {
  GenomeBatch batch({{"a", at::arange(12, at::kFloat).view({4, 3})}});
  const auto picked = batch.index_select(at::tensor({3, 0, 3}, at::kLong));
  EXPECT_EQ(picked.size(), 3);
  EXPECT_TRUE(at::equal(picked["a"][0], batch["a"][3]));
  EXPECT_TRUE(at::equal(picked["a"][1], batch["a"][0]));
  EXPECT_TRUE(at::equal(picked["a"][2], batch["a"][3]));
}

TEST(GenomeBatch, IndexCopyOfTheSameCapacity) {
  GenomeBatch target({{"a", at::zeros({4, 3})}});
  GenomeBatch source({{"a", at::ones({2, 3})}});
  target.index_copy_(at::tensor({1, 3}, at::kLong), source);
  EXPECT_TRUE(at::equal(target["a"].sum(1), at::tensor({0.0f, 3.0f, 0.0f, 3.0f})));
}

TEST(GenomeBatch, IndexCopyGrowsTheTargetWithZeros) {
  // Target capacity 3, source capacity 5: the target grows to 5, its old rows padded with 0.
  GenomeBatch target({{"nodes", at::full({4, 3}, 2.0f)}});
  GenomeBatch source({{"nodes", at::full({2, 5}, 7.0f)}});
  target.index_copy_(at::tensor({0, 2}, at::kLong), source);
  const auto& t = target["nodes"];
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(t[0].eq(7.0f).all().item<bool>());
  EXPECT_TRUE(t[2].eq(7.0f).all().item<bool>());
  for (int64_t row : {1, 3}) {
    EXPECT_TRUE(t[row].slice(0, 0, 3).eq(2.0f).all().item<bool>()) << "row " << row;
    EXPECT_TRUE(t[row].slice(0, 3, 5).eq(0.0f).all().item<bool>()) << "row " << row << " not zero-padded";
  }
}

TEST(GenomeBatch, IndexCopyPadsASmallerSource) {
  // Source capacity 2 into target capacity 4 (both trailing dimensions): the copied rows get
  // zeros where the source had no entries, and the target keeps its capacity.
  GenomeBatch target({{"w", at::full({3, 4, 4}, 1.0f)}});
  GenomeBatch source({{"w", at::full({1, 2, 3}, 5.0f)}});
  target.index_copy_(at::tensor({1}, at::kLong), source);
  const auto& t = target["w"];
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{3, 4, 4}));
  EXPECT_TRUE(t[1].slice(0, 0, 2).slice(1, 0, 3).eq(5.0f).all().item<bool>());
  EXPECT_DOUBLE_EQ(t[1].sum().item<double>(), 5.0 * 6);
  EXPECT_TRUE(t[0].eq(1.0f).all().item<bool>());
  EXPECT_TRUE(t[2].eq(1.0f).all().item<bool>());
}

TEST(GenomeBatch, PadTo) {
  const auto padded = pad_to(at::ones({2, 1, 2}), {2, 3, 2});
  EXPECT_EQ(padded.sizes().vec(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_DOUBLE_EQ(padded.sum().item<double>(), 4.0);
  EXPECT_THROW(pad_to(at::ones({2, 3}), {2, 2}), Error);
}

TEST(GenomeBatch, CloneIsIndependent) {
  GenomeBatch batch({{"a", at::zeros({2, 2})}});
  GenomeBatch copy = batch.clone();
  copy["a"].fill_(1.0f);
  EXPECT_DOUBLE_EQ(batch["a"].sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace fool
