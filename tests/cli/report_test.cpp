// `fool check`, `fool evaluate` and `fool report` end to end on short runs of the bundled LeNet,
// plus the contact sheet's page layout for 1000 classes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <sstream>
#include <tuple>

#include "fool/io/contact_sheet.h"
#include "fool/io/files.h"
#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string last_line(const CommandResult& r) {
  const auto lines = lines_of(r.out);
  return lines.empty() ? "" : lines.back();
}

int64_t count_lines_starting(const CommandResult& r, const std::string& prefix) {
  const auto lines = lines_of(r.out);
  return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

std::string passed_failed(int64_t passed, int64_t failed) {
  return std::to_string(passed) + " passed, " + std::to_string(failed) + " failed";
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_text(path, j.dump(2)); }

/// Two short runs shared by every test of the suite: 30 generations (seed 1) and 5 (seed 2).
class ReportCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    run_ = *dir_ / "run";
    second_ = *dir_ / "second";
    first_result_ = run_fool({"run", "--generations", "30", "--seed", "1", "--out", run_});
    second_result_ = run_fool({"run", "--generations", "5", "--population", "50", "--seed", "2", "--out", second_});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(first_result_.exit_code, 0) << first_result_.describe();
    ASSERT_EQ(second_result_.exit_code, 0) << second_result_.describe();
  }
  /// A copy of the 30-generation run, for tests that damage it.
  std::string copy_of_run(const TempDir& into) const {
    const std::string copy = into / "copy";
    fs::copy(run_, copy, fs::copy_options::recursive);
    return copy;
  }

  static TempDir* dir_;
  static std::string run_, second_;
  static CommandResult first_result_, second_result_;
};
TempDir* ReportCommands::dir_ = nullptr;
std::string ReportCommands::run_, ReportCommands::second_;
CommandResult ReportCommands::first_result_, ReportCommands::second_result_;

TEST_F(ReportCommands, CheckPassesALenientGateAndFailsOneAboveTheBestElite) {
  const auto lenient = run_fool({"check", run_, "--min-confidence", "0", "--min-fraction", "1"});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.describe();
  EXPECT_EQ(last_line(lenient), passed_failed(10, 0)) << lenient.describe();
  EXPECT_EQ(count_lines_starting(lenient, "FAIL"), 0) << lenient.describe();

  // The best elite's confidence as threshold: every other class below it fails, each with its line.
  const auto summary = read_json(run_ + "/summary.json");
  std::vector<double> confidence;
  for (const auto& c : summary.at("classes")) confidence.push_back(c.at("confidence"));
  const double best = *std::max_element(confidence.begin(), confidence.end());
  const auto below = std::count_if(confidence.begin(), confidence.end(), [&](double c) { return c < best; });
  ASSERT_GT(below, 0) << "all ten elites share one confidence; the threshold test needs a spread";
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%.17g", best);
  const auto strict = run_fool({"check", run_, "--min-confidence", threshold, "--min-fraction", "1"});
  EXPECT_EQ(strict.exit_code, 1) << strict.describe();
  EXPECT_EQ(last_line(strict), passed_failed(10 - below, below)) << strict.describe();
  EXPECT_EQ(count_lines_starting(strict, "FAIL class "), below) << strict.describe();

  // The same failures within --min-fraction: the gate passes.
  const std::string fraction = std::to_string(static_cast<double>(10 - below) / 10.0);
  const auto tolerated = run_fool({"check", run_, "--min-confidence", threshold, "--min-fraction", fraction});
  EXPECT_EQ(tolerated.exit_code, 0) << tolerated.describe();
  EXPECT_EQ(last_line(tolerated), passed_failed(10 - below, below)) << tolerated.describe();

  // The impossible gate: a confidence of 1 for every class, with none allowed to miss.
  const auto impossible = run_fool({"check", run_, "--min-confidence", "1", "--min-fraction", "1"});
  const auto exact_ones = std::count(confidence.begin(), confidence.end(), 1.0);
  EXPECT_EQ(impossible.exit_code, exact_ones == 10 ? 0 : 1) << impossible.describe();
  EXPECT_EQ(last_line(impossible), passed_failed(exact_ones, 10 - exact_ones)) << impossible.describe();
}

