#pragma once
// Pieces the subcommands share: the subcommand type, and settings tables bound to CLI11 options.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "fool/model/model_settings.h"
#include "fool/util/enum_names.h"

namespace fool::cli {

/// A subcommand: its CLI11 app and what runs when it is chosen (returns the exit code).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_run_command(CLI::App& parent);
Command add_resume_command(CLI::App& parent);
Command add_info_command(CLI::App& parent);
Command add_classify_command(CLI::App& parent);
Command add_bench_command(CLI::App& parent);
Command add_render_command(CLI::App& parent);
Command add_check_command(CLI::App& parent);
Command add_evaluate_command(CLI::App& parent);
Command add_report_command(CLI::App& parent);

/// One setting of a settings table (for_each_setting, for_each_model_setting) as a command-line
/// option --name with its live default in --help: a flag for a bool, a choice for an enum.
template <class T>
void add_setting(CLI::App& app, const char* name, T& field, const char* help) {
  const std::string option = std::string("--") + name;
  if constexpr (std::is_same_v<T, bool>) {
    app.add_flag(option, field, help);
  } else if constexpr (std::is_enum_v<T>) {
    std::vector<std::string> names;
    for (const auto& entry : EnumNames<T>::list()) names.push_back(entry.second);
    app.add_option_function<std::string>(
           option, [&field, option](const std::string& text) { field = enum_from_name<T>(text, option); }, help)
        ->check(CLI::IsMember(names))
        ->default_str(enum_name(field));
  } else {
    app.add_option(option, field, help)->capture_default_str();
  }
}

/// Adds the model settings (--model, --input-shape, --labels, --device, --threads, --precision,
/// --channels-last; without the first three when `with_file` is false).
void add_model_options(CLI::App& app, ModelSettings& settings, bool with_file = true);

}  // namespace fool::cli
