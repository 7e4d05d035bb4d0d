// Detection scores (fool/util/detection.h) on hand-computed examples, and the IDX reader
// (fool/io/idx.h) on real MNIST files and on hostile ones.
#include "fool/util/detection.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "fool/io/files.h"
#include "fool/io/idx.h"
#include "fool/util/error.h"
#include "support/test_support.h"

namespace fool {
namespace {

TEST(Detection, HandComputedExample) {
  // Real {0.9, 0.8, 0.7, 0.6} against fooling {0.85, 0.5, 0.4}: of the 12 pairs the real score is
  // higher in 3 + 2 + 2 + 2 = 9, AUROC 0.75. 95% of 4 real scores is 3.8, so all 4 must be kept:
  // threshold 0.6, and one fooling score (0.85) passes it: FPR 1/3.
  const auto d = detection_scores({0.9, 0.6, 0.8, 0.7}, {0.5, 0.85, 0.4});
  EXPECT_DOUBLE_EQ(d.auroc, 0.75);
  EXPECT_DOUBLE_EQ(d.fpr_at_95_tpr, 1.0 / 3.0);
}

TEST(Detection, TiesCountHalfAndTheThresholdKeepsNinetyFivePercent) {
  EXPECT_DOUBLE_EQ(detection_scores({0.5}, {0.5}).auroc, 0.5);
  EXPECT_DOUBLE_EQ(detection_scores({0.5}, {0.5}).fpr_at_95_tpr, 1.0) << "a tie passes the threshold";
  // 20 real scores 0.01..0.20: 95% is 19 of them, threshold 0.02; fooling 0.015 falls below it.
  std::vector<double> real;
  for (int i = 1; i <= 20; ++i) real.push_back(0.01 * i);
  const auto d = detection_scores(real, {0.015, 0.02, 1.0});
  EXPECT_NEAR(d.fpr_at_95_tpr, 2.0 / 3.0, 1e-12);
  // Real scores above 0.015: 19; above 0.02: 18 and one tie; above 1.0: none. (19 + 18.5) / 60.
  EXPECT_NEAR(d.auroc, 37.5 / 60.0, 1e-12);
  // Perfect separation, and the reverse.
  EXPECT_DOUBLE_EQ(detection_scores({0.9, 0.95}, {0.1, 0.2}).auroc, 1.0);
  EXPECT_DOUBLE_EQ(detection_scores({0.9, 0.95}, {0.1, 0.2}).fpr_at_95_tpr, 0.0);
  EXPECT_DOUBLE_EQ(detection_scores({0.1, 0.2}, {0.9, 0.95}).auroc, 0.0);
  EXPECT_TRUE(std::isnan(detection_scores({}, {0.1}).auroc));
  EXPECT_TRUE(std::isnan(detection_scores({0.1}, {}).fpr_at_95_tpr));
}

TEST(Idx, ReadsTheRealMnistDigits) {
  const auto images = read_idx_images(test::mnist_dir() + "/t10k-images-idx3-ubyte.gz");
  ASSERT_EQ(images.sizes(), (std::vector<int64_t>{1996, 1, 28, 28}));
  const auto digits = test::read_mnist_part("t10k");
  EXPECT_EQ(images[7].mul(255).round().to(at::kByte).flatten().index({0}).item<int>(), digits.pixels[7 * 784]);
  EXPECT_NEAR(images.max().item<double>(), 1.0, 1e-6);
  const auto labels = read_idx_labels(test::mnist_dir() + "/t10k-labels-idx1-ubyte.gz", 5);
  ASSERT_EQ(labels.size(0), 5);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(labels[i].item<int64_t>(), digits.labels[static_cast<std::size_t>(i)]);
  EXPECT_EQ(read_idx_images(test::mnist_dir() + "/t10k-images-idx3-ubyte.gz", 10).size(0), 10);
}

std::string idx_header(int rank, std::vector<uint32_t> sizes, int type = 8) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(rank)};
  for (uint32_t s : sizes) {
    for (int shift : {24, 16, 8, 0}) h += static_cast<char>((s >> shift) & 0xff);
  }
  return h;
}

std::string gzip(const std::string& data) {
  uLongf size = compressBound(static_cast<uLong>(data.size())) + 32;
  std::string out(size, '\0');
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);  // gzip wrapper
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Idx, HostileFilesGetOneClearIoError) {
  test::TempDir tmp;
  const std::string good = idx_header(3, {2, 3, 3}) + std::string(18, '\x7f');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a uint8 IDX"},
      {"hello world, not idx", "not a uint8 IDX"},
      {idx_header(3, {2, 3, 3}, 0x0D) + std::string(72, '\0'), "not a uint8 IDX"},  // float IDX
      {idx_header(2, {2, 3}) + std::string(6, '\0'), "not a uint8 IDX"},            // rank 2
      {idx_header(3, {2, 3}), "header is truncated"},
      {good.substr(0, good.size() - 1), "shorter than its header"},
      {good + "x", "bytes after"},
      {idx_header(3, {2, 0, 3}), "is 0"},
      {idx_header(3, {65535, 65535, 65535}), "MiB"},
      {idx_header(4, {1, 2, 2, 5}) + std::string(20, '\0'), "5 channels"},
      {gzip(good).substr(0, 20), "truncated"},                                       // a cut gzip stream
      {gzip(idx_header(3, {1, 4, 4}) + std::string(1 << 24, '\0')), "bytes after"},  // a bomb: 16 MiB of zeros
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string path = tmp / ("case" + std::to_string(i));
    write_file_atomic(path, cases[i].first);
    try {
      read_idx_images(path);
      ADD_FAILURE() << "case " << i << " was read";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo) << i;
      const std::string what = e.what();
      EXPECT_NE(what.find(cases[i].second), std::string::npos) << "case " << i << ": " << what;
      EXPECT_NE(what.find("Fix:"), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
    }
  }
  write_file_atomic(tmp / "ok.gz", gzip(good));
  EXPECT_EQ(read_idx_images(tmp / "ok.gz").sizes(), (std::vector<int64_t>{2, 1, 3, 3}));
  EXPECT_THROW(read_idx_images(tmp / "missing"), Error);
  EXPECT_THROW(read_idx_images(tmp.path()), Error) << "a directory";
}

}  // namespace
}  // namespace fool
