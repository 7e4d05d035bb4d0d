#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fool {

/// Parses a class selection such as "0-9", "1,7,42" or "0-4,7" for a model with `num_classes`
/// outputs; an empty spec means every class. Returns sorted unique indices. Throws fool::Error
/// (kUsage) naming the bad part and the valid range.
std::vector<int64_t> parse_classes(const std::string& spec, int64_t num_classes);

/// Shard `index` of `count` (1-based, "I/N" on the command line): one of N runs that together
/// cover a class selection, each a normal run of its contiguous part.
struct Shard {
  int64_t index = 1;
  int64_t count = 1;
};

/// Parses "I/N" (1 <= I <= N <= 100000); an empty text is the whole selection (1/1). Throws
/// fool::Error (kUsage) naming the text and the form.
Shard parse_shard(const std::string& text);

/// Shard `shard` of `classes`: the contiguous part [floor((I-1)T/N), floor(IT/N)) of the T
/// classes, so the N shards cover every class once and differ in size by at most one. Throws
/// fool::Error (kUsage) when that part is empty (more shards than classes).
std::vector<int64_t> shard_classes(const std::vector<int64_t>& classes, const Shard& shard);

}  // namespace fool