TEST_F(ReportCommands, CheckCountsOnlyTheSelectedClasses) {
  const auto r = run_fool({"check", run_, "--classes", "0-4", "--min-confidence", "0"});
  EXPECT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(last_line(r), passed_failed(5, 0)) << r.describe();

  const auto outside = run_fool({"check", run_, "--classes", "12"});
  EXPECT_EQ(outside.exit_code, 2) << outside.describe();
}

TEST_F(ReportCommands, CheckBaselinePassesAgainstItselfAndFailsAgainstABetterOne) {
  const auto summary = read_json(run_ + "/summary.json");
  // The last line counts the ten classes checked plus the baseline figures: median, min, each
  // fraction and each class.
  const int64_t figures = 10 + 2 + static_cast<int64_t>(summary.at("fraction_at_least").size()) + 10;
  const auto self = run_fool({"check", run_, "--min-confidence", "0", "--baseline", run_ + "/summary.json"});
  EXPECT_EQ(self.exit_code, 0) << self.describe();
  EXPECT_EQ(last_line(self), passed_failed(figures, 0)) << self.describe();

  // A doctored baseline 0.1 better in median and min and 0.05 better in class 3: three regressions
  // beyond the default tolerance of 0.02, none beyond 0.2. Both summaries are set to figures that
  // leave room above them (a summary's confidences must stay probabilities in [0,1]).
  TempDir tmp;
  nlohmann::json now = summary, better = summary;
  now["median_confidence"] = 0.8;
  now["min_confidence"] = 0.7;
  now["classes"][3]["confidence"] = 0.8;
  better["median_confidence"] = 0.9;
  better["min_confidence"] = 0.8;
  better["classes"][3]["confidence"] = 0.85;
  write_json_file(tmp / "now.json", now);
  write_json_file(tmp / "better.json", better);
  const auto worse = run_fool({"check", tmp / "now.json", "--min-confidence", "0", "--baseline", tmp / "better.json"});
  EXPECT_EQ(worse.exit_code, 1) << worse.describe();
  EXPECT_EQ(last_line(worse), passed_failed(figures - 3, 3)) << worse.describe();
  EXPECT_NE(worse.out.find("FAIL median_confidence"), std::string::npos) << worse.describe();
  EXPECT_NE(worse.out.find("FAIL min_confidence"), std::string::npos) << worse.describe();
  EXPECT_NE(worse.out.find("FAIL class 3 "), std::string::npos) << worse.describe();

  const auto tolerant = run_fool(
      {"check", tmp / "now.json", "--min-confidence", "0", "--baseline", tmp / "better.json", "--tolerance", "0.2"});
  EXPECT_EQ(tolerant.exit_code, 0) << tolerant.describe();
  EXPECT_EQ(last_line(tolerant), passed_failed(figures, 0)) << tolerant.describe();
}

/// transfer.csv rows after the header, checked for shape and ranges; returns them.
std::vector<std::vector<std::string>> check_transfer_csv(const std::string& path, std::size_t models) {
  const auto csv = read_csv(path);
  EXPECT_EQ(csv.size(), 11u) << "a header and one row per class";
  if (csv.empty()) return {};
  EXPECT_EQ(csv[0].size(), 3 + 3 * models);
  EXPECT_EQ(std::vector<std::string>(csv[0].begin(), csv[0].begin() + 3),
            (std::vector<std::string>{"class", "label", "source_confidence"}));
  for (std::size_t row = 1; row < csv.size(); ++row) {
    EXPECT_EQ(csv[row][0], std::to_string(row - 1));
    for (std::size_t m = 0; m < models; ++m) {
      const std::size_t first = 3 + 3 * m;
      EXPECT_EQ(csv[0][first].substr(csv[0][first].size() - 11), "_confidence");
      EXPECT_EQ(csv[0][first + 1].substr(csv[0][first + 1].size() - 11), "_top1_label");
      const double same = std::stod(csv[row][first]), top1 = std::stod(csv[row][first + 2]);
      EXPECT_GE(same, 0.0);
      EXPECT_LE(top1, 1.0 + 1e-6);
      EXPECT_GE(top1 + 1e-6, same) << "the top-1 probability is the largest";
    }
  }
  return std::vector<std::vector<std::string>>(csv.begin() + 1, csv.end());
}

