#include "fool/io/idx.h"

#include <zlib.h>

#include <memory>
#include <vector>

#include "fool/util/error.h"

namespace fool {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem, const std::string& fix) {
  throw Error(ErrorKind::kIo, "cannot read IDX file '" + path + "': " + problem + ". Fix: " + fix + ".");
}

/// Reads plain or gzip data (gzread passes plain files through) in order, never more than asked.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb"), &gzclose) {
    if (!file_) fail(path, "it does not exist or is not readable", "check the path and its permissions");
    gzbuffer(file_.get(), 1 << 16);
  }
  /// Reads exactly `n` bytes into `out`; false at the end of the data before them.
  bool read(void* out, std::size_t n) {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
      const int got = gzread(file_.get(), p, chunk);
      if (got < 0) {
        int code = 0;
        const char* message = gzerror(file_.get(), &code);
        fail(path_, std::string("corrupt or unreadable data (") + (message ? message : "zlib error") + ")",
             "download or copy the file again");
      }
      if (got == 0) return false;
      p += got;
      n -= static_cast<std::size_t>(got);
    }
    return true;
  }
  bool at_end() {
    char extra = 0;
    return gzread(file_.get(), &extra, 1) == 0;
  }

 private:
  std::string path_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> file_;
};

struct Idx {
  std::vector<int64_t> sizes;
  std::vector<uint8_t> bytes;
};

Idx read_idx(const std::string& path, int min_rank, int max_rank, int64_t limit) {
  if (limit < 0) fail(path, "a negative image count was asked for", "give a count >= 0 (0: all)");
  Reader in(path);
  unsigned char magic[4] = {};
  if (!in.read(magic, 4) || magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < min_rank ||
      magic[3] > max_rank) {
    fail(path,
         "it is not a uint8 IDX file of rank " + std::to_string(min_rank) +
             (max_rank > min_rank ? " to " + std::to_string(max_rank) : "") + " (magic 0 0 8 rank)",
         "give an IDX file like MNIST's train-images-idx3-ubyte(.gz)");
  }
  Idx idx;
  std::size_t total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char b[4];
    if (!in.read(b, 4)) fail(path, "its header is truncated", "download or copy the file again");
    const uint64_t size = (uint64_t(b[0]) << 24) | (uint64_t(b[1]) << 16) | (uint64_t(b[2]) << 8) | uint64_t(b[3]);
    if (size == 0) fail(path, "dimension " + std::to_string(d) + " is 0", "give a file that holds images");
    if (size > kMaxIdxBytes || total * size > kMaxIdxBytes) {
      fail(path, "its header declares more than " + std::to_string(kMaxIdxBytes >> 20) + " MiB of data",
           "split the file, or check that it is IDX");
    }
    total *= static_cast<std::size_t>(size);
    idx.sizes.push_back(static_cast<int64_t>(size));
  }
  const std::size_t item = total / static_cast<std::size_t>(idx.sizes[0]);
  const int64_t keep = limit > 0 ? std::min(limit, idx.sizes[0]) : idx.sizes[0];
  idx.bytes.resize(static_cast<std::size_t>(keep) * item);
  if (!in.read(idx.bytes.data(), idx.bytes.size())) {
    fail(path, "it is shorter than its header declares (" + std::to_string(total) + " bytes of data)",
         "download or copy the file again");
  }
  if (keep == idx.sizes[0] && !in.at_end()) {
    fail(path, "it has bytes after the " + std::to_string(total) + " its header declares",
         "check that it is one IDX file");
  }
  idx.sizes[0] = keep;
  return idx;
}

}  // namespace

at::Tensor read_idx_images(const std::string& path, int64_t limit) {
  Idx idx = read_idx(path, 3, 4, limit);
  const int64_t n = idx.sizes[0], h = idx.sizes[1], w = idx.sizes[2];
  const int64_t c = idx.sizes.size() == 4 ? idx.sizes[3] : 1;
  if (c != 1 && c != 3) {
    fail(path, "its images have " + std::to_string(c) + " channels", "give gray (1) or colour (3) images");
  }
  auto t = at::from_blob(idx.bytes.data(), {n, h, w, c}, at::kByte).permute({0, 3, 1, 2});
  return t.to(at::kFloat).div_(255.0).contiguous();
}

at::Tensor read_idx_labels(const std::string& path, int64_t limit) {
  Idx idx = read_idx(path, 1, 1, limit);
  return at::from_blob(idx.bytes.data(), {idx.sizes[0]}, at::kByte).to(at::kLong);
}

}  // namespace fool
