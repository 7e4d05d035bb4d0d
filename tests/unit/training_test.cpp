// Training a contract model in C++ (fool/train/training.h): the fooling output added without
// changing the old classes, re-initialisation, and SGD that learns and is deterministic.
#include "fool/train/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <sstream>

#include "fool/model/model.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

torch::jit::Module bundled_module() {
  std::istringstream in(bundled_model_bytes());
  return torch::jit::load(in, at::kCPU);
}

at::Tensor logits(torch::jit::Module& m, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  return m.forward({x}).toTensor();
}

std::vector<at::Tensor> parameters_of(const torch::jit::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

TEST(Training, AddOutputKeepsEveryOldClassExactly) {
  auto module = bundled_module();
  const auto x = test::read_mnist_part("t10k").images().slice(0, 0, 64);
  const auto before = logits(module, x);
  add_output(module, 10, 7);
  const auto after = logits(module, x);
  ASSERT_EQ(after.sizes(), (std::vector<int64_t>{64, 11}));
  EXPECT_TRUE(at::equal(after.slice(1, 0, 10), before)) << "the ten digits' logits must not move";
  EXPECT_GT(after.select(1, 10).std().item<double>(), 0.0) << "the new output depends on the image";
  // A layer of 7 rows does not exist: one clear error.
  try {
    add_output(module, 7, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kModel);
    EXPECT_NE(std::string(e.what()).find("7 rows"), std::string::npos) << e.what();
  }
}

TEST(Training, ReinitialiseIsSeededAndWithinPyTorchsBounds) {
  auto a = bundled_module(), b = bundled_module();
  const auto original = parameters_of(a);
  reinitialise(a, 3);
  reinitialise(b, 3);
  const auto pa = parameters_of(a), pb = parameters_of(b);
  ASSERT_EQ(pa.size(), original.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(at::equal(pa[i], pb[i])) << "parameter " << i;
    EXPECT_FALSE(at::equal(pa[i], original[i])) << "parameter " << i;
  }
  // ip1.weight [500,800]: uniform in ±1/sqrt(800); its bias the same bound.
  for (const auto& p : a.named_parameters()) {
    if (p.name == "ip1.weight" || p.name == "ip1.bias") {
      EXPECT_LE(p.value.abs().max().item<double>(), 1.0 / std::sqrt(800.0) + 1e-7) << p.name;
    }
  }
}

/// 600 real digits and 30 noise images labelled `fooling` (10).
LabelledImages digits_and_noise() {
  const auto digits = test::read_mnist_part("train");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto noise = at::rand({30, 1, 28, 28}, gen);
  return {at::cat({digits.images().slice(0, 0, 600), noise}, 0),
          at::cat({digits.label_tensor().slice(0, 0, 600), at::full({30}, 10, at::kLong)}, 0)};
}

TEST(Training, LearnsTheFoolingClassKeepsTheDigitsAndIsDeterministic) {
  const auto data = digits_and_noise();
  const auto test_digits = test::read_mnist_part("t10k");
  const auto x = test_digits.images().slice(0, 0, 500), y = test_digits.label_tensor().slice(0, 0, 500);
  TrainOptions options;
  options.epochs = 3;
  std::vector<std::vector<at::Tensor>> trained;
  for (int repeat = 0; repeat < 2; ++repeat) {
    auto module = bundled_module();
    add_output(module, 10, 1);
    const auto result = train_classifier(module, false, data, options);
    EXPECT_EQ(result.steps, 3 * ((630 + 63) / 64));
    EXPECT_FALSE(result.stopped);
    EXPECT_LT(result.last_loss, 0.2);
    const auto out = logits(module, x);
    EXPECT_GT(out.argmax(1).eq(y).to(at::kDouble).mean().item<double>(), 0.9) << "the digits are still known";
    auto gen = at::make_generator<at::CPUGeneratorImpl>(99);
    const auto fresh_noise = at::rand({50, 1, 28, 28}, gen);
    EXPECT_GT(logits(module, fresh_noise).argmax(1).eq(10).to(at::kDouble).mean().item<double>(), 0.9)
        << "unseen noise is labelled fooling";
    for (const auto& p : module.parameters()) EXPECT_FALSE(p.requires_grad());
    trained.push_back(parameters_of(module));
  }
  for (std::size_t i = 0; i < trained[0].size(); ++i) EXPECT_TRUE(at::equal(trained[0][i], trained[1][i])) << i;
}

TEST(Training, StopsOnASignalAndRefusesBadRuns) {
  const auto data = digits_and_noise();
  auto module = bundled_module();
  add_output(module, 10, 1);
  std::atomic<int> stop{15};
  EXPECT_TRUE(train_classifier(module, false, data, {}, &stop).stopped);
  const auto kind_of = [&](const LabelledImages& d, const TrainOptions& o) {
    try {
      train_classifier(module, false, d, o);
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::kInternal;
  };
  TrainOptions diverging;
  diverging.learning_rate = 1e12;
  EXPECT_EQ(kind_of(data, diverging), ErrorKind::kModel) << "a NaN loss is one clear error";
  EXPECT_EQ(kind_of(LabelledImages{}, {}), ErrorKind::kUsage);
  TrainOptions zero_batch;
  zero_batch.batch_size = 0;
  EXPECT_EQ(kind_of(data, zero_batch), ErrorKind::kUsage);
  // Images of the wrong size for the network: the forward fails, one error naming the data.
  const LabelledImages wrong{at::rand({8, 1, 32, 32}), at::zeros({8}, at::kLong)};
  EXPECT_EQ(kind_of(wrong, {}), ErrorKind::kModel);
}

}  // namespace
}  // namespace fool
