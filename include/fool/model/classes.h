#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace fool {

/// Parses a class selection such as "0-9", "1,7,42" or "0-4,7" for a model with `num_classes`
/// outputs; an empty spec means every class. Returns sorted unique indices. Throws fool::Error
/// (kUsage) naming the bad part and the valid range.
std::vector<int64_t> parse_classes(const std::string& spec, int64_t num_classes);

}  // namespace fool
