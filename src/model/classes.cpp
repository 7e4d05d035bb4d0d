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

Shard parse_shard(const std::string& text) {
  if (text.empty()) return {};
  const auto bad = [&] {
    return Error(ErrorKind::kUsage, "--shard '" + text +
                                        "' is not I/N with whole numbers 1 <= I <= N <= 100000. "
                                        "Fix: e.g. --shard 2/4 for the second of four shards.");
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw bad();
  const auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 6 || part.find_first_not_of("0123456789") != std::string::npos) throw bad();
    return static_cast<int64_t>(std::stoll(part));
  };
  Shard shard{number(text.substr(0, slash)), number(text.substr(slash + 1))};
  if (shard.index < 1 || shard.count > 100000 || shard.index > shard.count) throw bad();
  return shard;
}

std::vector<int64_t> shard_classes(const std::vector<int64_t>& classes, const Shard& shard) {
  const auto total = static_cast<int64_t>(classes.size());
  const int64_t first = (shard.index - 1) * total / shard.count;
  const int64_t last = shard.index * total / shard.count;
  if (first == last) {
    throw Error(ErrorKind::kUsage, "--shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count) +
                                       " of " + std::to_string(total) +
                                       " classes is empty. Fix: at most as many shards as classes.");
  }
  return {classes.begin() + first, classes.begin() + last};
}

}  // namespace fool
