#include "fool/io/json.h"

#include <set>

#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool {

nlohmann::json settings_to_json(const RunConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  RunConfig copy = config;
  for_each_setting(copy, [&](const char* name, auto& field, const char*) { j[name] = field; });
  return j;
}

void settings_from_json(const nlohmann::json& input, RunConfig& config, const std::string& source) {
  const nlohmann::json& settings = input.contains("settings") ? input.at("settings") : input;
  if (!settings.is_object()) {
    throw Error(ErrorKind::kUsage, "config '" + source + "' is not a JSON object of settings. Fix: write "
                                   "{\"generations\": 250, ...} with the option names of fool run --help.");
  }
  std::set<std::string> known;
  for_each_setting(config, [&](const char* name, auto& field, const char*) {
    known.insert(name);
    if (!settings.contains(name)) return;
    try {
      settings.at(name).get_to(field);
    } catch (const nlohmann::json::exception&) {
      throw Error(ErrorKind::kUsage, "config '" + source + "': \"" + name + "\" has the wrong type (" +
                                         settings.at(name).dump() + "). Fix: give it the type fool run --help shows.");
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
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kUsage, "config '" + path + "' is not valid JSON (" + e.what() + ").");
  }
  settings_from_json(j, config, path);
}

}  // namespace fool
