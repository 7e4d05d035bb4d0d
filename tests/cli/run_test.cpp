// `fool run` end to end on the bundled LeNet: the run directory it leaves and what it promises.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "fool/io/files.h"
#include "fool/util/sha256.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

const std::vector<std::string> kSummaryFields = {"classes",
                                                 "device",
                                                 "encoding",
                                                 "evaluations",
                                                 "evaluations_per_second",
                                                 "forward_equivalents",
                                                 "fraction_at_least",
                                                 "generations",
                                                 "median_confidence",
                                                 "min_confidence",
                                                 "model",
                                                 "model_sha256",
                                                 "search",
                                                 "seconds",
                                                 "seed",
                                                 "stop_reason"};

/// Median as torch.quantile(…, 0.5) takes it: the mean of the two middle values for an even count.
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<std::string> sorted_keys(const nlohmann::json& j) {
  std::vector<std::string> keys;
  for (const auto& item : j.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

TEST(FoolRun, WritesEveryOutputOfTheRunDirectory) {
  TempDir tmp;
  const std::string out = tmp / "run";
  const auto r =
      run_fool({"run", "--generations", "12", "--population", "60", "--seed", "3", "--dump-every", "5", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_TRUE(leftovers(out).empty()) << "half-written files left: " << leftovers(out).front();

  // config.json: effective settings, versions, device, model identity, seed.
  const auto config = read_json(out + "/config.json");
  const std::string bundled_sha = sha256_file(source_dir() + "/models/lenet_mnist.pt");
  EXPECT_EQ(config.at("model"), "bundled:lenet_mnist");
  EXPECT_EQ(config.at("model_sha256"), bundled_sha);
  EXPECT_EQ(config.at("seed"), 3);
  EXPECT_EQ(config.at("device"), "cpu");
  EXPECT_EQ(config.at("encoding"), "direct");
  EXPECT_FALSE(config.at("fool_version").get<std::string>().empty());
  EXPECT_FALSE(config.at("git_revision").get<std::string>().empty());
  EXPECT_FALSE(config.at("libtorch_version").get<std::string>().empty());
  const auto& settings = config.at("settings");
  EXPECT_EQ(settings.at("generations"), 12);
  EXPECT_EQ(settings.at("population"), 60);
  EXPECT_EQ(settings.at("dump-every"), 5);
  EXPECT_EQ(settings.at("out"), out);

  // progress.csv: one row per generation, generation 0 included.
  const auto progress = read_csv(out + "/progress.csv");
  ASSERT_EQ(progress.size(), 13u) << "header + 12 generations";
  EXPECT_EQ(progress[0], (std::vector<std::string>{"generation", "evaluations", "seconds", "min", "median", "mean",
                                                   "max", "filled", "replacements", "forward_equivalents"}));
  double previous_min = -1, previous_max = -1;
  for (std::size_t row = 1; row < progress.size(); ++row) {
    const auto& f = progress[row];
    ASSERT_EQ(f.size(), 10u) << "row " << row;
    EXPECT_EQ(std::stoll(f[0]), static_cast<long long>(row - 1));
    EXPECT_EQ(std::stoll(f[1]), 60LL * static_cast<long long>(row));
    EXPECT_EQ(f[9], f[1]) << "MAP-Elites spends one forward per evaluation";
    const double min = std::stod(f[3]), med = std::stod(f[4]), mean = std::stod(f[5]), max = std::stod(f[6]);
    EXPECT_LE(min, med);
    EXPECT_LE(med, max);
    EXPECT_LE(min, mean);
    EXPECT_LE(mean, max);
    EXPECT_GE(min, previous_min) << "an elite got worse at row " << row;
    EXPECT_GE(max, previous_max);
    previous_min = min;
    previous_max = max;
    EXPECT_EQ(f[7], "10");
  }

  // archive.csv: class, label, confidence, generation found.
  const auto archive = read_csv(out + "/archive.csv");
  ASSERT_EQ(archive.size(), 11u);
  EXPECT_EQ(archive[0], (std::vector<std::string>{"class", "label", "confidence", "generation"}));

  // summary.json: exactly the documented fields, agreeing with archive.csv and progress.csv.
  const auto summary = read_json(out + "/summary.json");
  EXPECT_EQ(sorted_keys(summary), kSummaryFields);
  EXPECT_EQ(summary.at("model"), "bundled:lenet_mnist");
  EXPECT_EQ(summary.at("stop_reason"), "generations");
  EXPECT_EQ(summary.at("model_sha256"), bundled_sha);
  EXPECT_EQ(summary.at("encoding"), "direct");
  EXPECT_EQ(summary.at("search"), "map-elites");
  EXPECT_EQ(summary.at("seed"), 3);
  EXPECT_EQ(summary.at("device"), "cpu");
  EXPECT_EQ(summary.at("generations"), 12) << "generations run, generation 0 included, as --generations counts";
  EXPECT_EQ(summary.at("evaluations"), 720);
  const double seconds = summary.at("seconds");
  EXPECT_GT(seconds, 0.0);
  EXPECT_NEAR(summary.at("evaluations_per_second").get<double>(), 720.0 / seconds, 1e-6 * 720.0 / seconds);
  ASSERT_EQ(summary.at("classes").size(), 10u);
  std::vector<double> confidence;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto& c = summary.at("classes")[i];
    const auto& row = archive[i + 1];
    EXPECT_EQ(sorted_keys(c), (std::vector<std::string>{"confidence", "generation", "index", "label"}));
    EXPECT_EQ(c.at("index"), static_cast<int>(i));
    EXPECT_EQ(row[0], std::to_string(i));
    EXPECT_EQ(c.at("label"), std::to_string(i));
    EXPECT_EQ(row[1], std::to_string(i));
    EXPECT_NEAR(c.at("confidence").get<double>(), std::stod(row[2]), 1e-8);
    EXPECT_EQ(c.at("generation").get<long long>(), std::stoll(row[3]));
    EXPECT_GE(c.at("generation").get<int>(), 0);
    EXPECT_LE(c.at("generation").get<int>(), 11);
    EXPECT_GE(c.at("confidence").get<double>(), 0.0);
    EXPECT_LE(c.at("confidence").get<double>(), 1.0);
    confidence.push_back(c.at("confidence"));
  }
  EXPECT_NEAR(summary.at("min_confidence").get<double>(), *std::min_element(confidence.begin(), confidence.end()),
              1e-7);
  EXPECT_NEAR(summary.at("median_confidence").get<double>(), median(confidence), 1e-6);
  EXPECT_NEAR(summary.at("min_confidence").get<double>(), std::stod(progress.back()[3]), 1e-7);
  EXPECT_NEAR(summary.at("median_confidence").get<double>(), std::stod(progress.back()[4]), 1e-7);
  const auto& fractions = summary.at("fraction_at_least");
  EXPECT_EQ(sorted_keys(fractions), (std::vector<std::string>{"0.99", "0.999", "0.9999"}));
  for (const auto& [key, value] : fractions.items()) {
    const double threshold = std::stod(key);
    const double expected =
        std::count_if(confidence.begin(), confidence.end(), [&](double c) { return c >= threshold; }) / 10.0;
    EXPECT_NEAR(value.get<double>(), expected, 1e-12) << key;
  }

  // elites/: ten 28x28 gray PNGs named class_label_confidence.png, and upscaled copies.
  const auto elites = files_in(out + "/elites", ".png");
  ASSERT_EQ(elites.size(), 10u);
  EXPECT_EQ(files_in(out + "/elites/large", ".png"), elites);
  for (std::size_t i = 0; i < elites.size(); ++i) {
    char expected_name[64];
    std::snprintf(expected_name, sizeof expected_name, "%zu_%zu_%.6f.png", i, i, confidence[i]);
    EXPECT_EQ(elites[i], expected_name);
    const cv::Mat small = cv::imread(out + "/elites/" + elites[i], cv::IMREAD_UNCHANGED);
    const cv::Mat large = cv::imread(out + "/elites/large/" + elites[i], cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(small.empty()) << elites[i];
    ASSERT_FALSE(large.empty()) << elites[i];
    EXPECT_EQ(small.rows, 28);
    EXPECT_EQ(small.cols, 28);
    EXPECT_EQ(small.channels(), 1);
    EXPECT_EQ(small.depth(), CV_8U);
    // The large copy is a nearest-neighbour upscale by a whole factor of at least 256/28.
    ASSERT_EQ(large.rows % 28, 0);
    const int k = large.rows / 28;
    EXPECT_GE(k * 28, 256);
    EXPECT_EQ(large.cols, 28 * k);
    bool same = true;
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) same &= small.at<uint8_t>(y, x) == large.at<uint8_t>(y * k + k / 2, x * k + k / 2);
    }
    EXPECT_TRUE(same) << elites[i] << ": large copy is not the upscaled elite";
  }

  // snapshots/ every --dump-every generations.
  for (const char* snapshot : {"gen_000005", "gen_000010"}) {
    const std::string dir = out + "/snapshots/" + snapshot;
    EXPECT_EQ(files_in(dir, ".png").size(), 10u) << dir;
    EXPECT_EQ(files_in(dir + "/large", ".png").size(), 10u) << dir;
  }

  // The console: a final table on stdout with one row per class.
  EXPECT_NE(r.out.find("confidence"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("12 generations, 720 evaluations"), std::string::npos) << r.describe();
}

TEST(FoolRun, ElitesScoreTheirSummaryConfidenceWhenReclassified) {
  // The image scored during the search is exactly the 8-bit PNG written, so `fool classify` on
  // an elite file gives the confidence in summary.json.
  TempDir tmp;
  const std::string out = tmp / "run";
  const auto r = run_fool({"run", "--generations", "15", "--population", "50", "--seed", "11", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = read_json(out + "/summary.json");
  const auto elites = files_in(out + "/elites", ".png");
  ASSERT_EQ(elites.size(), 10u);
  std::vector<std::string> args = {"classify", "--json", "--top", "10"};
  for (const auto& name : elites) args.push_back(out + "/elites/" + name);
  const auto c = run_fool(args);
  ASSERT_EQ(c.exit_code, 0) << c.describe();
  const auto results = nlohmann::json::parse(c.out);
  ASSERT_EQ(results.size(), 10u);
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(results[i].at("image"), out + "/elites/" + elites[i]);
    const auto& top = results[i].at("top");
    ASSERT_EQ(top.size(), 10u);
    double probability = -1;
    for (const auto& t : top) {
      if (t.at("index") == static_cast<int>(i)) probability = t.at("probability");
    }
    EXPECT_NEAR(probability, summary.at("classes")[i].at("confidence").get<double>(), 1e-5) << elites[i];
  }
}

TEST(FoolRun, TargetConfidenceStopsEarly) {
  TempDir tmp;
  const std::string out = tmp / "run";
  const auto r = run_fool({"run", "--generations", "400", "--population", "50", "--classes", "0,8",
                           "--target-confidence", "0.99", "--seed", "2", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto progress = read_csv(out + "/progress.csv");
  const auto summary = read_json(out + "/summary.json");
  const std::size_t generations = progress.size() - 1;
  EXPECT_LT(generations, 400u) << "did not stop early";
  EXPECT_EQ(summary.at("generations").get<std::size_t>(), generations);
  EXPECT_EQ(summary.at("evaluations").get<std::size_t>(), 50 * generations);
  EXPECT_GE(summary.at("min_confidence").get<double>(), 0.99);
  EXPECT_GE(std::stod(progress.back()[3]), 0.99);
  // It stopped at the first generation that reached the target, not later.
  if (generations >= 2) {
    EXPECT_LT(std::stod(progress[progress.size() - 2][3]), 0.99);
  }
  ASSERT_EQ(summary.at("classes").size(), 2u);
  EXPECT_EQ(summary.at("classes")[0].at("index"), 0);
  EXPECT_EQ(summary.at("classes")[1].at("index"), 8);
}

TEST(FoolRun, MaxEvaluationsIsNeverExceeded) {
  TempDir tmp;
  const std::string out = tmp / "run";
  const auto r =
      run_fool({"run", "--generations", "1000", "--population", "50", "--max-evaluations", "420", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = read_json(out + "/summary.json");
  // 8 generations of 50 = 400 <= 420 < 450.
  EXPECT_EQ(summary.at("evaluations"), 400);
  EXPECT_EQ(summary.at("generations"), 8);
  EXPECT_EQ(read_csv(out + "/progress.csv").size(), 9u);
}

TEST(FoolRun, ClassesChooseTheCells) {
  TempDir tmp;
  const std::string out = tmp / "run";
  const auto r = run_fool({"run", "--generations", "3", "--population", "20", "--classes", "6,2-3", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto archive = read_csv(out + "/archive.csv");
  ASSERT_EQ(archive.size(), 4u);
  EXPECT_EQ(archive[1][0], "2");
  EXPECT_EQ(archive[2][0], "3");
  EXPECT_EQ(archive[3][0], "6");
  EXPECT_EQ(files_in(out + "/elites", ".png").size(), 3u);
}

TEST(FoolRun, RefinedCppnElitesRenderToTheirPngsByteForByte) {
  TempDir tmp;
  const std::string out = tmp / "refined";
  const auto r = run_fool({"run", "--encoding", "cppn", "--refine-steps", "2", "--generations", "4", "--population",
                           "20", "--threads", "2", "--dump-every", "0", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto summary = read_json(out + "/summary.json");
  EXPECT_EQ(summary.at("evaluations").get<int64_t>(), 80);
  EXPECT_EQ(summary.at("forward_equivalents").get<int64_t>(), 20 + 3 * 20 * (1 + 3 * 2));
  EXPECT_EQ(read_json(out + "/config.json").at("settings").at("refine-steps").get<int64_t>(), 2);
  const auto genomes = files_in(out + "/elites", ".json");
  ASSERT_EQ(genomes.size(), 10u);
  for (const auto& genome : genomes) {
    const std::string png = (fs::path(out) / "elites" / genome).replace_extension(".png").string();
    const auto render = run_fool({"render", out + "/elites/" + genome, "--out", tmp / "again.png"});
    ASSERT_EQ(render.exit_code, 0) << render.describe();
    EXPECT_EQ(read_file(tmp / "again.png"), read_file(png))
        << genome << ": the written-back weights render another image";
  }
}

TEST(FoolRun, ForceReplacesAPreviousRun) {
  TempDir tmp;
  const std::string out = tmp / "run";
  ASSERT_EQ(run_fool({"run", "--generations", "6", "--population", "20", "--out", out}).exit_code, 0);
  const auto r = run_fool({"run", "--generations", "3", "--population", "20", "--seed", "9", "--out", out, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(read_csv(out + "/progress.csv").size(), 4u) << "progress.csv kept rows of the previous run";
  EXPECT_EQ(read_json(out + "/summary.json").at("seed"), 9);
  EXPECT_EQ(files_in(out + "/elites", ".png").size(), 10u);
}

}  // namespace
}  // namespace fool::test
