#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fool {

/// Incremental SHA-256 (FIPS 180-4); used for model identity and checkpoint checksums.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  /// Finishes and returns the 64-character lowercase hex digest. Call once.
  std::string hex_digest();

 private:
  void compress(const std::uint8_t* block);
  std::uint32_t state_[8];
  std::uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

std::string sha256_hex(const void* data, std::size_t size);
/// Hash of a whole file; throws fool::Error (kIo) naming the file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace fool
