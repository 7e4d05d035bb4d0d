// fool retrain end to end with the real binary: the rounds table, contract models with a
// `fooling` class, per-round resume (also after SIGKILL), the report, and bad input.
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

std::vector<std::string> retrain_args(const std::string& out, const std::string& rounds,
                                      const std::string& generations = "30") {
  return {"retrain",   "--data",        mnist_dir(), "--rounds",          rounds,  "--generations",
          generations, "--train-limit", "600",       "--epochs",          "1",     "--threads",
          "2",         "--dump-every",  "10",        "--snapshot-elites", "--out", out};
}

/// `args` with each option of `changes` set to its value there (added when absent).
std::vector<std::string> changed(std::vector<std::string> args, const std::vector<std::string>& changes) {
  for (std::size_t i = 0; i + 1 < changes.size(); i += 2) {
    const auto it = std::find(args.begin(), args.end(), changes[i]);
    if (it != args.end() && it + 1 != args.end()) {
      *(it + 1) = changes[i + 1];
    } else {
      args.insert(args.end(), {changes[i], changes[i + 1]});
    }
  }
  return args;
}

std::vector<std::string> with_force(std::vector<std::string> args) {
  args.push_back("--force");
  return args;
}

/// rounds.csv without the two wall-clock columns (train_seconds, evolve_seconds).
std::vector<std::vector<std::string>> rounds_without_times(const std::string& dir) {
  auto rows = read_csv(dir + "/rounds.csv");
  for (auto& row : rows) {
    if (row.size() >= 2) row.resize(row.size() - 2);
  }
  return rows;
}

TEST(Retrain, RoundsTableContractModelsResumeAndReport) {
  TempDir tmp;
  const std::string out = tmp / "rounds";
  const auto first = run_fool(retrain_args(out, "1"));
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  const auto rows = read_csv(out + "/rounds.csv");
  ASSERT_EQ(rows.size(), 3u) << "header, round 0, round 1";
  EXPECT_EQ(rows[0][0], "round");
  EXPECT_EQ(rows[1][0], "0");
  EXPECT_EQ(rows[1][5], "") << "round 0's network has seen no fooling images";
  EXPECT_EQ(rows[2][0], "1");
  EXPECT_EQ(rows[2][1], "round-01/model.pt");
  // Round 0's final elites and its snapshots' elites (generations 10 and 20) are round 1's class 10.
  EXPECT_EQ(std::stoll(rows[1][3]), 30);
  EXPECT_EQ(rows[2][4], rows[1][3]);
  EXPECT_GE(std::stod(rows[2][5]), 0.9) << "the retrained network labels the images it was trained on `fooling`";
  EXPECT_NEAR(std::stod(rows[2][2]), std::stod(rows[1][2]), 0.02) << "test accuracy kept";
  EXPECT_EQ(rows[2][7], "10") << "round 1 targets the ten digits, not `fooling`";
  const auto info = run_fool({"info", "--model", out + "/round-01/model.pt"});
  ASSERT_EQ(info.exit_code, 0) << info.describe();
  EXPECT_NE(info.out.find("11 logits"), std::string::npos) << info.describe();
  const auto summary = read_json(out + "/round-01/run/summary.json");
  EXPECT_EQ(summary["classes"].size(), 10u);

  // The same command again: every round is read back, nothing is redone.
  const std::string table = read_text(out + "/rounds.csv"), model = read_text(out + "/round-01/model.pt");
  const auto again = run_fool(retrain_args(out, "1"));
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  EXPECT_EQ(read_text(out + "/rounds.csv"), table);
  EXPECT_EQ(read_text(out + "/round-01/model.pt"), model);
  // More rounds continue the table; other settings are refused.
  const auto more = run_fool(retrain_args(out, "2"));
  ASSERT_EQ(more.exit_code, 0) << more.describe();
  const auto longer = read_csv(out + "/rounds.csv");
  ASSERT_EQ(longer.size(), 4u);
  EXPECT_EQ(std::vector<std::vector<std::string>>(longer.begin(), longer.begin() + 3), rows);
  auto other = retrain_args(out, "2");
  other.insert(other.end(), {"--train-lr", "0.05"});
  const auto refused = run_fool(other);
  EXPECT_EQ(refused.exit_code, 2) << refused.describe();
  EXPECT_NE(refused.err.find("--train-lr"), std::string::npos) << refused.describe();
  EXPECT_EQ(refused.err_lines().size(), 1u) << refused.describe();

  const auto report = run_fool({"report", out});
  ASSERT_EQ(report.exit_code, 0) << report.describe();
  EXPECT_TRUE(fs::exists(out + "/report/rounds.png"));
  EXPECT_TRUE(fs::exists(out + "/report/rounds_cost.png"));
  const std::string md = read_text(out + "/report/report.md");
  EXPECT_NE(md.find("| 2 |"), std::string::npos) << md;
  EXPECT_NE(md.find("round2_contact_sheet.png"), std::string::npos) << md;
}

