#pragma once
// The shared shell of every fool executable: logging, parsing, and turning errors into exit codes.
#include <functional>
#include <string>
#include <vector>

#include "cli/common.h"

namespace fool::cli {

/// Builds the commands with `add_commands`, parses argv, runs the chosen one and returns its exit
/// code; fool::Error becomes one log line and its kind's code, anything else code 70.
int run_app(int argc, char** argv, const std::string& description,
            const std::function<std::vector<Command>(CLI::App&)>& add_commands);

}  // namespace fool::cli
