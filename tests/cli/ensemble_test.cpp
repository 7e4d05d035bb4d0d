// Fooling several models at once (fool run --model A --model B): the fitness is the minimum (or
// mean) over the models, archive.csv and summary.json record each model's confidence, a resume
// keeps the models, and the report shows fool evaluate's transfer table. Needs the converted
// test MLP (scripts/prepare_models.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "fool/io/files.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

TEST(EnsembleConverted, TwoModelsAtOnceRecordEachModelsConfidence) {
  const std::string mlp = converted_model("test/mlp.pt");
  if (mlp.empty()) GTEST_SKIP() << missing_model_reason("test/mlp.pt");
  const std::string lenet = source_dir() + "/models/lenet_mnist.pt";
  TempDir tmp;
  for (const std::string fitness : {"min", "mean"}) {
    const std::string out = tmp / fitness;
    const auto r = run_fool({"run", "--model", lenet, "--model", mlp, "--ensemble-fitness", fitness, "--generations",
                             "40", "--threads", "2", "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const auto csv = read_csv(out + "/archive.csv");
    ASSERT_EQ(csv.size(), 11u);
    ASSERT_EQ(csv[0].size(), 6u) << "class, label, confidence, generation and one column per model";
    EXPECT_EQ(csv[0][4], "confidence:" + lenet);
    EXPECT_EQ(csv[0][5], "confidence:" + mlp);
    for (std::size_t i = 1; i < csv.size(); ++i) {
      const double fit = std::stod(csv[i][2]), a = std::stod(csv[i][4]), b = std::stod(csv[i][5]);
      EXPECT_NEAR(fit, fitness == "min" ? std::min(a, b) : 0.5 * (a + b), 2e-7) << fitness << " row " << i;
    }
    const auto summary = read_json(out + "/summary.json");
    ASSERT_EQ(summary["models"].size(), 2u);
    EXPECT_EQ(summary["models"][1]["model"], mlp);
    EXPECT_EQ(summary["classes"][0]["model_confidences"].size(), 2u);
    EXPECT_EQ(read_json(out + "/config.json")["settings"]["more-models"], mlp);
    EXPECT_EQ(summary["forward_equivalents"].get<int64_t>(), 2 * summary["evaluations"].get<int64_t>())
        << "each image goes through both models: two forward passes";
  }
  // A resume keeps both models and continues; check and report read the wider archive.csv.
  const auto resumed = run_fool({"resume", tmp / "min", "--generations", "60"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_EQ(read_json(tmp / "min/summary.json")["models"].size(), 2u);
  const auto evaluated = run_fool({"evaluate", tmp / "min", "--model", lenet, "--model", mlp});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.describe();
  const auto report = run_fool({"report", tmp / "min"});
  ASSERT_EQ(report.exit_code, 0) << report.describe();
  const std::string md = read_text(tmp / "min/report/report.md");
  EXPECT_NE(md.find("Transfer to other models"), std::string::npos) << md;
  const auto compared = run_fool({"report", tmp / "min", tmp / "mean", "--out", tmp / "cmp"});
  ASSERT_EQ(compared.exit_code, 0) << compared.describe();
  EXPECT_NE(read_text(tmp / "cmp/report.md").find("Transfer matrix"), std::string::npos);

  // Bad input: one line, the documented exit code, no run directory.
  const std::string transfer = tmp / "min/transfer.csv";
  write_file_atomic(transfer, read_text(transfer) + "0,0,2,x,0,1,0.5,0,1\n");
  const auto hostile = run_fool({"report", tmp / "min"});
  EXPECT_EQ(hostile.exit_code, 4) << hostile.describe();
  EXPECT_EQ(hostile.err_lines().size(), 1u) << hostile.describe();
  const std::string mobilenet = converted_model("mobilenet_v1_0.75_192.pt");
  std::vector<std::tuple<std::vector<std::string>, int, std::string>> bad = {
      {{"--model", lenet, "--model", tmp / "missing.pt"}, 3, "missing.pt"},
      {{"--model", lenet, "--model", mlp, "--ensemble-fitness", "max"}, 2, "--ensemble-fitness"},
  };
  if (!mobilenet.empty()) bad.push_back({{"--model", lenet, "--model", mobilenet}, 2, "same input"});
  for (const auto& [args, code, words] : bad) {
    std::vector<std::string> command = {"run", "--generations", "3", "--out", tmp / "bad"};
    command.insert(command.end(), args.begin(), args.end());
    const auto e = run_fool(command);
    EXPECT_EQ(e.exit_code, code) << e.describe();
    EXPECT_NE(e.err.find(words), std::string::npos) << e.describe();
    EXPECT_EQ(e.err_lines().size(), 1u) << e.describe();
    EXPECT_FALSE(fs::exists(tmp / "bad")) << words;
  }
}

}  // namespace
}  // namespace fool::test
