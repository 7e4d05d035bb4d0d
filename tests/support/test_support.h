#pragma once
// Helpers every test binary shares: where things are, scratch directories, MNIST IDX files.
// Depends on LibTorch (through fool_core), GoogleTest and zlib only.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fool/model/model.h"

namespace fool::test {

/// The checkout (CMAKE_SOURCE_DIR).
std::string source_dir();
/// Converted models (scripts/prepare_models.sh writes them; models/converted by default).
std::string models_dir();
/// The shared data folder: $FOOL_SHARED when set, else the path CMake was given.
std::string shared_dir();
/// The MNIST IDX folder in the shared folder (10,000 digits: 8,004 train + 1,996 t10k).
std::string mnist_dir();

/// `models_dir()/relative` when that file exists, else "" (callers GTEST_SKIP with
/// missing_model_reason).
std::string converted_model(const std::string& relative);
std::string missing_model_reason(const std::string& relative);

/// The LeNet bundled in the binary, loaded once on the CPU.
const Model& bundled_lenet();

/// A fresh directory under the system temporary folder, removed with everything in it when
/// the object goes out of scope (unless FOOL_KEEP_TEST_FILES is set, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// path()/name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `content` to `path` (test fixtures only; aborts the test on failure via ADD_FAILURE).
void write_text(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);

/// MNIST digits as stored: uint8 pixels, white digit on black.
struct Digits {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  ///< count·rows·cols, row-major
  std::vector<uint8_t> labels;  ///< count
  /// [count,1,rows,cols] float32 in [0,1] (x = p/255, the model contract).
  at::Tensor images() const;
  at::Tensor label_tensor() const;  ///< int64 [count]
};

/// Reads an IDX image file and its label file (gzip or plain). Throws std::runtime_error
/// naming the file when either is missing or malformed.
Digits read_mnist(const std::string& images_path, const std::string& labels_path);
/// "train" (8,004 digits) or "t10k" (1,996) from mnist_dir().
Digits read_mnist_part(const std::string& part);
/// Both parts, all 10,000 digits.
Digits read_mnist_all();

}  // namespace fool::test
