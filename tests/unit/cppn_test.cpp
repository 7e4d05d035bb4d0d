// CPPN encoding (PAPER.md §1.4): the batched renderer against a plain scalar evaluation, DAG
// validity under many mutations, and the genome file round trip.
#include "fool/encoding/cppn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "fool/search/random.h"
#include "fool/util/error.h"

namespace fool {
namespace {

const at::Device kCpu(at::kCPU);

CppnEncoding make_cppn(const ImageShape& shape, const std::string& coordinates = "normalized",
                       const std::string& activations = "sine,sigmoid,gaussian,linear") {
  EncodingOptions options;
  options.shape = shape;
  options.coordinates = enum_from_name<Coordinates>(coordinates, "coordinates");
  options.activations = activations;
  return CppnEncoding(options);
}

/// Genomes of varied topologies: random genomes mutated 0..`rounds` times.
GenomeBatch varied_genomes(const CppnEncoding& cppn, int64_t n, int rounds, uint64_t seed) {
  auto gen = make_generator(kCpu, seed);
  GenomeBatch genomes = cppn.random(n, gen, kCpu);
  GenomeBatch all = genomes;
  std::vector<GenomeBatch> batches{genomes};
  for (int r = 0; r < rounds; ++r) {
    genomes = cppn.mutate(genomes, gen, r + 1);
    batches.push_back(genomes);
  }
  // Stack every stage into one batch (padding to the largest capacity).
  int64_t total = 0;
  for (const auto& b : batches) total += b.size();
  GenomeBatch stacked = batches.back().index_select(at::zeros({total}, at::kLong));
  int64_t offset = 0;
  for (const auto& b : batches) {
    stacked.index_copy_(at::arange(offset, offset + b.size(), at::kLong), b);
    offset += b.size();
  }
  return stacked;
}

/// Reference: one genome, one pixel at a time, by recursion over in-edges (no ranks, no tensors).
/// `logistic`: outputs are 1/(1+e^−sum) whatever their activation (--cppn-output logistic).
double scalar_output(const GenomeBatch& g, int64_t n, int64_t output, const std::vector<double>& inputs,
                     const std::vector<Activation>& set, bool logistic = false) {
  auto active = g["active"][n].contiguous();
  auto activation = g["activation"][n].contiguous();
  auto edge = g["edge"][n].contiguous();
  auto weight = g["weight"][n].contiguous();
  const int64_t m = active.size(0);
  std::vector<double> memo(static_cast<std::size_t>(m), std::nan(""));
  std::function<double(int64_t)> value = [&](int64_t i) -> double {
    if (i < kCppnInputs) return inputs[static_cast<std::size_t>(i)];
    if (!std::isnan(memo[static_cast<std::size_t>(i)])) return memo[static_cast<std::size_t>(i)];
    // Single precision, sources in slot order: the arithmetic a float32 renderer must do. (With
    // the original's raw pixel coordinates pre-activations reach the hundreds, where a double
    // reference would differ from any float32 implementation by more than 1e-5.)
    float sum = 0;
    for (int64_t j = 0; j < m; ++j) {
      if (edge[i][j].item<bool>()) sum += weight[i][j].item<float>() * static_cast<float>(value(j));
    }
    double out = 0;
    // Outputs (rank 1) feed no node: the only output the recursion reaches is the one asked for.
    const auto kind = logistic && i == kCppnInputs + output
                          ? Activation::kLogistic
                          : set[static_cast<std::size_t>(activation[i].item<int64_t>())];
    switch (kind) {
      case Activation::kSine:
        out = std::sin(sum);
        break;
      case Activation::kSigmoid:
        out = 2.0 / (1.0 + std::exp(-sum)) - 1.0;
        break;
      case Activation::kGaussian:
        out = std::exp(-sum * sum);
        break;
      case Activation::kLinear:
        out = std::min(3.0, std::max(-3.0, static_cast<double>(sum))) / 3.0;
        break;
      case Activation::kTanh:
        out = std::tanh(5.0 * sum);
        break;
      case Activation::kLogistic:
        out = 1.0 / (1.0 + std::exp(-sum));
        break;
    }
    memo[static_cast<std::size_t>(i)] = out;
    return out;
  };
  return std::min(1.0, std::fabs(value(kCppnInputs + output)));
}

TEST(Cppn, BatchedRenderEqualsScalarEvaluation) {
  struct Case {
    ImageShape shape;
    std::string coordinates;
    int rounds;  ///< of mutation: 40 grows deep graphs of many levels with dangling nodes
  };
  for (const auto& [shape, coordinates, rounds] :
       {Case{{1, 12, 10}, "normalized", 8}, Case{{3, 9, 11}, "pixels", 8}, Case{{1, 5, 4}, "normalized", 40}}) {
    const auto cppn = make_cppn(shape, coordinates);
    const auto genomes = varied_genomes(cppn, rounds > 8 ? 2 : 6, rounds, 11);
    ASSERT_GT(genomes["active"].sum(1).max().item<int64_t>(), kCppnInputs + cppn.outputs() + (rounds > 8 ? 8 : 2))
        << "the genomes should include hidden nodes";
    const auto rendered = cppn.render_outputs(genomes, shape.height, shape.width);
    const auto planes = cppn.input_planes(shape.height, shape.width, kCpu);
    double worst = 0;
    for (int64_t n = 0; n < genomes.size(); ++n) {
      for (int64_t o = 0; o < cppn.outputs(); ++o) {
        for (int64_t y = 0; y < shape.height; ++y) {
          for (int64_t x = 0; x < shape.width; ++x) {
            std::vector<double> inputs;
            for (int64_t k = 0; k < kCppnInputs; ++k) inputs.push_back(planes[k][y][x].item<double>());
            const double expected = scalar_output(genomes, n, o, inputs, cppn.activations());
            worst = std::max(worst, std::fabs(expected - rendered[n][o][y][x].item<double>()));
          }
        }
      }
    }
    EXPECT_LE(worst, 1e-5) << coordinates;
  }
}

TEST(Cppn, HiddenLayersAndLogisticOutputsRenderAsTheScalarReference) {
  EncodingOptions options;
  options.shape = {3, 6, 7};
  options.cppn_hidden = "3,2";
  options.cppn_output = CppnOutput::kLogistic;
  options.cppn_init_weight = 3.0;
  options.color_space = ColorSpace::kRgb;
  const CppnEncoding cppn(options);
  auto gen = make_generator(kCpu, 4);
  const auto initial = cppn.random(5, gen, kCpu);
  // Inputs → 3 hidden → 2 hidden → 3 outputs, fully connected layer to layer, nothing else.
  EXPECT_EQ(initial["active"].size(1), kCppnInputs + 3 + 5);
  EXPECT_TRUE(initial["active"].all().item<bool>());
  EXPECT_TRUE(initial["edge"].sum({1, 2}).eq(4 * 3 + 3 * 2 + 2 * 3).all().item<bool>());
  const auto edge = initial["edge"][0];
  EXPECT_TRUE(edge.narrow(0, 7, 3).narrow(1, 0, 4).all().item<bool>()) << "inputs feed the first layer";
  EXPECT_TRUE(edge.narrow(0, 10, 2).narrow(1, 7, 3).all().item<bool>()) << "the first layer feeds the second";
  EXPECT_TRUE(edge.narrow(0, 4, 3).narrow(1, 10, 2).all().item<bool>()) << "the second layer feeds the outputs";
  const auto rank = initial["rank"][0];
  EXPECT_DOUBLE_EQ(rank[7].item<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(rank[10].item<double>(), 2.0 / 3.0);
  EXPECT_LE(initial["weight"].abs().max().item<double>(), 3.0);
  EXPECT_GT(initial["weight"].abs().max().item<double>(), 2.0);

  // Grown further by mutation, every output is the logistic function of its sum.
  GenomeBatch genomes = initial;
  for (int r = 0; r < 6; ++r) genomes = cppn.mutate(genomes, gen, r + 1);
  const auto rendered = cppn.render_outputs(genomes, 6, 7);
  const auto planes = cppn.input_planes(6, 7, kCpu);
  double worst = 0;
  for (int64_t n = 0; n < genomes.size(); ++n) {
    for (int64_t o = 0; o < 3; ++o) {
      for (int64_t y = 0; y < 6; ++y) {
        for (int64_t x = 0; x < 7; ++x) {
          std::vector<double> inputs;
          for (int64_t k = 0; k < kCppnInputs; ++k) inputs.push_back(planes[k][y][x].item<double>());
          const double expected = scalar_output(genomes, n, o, inputs, cppn.activations(), true);
          worst = std::max(worst, std::fabs(expected - rendered[n][o][y][x].item<double>()));
        }
      }
    }
  }
  EXPECT_LE(worst, 1e-5);
  // rgb: the image is the 8-bit outputs themselves.
  EXPECT_TRUE(at::equal(cppn.render(genomes, 6, 7), quantize_pixels(rendered)));
}

TEST(Cppn, InitialGenomeSettingsAreChecked) {
  const auto refused = [](const std::function<void(EncodingOptions&)>& edit) {
    EncodingOptions options;
    options.shape = {3, 8, 8};
    edit(options);
    try {
      CppnEncoding cppn(options);
    } catch (const Error& e) {
      return e.kind() == ErrorKind::kUsage && std::string(e.what()).find("Fix:") != std::string::npos;
    }
    return false;
  };
  for (const char* hidden : {"0", "a", "257", "32,,32", "-1", "32,", " 8", "512,512,512", "99999999999999999999"}) {
    EXPECT_TRUE(refused([&](EncodingOptions& o) { o.cppn_hidden = hidden; })) << hidden;
  }
  for (const double weight : {0.0, -1.0, 10.5, std::nan("")}) {
    EXPECT_TRUE(refused([&](EncodingOptions& o) { o.cppn_init_weight = weight; })) << weight;
  }
  EXPECT_FALSE(refused([](EncodingOptions& o) { o.cppn_hidden = "256,256,256,256"; }));
}

TEST(Cppn, InputPlanesFollowThePaper) {
  const auto cppn = make_cppn({1, 5, 5});
  const auto planes = cppn.input_planes(5, 5, kCpu);
  EXPECT_NEAR(planes[0][0][0].item<double>(), -1.0, 1e-7);  // x normalised to [−1, 1]
  EXPECT_NEAR(planes[0][0][4].item<double>(), 1.0, 1e-7);
  EXPECT_NEAR(planes[1][4][0].item<double>(), 1.0, 1e-7);  // y grows downwards
  EXPECT_NEAR(planes[2][2][2].item<double>(), 0.0, 1e-7);  // d: distance from the centre
  EXPECT_NEAR(planes[2][0][0].item<double>(), std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(planes[3].min().item<double>(), 1.0, 0.0);  // bias
  const auto raw = make_cppn({1, 28, 28}, "pixels").input_planes(28, 28, kCpu);
  EXPECT_NEAR(raw[0][0][27].item<double>(), 27.0, 1e-5);  // the original's raw pixel index
  // At 4x the resolution the pixel coordinates still span the model's grid.
  const auto raw_large = make_cppn({1, 28, 28}, "pixels").input_planes(112, 112, kCpu);
  EXPECT_NEAR(raw_large[0][0][111].item<double>(), 27.0, 1e-4);
}

/// Every structural invariant of a CPPN batch; returns the first violation or "".
std::string invalid(const GenomeBatch& g, int64_t outputs, int64_t activation_count) {
  const auto active = g["active"], activation = g["activation"], rank = g["rank"], edge = g["edge"],
             weight = g["weight"];
  const int64_t n = active.size(0), m = active.size(1);
  const int64_t fixed = kCppnInputs + outputs;
  if (!active.slice(1, 0, fixed).all().item<bool>()) return "an input or output node is missing";
  auto both_active = active.view({n, m, 1}).logical_and(active.view({n, 1, m}));
  if (edge.logical_and(both_active.logical_not()).any().item<bool>()) return "an edge touches an absent node";
  if (edge.slice(1, 0, kCppnInputs).any().item<bool>()) return "an edge enters an input";
  if (edge.slice(2, kCppnInputs, fixed).any().item<bool>()) return "an edge leaves an output";
  auto rank_ok = rank.view({n, 1, m}) < rank.view({n, m, 1});
  if (edge.logical_and(rank_ok.logical_not()).any().item<bool>()) return "an edge goes against the rank order";
  if (weight.masked_select(edge.logical_not()).ne(0).any().item<bool>()) return "a weight without an edge";
  if (weight.abs().max().item<float>() > kCppnWeightRange) return "a weight outside [-10, 10]";
  if (activation.min().item<int64_t>() < 0 || activation.max().item<int64_t>() >= activation_count) {
    return "an activation outside the set";
  }
  if (activation.masked_select(active.logical_not()).ne(0).any().item<bool>() ||
      rank.masked_select(active.logical_not()).ne(0).any().item<bool>()) {
    return "an absent slot is not zero";
  }
  auto hidden = active.slice(1, fixed);
  auto hidden_rank = rank.slice(1, fixed);
  if (hidden.any().item<bool>() && (hidden_rank.masked_select(hidden).le(0).any().item<bool>() ||
                                    hidden_rank.masked_select(hidden).ge(1).any().item<bool>())) {
    return "a hidden rank outside (0,1)";
  }
  // Independent acyclicity check: Kahn's algorithm on every genome.
  auto e = edge.to(at::kCPU).contiguous();
  auto a = active.to(at::kCPU).contiguous();
  for (int64_t k = 0; k < n; ++k) {
    std::vector<int64_t> indegree(static_cast<std::size_t>(m), 0);
    int64_t nodes = 0;
    for (int64_t i = 0; i < m; ++i) {
      nodes += a[k][i].item<bool>();
      for (int64_t j = 0; j < m; ++j) indegree[static_cast<std::size_t>(i)] += e[k][i][j].item<bool>();
    }
    std::vector<int64_t> ready;
    for (int64_t i = 0; i < m; ++i) {
      if (a[k][i].item<bool>() && indegree[static_cast<std::size_t>(i)] == 0) ready.push_back(i);
    }
    int64_t seen = 0;
    while (!ready.empty()) {
      int64_t j = ready.back();
      ready.pop_back();
      ++seen;
      for (int64_t i = 0; i < m; ++i) {
        if (e[k][i][j].item<bool>() && --indegree[static_cast<std::size_t>(i)] == 0) ready.push_back(i);
      }
    }
    if (seen != nodes) return "a cycle in genome " + std::to_string(k);
  }
  return "";
}

TEST(Cppn, TenThousandMutationsKeepValidDags) {
  for (const auto channels : {int64_t{1}, int64_t{3}}) {
    const auto cppn = make_cppn({channels, 8, 8});
    auto gen = make_generator(kCpu, 5 + static_cast<uint64_t>(channels));
    GenomeBatch genomes = cppn.random(100, gen, kCpu);
    ASSERT_EQ(invalid(genomes, cppn.outputs(), 4), "");
    // 100 genomes × 100 rounds = 10,000 mutations each of channels; check every 10 rounds
    // (Kahn's algorithm on the host is slow) and the last.
    for (int round = 1; round <= 100; ++round) {
      genomes = cppn.mutate(genomes, gen, round);
      if (round % 10 == 0) {
        ASSERT_EQ(invalid(genomes, cppn.outputs(), 4), "") << "round " << round;
      }
    }
    EXPECT_GT(genomes["active"].sum(1).to(at::kFloat).mean().item<float>(), kCppnInputs + cppn.outputs() + 3)
        << "with add-node 0.5 against delete-node 0.2 the genomes grow";
  }
}

TEST(Cppn, MutationRatesMatchTheOriginal) {
  const auto cppn = make_cppn({1, 8, 8});
  auto gen = make_generator(kCpu, 21);
  const int64_t n = 4000;
  const auto parents = cppn.random(n, gen, kCpu);
  const auto children = cppn.mutate(parents, gen, 1);
  // A fresh genome has no hidden node: the only node-count change is add-node (0.5), which always
  // finds a connection to split; delete-node then removes a hidden node with 0.2.
  const auto grown = (children["active"].sum(1) > parents["active"].sum(1)).to(at::kFloat).mean().item<double>();
  EXPECT_NEAR(grown, 0.5 * (1 - 0.2 * 1.0), 0.03);  // a new node is the only hidden one to delete
  // Weights: 4 initial connections each mutated with probability 0.1.
  const auto p = parents["weight"].slice(1, 0, 5).slice(2, 0, 5);
  const auto c = children["weight"].slice(1, 0, 5).slice(2, 0, 5);
  const auto both =
      parents["edge"].slice(1, 0, 5).slice(2, 0, 5).logical_and(children["edge"].slice(1, 0, 5).slice(2, 0, 5));
  const auto changed = (p != c).logical_and(both).sum().item<double>() / both.sum().item<double>();
  EXPECT_GT(changed, 0.06);
  EXPECT_LT(changed, 0.14);
}

TEST(Cppn, RenderIsIdenticalAloneOrInABatch) {
  // Colour 16x16, and gray 9x11 (99 pixels: node rows start at offsets that are not multiples of
  // a SIMD width) with enough genomes that one activation covers thousands of elements.
  for (const auto& [shape, count] : {std::pair<ImageShape, int64_t>{{3, 16, 16}, 8}, {{1, 9, 11}, 60}}) {
    const auto cppn = make_cppn(shape);
    const auto genomes = varied_genomes(cppn, count, 6, 3);
    const auto together = cppn.render(genomes);
    for (int64_t i = 0; i < genomes.size(); ++i) {
      const auto alone = cppn.render(trim_cppn(genomes.index_select(at::tensor({i}, at::kLong))));
      ASSERT_TRUE(at::equal(alone[0], together[i])) << "genome " << i << " of " << genomes.size();
    }
    // And the raw outputs, before 8-bit quantisation.
    const auto raw = cppn.render_outputs(genomes, shape.height, shape.width);
    const auto first =
        cppn.render_outputs(trim_cppn(genomes.index_select(at::tensor({0}, at::kLong))), shape.height, shape.width);
    EXPECT_TRUE(at::equal(first[0], raw[0]));
  }
}

TEST(Cppn, ColourConversionsMatchKnownColours) {
  // (h, l, s) → RGB for the primaries and gray (hue as a fraction of 360 degrees).
  auto hls =
      at::tensor({0.0, 0.5, 1.0, 1.0 / 3, 0.5, 1.0, 2.0 / 3, 0.5, 1.0, 0.25, 0.3, 0.0}, at::kDouble).view({4, 3, 1, 1});
  auto rgb = hls_to_rgb(hls).view({4, 3});
  const double expected[4][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.3, 0.3, 0.3}};
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(rgb[i][k].item<double>(), expected[i][k], 1e-9) << i << "," << k;
  }
  auto hsv = at::tensor({0.0, 1.0, 1.0, 1.0 / 3, 1.0, 1.0, 0.5, 0.0, 0.4}, at::kDouble).view({3, 3, 1, 1});
  auto rgb2 = hsv_to_rgb(hsv).view({3, 3});
  const double expected2[3][3] = {{1, 0, 0}, {0, 1, 0}, {0.4, 0.4, 0.4}};
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) EXPECT_NEAR(rgb2[i][k].item<double>(), expected2[i][k], 1e-9) << i << "," << k;
  }
}

TEST(Cppn, ActivationSetIsConfigurable) {
  const auto cppn = make_cppn({1, 8, 8}, "normalized", "tanh,sigmoid,gaussian,linear");
  EXPECT_EQ(cppn.activations().front(), Activation::kTanh);
  EXPECT_THROW(make_cppn({1, 8, 8}, "normalized", "sine,cosine"), Error);
}

}  // namespace
}  // namespace fool
