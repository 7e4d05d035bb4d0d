// Invariants every registered encoding must keep. The suite is instantiated over
// encoding_names(), so a newly registered encoding is tested here without a new line of test.
#include "fool/encoding/encoding.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <tuple>

#include "fool/search/random.h"
#include "fool/util/error.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

struct ShapeCase {
  const char* name;
  ImageShape shape;
};

std::ostream& operator<<(std::ostream& os, const ShapeCase& c) { return os << c.name; }

// Gray square (MNIST) and RGB non-square, so that no encoding silently assumes either.
const ShapeCase kShapes[] = {{"gray28x28", {1, 28, 28}}, {"rgb20x24", {3, 20, 24}}};

class EveryEncoding : public ::testing::TestWithParam<std::tuple<std::string, ShapeCase>> {
 protected:
  std::unique_ptr<Encoding> make() const {
    EncodingOptions options;
    options.shape = shape();
    return make_encoding(std::get<0>(GetParam()), options);
  }
  const ImageShape& shape() const { return std::get<1>(GetParam()).shape; }
};

bool genomes_equal(const GenomeBatch& a, const GenomeBatch& b) {
  if (a.fields().size() != b.fields().size()) return false;
  for (const auto& [name, t] : a.fields()) {
    auto it = b.fields().find(name);
    if (it == b.fields().end() || !t.sizes().equals(it->second.sizes()) || !at::equal(t, it->second)) return false;
  }
  return true;
}

/// [N,C,H,W] float32 in [0,1] and every value a multiple of 1/255.
void expect_valid_images(const at::Tensor& images, int64_t n, const ImageShape& s, int64_t height, int64_t width) {
  ASSERT_EQ(images.dim(), 4);
  EXPECT_EQ(images.sizes().vec(), (std::vector<int64_t>{n, s.channels, height, width}));
  EXPECT_EQ(images.scalar_type(), at::kFloat);
  EXPECT_GE(images.min().item<float>(), 0.0f);
  EXPECT_LE(images.max().item<float>(), 1.0f);
  auto levels = images.mul(255.0);
  EXPECT_NEAR((levels - levels.round()).abs().max().item<float>(), 0.0f, 1e-3f) << "not quantised to k/255";
}

TEST(EncodingRegistry, ListsDirectAndRejectsUnknownNames) {
  const auto names = encoding_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "direct");
  EncodingOptions options;
  try {
    make_encoding("no-such-encoding", options);
    FAIL() << "make_encoding accepted an unknown name";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    for (const auto& name : names) EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  }
}

TEST_P(EveryEncoding, BuildsUnderItsRegisteredName) { EXPECT_EQ(make()->name(), std::get<0>(GetParam())); }

TEST_P(EveryEncoding, RandomGivesOneFiniteRowPerGenome) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 1);
  const GenomeBatch genomes = encoding->random(16, gen, kCpu);
  ASSERT_FALSE(genomes.empty());
  EXPECT_EQ(genomes.size(), 16);
  for (const auto& [name, t] : genomes.fields()) {
    EXPECT_EQ(t.size(0), 16) << name;
    EXPECT_TRUE(t.device().is_cpu()) << name;
    if (t.is_floating_point()) {
      EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << name;
    }
  }
}

TEST_P(EveryEncoding, RandomIsDeterminedBySeed) {
  auto encoding = make();
  auto gen_a = make_generator(kCpu, 42);
  auto gen_b = make_generator(kCpu, 42);
  auto gen_c = make_generator(kCpu, 43);
  const GenomeBatch a = encoding->random(8, gen_a, kCpu);
  const GenomeBatch b = encoding->random(8, gen_b, kCpu);
  const GenomeBatch c = encoding->random(8, gen_c, kCpu);
  EXPECT_TRUE(genomes_equal(a, b)) << "one seed gave two different populations";
  EXPECT_FALSE(genomes_equal(a, c)) << "seeds 42 and 43 gave the same population";
  EXPECT_TRUE(at::equal(encoding->render(a), encoding->render(b)));
  EXPECT_FALSE(at::equal(encoding->render(a), encoding->render(c)));
}

