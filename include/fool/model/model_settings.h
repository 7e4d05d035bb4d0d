#pragma once
// Which model and how it runs: the settings of every subcommand that loads a model (`fool run`,
// info, classify, bench, evaluate), one table of names, defaults and help texts that the
// command line, --config files and config.json all use.
#include <ATen/ATen.h>

#include <string>

#include "fool/model/model.h"

namespace fool {

struct ModelSettings {
  std::string file;                ///< TorchScript file; empty: the bundled LeNet
  std::string input_shape;         ///< "C,H,W" for a model without fool.json
  std::string labels;              ///< label file (one per line) for a model without fool.json
  std::string device = "auto";     ///< auto | cpu | cuda | cuda:N
  int threads = 0;                 ///< CPU threads for LibTorch; 0: every core
  std::string precision = "fp32";  ///< forward pass: fp32, bf16 or fp16 (autocast; fp16 on CUDA only)
  bool channels_last = false;      ///< forward in channels-last (NHWC) memory order
};

/// Visits the model settings as (name, field, help). `with_file` false leaves out the three that
/// name the model (for subcommands that take models as arguments: `fool evaluate`).
template <class Visitor>
void for_each_model_setting(ModelSettings& s, Visitor&& visit, bool with_file = true) {
  if (with_file) {
    visit("model", s.file, "TorchScript model file (empty: the bundled LeNet)");
    visit("input-shape", s.input_shape, "C,H,W of a model without fool.json");
    visit("labels", s.labels, "label file, one per line, for a model without fool.json");
  }
  visit("device", s.device, "auto, cpu, cuda or cuda:N");
  visit("threads", s.threads,
        "CPU threads (0: every CPU this process may use: affinity, cgroup quota, SLURM_CPUS_PER_TASK)");
  visit("precision", s.precision, "forward pass arithmetic: fp32, bf16 or fp16 (autocast; fp16 on CUDA only)");
  visit("channels-last", s.channels_last,
        "forward in channels-last (NHWC) memory order: faster convolutions on some hardware");
}

/// Sets LibTorch's CPU threads (0: every core) and resolves the device. Throws fool::Error
/// (kUsage) for a negative thread count or an unknown or missing device.
at::Device prepare_device(const std::string& device, int threads);
/// prepare_device, then the model of `settings` (the file, or the bundled LeNet) with
/// --input-shape, --labels, --precision and --channels-last applied; its device() is the one
/// prepared. Throws fool::Error naming the setting at fault.
Model load_model(const ModelSettings& settings);
/// The same for another file on an already prepared device, with the settings' forward options
/// (precision, layout) and no overrides.
Model load_model_file(const std::string& file, const at::Device& device, const ModelSettings& settings);

}  // namespace fool
