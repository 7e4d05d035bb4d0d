#pragma once
// IDX files (the MNIST format: 0, 0, type 0x08 = uint8, rank, big-endian uint32 sizes, then the
// bytes), plain or gzip-compressed: the real images `fool evaluate --real` compares fooling images
// with, and the training data of `fool retrain`.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace fool {

/// Largest IDX payload fool reads (bytes after decompression): 1 GiB, sixteen times MNIST's.
constexpr std::size_t kMaxIdxBytes = std::size_t{1} << 30;

/// The images of an IDX file of rank 3 [N,H,W] (gray) or 4 [N,H,W,C] (C = 1 or 3), as float32
/// [N,C,H,W] in [0,1]; `limit` > 0 keeps the first `limit`. Throws fool::Error (kIo) naming the
/// file and the problem for a missing or unreadable file, corrupt gzip data, a header that is not
/// uint8 IDX of rank 3 or 4, a payload over kMaxIdxBytes, or a size that does not match the header
/// (truncated or trailing bytes). Decompression stops at the declared size: a small file never
/// inflates into gigabytes.
at::Tensor read_idx_images(const std::string& path, int64_t limit = 0);

/// The labels of a rank-1 IDX file, int64 [N]; the same checks.
at::Tensor read_idx_labels(const std::string& path, int64_t limit = 0);

}  // namespace fool
