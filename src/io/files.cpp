#include "fool/io/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fool/util/error.h"

namespace fool {
namespace {

[[noreturn]] void io_error(const std::string& path, const std::string& action, int err) {
  std::string fix = err == ENOSPC ? "free some space or choose another --out"
                    : err == EACCES || err == EROFS ? "choose a writable --out"
                                                    : "check the path";
  throw Error(ErrorKind::kIo, "cannot " + action + " '" + path + "': " + std::strerror(err) + ". Fix: " + fix + ".");
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error(path, "write", errno);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      io_error(path, "write", err);
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {
    int err = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    io_error(path, "write", err);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    io_error(path, "write", err);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    io_error(path, "write", err);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error(path, "read", errno ? errno : ENOENT);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string read_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error(path, "read", errno ? errno : ENOENT);
  std::string out;
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    out.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes) {
      throw Error(ErrorKind::kIo, "'" + path + "' is larger than " + std::to_string(max_bytes) +
                                      " bytes, the most this kind of file may hold. Fix: pass the right file.");
    }
  }
  if (in.bad()) io_error(path, "read", errno ? errno : EIO);
  return out;
}

void make_directories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) io_error(dir, "create directory", ec.value());
}

}  // namespace fool
