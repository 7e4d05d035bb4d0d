// --config: a run's config.json replays the run; the command line wins over the file.
#include <gtest/gtest.h>

#include "fool/run/run_config.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {

TEST(ConfigFile, ConfigJsonOfARunReplaysIt) {
  TempDir tmp;
  const std::string first = tmp / "first";
  const std::string second = tmp / "second";
  const auto a = run_fool({"run", "--generations", "8", "--population", "40", "--seed", "7", "--classes", "1,3,5",
                           "--mutation-rate", "0.2", "--out", first});
  ASSERT_EQ(a.exit_code, 0) << a.describe();
  const auto b = run_fool({"run", "--config", first + "/config.json", "--out", second});
  ASSERT_EQ(b.exit_code, 0) << b.describe();

  auto settings_a = read_json(first + "/config.json").at("settings");
  auto settings_b = read_json(second + "/config.json").at("settings");
  EXPECT_EQ(settings_b.at("out"), second);
  EXPECT_EQ(settings_b.at("mutation-rate"), 0.2);
  EXPECT_EQ(settings_b.at("classes"), "1,3,5");
  settings_a.erase("out");
  settings_b.erase("out");
  EXPECT_EQ(settings_a, settings_b);

  const auto summary_a = read_json(first + "/summary.json");
  const auto summary_b = read_json(second + "/summary.json");
  ASSERT_EQ(summary_a.at("classes").size(), 3u);
  ASSERT_EQ(summary_b.at("classes").size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(summary_b.at("classes")[i].at("index"), summary_a.at("classes")[i].at("index"));
    EXPECT_NEAR(summary_b.at("classes")[i].at("confidence").get<double>(),
                summary_a.at("classes")[i].at("confidence").get<double>(), 1e-9);
    EXPECT_EQ(summary_b.at("classes")[i].at("generation"), summary_a.at("classes")[i].at("generation"));
  }
  // The same images, byte for byte.
  const auto elites = files_in(first + "/elites", ".png");
  ASSERT_EQ(elites, files_in(second + "/elites", ".png"));
  for (const auto& name : elites) {
    EXPECT_EQ(read_text(first + "/elites/" + name), read_text(second + "/elites/" + name)) << name;
  }
}

TEST(ConfigFile, CommandLineWinsOverTheFile) {
  TempDir tmp;
  write_text(tmp / "settings.json", R"({"generations": 9, "population": 30, "seed": 4, "classes": "2-4"})");
  const auto r = run_fool({"run", "--config", tmp / "settings.json", "--generations", "3", "--out", tmp / "run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto settings = read_json(tmp / "run/config.json").at("settings");
  EXPECT_EQ(settings.at("generations"), 3);  // command line
  EXPECT_EQ(settings.at("population"), 30);  // file
  EXPECT_EQ(settings.at("seed"), 4);
  EXPECT_EQ(settings.at("classes"), "2-4");
  const auto summary = read_json(tmp / "run/summary.json");
  EXPECT_EQ(summary.at("evaluations"), 90);
  EXPECT_EQ(summary.at("seed"), 4);
  EXPECT_EQ(summary.at("classes").size(), 3u);
}

TEST(ConfigFile, PopulationDefaultsToThePapers) {
  // 200 offspring per generation (the paper's MNIST and ImageNet-direct runs); the effective value
  // is what config.json records, so that a resume or a rerun from it is the same run.
  TempDir tmp;
  const auto r = run_fool({"run", "--generations", "2", "--out", tmp / "run"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_json(tmp / "run/config.json").at("settings").at("population"), 200);
  EXPECT_EQ(read_json(tmp / "run/summary.json").at("evaluations"), 400);
  EXPECT_EQ(default_population("cppn", 3), 400);  // the paper's ImageNet CPPN run
  EXPECT_EQ(default_population("cppn", 1), 200);
  EXPECT_EQ(default_population("direct", 3), 200);
}

}  // namespace
}  // namespace fool::test
