#pragma once
// Settings that take one of a few names are enums, checked once where they are read (a command
// line, a config file, a genome file) and never compared as strings afterwards. Each such enum
// specialises EnumNames with its names in declaration order.
#include <string>
#include <utility>
#include <vector>

#include "fool/util/error.h"

namespace fool {

/// Specialise: `static const std::vector<std::pair<E, std::string>>& list();`
template <class E>
struct EnumNames;

template <class E>
std::string enum_name(E value) {
  for (const auto& [v, name] : EnumNames<E>::list()) {
    if (v == value) return name;
  }
  return "?";
}

/// "a, b or c"
template <class E>
std::string enum_choices() {
  const auto& list = EnumNames<E>::list();
  std::string out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == list.size() ? " or " : ", ") + list[i].second;
  }
  return out;
}

/// The value named `text`; throws fool::Error (`kind`) "<what> 'text' is not one of ..." naming
/// the choices. `what` names the setting, e.g. "--color-space".
template <class E>
E enum_from_name(const std::string& text, const std::string& what, ErrorKind kind = ErrorKind::kUsage) {
  for (const auto& [v, name] : EnumNames<E>::list()) {
    if (name == text) return v;
  }
  throw Error(kind, what + " '" + text + "' is not one of " + enum_choices<E>() + ". Fix: choose one of them.");
}

}  // namespace fool
