#pragma once
// File output that never leaves a half-written file and never writes through someone else's
// file: a fresh, exclusively created temporary name beside the target, flush, rename. An output
// path that exists as anything but a regular file (a symbolic link, directory, FIFO, device) is
// refused, never replaced or followed. POSIX only.
#include <cstddef>
#include <memory>
#include <string>

namespace fool {

/// Writes `content` to `path` atomically through a new temporary file "NAME.XXXXXX.tmp" in the
/// same directory (created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644 less the umask, removed
/// again on failure). Throws fool::Error (kIo) naming the path and the cause (no space left,
/// permission denied, not a regular file, ...), leaving any previous file at `path` untouched.
void write_file_atomic(const std::string& path, const std::string& content);
/// Throws fool::Error (kIo) naming `path` and the fix when it exists and is not a regular file
/// (symbolic links included, whatever they point to). A missing path is fine.
void check_replaceable_file(const std::string& path);
/// The same for a directory fool replaces as a whole (elites/): refused when it exists as
/// anything but a real directory.
void check_replaceable_directory(const std::string& path);
/// True for the temporary names this file's functions create for the target `name`:
/// "NAME.XXXXXX.tmp", and the "NAME.tmp" of fool versions before the exclusive names.
bool is_temporary_name_of(const std::string& entry, const std::string& name);

/// Reads a whole file; throws fool::Error (kIo) naming it.
std::string read_file(const std::string& path);
/// Reads a whole file of at most `max_bytes` (a device such as /dev/zero, or a file far larger
/// than the format ever needs, fails at once); throws fool::Error (kIo) naming it and the limit.
std::string read_file(const std::string& path, std::size_t max_bytes);
/// Creates `dir` (and parents, following symbolic links: the user's own paths); throws
/// fool::Error (kIo) naming it.
void make_directories(const std::string& dir);
/// Creates the single directory `dir` when missing; throws fool::Error (kIo) when it exists as
/// anything but a real directory (a symbolic link is refused, not followed). For the folders
/// fool owns inside a run directory.
void make_own_directory(const std::string& dir);
/// Creates a new directory "PREFIX.XXXXXX.tmp" (exclusively: mkdir never reuses an existing
/// name or follows a link) and returns its path; throws fool::Error (kIo).
std::string make_unique_directory(const std::string& prefix);

/// A regular file opened for appending (O_APPEND|O_NOFOLLOW; a symbolic link or other
/// non-regular file is refused). Each append is written at once; errors throw fool::Error (kIo).
class AppendFile {
 public:
  explicit AppendFile(std::string path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  void append(const std::string& text);

 private:
  std::string path_;
  int fd_ = -1;
};

/// An exclusive advisory lock (flock) on DIR/.fool.lock, which holds the PID of the process that
/// has it; released when the last copy of the handle goes (or the process ends, however it ends).
class DirectoryLock {
 public:
  static constexpr const char* kFileName = ".fool.lock";
  /// Takes the lock without waiting. When another process holds it, throws fool::Error (kIo):
  /// "'DIR' is in use by another fool process (PID N, ...). Fix: " + `fix`. `dir` must exist.
  static std::shared_ptr<DirectoryLock> acquire(const std::string& dir, const std::string& fix);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  /// Ask the destructor to remove the directory again if it still holds nothing but the lock
  /// file (a run that failed before writing anything leaves no empty directory behind).
  void remove_directory_if_unused(bool remove) { remove_if_unused_ = remove; }

 private:
  DirectoryLock(std::string dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  std::string dir_;
  int fd_;
  bool remove_if_unused_ = false;
};

}  // namespace fool