TEST_P(EveryEncoding, RenderGivesQuantisedImagesAtTheModelShape) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 2);
  const GenomeBatch genomes = encoding->random(12, gen, kCpu);
  const auto images = encoding->render(genomes);
  expect_valid_images(images, 12, shape(), shape().height, shape().width);
  EXPECT_TRUE(at::equal(images, encoding->render(genomes))) << "render is not a pure function of the genome";
  // Not a blank canvas: random genomes give varied pixels.
  EXPECT_GT(images.std().item<float>(), 0.01f);
}

TEST_P(EveryEncoding, RenderAtAnotherResolution) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 3);
  const GenomeBatch genomes = encoding->random(5, gen, kCpu);
  const int64_t height = 2 * shape().height, width = shape().width + 7;
  expect_valid_images(encoding->render(genomes, height, width), 5, shape(), height, width);
}

TEST_P(EveryEncoding, MutateKeepsShapeAndLeavesParentsAlone) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 4);
  const GenomeBatch parents = encoding->random(20, gen, kCpu);
  const GenomeBatch before = parents.clone();
  const GenomeBatch children = encoding->mutate(parents, gen, 1);
  EXPECT_TRUE(genomes_equal(parents, before)) << "mutate changed its parents";
  ASSERT_EQ(children.size(), parents.size());
  ASSERT_EQ(children.fields().size(), parents.fields().size());
  for (const auto& [name, p] : parents.fields()) {
    const at::Tensor& c = children[name];
    ASSERT_EQ(c.dim(), p.dim()) << name;
    EXPECT_EQ(c.scalar_type(), p.scalar_type()) << name;
    for (int64_t d = 1; d < p.dim(); ++d) EXPECT_GE(c.size(d), p.size(d)) << name << " shrank in dimension " << d;
    if (c.is_floating_point()) {
      EXPECT_TRUE(at::isfinite(c).all().item<bool>()) << name;
    }
  }
  expect_valid_images(encoding->render(children), 20, shape(), shape().height, shape().width);
}

TEST_P(EveryEncoding, MutateChangesMostChildren) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 5);
  const GenomeBatch parents = encoding->random(40, gen, kCpu);
  const GenomeBatch children = encoding->mutate(parents, gen, 1);
  const auto parent_images = encoding->render(parents);
  const auto child_images = encoding->render(children);
  int64_t changed = 0;
  for (int64_t i = 0; i < parents.size(); ++i) {
    changed += at::equal(parent_images[i], child_images[i]) ? 0 : 1;
  }
  EXPECT_GE(changed, parents.size() / 2) << "only " << changed << " of " << parents.size()
                                         << " children look different from their parent";
}

TEST_P(EveryEncoding, MutateIsDeterminedBySeed) {
  auto encoding = make();
  auto gen = make_generator(kCpu, 6);
  const GenomeBatch parents = encoding->random(10, gen, kCpu);
  auto gen_a = make_generator(kCpu, 7);
  auto gen_b = make_generator(kCpu, 7);
  auto gen_c = make_generator(kCpu, 8);
  const GenomeBatch a = encoding->mutate(parents, gen_a, 3);
  EXPECT_TRUE(genomes_equal(a, encoding->mutate(parents, gen_b, 3)));
  EXPECT_FALSE(genomes_equal(a, encoding->mutate(parents, gen_c, 3)));
}

TEST_P(EveryEncoding, ChildrenOfDifferentCapacityFitOneArchive) {
  // The archive copies children into stored genomes with GenomeBatch::index_copy_; a batch of
  // mutated children must be storable into a batch of random genomes and render the same.
  auto encoding = make();
  auto gen = make_generator(kCpu, 9);
  GenomeBatch store = encoding->random(6, gen, kCpu);
  GenomeBatch children = encoding->mutate(store, gen, 1);
  for (int i = 0; i < 5; ++i) children = encoding->mutate(children, gen, 2 + i);
  const auto index = at::arange(3, at::kLong);
  store.index_copy_(index, children.index_select(index));
  EXPECT_TRUE(at::equal(encoding->render(store).slice(0, 0, 3), encoding->render(children).slice(0, 0, 3)));
}

std::string case_name(const ::testing::TestParamInfo<EveryEncoding::ParamType>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryEncoding,
                         ::testing::Combine(::testing::ValuesIn(encoding_names()), ::testing::ValuesIn(kShapes)),
                         case_name);

}  // namespace
}  // namespace fool
