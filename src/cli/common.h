#pragma once
// Pieces the subcommands share: model loading with command-line overrides, threads, devices.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "fool/model/model.h"

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

/// Model options shared by every subcommand that loads one.
struct ModelOptions {
  std::string model;        ///< empty: the bundled LeNet
  std::string input_shape;  ///< "C,H,W"
  std::string labels;       ///< label file
  std::string device = "auto";
  int threads = 0;
  std::string precision = "fp32";
  bool channels_last = false;
};
void add_model_options(CLI::App& app, ModelOptions& options);

/// Sets LibTorch's CPU threads (0: every core) and resolves the device, logging a CPU fallback.
at::Device prepare_device(const std::string& device, int threads);
/// Loads --model (or the bundled LeNet) with --input-shape, --labels, --precision and
/// --channels-last applied.
Model load_model(const std::string& path, const std::string& input_shape, const std::string& labels_file,
                 const at::Device& device, const std::string& precision = "fp32", bool channels_last = false);
/// Adds --precision and --channels-last to a subcommand.
void add_forward_options(CLI::App& app, std::string& precision, bool& channels_last);

}  // namespace fool::cli
