#pragma once
// Running the real fool binary (FOOL_BINARY) through the shell, with its output captured, and
// reading what a run leaves behind.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace fool::test {

struct CommandResult {
  std::string command;  ///< the shell command line, for failure messages
  int exit_code = -1;   ///< the process exit status; 128 + N when killed by signal N
  std::string out;      ///< standard output
  std::string err;      ///< standard error
  /// A block for assertion messages: the command, its exit code and both streams.
  std::string describe() const;
  /// The non-empty lines of standard error.
  std::vector<std::string> err_lines() const;
};

/// Runs `fool args...` and waits for it.
CommandResult run_fool(const std::vector<std::string>& args);

std::string shell_quote(const std::string& s);

/// `args` with "{tmp}" replaced by the scratch directory and "{test_models}" by the converted test
/// models' folder: the placeholders of the bad-input tables.
std::vector<std::string> expand_placeholders(const std::vector<std::string>& args, const TempDir& tmp);

nlohmann::json read_json(const std::string& path);

/// A CSV file as rows of fields (RFC 4180 quoting), the header being row 0.
std::vector<std::vector<std::string>> read_csv(const std::string& path);

/// Regular files directly in `dir` whose names end in `suffix`, sorted by name.
std::vector<std::string> files_in(const std::string& dir, const std::string& suffix);

/// Every file or directory under `dir` (recursively) whose name ends in ".tmp" or ".old".
std::vector<std::string> leftovers(const std::string& dir);

}  // namespace fool::test
