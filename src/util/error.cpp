#include "fool/util/error.h"

#include <atomic>
#include <cstdio>
#include <regex>

namespace fool {
namespace {

std::atomic<std::size_t> g_last_failed_allocation{0};

std::string bytes_text(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

}  // namespace

std::size_t last_failed_allocation() { return g_last_failed_allocation.load(); }

void record_failed_allocation(std::size_t bytes) { g_last_failed_allocation.store(bytes); }

std::optional<Error> out_of_memory_error(const std::string& what) {
  static const std::regex cpu("allocate ([0-9]+) bytes");
  static const std::regex cuda("[Tt]ried to allocate ([0-9.]+ [KMGT]?i?B)");
  static const std::regex any("out of memory|not enough memory|can't allocate memory|std::bad_alloc");
  std::smatch m;
  std::string size;
  if (std::regex_search(what, m, cpu)) {
    size = bytes_text(std::stod(m[1].str())) + " (" + m[1].str() + " bytes)";
  } else if (std::regex_search(what, m, cuda)) {
    size = m[1].str() + " of GPU memory";
  } else if (std::regex_search(what, any)) {
    const std::size_t failed = last_failed_allocation();
    if (failed > 0) size = bytes_text(static_cast<double>(failed)) + " (" + std::to_string(failed) + " bytes)";
  } else {
    return std::nullopt;
  }
  return Error(ErrorKind::kResource,
               "out of memory: allocating " + (size.empty() ? std::string("memory") : size) +
                   " failed. Fix: free memory, or ask for less (a smaller --batch-size, --population, image or "
                   "render size, or model).");
}

void fail_check(const char* condition, const char* file, int line, const std::string& what) {
  throw Error(ErrorKind::kInternal, std::string("internal error at ") + file + ":" + std::to_string(line) + ": " +
                                        condition + " failed: " + what + ". Please report this with the command line.");
}

}  // namespace fool
