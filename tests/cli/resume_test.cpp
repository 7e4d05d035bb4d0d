// Runs you can trust (issue 5): checkpoints, exact resume, signals, bad checkpoints, a full disk.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr int kCheckpoint = 5, kIo = 4;

std::vector<double> confidences(const std::string& run) {
  std::vector<double> out;
  for (const auto& c : read_json(run + "/summary.json")["classes"]) out.push_back(c["confidence"].get<double>());
  return out;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Every elite PNG of two runs, byte for byte.
void expect_same_elites(const std::string& a, const std::string& b) {
  const auto left = files_in(a + "/elites", ".png");
  const auto right = files_in(b + "/elites", ".png");
  ASSERT_EQ(left.size(), right.size());
  ASSERT_EQ(left.size(), 10u);
  for (std::size_t i = 0; i < left.size(); ++i) {
    EXPECT_EQ(left[i], right[i]) << "names carry class, label and confidence";
    EXPECT_EQ(bytes_of(a + "/elites/" + left[i]), bytes_of(b + "/elites/" + right[i])) << left[i];
  }
}

const std::vector<std::string> kRun = {"run", "--seed",       "3", "--checkpoint-every", "5", "--threads",
                                       "2",   "--dump-every", "0"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(Resume, InterruptedRunResumesToTheSameResult) {
  for (const std::string encoding : {"direct", "cppn"}) {
    TempDir tmp;
    const auto whole = run_fool(with(kRun, {"--encoding", encoding, "--out", tmp / "whole", "--generations", "60"}));
    ASSERT_EQ(whole.exit_code, 0) << whole.describe();
    // A shorter run is exactly a prefix: stopping at 23 generations then resuming to 60 is an
    // interruption at a generation that is not a checkpoint multiple.
    const auto part = run_fool(with(kRun, {"--encoding", encoding, "--out", tmp / "part", "--generations", "23"}));
    ASSERT_EQ(part.exit_code, 0) << part.describe();
    const auto resumed = run_fool({"resume", tmp / "part", "--generations", "60"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
    EXPECT_EQ(confidences(tmp / "whole"), confidences(tmp / "part")) << encoding;
    expect_same_elites(tmp / "whole", tmp / "part");
    EXPECT_EQ(read_csv(tmp / "part/progress.csv").size(), 61u) << "one row per generation, no duplicates";
  }
}

TEST(Resume, SigkillAtRandomMomentsThenResumeGivesTheSameResult) {
  TempDir tmp;
  const auto whole = run_fool(with(kRun, {"--out", tmp / "whole", "--generations", "60"}));
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  for (int trial = 0; trial < 2; ++trial) {
    const std::string out = tmp / ("killed" + std::to_string(trial));
    // Kill once generation 5 + 17·trial is logged: between checkpoints, mid-generation.
    const std::string rows = std::to_string(6 + 17 * trial);
    const std::string progress = shell_quote(out + "/progress.csv");
    const std::string command = std::string(FOOL_BINARY) +
                                " run --generations 60 --seed 3 --checkpoint-every 5 "
                                "--threads 2 --dump-every 0 --out " +
                                shell_quote(out) +
                                " >/dev/null 2>&1 & "
                                "pid=$!; until [ \"$(wc -l 2>/dev/null < " +
                                progress + " 2>/dev/null || echo 0)\" -gt " + rows +
                                " ]; do sleep 0.01; done; kill -9 $pid; wait $pid";
    std::system(command.c_str());
    const auto resumed = run_fool({"resume", out});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.describe();
    EXPECT_EQ(confidences(tmp / "whole"), confidences(out));
    expect_same_elites(tmp / "whole", out);
  }
}

TEST(Resume, SigkilledGradientRunsResumeToTheSameResult) {
  // Gradient ascent (the recipe) and refined CPPN children: killed between checkpoints, resumed,
  // the same elites byte for byte as the uninterrupted run.
  const std::vector<std::pair<std::string, std::vector<std::string>>> searches = {
      {"ascent",
       {"--search", "ascent", "--ascent-decay", "0", "--ascent-early-progress", "0.04", "--ascent-late-progress", "0.2",
        "--ascent-project", "--ascent-max-step", "0.1", "--generations", "40"}},
      {"refined", {"--encoding", "cppn", "--refine-steps", "2", "--population", "40", "--generations", "30"}},
  };
  for (const auto& [name, args] : searches) {
    TempDir tmp;
    const auto whole = run_fool(with(with(kRun, args), {"--out", tmp / "whole"}));
    ASSERT_EQ(whole.exit_code, 0) << whole.describe();
    const std::string out = tmp / "killed";
    std::string command = std::string(FOOL_BINARY);
    for (const auto& a : with(with(kRun, args), {"--out", out})) command += " " + shell_quote(a);
    const std::string progress = shell_quote(out + "/progress.csv");
    command += " >/dev/null 2>&1 & pid=$!; until [ \"$(wc -l 2>/dev/null < " + progress +
               " 2>/dev/null || echo 0)\" -gt 13 ]; do sleep 0.01; done; kill -9 $pid; wait $pid";
    std::system(command.c_str());
    const auto resumed = run_fool({"resume", out});
    ASSERT_EQ(resumed.exit_code, 0) << name << ": " << resumed.describe();
    EXPECT_EQ(confidences(tmp / "whole"), confidences(out)) << name;
    expect_same_elites(tmp / "whole", out);
  }
}

TEST(Resume, SigintAndSigtermEndCleanlyWithTheirExitCodes) {
  for (const auto& [signal_name, code] : {std::pair<std::string, int>{"INT", 130}, {"TERM", 143}}) {
    TempDir tmp;
    const std::string out = tmp / "run";
    const std::string command = std::string(FOOL_BINARY) + " run --generations 1000000 --out " + shell_quote(out) +
                                " >/dev/null 2>&1 & pid=$!; while [ ! -s " + shell_quote(out + "/checkpoint.fool") +
                                " ]; do sleep 0.1; done; sleep 0.5; kill -" + signal_name + " $pid; wait $pid";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), code) << signal_name;
    for (const char* file : {"summary.json", "archive.csv", "checkpoint.fool", "config.json", "progress.csv"}) {
      EXPECT_TRUE(fs::exists(out + "/" + file)) << file;
    }
    EXPECT_EQ(files_in(out + "/elites", ".png").size(), 10u);
    EXPECT_TRUE(leftovers(out).empty());
    const auto resumed = run_fool({"resume", out, "--generations", "5"});
    EXPECT_EQ(resumed.exit_code, 0) << resumed.describe();
  }
}

class BadCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r = run_fool({"run", "--generations", "5", "--out", run_dir(), "--threads", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    good_ = bytes_of(checkpoint());
  }
  std::string run_dir() const { return tmp_ / "run"; }
  std::string checkpoint() const { return run_dir() + "/checkpoint.fool"; }
  void write(const std::string& bytes) { write_text(checkpoint(), bytes); }
  void expect_error(const std::string& mentions, int code = kCheckpoint) {
    const auto r = run_fool({"resume", run_dir()});
    EXPECT_EQ(r.exit_code, code) << r.describe();
    ASSERT_EQ(r.err_lines().size(), 1u) << r.describe();
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.describe();
    EXPECT_NE(r.err.find("checkpoint"), std::string::npos) << r.describe();
  }
  TempDir tmp_;
  std::string good_;
};

TEST_F(BadCheckpoint, Truncated) {
  write(good_.substr(0, good_.size() / 2));
  expect_error("truncated");
}

TEST_F(BadCheckpoint, TruncatedHeader) {
  write(good_.substr(0, 30));
  expect_error("truncated");
}

TEST_F(BadCheckpoint, BitFlipped) {
  std::string flipped = good_;
  flipped[flipped.size() - 100] ^= 0x10;
  write(flipped);
  expect_error("checksum");
}

TEST_F(BadCheckpoint, WrongVersion) {
  std::string other = good_;
  other[8] = 9;
  write(other);
  expect_error("version 9");
}

TEST_F(BadCheckpoint, Foreign) {
  write("PK\x03\x04 this is a zip file, not a checkpoint");
  expect_error("not a fool checkpoint");
}

TEST_F(BadCheckpoint, WrittenByAnotherRunOfTheSameModel) {
  // Another seed and another population, same model and encoding: accepted before, the history
  // was cut back to it. Refused now, naming the setting that differs, and nothing is changed.
  const std::string other = tmp_ / "other";
  const auto r =
      run_fool({"run", "--generations", "3", "--seed", "9", "--population", "30", "--out", other, "--threads", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const std::string summary = bytes_of(run_dir() + "/summary.json");
  write(bytes_of(other + "/checkpoint.fool"));
  expect_error("differs");
  EXPECT_EQ(bytes_of(run_dir() + "/summary.json"), summary) << "a refused resume changed the finished run";
}

TEST_F(BadCheckpoint, WrittenForAnotherModel) {
  const std::string mlp = converted_model("test/mlp.pt");
  if (mlp.empty()) GTEST_SKIP() << missing_model_reason("test/mlp.pt");
  // Same settings but another model: config.json says the MLP, the checkpoint is the LeNet's.
  auto config = read_json(run_dir() + "/config.json");
  config["settings"]["model"] = mlp;
  write_text(run_dir() + "/config.json", config.dump());
  expect_error("model");
}

TEST(FullDisk, CleanErrorAndTheLastCheckpointIntact) {
  // A full disk: a 1 MB tmpfs in a mount namespace of the test's own (unshare -m), holding a copy
  // of a finished run and filled up before the resume. (fool writes through no planted link, so
  // the /dev/full trick of earlier versions no longer reaches it.)
  TempDir tmp;
  const std::string out = tmp / "run";
  auto first = run_fool({"run", "--generations", "10", "--out", out, "--threads", "1"});
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  const std::string intact = bytes_of(out + "/checkpoint.fool");
  const std::string disk = tmp / "disk", copy = disk + "/run", fool = shell_quote(FOOL_BINARY);
  fs::create_directory(disk);
  const std::string script = "mount -t tmpfs -o size=1m tmpfs " + shell_quote(disk) + " || exit 0; cp -a " +
                             shell_quote(out) + " " + shell_quote(copy) +
                             " || exit 0; dd if=/dev/zero of=" + shell_quote(disk + "/fill") + " bs=4k 2>/dev/null; " +
                             fool + " resume " + shell_quote(copy) + " --generations 20 >" + shell_quote(tmp / "out") +
                             " 2>" + shell_quote(tmp / "err") + "; echo $? >" + shell_quote(tmp / "rc") + "; cp " +
                             shell_quote(copy + "/checkpoint.fool") + " " + shell_quote(tmp / "checkpoint.after") +
                             "; find " + shell_quote(copy) + " -name '*.tmp' >" + shell_quote(tmp / "leftovers") +
                             "; rm -f " + shell_quote(disk + "/fill") + "; " + fool + " resume " + shell_quote(copy) +
                             " --generations 20 >/dev/null 2>&1; echo $? >" + shell_quote(tmp / "rc2") + "; cp " +
                             shell_quote(copy + "/checkpoint.fool") + " " + shell_quote(tmp / "checkpoint.freed");
  std::system(("unshare -m sh -c " + shell_quote(script) + " 2>/dev/null").c_str());
  if (!fs::exists(tmp / "rc")) GTEST_SKIP() << "no private tmpfs here (unshare -m and mount need CAP_SYS_ADMIN)";
  const std::string err = read_text(tmp / "err");
  EXPECT_EQ(read_text(tmp / "rc"), std::to_string(kIo) + "\n") << err;
  std::size_t errors = 0;
  for (const auto& line : CommandResult{"", 0, "", err}.err_lines()) errors += line.rfind("error:", 0) == 0;
  EXPECT_EQ(errors, 1u) << err;
  EXPECT_NE(err.find("No space left"), std::string::npos) << err;
  EXPECT_NE(err.find(copy), std::string::npos) << err;
  EXPECT_EQ(bytes_of(tmp / "checkpoint.after"), intact) << "the last checkpoint is whole";
  EXPECT_EQ(read_text(tmp / "leftovers"), "") << "temporary files left on the full disk";
  // With space again, it resumes.
  EXPECT_EQ(read_text(tmp / "rc2"), "0\n");
  EXPECT_NE(bytes_of(tmp / "checkpoint.freed"), intact);
}

}  // namespace
}  // namespace fool::test
