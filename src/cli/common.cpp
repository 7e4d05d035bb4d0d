#include "cli/common.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <thread>

#include "fool/evo/random.h"
#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {

ImageShape parse_input_shape(const std::string& text) {
  ImageShape shape;
  char comma1 = 0, comma2 = 0;
  std::istringstream in(text);
  in >> shape.channels >> comma1 >> shape.height >> comma2 >> shape.width;
  if (!in || comma1 != ',' || comma2 != ',' || in.peek() != EOF) {
    throw Error(ErrorKind::kUsage, "--input-shape '" + text + "' is not C,H,W. Fix: e.g. --input-shape 1,28,28.");
  }
  return shape;
}

std::vector<std::string> read_labels(const std::string& path) {
  std::vector<std::string> labels;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.empty()) throw Error(ErrorKind::kIo, "--labels '" + path + "' has no labels. Fix: one label per line.");
  return labels;
}

}  // namespace

void add_model_options(CLI::App& app, ModelOptions& o) {
  app.add_option("--model", o.model, "TorchScript model file (empty: the bundled LeNet)")->capture_default_str();
  app.add_option("--input-shape", o.input_shape, "C,H,W of a model without fool.json");
  app.add_option("--labels", o.labels, "label file, one per line, for a model without fool.json");
  add_forward_options(app, o.forward);
}

void add_forward_options(CLI::App& app, ForwardOptions& o) {
  app.add_option("--device", o.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: every core)")->capture_default_str();
  app.add_option("--precision", o.precision, "forward pass arithmetic: fp32, bf16 or fp16 (autocast; fp16 on CUDA only)")
      ->capture_default_str();
  app.add_flag("--channels-last", o.channels_last, "forward in channels-last (NHWC) memory order");
}

at::Device prepare_device(const std::string& name, int threads) {
  if (threads < 0) throw Error(ErrorKind::kUsage, "--threads must be >= 0 (0: every core).");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads > 0 ? threads : cores);
  at::Device device = resolve_device(name);
  if (name == "auto" && device.is_cpu()) spdlog::debug("no CUDA device: running on the CPU");
  return device;
}

Model load_model(const std::string& path, const std::string& input_shape, const std::string& labels_file,
                 const at::Device& device, const std::string& precision, bool channels_last) {
  const Precision arithmetic = precision_from_name(precision);
  ModelOverrides overrides;
  if (!input_shape.empty()) overrides.input_shape = parse_input_shape(input_shape);
  if (!labels_file.empty()) overrides.labels = read_labels(labels_file);
  const Model model = path.empty() ? Model::load_bytes(bundled_model_bytes(), kBundledModelName, device, overrides)
                                   : Model::load(path, device, overrides);
  return model.with_forward(arithmetic, channels_last);
}

Model load_model(const ModelOptions& o) {
  const at::Device device = prepare_device(o.forward.device, o.forward.threads);
  return load_model(o.model, o.input_shape, o.labels, device, o.forward.precision, o.forward.channels_last);
}

}  // namespace fool::cli
