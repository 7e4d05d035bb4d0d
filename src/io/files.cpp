#include "fool/io/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "fool/util/error.h"

namespace fool {
namespace {

[[noreturn]] void io_error(const std::string& path, const std::string& action, int err) {
  std::string fix = err == ENOSPC                   ? "free some space or choose another --out"
                    : err == EACCES || err == EROFS ? "choose a writable --out"
                                                    : "check the path";
  throw Error(ErrorKind::kIo, "cannot " + action + " '" + path + "': " + std::strerror(err) + ". Fix: " + fix + ".");
}

const char* file_type(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void not_regular(const std::string& path, mode_t mode, const std::string& wanted) {
  throw Error(ErrorKind::kIo, "'" + path + "' is " + file_type(mode) + ", not " + wanted +
                                  "; fool never writes through or replaces one. Fix: remove it, or choose "
                                  "another output path.");
}

constexpr std::size_t kUniqueLength = 6;

/// Six random letters and digits: the XXXXXX of a temporary name (not the run's seeded RNG,
/// which these names must not disturb).
std::string unique_part() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  thread_local std::mt19937_64 generator{std::random_device{}() ^ (static_cast<uint64_t>(::getpid()) << 32)};
  std::string out;
  for (std::size_t i = 0; i < kUniqueLength; ++i) out += kAlphabet[generator() % (sizeof kAlphabet - 1)];
  return out;
}

constexpr int kUniqueAttempts = 100;

struct TemporaryFile {
  int fd;
  std::string path;
};

TemporaryFile create_temporary_beside(const std::string& path) {
  for (int attempt = 0; attempt < kUniqueAttempts; ++attempt) {
    std::string temporary = path + "." + unique_part() + ".tmp";
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return {fd, std::move(temporary)};
    if (errno != EEXIST) io_error(path, "write", errno);
  }
  io_error(path, "write", EEXIST);
}

void write_all(int fd, const std::string& content, const std::string& path) {
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      io_error(path, "write", errno);
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

/// Nothing at `path`, or a regular file (a directory when `directory`): what fool may replace.
void check_replaceable(const std::string& path, bool directory) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    io_error(path, "write", errno);
  }
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    not_regular(path, st.st_mode, directory ? "a directory" : "a regular file");
  }
}

/// Opens `path` with `flags` plus O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC (mode 0644 if created) and
/// checks that it is a regular file: a link, FIFO, directory or device planted under its name is
/// refused (kIo) naming it, and a FIFO cannot hang the open.
int open_regular(const std::string& path, int flags, const std::string& action) {
  const int fd = ::open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    struct stat st {};
    if (err == ELOOP && ::lstat(path.c_str(), &st) == 0) not_regular(path, st.st_mode, "a regular file");
    io_error(path, action, err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    not_regular(path, st.st_mode, "a regular file");
  }
  return fd;
}

}  // namespace

void check_replaceable_file(const std::string& path) { check_replaceable(path, /*directory=*/false); }

void check_replaceable_directory(const std::string& path) { check_replaceable(path, /*directory=*/true); }

bool is_temporary_name_of(const std::string& entry, const std::string& name) {
  if (entry.size() < name.size() || entry.compare(0, name.size(), name) != 0) return false;
  const std::string rest = entry.substr(name.size());
  if (rest == ".tmp" || rest == ".old") return true;
  if (rest.size() != 1 + kUniqueLength + 4 || rest[0] != '.') return false;
  const std::string suffix = rest.substr(1 + kUniqueLength);
  if (suffix != ".tmp" && suffix != ".old") return false;
  for (std::size_t i = 1; i <= kUniqueLength; ++i) {
    if (!std::isalnum(static_cast<unsigned char>(rest[i]))) return false;
  }
  return true;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  check_replaceable_file(path);
  const TemporaryFile temporary = create_temporary_beside(path);
  try {
    write_all(temporary.fd, content, path);
    if (::fsync(temporary.fd) != 0 && errno != EINVAL) io_error(path, "write", errno);
  } catch (...) {
    ::close(temporary.fd);
    ::unlink(temporary.path.c_str());
    throw;
  }
  if (::close(temporary.fd) != 0) {
    const int err = errno;
    ::unlink(temporary.path.c_str());
    io_error(path, "write", err);
  }
  // rename() replaces the directory entry itself: a link planted at `path` after the check above
  // is replaced, never followed.
  if (::rename(temporary.path.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.path.c_str());
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

void make_own_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return;
  const int err = errno;
  struct stat st {};
  if (err != EEXIST || ::lstat(dir.c_str(), &st) != 0) io_error(dir, "create directory", err);
  if (!S_ISDIR(st.st_mode)) not_regular(dir, st.st_mode, "a directory");
}

std::string make_unique_directory(const std::string& prefix) {
  for (int attempt = 0; attempt < kUniqueAttempts; ++attempt) {
    std::string dir = prefix + "." + unique_part() + ".tmp";
    if (::mkdir(dir.c_str(), 0755) == 0) return dir;
    if (errno != EEXIST) io_error(dir, "create directory", errno);
  }
  io_error(prefix + ".XXXXXX.tmp", "create directory", EEXIST);
}

// ---- AppendFile ----------------------------------------------------------------------------

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
  fd_ = open_regular(path_, O_WRONLY | O_APPEND, "append to");
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(const std::string& text) { write_all(fd_, text, path_); }

// ---- DirectoryLock -------------------------------------------------------------------------

std::shared_ptr<DirectoryLock> DirectoryLock::acquire(const std::string& dir, const std::string& fix) {
  const std::string path = (std::filesystem::path(dir) / kFileName).string();
  const int fd = open_regular(path, O_RDWR | O_CREAT, "create the lock file");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buffer[32] = {};
    const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) io_error(path, "lock", err);
    std::string pid(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    const bool known = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
    throw Error(ErrorKind::kIo, "'" + dir + "' is in use by another fool process (" +
                                    (known ? "PID " + pid : std::string("PID not yet written")) +
                                    ", holding the lock " + path + "). Fix: " + fix);
  }
  // The holder's PID, for the message above; the lock itself is the flock, not the contents.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::close(fd);
    io_error(path, "write", err);
  }
  return std::shared_ptr<DirectoryLock>(new DirectoryLock(dir, fd));
}

DirectoryLock::~DirectoryLock() {
  if (remove_if_unused_) {
    // Still holding the lock: nobody else is writing here. rmdir fails (harmlessly) when the
    // directory holds anything more.
    const std::string path = (std::filesystem::path(dir_) / kFileName).string();
    std::error_code ec;
    std::size_t entries = 0;
    for (auto it = std::filesystem::directory_iterator(dir_, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      ++entries;
    }
    if (!ec && entries == 1) {
      ::unlink(path.c_str());
      ::rmdir(dir_.c_str());
    }
  }
  ::close(fd_);
}

}  // namespace fool
