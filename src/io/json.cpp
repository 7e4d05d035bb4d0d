#include "fool/io/json.h"

#include <cmath>
#include <limits>
#include <set>
#include <type_traits>

#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool {
namespace {

/// A config file may hold at most this much: settings are a few hundred bytes, and reading
/// /dev/zero or a multi-gigabyte file by mistake must fail at once, not exhaust memory.
constexpr std::size_t kMaxConfigBytes = 1 << 20;

/// The JSON type a setting of type T takes, for messages and checks.
template <class T>
bool has_type(const nlohmann::json& v, const char** expected) {
  if constexpr (std::is_same_v<T, bool>) {
    *expected = "true or false";
    return v.is_boolean();
  } else if constexpr (std::is_enum_v<T> || std::is_same_v<T, std::string>) {
    *expected = "a string";
    return v.is_string();
  } else if constexpr (std::is_unsigned_v<T>) {
    *expected = "a non-negative integer";
    return v.is_number_unsigned();
  } else if constexpr (std::is_integral_v<T>) {
    *expected = "an integer";
    return v.is_number_integer() && (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT64_MAX) : true) &&
           v.get<int64_t>() >= std::numeric_limits<T>::min() && v.get<int64_t>() <= std::numeric_limits<T>::max();
  } else {
    *expected = "a finite number";
    return v.is_number() && std::isfinite(v.get<double>());
  }
}

}  // namespace

nlohmann::json settings_to_json(const RunConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  RunConfig copy = config;
  for_each_setting(copy, [&](const char* name, auto& field, const char*) {
    using T = std::decay_t<decltype(field)>;
    if constexpr (std::is_enum_v<T>) {
      j[name] = enum_name(field);
    } else {
      j[name] = field;
    }
  });
  return j;
}

void settings_from_json(const nlohmann::json& input, RunConfig& config, const std::string& source) {
  const nlohmann::json& settings = input.is_object() && input.contains("settings") ? input.at("settings") : input;
  if (!settings.is_object()) {
    throw Error(ErrorKind::kUsage, "config '" + source +
                                       "' is not a JSON object of settings. Fix: write "
                                       "{\"generations\": 250, ...} with the option names of fool run --help.");
  }
  std::set<std::string> known;
  for_each_setting(config, [&](const char* name, auto& field, const char*) {
    using T = std::decay_t<decltype(field)>;
    known.insert(name);
    if (!settings.contains(name)) return;
    const auto& value = settings.at(name);
    const char* expected = "";
    if (!has_type<T>(value, &expected)) {
      // 2.7 for an integer, -1 for a seed, "5" for a number: refused, never rounded or wrapped.
      throw Error(ErrorKind::kUsage, "config '" + source + "': \"" + name + "\" is " + value.dump() + ", not " +
                                         expected + ". Fix: give it the type fool run --help shows.");
    }
    if constexpr (std::is_enum_v<T>) {
      field = enum_from_name<T>(value.get<std::string>(), "config '" + source + "': \"" + name + "\"");
    } else {
      value.get_to(field);
    }
  });
  for (const auto& item : settings.items()) {
    if (!known.count(item.key())) {
      throw Error(ErrorKind::kUsage, "config '" + source + "': unknown setting \"" + item.key() +
                                         "\". Fix: use the option names of fool run --help.");
    }
  }
}

void load_config_file(const std::string& path, RunConfig& config) {
  nlohmann::json j;
  const std::string text = read_file(path, kMaxConfigBytes);  // missing, unreadable or too large: kIo
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kUsage, "config '" + path + "' is not valid JSON (" + e.what() + ").");
  }
  settings_from_json(j, config, path);
}

}  // namespace fool
