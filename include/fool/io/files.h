#pragma once
// File output that never leaves a half-written file: write a temporary name, flush, rename.
#include <cstddef>
#include <string>

namespace fool {

/// Writes `content` to `path` atomically. Throws fool::Error (kIo) naming the path and the cause
/// (no space left, permission denied, ...), leaving any previous file at `path` untouched.
void write_file_atomic(const std::string& path, const std::string& content);
/// Reads a whole file; throws fool::Error (kIo) naming it.
std::string read_file(const std::string& path);
/// Reads a whole file of at most `max_bytes` (a device such as /dev/zero, or a file far larger
/// than the format ever needs, fails at once); throws fool::Error (kIo) naming it and the limit.
std::string read_file(const std::string& path, std::size_t max_bytes);
/// Creates `dir` (and parents); throws fool::Error (kIo) naming it.
void make_directories(const std::string& dir);

}  // namespace fool
