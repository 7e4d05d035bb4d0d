#include "fool/model/model_settings.h"

#include <ATen/Parallel.h>

#include <sstream>
#include <thread>

#include "fool/io/files.h"
#include "fool/search/random.h"
#include "fool/util/cpus.h"
#include "fool/util/error.h"
#include "fool/util/utf8.h"

namespace fool {
namespace {

/// More threads than this many per core only adds contention (and 10^6 threads exhausts memory).
constexpr int kMaxThreadsPerCore = 4;

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

/// A labels file: ImageNet's 1000 (or 21k) labels take well under a megabyte.
constexpr std::size_t kMaxLabelsBytes = 16 << 20;

std::vector<std::string> read_labels(const std::string& path) {
  std::string text;
  try {
    text = read_file(path, kMaxLabelsBytes);
  } catch (const Error& e) {
    throw Error(e.kind(), std::string("--labels: ") + e.what());
  }
  std::istringstream in(text);
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!is_utf8(line)) {
      throw Error(ErrorKind::kIo, "--labels '" + path + "' line " + std::to_string(labels.size() + 1) +
                                      " is not UTF-8 text (labels are written into JSON files). Fix: save the "
                                      "file as UTF-8.");
    }
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  if (labels.empty()) throw Error(ErrorKind::kIo, "--labels '" + path + "' has no labels. Fix: one label per line.");
  return labels;
}

}  // namespace

at::Device prepare_device(const std::string& name, int threads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads < 0) throw Error(ErrorKind::kUsage, "--threads must be >= 0 (0: every core).");
  if (threads > kMaxThreadsPerCore * cores) {
    throw Error(ErrorKind::kUsage, "--threads " + std::to_string(threads) + " is more than " +
                                       std::to_string(kMaxThreadsPerCore) + " per core of this machine's " +
                                       std::to_string(cores) + ". Fix: --threads " + std::to_string(cores) +
                                       " or fewer (0: every core).");
  }
  // 0: the CPUs this process may use (affinity, cgroup quota, Slurm), not the machine's cores.
  at::set_num_threads(threads > 0 ? threads : available_cpus().cpus);
  return resolve_device(name);
}

Model load_model_file(const std::string& file, const at::Device& device, const ModelSettings& s) {
  const Precision arithmetic = precision_from_name(s.precision);
  ModelOverrides overrides;
  if (!s.input_shape.empty()) overrides.input_shape = parse_input_shape(s.input_shape);
  if (!s.labels.empty()) overrides.labels = read_labels(s.labels);
  const Model model = file.empty() ? Model::load_bytes(bundled_model_bytes(), kBundledModelName, device, overrides)
                                   : Model::load(file, device, overrides);
  return model.with_forward(arithmetic, s.channels_last);
}

Model load_model(const ModelSettings& s) {
  precision_from_name(s.precision);  // a bad name fails before any loading
  const at::Device device = prepare_device(s.device, s.threads);
  return load_model_file(s.file, device, s);
}

}  // namespace fool