TEST(Retrain, SigkillInALaterRoundResumesWithoutLosingEarlierRounds) {
  TempDir tmp;
  const auto whole = run_fool(retrain_args(tmp / "whole", "2", "60"));
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  const std::string out = tmp / "killed";
  std::string command = std::string(FOOL_BINARY);
  for (const auto& a : retrain_args(out, "2", "60")) command += " " + shell_quote(a);
  const std::string progress = shell_quote(out + "/round-02/run/progress.csv");
  command += " >/dev/null 2>&1 & pid=$!; until [ \"$(wc -l 2>/dev/null < " + progress +
             " 2>/dev/null || echo 0)\" -gt 30 ]; do sleep 0.01; done; kill -9 $pid; wait $pid";
  std::system(command.c_str());
  ASSERT_TRUE(fs::exists(out + "/round-01/round.json"));
  ASSERT_FALSE(fs::exists(out + "/round-02/round.json")) << "killed during round 2's run";
  const std::string earlier = read_text(out + "/round-01/round.json");
  const auto resumed = run_fool(retrain_args(out, "2", "60"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
  EXPECT_EQ(read_text(out + "/round-01/round.json"), earlier) << "a complete round is kept as it was";
  EXPECT_EQ(rounds_without_times(out), rounds_without_times(tmp / "whole"))
      << "the same rounds as the uninterrupted retrain";
  EXPECT_EQ(read_text(out + "/round-02/model.pt"), read_text(tmp / "whole/round-02/model.pt"));
  EXPECT_TRUE(leftovers(out).empty());
}

/// An IDX image file of `count` gray images of side `side`, and its labels all `label`.
void write_idx_pair(const std::string& dir, const std::string& part, int side, int count, int label) {
  fs::create_directories(dir);
  std::string images{0, 0, 8, 3,
                     0, 0, 0, static_cast<char>(count),
                     0, 0, 0, static_cast<char>(side),
                     0, 0, 0, static_cast<char>(side)};
  images += std::string(static_cast<std::size_t>(count * side * side), '\x40');
  write_file_atomic(dir + "/" + part + "-images-idx3-ubyte", images);
  write_file_atomic(dir + "/" + part + "-labels-idx1-ubyte",
                    std::string{0, 0, 8, 1, 0, 0, 0, static_cast<char>(count)} +
                        std::string(static_cast<std::size_t>(count), static_cast<char>(label)));
}

TEST(Retrain, BadInputGivesOneLineAndItsExitCode) {
  TempDir tmp;
  write_idx_pair(tmp / "wide", "train", 32, 4, 1);
  write_idx_pair(tmp / "wide", "t10k", 32, 4, 1);
  write_idx_pair(tmp / "label12", "train", 28, 4, 12);
  write_idx_pair(tmp / "label12", "t10k", 28, 4, 1);
  fs::create_directories(tmp / "empty");
  write_file_atomic(tmp / "file.txt", "not a folder");
  fs::create_directories(tmp / "full");
  write_file_atomic(tmp / "full/mine.txt", "someone's file");
  const std::vector<std::tuple<std::vector<std::string>, int, std::string>> bad = {
      {{"--data", tmp / "wide"}, 2, "1x28x28"},
      {{"--data", tmp / "label12"}, 2, "12"},
      {{"--data", tmp / "empty"}, 4, "train-images-idx3-ubyte"},
      {{"--data", tmp / "file.txt"}, 2, "not a folder"},
      {{"--rounds", "-1"}, 2, "--rounds"},
      {{"--init", "bogus"}, 2, "--init"},
      {{"--fooling-share", "0"}, 2, "--fooling-share"},
      {{"--epochs", "0"}, 2, "--epochs"},
      {{"--out", tmp / "full"}, 4, "not empty"},
  };
  for (const auto& [args, code, words] : bad) {
    const auto r = run_fool(changed(retrain_args(tmp / "out", "1", "5"), args));
    EXPECT_EQ(r.exit_code, code) << r.describe();
    EXPECT_NE(r.err.find(words), std::string::npos) << r.describe();
    EXPECT_EQ(r.err_lines().size(), 1u) << r.describe();
    EXPECT_FALSE(fs::exists(tmp / "out/round-00/round.json")) << words;
  }
  EXPECT_EQ(read_text(tmp / "full/mine.txt"), "someone's file");

  // A later round's network whose last label is not `fooling`, and a damaged round record.
  const std::string out = tmp / "done";
  ASSERT_EQ(run_fool(retrain_args(out, "1", "5")).exit_code, 0);
  fs::remove(out + "/round-01/round.json");
  fs::copy_file(out + "/round-00/model.pt", out + "/round-01/model.pt", fs::copy_options::overwrite_existing);
  const auto no_fooling = run_fool(retrain_args(out, "1", "5"));
  EXPECT_EQ(no_fooling.exit_code, 3) << no_fooling.describe();
  EXPECT_NE(no_fooling.err.find("`fooling` last"), std::string::npos) << no_fooling.describe();
  const auto lines = no_fooling.err_lines();  // progress lines of the rounds read back, then one error
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("error", 0) == 0; }), 1)
      << no_fooling.describe();
  write_file_atomic(out + "/retrain.json", "[1, 2]");
  const auto settings = run_fool(retrain_args(out, "1", "5"));
  EXPECT_EQ(settings.exit_code, 4) << settings.describe();
  EXPECT_EQ(settings.err_lines().size(), 1u) << settings.describe();
  ASSERT_EQ(run_fool(with_force(retrain_args(out, "1", "5"))).exit_code, 0);
  write_file_atomic(out + "/round-01/train.json", "{\"loss\": \"low\"}");
  fs::remove(out + "/round-01/round.json");
  const auto train_record = run_fool(retrain_args(out, "1", "5"));
  EXPECT_EQ(train_record.exit_code, 4) << train_record.describe();
  EXPECT_NE(train_record.err.find("train.json"), std::string::npos) << train_record.describe();
  write_file_atomic(out + "/round-00/round.json", "{\"round\": 0");
  const auto damaged = run_fool(retrain_args(out, "1", "5"));
  EXPECT_EQ(damaged.exit_code, 4) << damaged.describe();
  EXPECT_NE(damaged.err.find("round.json"), std::string::npos) << damaged.describe();
  write_file_atomic(out + "/rounds.csv", "round,model\n1,x\n");
  const auto report = run_fool({"report", out});
  EXPECT_EQ(report.exit_code, 4) << report.describe();
  EXPECT_EQ(report.err_lines().size(), 1u) << report.describe();
}

}  // namespace
}  // namespace fool::test
