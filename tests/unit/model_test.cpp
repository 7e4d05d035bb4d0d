// The model contract through fool's Model class: the bundled LeNet, the converted Caffe LeNets
// (the paper's DNN A and DNN B), on real MNIST digits.
#include "fool/model/model.h"

#include <gtest/gtest.h>

#include "fool/search/random.h"
#include "fool/util/error.h"
#include "fool/util/sha256.h"
#include "support/test_support.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

/// Fraction of `digits` the model labels correctly, the whole set as one tensor.
double accuracy(const Model& model, const test::Digits& digits) {
  const auto predicted = model.probabilities(digits.images(), 2048).argmax(1);
  return predicted.eq(digits.label_tensor()).to(at::kDouble).mean().item<double>();
}

TEST(BundledModel, FollowsTheContract) {
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  const auto& info = model.info();
  EXPECT_EQ(info.name, "lenet_mnist");
  EXPECT_EQ(info.source, kBundledModelName);
  EXPECT_EQ(info.input.channels, 1);
  EXPECT_EQ(info.input.height, 28);
  EXPECT_EQ(info.input.width, 28);
  EXPECT_EQ(model.num_classes(), 10);
  EXPECT_EQ(info.labels.front(), "0");
  EXPECT_EQ(info.labels.back(), "9");
  EXPECT_FALSE(info.outputs_probabilities);
  EXPECT_EQ(info.parameters, 431080);  // models/README.md
  EXPECT_EQ(info.buffers, 0);
  // The embedded bytes are the committed file.
  EXPECT_EQ(info.sha256, sha256_file(test::source_dir() + "/models/lenet_mnist.pt"));
}

TEST(BundledModel, ProbabilitiesAreSoftmaxRowsIndependentOfChunking) {
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  auto gen = make_generator(kCpu, 1);
  const auto images = at::rand({37, 1, 28, 28}, gen);
  const auto whole = model.probabilities(images);
  ASSERT_EQ(whole.sizes().vec(), (std::vector<int64_t>{37, 10}));
  EXPECT_TRUE(whole.ge(0).all().item<bool>());
  EXPECT_TRUE(at::allclose(whole.sum(1), at::ones({37}), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(whole, at::softmax(model.forward(images), 1), 1e-6, 1e-7));
  for (int64_t chunk : {1, 5, 36, 37, 100}) {
    EXPECT_TRUE(at::allclose(model.probabilities(images, chunk), whole, 1e-5, 1e-6)) << "chunk " << chunk;
  }
}

TEST(BundledModel, Bf16ForwardRunsUnderAutocastAndStaysClose) {
  const Model fp32 = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  const Model bf16 = fp32.with_precision(Precision::kBFloat16);
  EXPECT_EQ(fp32.precision(), Precision::kFloat32);  // with_precision leaves the original alone
  const auto digits = test::read_mnist_part("t10k");
  const auto images = digits.images().slice(0, 0, 500);
  EXPECT_EQ(bf16.forward(images).scalar_type(), at::kBFloat16);
  EXPECT_EQ(fp32.forward(images).scalar_type(), at::kFloat);  // the scope ended: autocast is off again
  const auto p32 = fp32.probabilities(images, 128);
  const auto p16 = bf16.probabilities(images, 128);
  EXPECT_EQ(p16.scalar_type(), at::kFloat);
  const double worst = (p32 - p16).abs().max().item<double>();
  EXPECT_GT(worst, 0.0);  // really computed in bf16
  EXPECT_LT(worst, 0.1);  // bf16 keeps 8 bits of mantissa: close, not equal
  EXPECT_GE(p32.argmax(1).eq(p16.argmax(1)).to(at::kFloat).mean().item<double>(), 0.99);
  // The shared module keeps no trace of the bf16 forwards: fp32 again is the same, bit for bit.
  EXPECT_TRUE(at::equal(fp32.probabilities(images, 128), p32));
  EXPECT_TRUE(at::equal(bf16.probabilities(images, 128), p16));
  EXPECT_THROW(fp32.with_precision(Precision::kFloat16), Error);  // fp16 is CUDA only
}

TEST(BundledModel, ChannelsLastGivesTheSameProbabilities) {
  const Model plain = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  const Model nhwc = plain.with_channels_last(true);
  EXPECT_TRUE(nhwc.channels_last());
  EXPECT_FALSE(plain.channels_last());
  auto gen = make_generator(kCpu, 3);
  const auto images = at::rand({64, 1, 28, 28}, gen);
  EXPECT_TRUE(at::allclose(nhwc.probabilities(images, 32), plain.probabilities(images, 32), 1e-5, 1e-6));
  // Layout and precision compose: changing one keeps the other.
  const Model both = nhwc.with_precision(Precision::kBFloat16);
  EXPECT_TRUE(both.channels_last());
  EXPECT_EQ(both.precision(), Precision::kBFloat16);
  EXPECT_EQ(both.with_channels_last(false).precision(), Precision::kBFloat16);
  EXPECT_LT((both.probabilities(images) - plain.probabilities(images)).abs().max().item<double>(), 0.1);
}

TEST(BundledModel, ReadsHeldOutDigits) {
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  // models/README.md: 98.25% on the 1,996 held-out digits.
  EXPECT_GE(accuracy(model, test::read_mnist_part("t10k")), 0.97);
}

TEST(ModelLoad, MissingAndCorruptFilesAreModelErrors) {
  test::TempDir dir;
  test::write_text(dir / "garbage.pt", std::string(4096, '\x5a'));
  for (const std::string& path : {dir / "missing.pt", dir / "garbage.pt"}) {
    try {
      Model::load(path, kCpu);
      ADD_FAILURE() << "loaded " << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kModel) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

TEST(ModelLoad, OverridesReplaceShapeAndLabels) {
  ModelOverrides overrides;
  overrides.labels = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu, overrides);
  EXPECT_EQ(model.info().labels[7], "seven");
  overrides.labels.pop_back();
  EXPECT_THROW(Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu, overrides), Error);
}

class ConvertedCaffeLeNet : public ::testing::TestWithParam<const char*> {};

TEST_P(ConvertedCaffeLeNet, AtLeast99PercentOnAllTenThousandDigits) {
  const std::string file = std::string(GetParam()) + ".pt";
  const std::string path = test::converted_model(file);
  if (path.empty()) GTEST_SKIP() << test::missing_model_reason(file);
  const Model model = Model::load(path, kCpu);
  EXPECT_EQ(model.info().name, GetParam());
  EXPECT_EQ(model.num_classes(), 10);
  const auto digits = test::read_mnist_all();
  ASSERT_EQ(digits.count, 10000);
  // ../shared/models/CONVERTING.md: 99.89% (ethereon) and 99.87% (danielhers).
  EXPECT_GE(accuracy(model, digits), 0.99);
}

INSTANTIATE_TEST_SUITE_P(DnnAandB, ConvertedCaffeLeNet, ::testing::Values("lenet_ethereon", "lenet_danielhers"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace fool
