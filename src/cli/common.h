#pragma once
// Pieces the subcommands share: the subcommand type, and settings tables bound to CLI11 options.
#include <CLI/CLI.hpp>
#include <atomic>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "fool/model/model_settings.h"
#include "fool/util/enum_names.h"

namespace fool {
struct RunConfig;
}

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
Command add_sweep_command(CLI::App& parent);
Command add_merge_command(CLI::App& parent);
Command add_retrain_command(CLI::App& parent);

/// The settings of the --config file at `path` that `app`'s command line did not give, into
/// `config` (fool run and fool retrain; defined in command_run.cpp).
void apply_config_file(CLI::App* app, const std::string& path, RunConfig& config);

/// The signal that asked a long command (run, resume, sweep) to stop: 0 until SIGINT or SIGTERM.
extern std::atomic<int> g_stop_signal;
/// The first SIGINT or SIGTERM sets g_stop_signal (the command stops after its current step and
/// writes its outputs); a second SIGINT exits at once.
void install_signal_handlers();

/// The strict reading of a number on the command line, where CLI11 alone would change the value
/// silently (-1 and 2^64 both read as 2^64-1 for an unsigned, 10^20 clamped to INT64_MAX, 0x10 read
/// as 16, "nan" accepted): an integer must be plain decimal digits (a leading '-' only for a signed
/// type) within the field's type, a floating-point value a finite number.
template <class T>
CLI::Validator strict_number() {
  static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
  return CLI::Validator(
      [](std::string& text) -> std::string {
        T value{};
        const char* first = text.data();
        const char* last = first + text.size();
        const auto [end, ec] = std::from_chars(first, last, value);
        const bool ok = !text.empty() && ec == std::errc() && end == last;
        if constexpr (std::is_integral_v<T>) {
          if (ok) return {};
          return "'" + text + "' is not a whole number from " + std::to_string(std::numeric_limits<T>::min()) + " to " +
                 std::to_string(std::numeric_limits<T>::max()) + " (plain decimal digits)";
        } else {
          if (ok && std::isfinite(value)) return {};
          return "'" + text + "' is not a finite number";
        }
      },
      "", "strict number");
}

/// add_option for a number field, read strictly (strict_number).
template <class T>
CLI::Option* add_number(CLI::App& app, const std::string& name, T& field, const std::string& help) {
  return app.add_option(name, field, help)->check(strict_number<T>());
}

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
  } else if constexpr (std::is_arithmetic_v<T>) {
    add_number(app, option, field, help)->capture_default_str();
  } else {
    app.add_option(option, field, help)->capture_default_str();
  }
}

/// Adds the model settings (--model, --input-shape, --labels, --device, --threads, --precision,
/// --channels-last; without the first three when `with_file` is false).
void add_model_options(CLI::App& app, ModelSettings& settings, bool with_file = true);

}  // namespace fool::cli