TEST_F(ReportCommands, EvaluateOnTheRunsOwnModelReproducesItsConfidences) {
  // models/lenet_mnist.pt is the file bundled in the binary: the elites' PNGs are the images that
  // were scored, so it must give back archive.csv's confidences.
  TempDir tmp;
  const auto r =
      run_fool({"evaluate", "--model", source_dir() + "/models/lenet_mnist.pt", run_, "--out", tmp / "transfer.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = check_transfer_csv(tmp / "transfer.csv", 1);
  for (const auto& row : rows) {
    EXPECT_NEAR(std::stod(row[3]), std::stod(row[2]), 1e-5) << "class " << row[0];
  }
  EXPECT_NE(r.out.find(">= 0.99"), std::string::npos) << r.describe();
}

TEST_F(ReportCommands, EvaluateConvertedLeNetGivesTheTransferMatrix) {
  const std::string other = converted_model("lenet_danielhers.pt");
  if (other.empty()) GTEST_SKIP() << missing_model_reason("lenet_danielhers.pt");
  TempDir tmp;
  const std::string copy = copy_of_run(tmp);
  const auto r = run_fool({"evaluate", "--model", other, "--model", source_dir() + "/models/lenet_mnist.pt", copy});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto rows = check_transfer_csv(copy + "/transfer.csv", 2);
  for (const auto& row : rows) {
    EXPECT_NEAR(std::stod(row[6]), std::stod(row[2]), 1e-5) << "class " << row[0] << ": the source model again";
  }
  // One matrix row per model (and the source), each with both fractions.
  EXPECT_EQ(count_lines_starting(r, "lenet_danielhers "), 1) << r.describe();
  EXPECT_NE(r.out.find("/10 ("), std::string::npos) << r.describe();
}

TEST_F(ReportCommands, EvaluateRealGivesDetectionScoresOfTheElites) {
  TempDir tmp;
  const std::string copy = copy_of_run(tmp);
  const std::string digits = mnist_dir() + "/t10k-images-idx3-ubyte.gz";
  const auto r = run_fool(
      {"evaluate", "--model", source_dir() + "/models/lenet_mnist.pt", copy, "--real", digits, "--real-limit", "300"});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto csv = read_csv(copy + "/detection.csv");
  ASSERT_EQ(csv.size(), 2u) << "header and one row: one model, one detector";
  EXPECT_EQ(csv[0],
            (std::vector<std::string>{"model", "detector", "real_images", "fooling_images", "auroc", "fpr_at_95_tpr"}));
  EXPECT_EQ(csv[1][1], "max-softmax");
  EXPECT_EQ(csv[1][2], "300");
  EXPECT_EQ(csv[1][3], "10");
  const double auroc = std::stod(csv[1][4]), fpr = std::stod(csv[1][5]);
  EXPECT_GE(auroc, 0.0);
  EXPECT_LE(auroc, 1.0);
  EXPECT_GE(fpr, 0.0);
  EXPECT_LE(fpr, 1.0);
  EXPECT_NE(r.out.find("AUROC"), std::string::npos) << r.describe();

  // Bad real images: one line each, the documented exit code, nothing written.
  write_file_atomic(tmp / "big.idx",
                    std::string{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0, 32} + std::string(32 * 32, '\x40'));
  fs::create_directories(tmp / "empty");
  write_file_atomic(tmp / "empty/notes.txt", "no images here");
  write_file_atomic(tmp / "corrupt.gz", "\x1f\x8b\x08 not really gzip");
  const std::vector<std::tuple<std::vector<std::string>, int, std::string>> bad = {
      {{"--real", tmp / "big.idx"}, 2, "1x28x28"},
      {{"--real", tmp / "empty"}, 2, "no image files"},
      {{"--real", tmp / "corrupt.gz"}, 4, "corrupt.gz"},
      {{"--real", tmp / "missing.idx"}, 4, "missing.idx"},
      {{"--real", digits, "--real-limit", "-1"}, 2, "--real-limit"},
  };
  for (const auto& [args, code, words] : bad) {
    std::vector<std::string> command = {"evaluate", "--model",         source_dir() + "/models/lenet_mnist.pt",
                                        copy,       "--detection-out", tmp / "d.csv"};
    command.insert(command.end(), args.begin(), args.end());
    const auto e = run_fool(command);
    EXPECT_EQ(e.exit_code, code) << e.describe();
    EXPECT_NE(e.err.find(words), std::string::npos) << e.describe();
    EXPECT_FALSE(fs::exists(tmp / "d.csv")) << words;
  }
  const auto without_run = run_fool({"evaluate", "--model", source_dir() + "/models/lenet_mnist.pt",
                                     copy + "/elites/" + files_in(copy + "/elites", ".png")[0], "--real", digits});
  EXPECT_EQ(without_run.exit_code, 2) << without_run.describe();
}

TEST_F(ReportCommands, EvaluatePlainImagesPrintsTheTop1OfEachModel) {
  const auto images = files_in(run_ + "/elites", ".png");
  ASSERT_EQ(images.size(), 10u);
  const auto r = run_fool({"evaluate", "--model", source_dir() + "/models/lenet_mnist.pt",
                           run_ + "/elites/" + images[0], run_ + "/elites/" + images[1]});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(lines_of(r.out).size(), 4u) << "a line per image and one per model under it\n" << r.describe();
}

std::vector<std::string> markdown_links(const std::string& markdown) {
  std::vector<std::string> links;
  const std::regex link(R"(\]\(([^)]+)\))");
  for (auto it = std::sregex_iterator(markdown.begin(), markdown.end(), link); it != std::sregex_iterator(); ++it) {
    links.push_back((*it)[1]);
  }
  return links;
}

TEST_F(ReportCommands, ReportWritesContactSheetPlotAndMarkdown) {
  TempDir tmp;
  const std::string out = tmp / "report";
  const auto r = run_fool({"report", run_, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* name : {"contact_sheet.png", "confidence.png"}) {
    const cv::Mat image = cv::imread(out + "/" + name);
    ASSERT_FALSE(image.empty()) << name;
    EXPECT_GE(image.cols, 600) << name;
    EXPECT_LE(std::max(image.rows, image.cols), 4000) << name;
  }
  const std::string md = read_text(out + "/report.md");
  const auto summary = read_json(run_ + "/summary.json");
  char median[32];
  std::snprintf(median, sizeof median, "%.6f", summary.at("median_confidence").get<double>());
  const std::vector<std::string> expected_lines = {"| median confidence | " + std::string(median) + " |",
                                                   "| seed | 1 |",
                                                   "| evaluations | 6,000 |",
                                                   "| encoding | direct |",
                                                   "Classes below 0.99",
                                                   "classes >= 0.9999"};
  for (const auto& expected : expected_lines) {
    EXPECT_NE(md.find(expected), std::string::npos) << expected << "\n" << md;
  }
  const auto links = markdown_links(md);
  EXPECT_GE(links.size(), 5u) << md;
  for (const auto& link : links) EXPECT_TRUE(fs::exists(fs::path(out) / link)) << link << " in report.md";
}

TEST_F(ReportCommands, ReportComparesSeveralRunsSideBySide) {
  TempDir tmp;
  const std::string out = tmp / "compare";
  const auto r = run_fool({"report", run_, second_, "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  for (const char* name : {"comparison.png", "run1_contact_sheet.png", "run2_contact_sheet.png", "run1_confidence.png",
                           "run2_confidence.png"}) {
    EXPECT_FALSE(cv::imread(out + "/" + name).empty()) << name;
  }
  const std::string md = read_text(out + "/report.md");
  EXPECT_NE(md.find("| figure | run | second |"), std::string::npos) << md;
  EXPECT_NE(md.find("| seed | 1 | 2 |"), std::string::npos) << md;
  for (const auto& link : markdown_links(md)) EXPECT_TRUE(fs::exists(fs::path(out) / link)) << link;
}

TEST_F(ReportCommands, MalformedRunDirectoryIsAnIoErrorOfOneLine) {
  struct Case {
    std::string damage;  // what is done to the copy
    std::string command;
    std::string named;  // the file the message must name
  };
  const std::vector<Case> cases = {
      {"summary.json:{\"model\": 3", "check", "summary.json"},
      {"summary.json:{\"model\": \"m\"}", "check", "summary.json"},
      {"archive.csv:class,label,confidence,generation\n0,0,high,3\n", "report", "archive.csv"},
      {"-progress.csv", "report", "progress.csv"},
      {"-elites", "evaluate", "elites"},
      {"-summary.json", "report", "summary.json"},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const std::string copy = copy_of_run(tmp);
    if (c.damage[0] == '-') {
      fs::remove_all(fs::path(copy) / c.damage.substr(1));
    } else {
      const auto colon = c.damage.find(':');
      write_text(copy + "/" + c.damage.substr(0, colon), c.damage.substr(colon + 1));
    }
    std::vector<std::string> args = {c.command, copy};
    if (c.command == "evaluate") args = {"evaluate", "--model", source_dir() + "/models/lenet_mnist.pt", copy};
    const auto r = run_fool(args);
    EXPECT_EQ(r.exit_code, 4) << c.damage << "\n" << r.describe();
    ASSERT_EQ(r.err_lines().size(), 1u) << c.damage << "\n" << r.describe();
    EXPECT_NE(r.err_lines()[0].find(c.named), std::string::npos) << r.describe();
  }
  const auto missing = run_fool({"check", *dir_ / "no-such-run"});
  EXPECT_EQ(missing.exit_code, 4) << missing.describe();
  EXPECT_EQ(missing.err_lines().size(), 1u) << missing.describe();
}

/// A synthetic table of `count` classes with 3x32x32 images and ImageNet-style labels.
EliteTable synthetic_table(int64_t count) {
  EliteTable table;
  for (int64_t i = 0; i < count; ++i) {
    table.classes.push_back(i);
    table.labels.push_back("label number " + std::to_string(i) + ", a synonym, another synonym");
    table.confidence.push_back(static_cast<double>(i % 100) / 99.0);
    table.generation.push_back(i);
  }
  table.images = at::rand({count, 3, 32, 32});
  return table;
}

TEST(ContactSheet, ThousandClassesFitOnOnePageAndSplitWhenAsked) {
  TempDir tmp;
  const auto table = synthetic_table(1000);
  const auto one = write_contact_sheet(table, tmp / "sheet.png");
  ASSERT_EQ(one, std::vector<std::string>{tmp / "sheet.png"});
  const cv::Mat page = cv::imread(one[0]);
  ASSERT_FALSE(page.empty());
  EXPECT_LE(std::max(page.rows, page.cols), 4000);
  EXPECT_GE(page.cols, 3000) << "1000 classes take a grid of 40 columns";

  ContactSheetOptions small;
  small.max_page_side = 1000;
  const auto pages = write_contact_sheet(table, tmp / "small.png", small);
  ASSERT_GT(pages.size(), 1u);
  for (std::size_t i = 0; i < pages.size(); ++i) {
    EXPECT_EQ(pages[i], tmp / ("small_" + std::to_string(i + 1) + ".png"));
    const cv::Mat p = cv::imread(pages[i]);
    ASSERT_FALSE(p.empty()) << pages[i];
    EXPECT_LE(std::max(p.rows, p.cols), 1000) << pages[i];
  }
  EXPECT_FALSE(fs::exists(tmp / "small.png")) << "pages are numbered when there are several";
}

TEST(ContactSheet, TenClassesGetLargeTiles) {
  TempDir tmp;
  const auto pages = write_contact_sheet(synthetic_table(10), tmp / "ten.png");
  ASSERT_EQ(pages.size(), 1u);
  const cv::Mat page = cv::imread(pages[0]);
  ASSERT_FALSE(page.empty());
  EXPECT_GE(page.cols, 5 * 200) << "five columns of tiles at least 200 pixels wide";
  EXPECT_GE(page.rows, 2 * 200) << "two rows";
}

}  // namespace
}  // namespace fool::test
