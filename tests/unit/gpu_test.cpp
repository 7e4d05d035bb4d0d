// CPU/CUDA agreement (issue 6): model outputs, CPPN rendering and a whole search on the GPU.
// Skipped where LibTorch has no CUDA device; `ctest -L gpu` runs them on the GPU machine.
#include <gtest/gtest.h>

#include "fool/encoding/cppn.h"
#include "fool/encoding/direct.h"
#include "fool/search/map_elites.h"
#include "fool/search/random.h"
#include "fool/util/error.h"

namespace fool {
namespace {

bool has_cuda() {
  try {
    return resolve_device("cuda").is_cuda();
  } catch (const Error&) {
    return false;
  }
}

#define REQUIRE_CUDA() \
  if (!has_cuda()) GTEST_SKIP() << "no CUDA device in this LibTorch build or machine"

const at::Device kCpu(at::kCPU);

TEST(Gpu, BundledModelAgreesWithTheCpu) {
  REQUIRE_CUDA();
  const at::Device cuda(at::kCUDA, 0);
  const Model cpu_model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, kCpu);
  const Model gpu_model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, cuda);
  auto gen = make_generator(kCpu, 1);
  const auto images = at::rand({512, 1, 28, 28}, gen);
  const auto on_cpu = cpu_model.probabilities(images, 128);
  const auto on_gpu = gpu_model.probabilities(images.to(cuda), 128).to(kCpu);
  EXPECT_LE((on_cpu - on_gpu).abs().max().item<double>(), 1e-4);
  EXPECT_TRUE(at::equal(on_cpu.argmax(1), on_gpu.argmax(1)));
}

TEST(Gpu, HalfPrecisionForwardsStayCloseToFloat32) {
  REQUIRE_CUDA();
  const at::Device cuda(at::kCUDA, 0);
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, cuda);
  auto gen = make_generator(kCpu, 2);
  const auto images = at::rand({512, 1, 28, 28}, gen).to(cuda);
  const auto fp32 = model.probabilities(images, 128);
  for (const Precision precision : {Precision::kFloat16, Precision::kBFloat16}) {
    const Model lower = model.with_precision(precision);
    EXPECT_EQ(lower.forward(images).scalar_type(), precision == Precision::kFloat16 ? at::kHalf : at::kBFloat16);
    const auto p = lower.probabilities(images, 128);
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_LT((p - fp32).abs().max().item<double>(), 0.1) << precision_name(precision);
  }
  EXPECT_EQ(model.forward(images).scalar_type(), at::kFloat);
}

TEST(Gpu, CppnRenderAgreesWithTheCpu) {
  REQUIRE_CUDA();
  const at::Device cuda(at::kCUDA, 0);
  for (const int64_t channels : {int64_t{1}, int64_t{3}}) {
    EncodingOptions options;
    options.shape = {channels, 64, 48};
    const CppnEncoding cppn(options);
    auto gen = make_generator(kCpu, 3);
    GenomeBatch genomes = cppn.random(64, gen, kCpu);
    for (int round = 1; round <= 20; ++round) genomes = cppn.mutate(genomes, gen, round);
    const auto on_cpu = cppn.render_outputs(genomes, 64, 48);
    const auto on_gpu = cppn.render_outputs(genomes.to(cuda), 64, 48).to(kCpu);
    EXPECT_LE((on_cpu - on_gpu).abs().max().item<double>(), 1e-5) << channels << " channels";
  }
}

TEST(Gpu, SearchRunsOnTheDeviceAndIsDeterministic) {
  REQUIRE_CUDA();
  const at::Device cuda(at::kCUDA, 0);
  const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, cuda);
  for (const char* name : {"direct", "cppn"}) {
    EncodingOptions options;
    options.shape = model.info().input;
    const auto encoding = make_encoding(name, options);
    auto run = [&] {
      const Scorer scorer(model, ScoringOptions{});
      MapElites search(SearchContext{&scorer, encoding.get(), at::arange(10, at::TensorOptions(cuda).dtype(at::kLong)),
                                     1024, 0, make_generator(cuda, 5), SearchOptions{}});
      for (int g = 0; g < 21; ++g) search.step(g);
      EXPECT_TRUE(search.archive().confidence().is_cuda());
      return search.archive().confidence().to(kCpu);
    };
    const auto first = run();
    EXPECT_GT(first.median().item<float>(), 0.5f) << name;
    EXPECT_TRUE(at::equal(first, run())) << name << ": same seed, same archive";
  }
}

}  // namespace
}  // namespace fool
