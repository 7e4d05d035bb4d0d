// `fool classify` on real MNIST digits written as PNG files.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "support/cli_support.h"
#include "support/test_support.h"

namespace fool::test {
namespace {

/// The first `n` held-out digits as 28x28 gray PNGs in `dir`; returns their paths.
std::vector<std::string> write_digits(const Digits& digits, int n, const std::string& dir) {
  std::vector<std::string> paths;
  for (int i = 0; i < n; ++i) {
    cv::Mat image(28, 28, CV_8UC1, const_cast<uint8_t*>(digits.pixels.data()) + 784 * i);
    paths.push_back(dir + "/digit_" + std::to_string(i) + "_label_" + std::to_string(digits.labels[i]) + ".png");
    EXPECT_TRUE(cv::imwrite(paths.back(), image)) << paths.back();
  }
  return paths;
}

TEST(Classify, BundledModelReadsRealDigits) {
  TempDir tmp;
  const Digits digits = read_mnist_part("t10k");
  const auto paths = write_digits(digits, 25, tmp.path());
  std::vector<std::string> args = {"classify", "--json", "--top", "3"};
  args.insert(args.end(), paths.begin(), paths.end());
  const auto r = run_fool(args);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto results = nlohmann::json::parse(r.out);
  ASSERT_EQ(results.size(), paths.size());
  int correct = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(results[i].at("image"), paths[i]);
    const auto& top = results[i].at("top");
    ASSERT_EQ(top.size(), 3u);
    double previous = 1.0, total = 0.0;
    for (const auto& t : top) {
      const double p = t.at("probability");
      EXPECT_LE(p, previous) << "top-k not in descending order";
      EXPECT_GE(p, 0.0);
      previous = p;
      total += p;
      EXPECT_EQ(t.at("label"), std::to_string(t.at("index").get<int>()));
    }
    EXPECT_LE(total, 1.0 + 1e-5);
    correct += top[0].at("index") == static_cast<int>(digits.labels[i]) ? 1 : 0;
  }
  // 98.25% held-out accuracy (models/README.md): at most a couple of mistakes in 25.
  EXPECT_GE(correct, 23) << r.out;
}

TEST(Classify, TextOutputListsEachImageWithItsTopLabels) {
  TempDir tmp;
  const auto paths = write_digits(read_mnist_part("t10k"), 2, tmp.path());
  const auto r = run_fool({"classify", "--top", "2", paths[0], paths[1]});
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  std::istringstream lines(r.out);
  std::vector<std::string> out;
  for (std::string line; std::getline(lines, line);) out.push_back(line);
  ASSERT_EQ(out.size(), 6u) << r.out;  // per image: its path, then one line per label
  EXPECT_EQ(out[0], paths[0]);
  EXPECT_EQ(out[3], paths[1]);
}

TEST(Classify, ConvertsColourAndSizeToTheModelInput) {
  TempDir tmp;
  const Digits digits = read_mnist_part("t10k");
  const auto gray = write_digits(digits, 5, tmp.path());
  std::vector<std::string> args = {"classify", "--json", "--top", "1"};
  args.insert(args.end(), gray.begin(), gray.end());
  for (std::size_t i = 0; i < gray.size(); ++i) {
    // The same digit as a 3-channel 56x56 JPEG-free PNG: the tool must convert and resize it.
    cv::Mat image = cv::imread(gray[i], cv::IMREAD_GRAYSCALE), colour;
    cv::resize(image, image, cv::Size(56, 56), 0, 0, cv::INTER_LINEAR);
    cv::cvtColor(image, colour, cv::COLOR_GRAY2BGR);
    const std::string path = tmp / ("colour_" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(path, colour));
    args.push_back(path);
  }
  const auto r = run_fool(args);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const auto results = nlohmann::json::parse(r.out);
  ASSERT_EQ(results.size(), 10u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(results[i + 5].at("top")[0].at("index"), results[i].at("top")[0].at("index")) << results[i + 5];
  }
}

}  // namespace
}  // namespace fool::test
