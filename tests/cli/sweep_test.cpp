// fool sweep, fool merge, --shard and the sweep table of fool report, through the real binary:
// a sweep killed with SIGKILL and run again finishes with the same table as one never
// interrupted; shards merge into one run whose every elite is the best of its shard; Slurm's
// sbatch is stood in for by a script that records what it was given; and every bad spec, plan,
// directory or merge gets one line and its exit code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "fool/io/images.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

constexpr int kUsage = 2, kIo = 4;

/// 2 encodings x 5 seeds on the bundled LeNet, small enough for a test.
constexpr const char* kGridSpec = R"({
  "settings": {"generations": 25, "classes": "0-9", "threads": 1, "checkpoint-every": 5, "dump-every": 0},
  "grid": {"encoding": ["direct", "cppn"], "seed": [1, 2, 3, 4, 5]}
})";

/// sweep.csv without the columns that measure speed (they differ between any two runs).
std::vector<std::vector<std::string>> table_without_speed(const std::string& csv) {
  auto rows = read_csv(csv);
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < rows.at(0).size(); ++c) {
    if (rows[0][c].find("evaluations_per_second") == std::string::npos) keep.push_back(c);
  }
  std::vector<std::vector<std::string>> out;
  for (const auto& row : rows) {
    std::vector<std::string> kept;
    for (auto c : keep) kept.push_back(row.at(c));
    out.push_back(kept);
  }
  return out;
}

/// Each cell's classes as (index, confidence, generation) text, by cell directory.
std::map<std::string, std::string> cell_results(const std::string& sweep) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(fs::path(sweep) / "cells")) {
    const auto summary = read_json((entry.path() / "summary.json").string());
    std::string text = std::to_string(summary.at("evaluations").get<int64_t>());
    for (const auto& c : summary.at("classes")) {
      text += " " + c.at("index").dump() + ":" + c.at("confidence").dump() + "@" + c.at("generation").dump();
    }
    out[entry.path().filename().string()] = text;
  }
  return out;
}

TEST(Sweep, KilledWithSigkillAndRunAgainGivesTheSameTableAsUninterrupted) {
  TempDir tmp;
  write_text(tmp / "spec.json", kGridSpec);
  const auto whole = run_fool({"sweep", tmp / "spec.json", "--out", tmp / "whole", "--jobs", "2"});
  ASSERT_EQ(whole.exit_code, 0) << whole.describe();
  ASSERT_EQ(run_fool({"report", tmp / "whole"}).exit_code, 0);

  // SIGKILL to the sweep and every cell it runs (its process group) once three cells have
  // finished and another has checkpointed: finished, interrupted and pending cells are left.
  const std::string out = tmp / "killed";
  const std::string command = "setsid " + std::string(FOOL_BINARY) + " sweep " + shell_quote(tmp / "spec.json") +
                              " --out " + shell_quote(out) + " --jobs 2 >/dev/null 2>&1 & pid=$!; " +
                              "until [ \"$(ls " + shell_quote(out) +
                              "/cells/*/summary.json 2>/dev/null | wc -l)\" -ge 3 ]; do sleep 0.05; done; " +
                              "/bin/kill -KILL -- -$pid; wait $pid";
  std::system(command.c_str());
  const auto status = run_fool({"sweep", "--out", out, "--status"});
  ASSERT_EQ(status.exit_code, 0) << status.describe();
  EXPECT_NE(status.out.find("finished"), std::string::npos) << status.out;
  EXPECT_TRUE(status.out.find("pending") != std::string::npos || status.out.find("interrupted") != std::string::npos)
      << "the kill came after the last cell:\n"
      << status.out;

  const auto again = run_fool({"sweep", tmp / "spec.json", "--out", out, "--jobs", "2"});
  ASSERT_EQ(again.exit_code, 0) << again.describe();
  ASSERT_EQ(run_fool({"report", out}).exit_code, 0);
  EXPECT_EQ(table_without_speed(tmp / "whole/report/sweep.csv"), table_without_speed(out + "/report/sweep.csv"));
  EXPECT_EQ(cell_results(tmp / "whole"), cell_results(out));

  // The table: a row per encoding, five seeds each; a third run of the command runs nothing.
  const auto table = read_csv(out + "/report/sweep.csv");
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table[0][0], "encoding");
  EXPECT_EQ(table[1][0], "direct");
  EXPECT_EQ(table[1][1], "5");
  EXPECT_EQ(table[1][2], "5");
  const auto third = run_fool({"sweep", tmp / "spec.json", "--out", out});
  ASSERT_EQ(third.exit_code, 0) << third.describe();
  EXPECT_NE(third.err.find("10 finished, 0 to run"), std::string::npos) << third.describe();
  EXPECT_TRUE(fs::exists(out + "/report/sweep.png"));
}

