#include "support/cli_support.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "support/test_support.h"

namespace fool::test {
namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> expand_placeholders(const std::vector<std::string>& args, const TempDir& tmp) {
  std::vector<std::string> out;
  for (std::string a : args) {
    for (const auto& [key, value] :
         {std::pair<std::string, std::string>{"{tmp}", tmp.path()}, {"{test_models}", models_dir() + "/test"}}) {
      for (auto at = a.find(key); at != std::string::npos; at = a.find(key)) a.replace(at, key.size(), value);
    }
    out.push_back(a);
  }
  return out;
}

CommandResult run_fool(const std::vector<std::string>& args) {
  TempDir capture;
  CommandResult result;
  result.command = shell_quote(FOOL_BINARY);
  for (const auto& a : args) result.command += " " + shell_quote(a);
  const std::string line =
      result.command + " </dev/null >" + shell_quote(capture / "out") + " 2>" + shell_quote(capture / "err");
  const int status = std::system(line.c_str());
  if (status == -1) throw std::runtime_error("cannot start a shell for: " + result.command);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_text(capture / "out");
  result.err = read_text(capture / "err");
  return result;
}

std::string CommandResult::describe() const {
  std::ostringstream s;
  s << "$ " << command << "\nexit code " << exit_code << "\n--- stdout ---\n"
    << out.substr(0, 4000) << "\n--- stderr ---\n"
    << err.substr(0, 4000);
  return s.str();
}

std::vector<std::string> CommandResult::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  const std::string text = read_text(path);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::string> files_in(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".tmp" || ext == ".old") found.push_back(entry.path().string());
  }
  return found;
}

}  // namespace fool::test
