// Classifiers that are none of the bundled LeNet but follow the model contract: fool must load
// and fool them with no change to the tool.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {

/// Column `column` ("min", "median", ...) of progress.csv at the first and the last generation.
std::pair<double, double> first_and_last(const std::string& run, const std::string& column) {
  const auto rows = read_csv(run + "/progress.csv");
  const auto& header = rows.at(0);
  const auto at = static_cast<std::size_t>(std::find(header.begin(), header.end(), column) - header.begin());
  return {std::stod(rows.at(1).at(at)), std::stod(rows.back().at(at))};
}

TEST(ConvertedNoInfoModel, WorksWithInputShape) {
  const std::string model = converted_model("test/noinfo.pt");
  if (model.empty()) GTEST_SKIP() << missing_model_reason("test/noinfo.pt");
  const auto info = run_fool({"info", "--model", model, "--input-shape", "1,28,28"});
  ASSERT_EQ(info.exit_code, 0) << info.describe();
  EXPECT_NE(info.out.find("[N,1,28,28]"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("10 logits"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("0, 1, 2"), std::string::npos) << "labels default to the class indices\n" << info.out;

  TempDir tmp;
  write_text(tmp / "labels.txt", "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n");
  const auto r = run_fool({"run", "--model", model, "--input-shape", "1,28,28", "--labels", tmp / "labels.txt",
                           "--generations", "3", "--population", "20", "--out", tmp / "run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto archive = read_csv(tmp / "run/archive.csv");
  ASSERT_EQ(archive.size(), 11u);
  EXPECT_EQ(archive[1][1], "zero");
  EXPECT_EQ(archive[10][1], "nine");
  EXPECT_EQ(read_json(tmp / "run/summary.json").at("model"), model);
}

TEST(ConvertedProbabilitiesModel, IsFooledLikeItsLogitsTwin) {
  // probabilities.pt is mlp.pt followed by a softmax and says so in fool.json: the tool must not
  // apply a second softmax, so both score the same first generation and both get fooled.
  const std::string logits = converted_model("test/mlp.pt");
  const std::string probabilities = converted_model("test/probabilities.pt");
  if (logits.empty() || probabilities.empty()) GTEST_SKIP() << missing_model_reason("test/*.pt");
  TempDir tmp;
  for (const auto& [model, out] :
       {std::pair{logits, tmp / "logits"}, std::pair{probabilities, tmp / "probabilities"}}) {
    const auto r = run_fool({"run", "--model", model, "--generations", "60", "--seed", "5", "--out", out});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  for (const char* column : {"min", "median", "max"}) {
    EXPECT_NEAR(first_and_last(tmp / "probabilities", column).first, first_and_last(tmp / "logits", column).first, 1e-5)
        << column << " of generation 0";
  }
  const auto [before, after] = first_and_last(tmp / "probabilities", "median");
  EXPECT_GT(after, before + 0.5) << "median confidence " << before << " -> " << after;
  EXPECT_NEAR(after, first_and_last(tmp / "logits", "median").second, 0.05);
}

struct ContractModelCase {
  const char* file;
  const char* population;  ///< the BatchNorm CNN is ~15x slower per image than the MLP
};

class ConvertedContractModel : public ::testing::TestWithParam<ContractModelCase> {};

TEST_P(ConvertedContractModel, IsFooledByAnUnchangedTool) {
  const std::string model = converted_model(GetParam().file);
  if (model.empty()) GTEST_SKIP() << missing_model_reason(GetParam().file);
  TempDir tmp;
  const auto r = run_fool({"run", "--model", model, "--generations", "100", "--population", GetParam().population,
                           "--seed", "1", "--out", tmp / "run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto [before, after] = first_and_last(tmp / "run", "median");
  EXPECT_GT(after, 0.9) << "median confidence " << before << " -> " << after;
  EXPECT_GT(after, before + 0.5) << "median confidence " << before << " -> " << after;
  const auto summary = read_json(tmp / "run/summary.json");
  EXPECT_EQ(summary.at("model"), model);
  EXPECT_EQ(summary.at("classes").size(), 10u);
  EXPECT_EQ(files_in(tmp / "run/elites", ".png").size(), 10u);
}

std::ostream& operator<<(std::ostream& os, const ContractModelCase& c) { return os << c.file; }

INSTANTIATE_TEST_SUITE_P(Models, ConvertedContractModel,
                         ::testing::Values(ContractModelCase{"test/mlp.pt", "200"},
                                           ContractModelCase{"fashion_bn.pt", "100"}),
                         [](const auto& info) { return std::filesystem::path(info.param.file).stem().string(); });

}  // namespace
}  // namespace fool::test