TEST(Sweep, ShardsMergeIntoOneRunWhoseElitesAreTheBestOfTheirShard) {
  TempDir tmp;
  write_text(tmp / "spec.json", R"({"settings": {"encoding": "cppn", "generations": 15, "threads": 1},
                                    "grid": {"shard": ["1/3", "2/3", "3/3"]}})");
  const auto sweep = run_fool({"sweep", tmp / "spec.json", "--out", tmp / "shards", "--jobs", "2"});
  ASSERT_EQ(sweep.exit_code, 0) << sweep.describe();
  const auto merged = run_fool({"merge", tmp / "merged", tmp / "shards"});
  ASSERT_EQ(merged.exit_code, 0) << merged.describe();

  const auto summary = read_json(tmp / "merged/summary.json");
  ASSERT_EQ(summary.at("classes").size(), 10u);
  int64_t evaluations = 0;
  std::map<int64_t, std::string> shard_of;
  for (const auto& entry : fs::directory_iterator(tmp / "shards/cells")) {
    const auto shard = read_json((entry.path() / "summary.json").string());
    evaluations += shard.at("evaluations").get<int64_t>();
    for (const auto& c : shard.at("classes")) {
      const int64_t index = c.at("index").get<int64_t>();
      EXPECT_EQ(shard_of.count(index), 0u) << "class " << index << " in two shards";
      shard_of[index] = entry.path().string();
      // The merged elite is this shard's: confidence, generation, provenance, image and genome.
      const auto& m = summary.at("classes").at(static_cast<std::size_t>(index));
      EXPECT_EQ(m.at("confidence"), c.at("confidence"));
      EXPECT_EQ(m.at("generation"), c.at("generation"));
      EXPECT_EQ(fs::path(m.at("run").get<std::string>()), entry.path());
      const auto shard_png = files_in((entry.path() / "elites").string(), ".png");
      const auto prefix = std::to_string(index) + "_";
      std::string shard_file, merged_file;
      for (const auto& f : shard_png) {
        if (f.rfind(prefix, 0) == 0) shard_file = (entry.path() / "elites" / f).string();
      }
      for (const auto& f : files_in(tmp / "merged/elites", ".png")) {
        if (f.rfind(prefix, 0) == 0) merged_file = tmp / ("merged/elites/" + f);
      }
      ASSERT_FALSE(shard_file.empty() || merged_file.empty()) << index;
      EXPECT_TRUE(at::equal(read_image(shard_file), read_image(merged_file))) << index;
      EXPECT_EQ(read_json(fs::path(shard_file).replace_extension(".json").string()),
                read_json(fs::path(merged_file).replace_extension(".json").string()))
          << "genome of class " << index;
    }
  }
  EXPECT_EQ(shard_of.size(), 10u) << "the shards cover every class once";
  EXPECT_EQ(summary.at("evaluations").get<int64_t>(), evaluations);
  EXPECT_EQ(summary.at("stop_reason"), "merged");

  // The merge is a run directory: check, report and render read it.
  const auto check = run_fool({"check", tmp / "merged", "--min-confidence", "0.5", "--min-fraction", "0.5"});
  EXPECT_TRUE(check.exit_code == 0 || check.exit_code == 1) << check.describe();
  EXPECT_NE(check.out.find("passed"), std::string::npos) << check.describe();
  const auto report = run_fool({"report", tmp / "merged"});
  EXPECT_EQ(report.exit_code, 0) << report.describe();
  const auto genome = tmp / ("merged/elites/" + files_in(tmp / "merged/elites", ".json").at(0));
  const auto render = run_fool({"render", genome, "--out", tmp / "rendered.png"});
  EXPECT_EQ(render.exit_code, 0) << render.describe();
}

