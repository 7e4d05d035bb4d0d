#include "fool/model/classes.h"

#include <algorithm>
#include <sstream>

#include "fool/util/error.h"

namespace fool {
namespace {

int64_t parse_index(const std::string& text, const std::string& spec, int64_t num_classes) {
  const std::string range = "0-" + std::to_string(num_classes - 1);
  std::size_t used = 0;
  long long value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) {
    throw Error(ErrorKind::kUsage, "--classes '" + spec + "': '" + text +
                                       "' is not a class index. Fix: use indices and ranges such as 0-9 or 1,7,42.");
  }
  if (value < 0 || value >= num_classes) {
    throw Error(ErrorKind::kUsage, "--classes '" + spec + "': class " + text + " is out of range; this model has " +
                                       std::to_string(num_classes) + " classes (" + range + ").");
  }
  return value;
}

}  // namespace

std::vector<int64_t> parse_classes(const std::string& spec, int64_t num_classes) {
  std::vector<int64_t> classes;
  if (spec.empty() || spec == "all") {
    for (int64_t i = 0; i < num_classes; ++i) classes.push_back(i);
    return classes;
  }
  std::stringstream parts(spec);
  std::string part;
  while (std::getline(parts, part, ',')) {
    auto dash = part.find('-', 1);
    if (dash == std::string::npos) {
      classes.push_back(parse_index(part, spec, num_classes));
      continue;
    }
    int64_t first = parse_index(part.substr(0, dash), spec, num_classes);
    int64_t last = parse_index(part.substr(dash + 1), spec, num_classes);
    if (last < first) {
      throw Error(ErrorKind::kUsage,
                  "--classes '" + spec + "': range '" + part + "' runs backwards. Fix: write it low-high.");
    }
    for (int64_t i = first; i <= last; ++i) classes.push_back(i);
  }
  if (classes.empty()) throw Error(ErrorKind::kUsage, "--classes '" + spec + "' selects no class.");
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return classes;
}

}  // namespace fool
