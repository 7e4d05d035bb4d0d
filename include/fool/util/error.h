#pragma once
// Errors: library code throws fool::Error with a message that names the file or value and the fix;
// only main() catches, prints one line and returns the exit code of the error's kind.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace fool {

/// Failure classes, each with its own process exit code (documented in README.md).
enum class ErrorKind : int {
  kUsage = 2,       ///< bad command line or config value
  kModel = 3,       ///< model file missing, corrupt, or not following the model contract
  kIo = 4,          ///< input or output files: unreadable image, unwritable or non-empty --out, full disk
  kCheckpoint = 5,  ///< checkpoint missing, corrupt, truncated or written by another run
  kResource = 6,    ///< out of memory: an allocation of the machine (CPU or GPU) failed
  kInternal = 70,   ///< a bug in fool (an invariant failed)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

/// A setting's rule, checked: throws Error (kUsage) "--<setting> <rule>." unless `ok`. The rule
/// names the fix, e.g. "must be in [0,1]".
inline void require_setting(bool ok, const std::string& setting, const std::string& rule) {
  if (!ok) throw Error(ErrorKind::kUsage, "--" + setting + " " + rule + ".");
}

/// When `what` is an allocator's failure (LibTorch's "can't allocate memory: you tried to
/// allocate N bytes", CUDA's "out of memory. Tried to allocate 2.00 GiB", std::bad_alloc), the
/// resource error to throw instead: it names the size that failed and the fix. Else nothing.
std::optional<Error> out_of_memory_error(const std::string& what);
/// The size of the last allocation through operator new that failed, in bytes (0: none yet);
/// fool's executables record it (src/cli/app.cpp) so that std::bad_alloc can name it.
std::size_t last_failed_allocation();
void record_failed_allocation(std::size_t bytes);

[[noreturn]] void fail_check(const char* condition, const char* file, int line, const std::string& what);

}  // namespace fool

/// Invariant check: throws an internal fool::Error naming file:line. Not for user mistakes.
#define FOOL_CHECK(condition, what)                                               \
  do {                                                                            \
    if (!(condition)) ::fool::fail_check(#condition, __FILE__, __LINE__, (what)); \
  } while (false)