TEST(Sweep, MergeOfSeedsKeepsTheBestEliteOfEachClass) {
  TempDir tmp;
  for (const char* seed : {"1", "2"}) {
    const auto r = run_fool({"run", "--generations", "10", "--seed", seed, "--threads", "1", "--dump-every", "0",
                             "--out", tmp / (std::string("s") + seed)});
    ASSERT_EQ(r.exit_code, 0) << r.describe();
  }
  const auto merged = run_fool({"merge", tmp / "m", tmp / "s1", tmp / "s2"});
  ASSERT_EQ(merged.exit_code, 0) << merged.describe();
  const auto a = read_json(tmp / "s1/summary.json"), b = read_json(tmp / "s2/summary.json");
  const auto m = read_json(tmp / "m/summary.json");
  for (std::size_t i = 0; i < 10; ++i) {
    const double ca = a["classes"][i]["confidence"], cb = b["classes"][i]["confidence"];
    EXPECT_EQ(m["classes"][i]["confidence"].get<double>(), std::max(ca, cb)) << i;
    EXPECT_EQ(m["classes"][i]["seed"].get<int64_t>(), cb > ca ? 2 : 1) << i;
  }
  EXPECT_EQ(read_csv(tmp / "m/archive.csv").size(), 11u);
  const auto into_a_run = run_fool({"merge", tmp / "s2", tmp / "s1"});
  EXPECT_EQ(into_a_run.exit_code, kIo) << into_a_run.describe();
  EXPECT_NE(into_a_run.err.find("not empty"), std::string::npos) << into_a_run.describe();

  // Runs that do not belong together are refused with one line, unless asked for.
  const auto cppn = run_fool({"run", "--generations", "3", "--encoding", "cppn", "--threads", "1", "--out", tmp / "c"});
  ASSERT_EQ(cppn.exit_code, 0) << cppn.describe();
  const auto mixed = run_fool({"merge", tmp / "mixed", tmp / "s1", tmp / "c"});
  EXPECT_EQ(mixed.exit_code, kUsage) << mixed.describe();
  EXPECT_EQ(mixed.err_lines().size(), 1u) << mixed.describe();
  EXPECT_NE(mixed.err.find("--allow-mixed"), std::string::npos) << mixed.describe();
  EXPECT_FALSE(fs::exists(tmp / "mixed"));
  const auto allowed = run_fool({"merge", tmp / "mixed", tmp / "s1", tmp / "c", "--allow-mixed"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.describe();
}

TEST(Sweep, SlurmGetsOneArrayOfTheUnfinishedCellsAndItsTaskRunsACell) {
  TempDir tmp;
  write_text(tmp / "spec.json", R"({"settings": {"generations": 3, "threads": 1}, "grid": {"seed": [1, 2, 3, 4]}})");
  // A stand-in for sbatch: records its arguments and the script, prints a job id.
  write_text(tmp / "sbatch", "#!/bin/sh\necho \"$@\" > " + shell_quote(tmp / "sbatch.args") + "\ncp \"$2\" " +
                                 shell_quote(tmp / "submitted.sbatch") + "\necho 4242\n");
  fs::permissions(tmp / "sbatch", fs::perms::owner_all);
  // Cell 1 finished before the submission: the array leaves it out.
  const auto plan = run_fool({"sweep", tmp / "spec.json", "--out", tmp / "sw", "--slurm", "--slurm-no-submit"});
  ASSERT_EQ(plan.exit_code, 0) << plan.describe();
  const auto task = run_fool({"sweep", "--out", tmp / "sw", "--task", "1"});
  ASSERT_EQ(task.exit_code, 0) << task.describe();
  EXPECT_TRUE(fs::exists(tmp / "sw/cells/001_seed-2/summary.json"));

  const auto r = run_fool({"sweep", tmp / "spec.json", "--out", tmp / "sw", "--slurm", "--slurm-sbatch", tmp / "sbatch",
                           "--slurm-max-parallel", "2", "--slurm-time", "30", "--slurm-partition", "debug",
                           "--slurm-cpus-per-task", "2", "--slurm-option=--account=lab"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(r.out, "4242\n");
  const std::string script = read_text(tmp / "submitted.sbatch");
  for (const char* line : {"#SBATCH --array=0,2-3%2\n", "#SBATCH --time=30\n", "#SBATCH --partition=debug\n",
                           "#SBATCH --cpus-per-task=2\n", "#SBATCH --requeue\n", "#SBATCH --signal=B:USR1@120\n",
                           "#SBATCH --account=lab\n", " --task \"$SLURM_ARRAY_TASK_ID\" &\n",
                           "scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}\""}) {
    EXPECT_NE(script.find(line), std::string::npos) << "missing " << line << " in\n" << script;
  }
  EXPECT_NE(read_text(tmp / "sbatch.args").find("--parsable"), std::string::npos);

  // sbatch missing or refusing: one line, exit 4, the script still written for a manual submission.
  write_text(tmp / "refuse", "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nope' >&2\nexit 1\n");
  fs::permissions(tmp / "refuse", fs::perms::owner_all);
  for (const auto& [program, mention] :
       {std::pair<std::string, std::string>{tmp / "refuse", "invalid partition"}, {tmp / "no-sbatch", "not found"}}) {
    const auto bad = run_fool({"sweep", tmp / "spec.json", "--out", tmp / "sw", "--slurm", "--slurm-sbatch", program});
    EXPECT_EQ(bad.exit_code, kIo) << bad.describe();
    ASSERT_EQ(bad.err_lines().size(), 1u) << bad.describe();
    EXPECT_NE(bad.err.find(mention), std::string::npos) << bad.describe();
  }
}

TEST(Sweep, ThreadsZeroMeansTheCpusThisProcessMayUse) {
  TempDir tmp;
  const std::string command = "taskset -c 0 " + std::string(FOOL_BINARY) + " run --generations 2 --threads 0 --out " +
                              shell_quote(tmp / "one") + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(read_json(tmp / "one/config.json").at("threads"), 1) << "one CPU in the affinity mask";
  const std::string slurm = "SLURM_CPUS_PER_TASK=1 " + std::string(FOOL_BINARY) +
                            " run --generations 2 --threads 0 --out " + shell_quote(tmp / "slurm") + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(slurm.c_str()), 0);
  EXPECT_EQ(read_json(tmp / "slurm/config.json").at("threads"), 1) << "SLURM_CPUS_PER_TASK=1";
}

struct BadSweepCase {
  const char* name;
  const char* spec;               ///< written to {tmp}/spec.json ("" : none)
  std::vector<std::string> args;  ///< "{tmp}" is the scratch directory
  int exit_code;
  const char* mentions;
};

std::ostream& operator<<(std::ostream& os, const BadSweepCase& c) { return os << c.name; }

class BadSweep : public ::testing::TestWithParam<BadSweepCase> {};

TEST_P(BadSweep, OneClearLineAndItsExitCode) {
  const auto& c = GetParam();
  TempDir tmp;
  if (*c.spec) write_text(tmp / "spec.json", c.spec);
  write_text(tmp / "plain_file", "not a directory");
  fs::create_directories(tmp / "not_empty");
  write_text(tmp / "not_empty/keep.txt", "keep me");
  write_text(tmp / "big.json", "{\"settings\": {}, \"grid\": {\"seed\": [" + std::string(2 << 20, ' ') + "1]}}");
  // A planned sweep of another spec, and one whose sweep.json was damaged.
  write_text(tmp / "other.json", R"({"grid": {"seed": [7]}})");
  ASSERT_EQ(run_fool({"sweep", tmp / "other.json", "--out", tmp / "planned", "--slurm", "--slurm-no-submit"}).exit_code,
            0);
  ASSERT_EQ(run_fool({"sweep", tmp / "other.json", "--out", tmp / "damaged", "--slurm", "--slurm-no-submit"}).exit_code,
            0);
  write_text(tmp / "damaged/sweep.json", "{\"cells\": [");
  const auto r = run_fool(expand_placeholders(c.args, tmp));
  EXPECT_EQ(r.exit_code, c.exit_code) << r.describe();
  const auto lines = r.err_lines();
  ASSERT_EQ(lines.size(), 1u) << r.describe();
  EXPECT_NE(lines[0].find(c.mentions), std::string::npos) << lines[0];
  EXPECT_EQ(read_text(tmp / "not_empty/keep.txt"), "keep me");
  EXPECT_FALSE(fs::exists(tmp / "o")) << "a refused sweep left its directory";
}

const BadSweepCase kBadSweeps[] = {
    {"not_json", "seeds = 1, 2", {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"}, kUsage, "not valid JSON"},
    {"not_an_object", "[1, 2]", {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"}, kUsage, "not a JSON object"},
    {"unknown_key", R"({"grids": {}})", {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"}, kUsage, "\"grids\""},
    {"unknown_setting",
     R"({"grid": {"seeds": [1]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "\"seeds\""},
    {"out_in_settings",
     R"({"settings": {"out": "x"}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "\"out\" belongs to the sweep"},
    {"empty_axis",
     R"({"grid": {"seed": []}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "non-empty list"},
    {"axis_not_a_list",
     R"({"grid": {"seed": 3}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "non-empty list"},
    {"both_setting_and_axis",
     R"({"settings": {"seed": 1}, "grid": {"seed": [2]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "both a setting and a grid axis"},
    {"wrong_type_in_a_cell",
     R"({"grid": {"seed": [1, 2.5]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "cell 001_seed-2.5"},
    {"bad_value_in_a_cell",
     R"({"grid": {"generations": [5, 0]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "--generations must be >= 1"},
    {"bad_shard",
     R"({"grid": {"shard": ["1/2", "3/2"]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "--shard '3/2'"},
    {"too_many_cells",
     R"({"grid": {"seed": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50], "generations": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50], "population": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o"},
     kUsage,
     "more than 100000 cells"},
    {"spec_too_large", "", {"sweep", "{tmp}/big.json", "--out", "{tmp}/o"}, kIo, "big.json"},
    {"spec_missing", "", {"sweep", "{tmp}/none.json", "--out", "{tmp}/o"}, kIo, "none.json"},
    {"out_is_a_file",
     R"({"grid": {"seed": [1]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/plain_file"},
     kIo,
     "not a directory"},
    {"out_not_empty",
     R"({"grid": {"seed": [1]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/not_empty"},
     kIo,
     "is not empty"},
    {"another_spec_planned",
     R"({"grid": {"seed": [1]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/planned"},
     kIo,
     "another spec"},
    {"task_out_of_range", "", {"sweep", "--out", "{tmp}/planned", "--task", "1"}, kUsage, "has 1 cells"},
    {"task_without_plan", "", {"sweep", "--out", "{tmp}/not_empty", "--task", "0"}, kIo, "no sweep.json"},
    {"damaged_plan", "", {"sweep", "--out", "{tmp}/damaged", "--task", "0"}, kIo, "sweep.json"},
    {"negative_jobs",
     R"({"grid": {"seed": [1]}})",
     {"sweep", "{tmp}/spec.json", "--out", "{tmp}/o2", "--jobs", "0"},
     kUsage,
     "--jobs"},
    {"merge_unfinished_sweep", "", {"merge", "{tmp}/o", "{tmp}/planned"}, kIo, "pending"},
    {"merge_not_a_run", "", {"merge", "{tmp}/o", "{tmp}/not_empty"}, kIo, "not_empty"},
};

INSTANTIATE_TEST_SUITE_P(Sweep, BadSweep, ::testing::ValuesIn(kBadSweeps),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace fool::test
