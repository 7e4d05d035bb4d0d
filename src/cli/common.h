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

/// Where and how a model runs, for every subcommand that loads one.
struct ForwardOptions {
  std::string device = "auto";
  int threads = 0;
  std::string precision = "fp32";
  bool channels_last = false;
};
/// Adds --device, --threads, --precision and --channels-last.
void add_forward_options(CLI::App& app, ForwardOptions& options);

/// One model and how it runs: the options of the subcommands that load a single model.
struct ModelOptions {
  std::string model;        ///< empty: the bundled LeNet
  std::string input_shape;  ///< "C,H,W"
  std::string labels;       ///< label file
  ForwardOptions forward;
};
/// Adds --model, --input-shape, --labels and the forward options.
void add_model_options(CLI::App& app, ModelOptions& options);

/// Sets LibTorch's CPU threads (0: every core) and resolves the device, logging a CPU fallback.
at::Device prepare_device(const std::string& device, int threads);
/// Loads --model (or the bundled LeNet) with --input-shape, --labels, --precision and
/// --channels-last applied.
Model load_model(const std::string& path, const std::string& input_shape, const std::string& labels_file,
                 const at::Device& device, const std::string& precision, bool channels_last);
/// prepare_device, then load_model, as `options` say; the model's device() is the one prepared.
Model load_model(const ModelOptions& options);

}  // namespace fool::cli
