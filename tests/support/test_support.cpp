#include "support/test_support.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#ifdef FOOL_HAVE_ZLIB
#include <zlib.h>
#endif

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fool::test {

const Model& bundled_lenet() {
  static const Model model = Model::load_bytes(bundled_model_bytes(), kBundledModelName, at::Device(at::kCPU));
  return model;
}
namespace fs = std::filesystem;

std::string source_dir() { return FOOL_SOURCE_DIR; }
std::string models_dir() { return FOOL_MODELS_DIR; }

std::string shared_dir() {
  const char* from_env = std::getenv("FOOL_SHARED");
  return from_env && *from_env ? from_env : FOOL_SHARED_DIR;
}

std::string mnist_dir() { return shared_dir() + "/data/mnist"; }

std::string converted_model(const std::string& relative) {
  const std::string path = models_dir() + "/" + relative;
  return fs::is_regular_file(path) ? path : std::string();
}

std::string missing_model_reason(const std::string& relative) {
  return models_dir() + "/" + relative + " is missing; scripts/prepare_models.sh makes it";
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "fool-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  if (std::getenv("FOOL_KEEP_TEST_FILES")) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_text(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) ADD_FAILURE() << "cannot write test fixture " << path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

namespace {

/// The whole (decompressed) content of a gzip or plain file.
std::string read_maybe_gzip(const std::string& path) {
#ifndef FOOL_HAVE_ZLIB
  throw std::runtime_error("cannot read " + path + ": the tests were built without zlib");
#else
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path);
  std::string data;
  char chunk[1 << 16];
  int n = 0;
  while ((n = gzread(file, chunk, sizeof chunk)) > 0) data.append(chunk, static_cast<std::size_t>(n));
  const bool failed = n < 0;
  gzclose(file);
  if (failed) throw std::runtime_error("corrupt gzip data in " + path);
  return data;
#endif
}

uint32_t big_endian_u32(const std::string& data, std::size_t offset) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + offset);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// IDX: 0, 0, type (0x08 = uint8), rank, then `rank` big-endian uint32 sizes, then the data.
std::vector<uint32_t> idx_header(const std::string& data, const std::string& path, int rank) {
  if (data.size() < 4 || data[0] != 0 || data[1] != 0 || static_cast<unsigned char>(data[2]) != 0x08 ||
      data[3] != rank) {
    throw std::runtime_error(path + ": not a rank-" + std::to_string(rank) + " uint8 IDX file");
  }
  std::vector<uint32_t> sizes;
  std::size_t total = 1;
  for (int d = 0; d < rank; ++d) {
    sizes.push_back(big_endian_u32(data, 4 + 4 * static_cast<std::size_t>(d)));
    total *= sizes.back();
  }
  if (data.size() != 4 + 4 * static_cast<std::size_t>(rank) + total) {
    throw std::runtime_error(path + ": size does not match its IDX header");
  }
  return sizes;
}

}  // namespace

Digits read_mnist(const std::string& images_path, const std::string& labels_path) {
  const std::string images = read_maybe_gzip(images_path);
  const std::string labels = read_maybe_gzip(labels_path);
  const auto image_sizes = idx_header(images, images_path, 3);
  const auto label_sizes = idx_header(labels, labels_path, 1);
  if (image_sizes[0] != label_sizes[0]) {
    throw std::runtime_error(images_path + " and " + labels_path + " hold different counts");
  }
  Digits d;
  d.count = image_sizes[0];
  d.rows = image_sizes[1];
  d.cols = image_sizes[2];
  d.pixels.assign(images.begin() + 16, images.end());
  d.labels.assign(labels.begin() + 8, labels.end());
  return d;
}

Digits read_mnist_part(const std::string& part) {
  return read_mnist(mnist_dir() + "/" + part + "-images-idx3-ubyte.gz",
                    mnist_dir() + "/" + part + "-labels-idx1-ubyte.gz");
}

Digits read_mnist_all() {
  Digits all = read_mnist_part("train");
  const Digits t10k = read_mnist_part("t10k");
  all.count += t10k.count;
  all.pixels.insert(all.pixels.end(), t10k.pixels.begin(), t10k.pixels.end());
  all.labels.insert(all.labels.end(), t10k.labels.begin(), t10k.labels.end());
  return all;
}

at::Tensor Digits::images() const {
  auto bytes = at::from_blob(const_cast<uint8_t*>(pixels.data()), {count, 1, rows, cols}, at::kByte);
  return bytes.to(at::kFloat).div_(255.0);
}

at::Tensor Digits::label_tensor() const {
  return at::from_blob(const_cast<uint8_t*>(labels.data()), {count}, at::kByte).to(at::kLong);
}

}  // namespace fool::test
