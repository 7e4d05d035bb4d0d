#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "fool/run/run_config.h"

namespace fool {

/// The settings as a JSON object keyed by option name (for config.json and --config files).
nlohmann::json settings_to_json(const RunConfig& config);
/// Sets the fields named in `settings` (an object keyed by option name, or a whole config.json
/// with a "settings" object). Unknown keys and wrong types throw fool::Error (kUsage) naming them.
void settings_from_json(const nlohmann::json& settings, RunConfig& config, const std::string& source);
/// Reads a --config file (JSON). Throws fool::Error naming the file.
void load_config_file(const std::string& path, RunConfig& config);

}  // namespace fool
