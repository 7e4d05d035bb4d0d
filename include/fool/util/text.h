#pragma once
// Small string helpers C++17 lacks.
#include <string_view>

namespace fool {

/// True when `text` ends with `suffix` (std::string::ends_with of C++20).
inline bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace fool
