// Sweep planning (fool/sweep/sweep.h), the Slurm script (slurm.h) and the sweep table's
// statistics, without running anything.
#include "fool/sweep/sweep.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "fool/sweep/slurm.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

TEST(SweepPlan, CellsAreTheGridsProductWithTheFirstAxisSlowest) {
  const auto plan = plan_sweep(R"({"settings": {"generations": 7},
                                   "grid": {"encoding": ["direct", "cppn"], "seed": [3, 1, 2]}})",
                               "spec", "/s");
  ASSERT_EQ(plan.cells.size(), 6u);
  EXPECT_EQ(plan.axes, (std::vector<std::string>{"encoding", "seed"}));
  EXPECT_EQ(plan.cells[0].name, "000_encoding-direct_seed-3");
  EXPECT_EQ(plan.cells[2].name, "002_encoding-direct_seed-2");
  EXPECT_EQ(plan.cells[3].name, "003_encoding-cppn_seed-3");
  EXPECT_EQ(plan.cells[5].dir, "cells/005_encoding-cppn_seed-2");
  const RunConfig c = cell_config(plan, plan.cells[4]);
  EXPECT_EQ(c.encoding, "cppn");
  EXPECT_EQ(c.seed, 1u);
  EXPECT_EQ(c.generations, 7);
  EXPECT_EQ(c.out, "/s/cells/004_encoding-cppn_seed-1");
}

TEST(SweepPlan, NamesAreFileNamesWhateverTheValues) {
  const auto plan =
      plan_sweep(R"({"grid": {"model": ["../models/a b/lenet.pt", ""], "shard": ["1/2", "2/2"]}})", "spec", "s");
  for (const auto& cell : plan.cells) {
    EXPECT_EQ(cell.name.find('/'), std::string::npos) << cell.name;
    EXPECT_EQ(cell.name.find(' '), std::string::npos) << cell.name;
  }
  EXPECT_EQ(plan.cells[0].name, "000_model-.._models_a_b_lenet.pt_shard-1_2");
  EXPECT_EQ(plan.cells[2].name, "002_model-__shard-1_2");
}

TEST(SweepPlan, ModelPathsThatExistBecomeAbsolute) {
  const auto cwd = std::filesystem::current_path();
  test::TempDir tmp;
  std::filesystem::create_directories(tmp / "models");
  test::write_text(tmp / "models/a.pt", "x");
  std::filesystem::current_path(tmp.path());
  const auto plan =
      plan_sweep(R"({"settings": {"labels": "none.txt"}, "grid": {"model": ["models/a.pt", ""]}})", "spec", "s");
  std::filesystem::current_path(cwd);
  EXPECT_EQ(plan.spec["grid"]["model"][0], tmp / "models/a.pt");
  EXPECT_EQ(plan.spec["grid"]["model"][1], "") << "the bundled model stays";
  EXPECT_EQ(plan.spec["settings"]["labels"], "none.txt") << "a file that does not exist is left as written";
  EXPECT_EQ(cell_config(plan, plan.cells[0]).model.file, tmp / "models/a.pt");
}

TEST(SweepPlan, NoGridIsOneCell) {
  const auto plan = plan_sweep(R"({"settings": {"seed": 4}})", "spec", "s");
  ASSERT_EQ(plan.cells.size(), 1u);
  EXPECT_EQ(plan.cells[0].name, "000");
}

TEST(SweepPlan, ABadCellIsNamed) {
  try {
    plan_sweep(R"({"grid": {"population": [10, -1]}})", "spec.json", "s");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("cell 001_population--1"), std::string::npos) << e.what();
  }
}

TEST(Slurm, ArrayRangesCompressRuns) {
  EXPECT_EQ(array_ranges({0, 1, 2, 3}), "0-3");
  EXPECT_EQ(array_ranges({0, 2, 3, 4, 7, 9, 10}), "0,2-4,7,9-10");
  EXPECT_EQ(array_ranges({5}), "5");
}

TEST(Slurm, ScriptQuotesThePathsItRuns) {
  const auto plan = plan_sweep(R"({"grid": {"seed": [1, 2]}})", "spec", "/data/sweep");
  SlurmOptions o;
  o.gpus_per_task = 1;
  const std::string script = slurm_script(plan, {0, 1}, o, "/opt/it's/fool");
  EXPECT_NE(script.find("'/opt/it'\\''s/fool' sweep --out '/data/sweep' --task"), std::string::npos) << script;
  EXPECT_NE(script.find("#SBATCH --gpus-per-task=1\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --output=/data/sweep/slurm/%A_%a.log\n"), std::string::npos);
  EXPECT_EQ(script.find("%1"), std::string::npos) << "no cap unless asked";
}

}  // namespace
}  // namespace fool
