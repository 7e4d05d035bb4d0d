#include "fool/train/training.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fool/util/error.h"
#include "fool/util/text.h"

namespace fool {
namespace {

/// The submodule at the dotted `path` ("" is the module itself) and the attribute's own name.
std::pair<torch::jit::Module, std::string> owner_of(const torch::jit::Module& module, const std::string& name) {
  torch::jit::Module owner = module;
  std::string rest = name;
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    owner = owner.attr(rest.substr(0, dot)).toModule();
    rest = rest.substr(dot + 1);
  }
  return {owner, rest};
}

void set_parameter(const torch::jit::Module& module, const std::string& name, const at::Tensor& value) {
  auto [owner, attribute] = owner_of(module, name);
  owner.register_parameter(attribute, value, /*is_buffer=*/false);
}

std::string prefix_of(const std::string& name) {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(0, dot + 1);
}

int64_t fan_in(const at::Tensor& weight) { return weight.numel() / weight.size(0); }

at::Tensor uniform_like(const at::Tensor& t, double bound, at::Generator& gen) {
  return at::empty(t.sizes(), t.options()).uniform_(-bound, bound, gen);
}

/// The first (or last) non-empty line of an error text: LibTorch's cause without its backtrace.
std::string line_of(const std::string& text, bool last) {
  std::istringstream in(text);
  std::string found;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    found = line.substr(line.find_first_not_of(" \t"));
    if (!last) break;
  }
  return found;
}

}  // namespace

void add_output(torch::jit::Module& module, int64_t classes, uint64_t seed) {
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) parameters.emplace_back(p.name, p.value);
  std::string weight_name;
  at::Tensor weight;
  for (const auto& [name, value] : parameters) {
    if (value.dim() >= 2 && value.size(0) == classes) {
      weight_name = name;
      weight = value;
    }
  }
  if (!weight.defined()) {
    throw Error(ErrorKind::kModel, "the model has no classifier weight with " + std::to_string(classes) +
                                       " rows (a Linear [K,H] or 1x1 convolution [K,H,1,1] among its parameters), so "
                                       "no `fooling` output can be added. Fix: retrain a model whose last layer is a "
                                       "parameter of the module, not a constant.");
  }
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight)));
  at::NoGradGuard no_grad;
  auto row = uniform_like(weight.slice(0, 0, 1), bound, gen);
  set_parameter(module, weight_name, at::cat({weight.detach(), row}, 0).contiguous());
  const std::string bias_name = prefix_of(weight_name) + "bias";
  for (const auto& [name, value] : parameters) {
    if (name == bias_name && value.dim() == 1 && value.size(0) == classes) {
      set_parameter(module, bias_name, at::cat({value.detach(), uniform_like(value.slice(0, 0, 1), bound, gen)}, 0));
    }
  }
}

void reinitialise(torch::jit::Module& module, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> weights;  // prefix -> weight of rank >= 2
  std::vector<std::pair<std::string, at::Tensor>> parameters;
  for (const auto& p : module.named_parameters(true)) {
    parameters.emplace_back(p.name, p.value);
    if (p.value.dim() >= 2) weights[prefix_of(p.name)] = p.value;
  }
  for (auto& [name, value] : parameters) {
    const auto weight = weights.find(prefix_of(name));
    if (value.dim() >= 2) {
      value.copy_(uniform_like(value, 1.0 / std::sqrt(static_cast<double>(fan_in(value))), gen));
    } else if (weight != weights.end()) {  // the bias of a linear or convolution layer
      value.copy_(uniform_like(value, 1.0 / std::sqrt(static_cast<double>(fan_in(weight->second))), gen));
    } else if (ends_with(name, "weight")) {  // a normalisation's scale
      value.fill_(1.0);
    } else {
      value.zero_();
    }
  }
  for (const auto& b : module.named_buffers(true)) {
    if (ends_with(b.name, "running_mean") || ends_with(b.name, "num_batches_tracked")) b.value.zero_();
    if (ends_with(b.name, "running_var")) b.value.fill_(1.0);
  }
}

TrainResult train_classifier(torch::jit::Module& module, bool outputs_probabilities, const LabelledImages& data,
                             const TrainOptions& options, const std::atomic<int>* stop_signal) {
  if (data.size() == 0) throw Error(ErrorKind::kUsage, "no training images. Fix: give a data set with images.");
  if (options.epochs < 0 || options.batch_size < 1 || !(options.learning_rate > 0) || options.momentum < 0 ||
      options.weight_decay < 0) {
    throw Error(ErrorKind::kUsage,
                "training options out of range (epochs >= 0, batch size >= 1, learning rate > 0, momentum and "
                "weight decay >= 0). Fix: correct them.");
  }
  std::vector<at::Tensor> parameters;
  for (const auto& p : module.parameters(true)) {
    p.requires_grad_(true);
    parameters.push_back(p);
  }
  if (parameters.empty()) {
    throw Error(ErrorKind::kModel,
                "the model has no parameters to train (its weights are constants or buffers). "
                "Fix: export it with its layers' weights as parameters.");
  }
  torch::optim::SGD sgd(
      parameters,
      torch::optim::SGDOptions(options.learning_rate).momentum(options.momentum).weight_decay(options.weight_decay));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  TrainResult result;
  module.train(true);
  const int64_t n = data.size();
  try {
    for (int64_t epoch = 0; epoch < options.epochs && !result.stopped; ++epoch) {
      const auto order = at::randperm(n, gen, at::TensorOptions().dtype(at::kLong));
      double loss_sum = 0;
      int64_t seen = 0;
      for (int64_t begin = 0; begin < n; begin += options.batch_size) {
        if (stop_signal != nullptr && stop_signal->load() != 0) {
          result.stopped = true;
          break;
        }
        const auto rows = order.slice(0, begin, std::min(n, begin + options.batch_size));
        const auto x = data.images.index_select(0, rows);
        const auto y = data.labels.index_select(0, rows);
        const auto out = module.forward({x}).toTensor().to(at::kFloat);
        const auto loss =
            outputs_probabilities ? at::nll_loss(out.clamp_min(1e-12).log(), y) : at::cross_entropy_loss(out, y);
        sgd.zero_grad();
        loss.backward();
        sgd.step();
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          throw Error(ErrorKind::kModel, "training diverged: the loss became " + std::to_string(value) + " at step " +
                                             std::to_string(result.steps) + ". Fix: lower --train-lr.");
        }
        loss_sum += value * static_cast<double>(rows.size(0));
        seen += rows.size(0);
        ++result.steps;
      }
      if (seen > 0) result.last_loss = loss_sum / static_cast<double>(seen);
    }
  } catch (const Error&) {
    module.train(false);
    throw;
  } catch (const c10::Error& e) {
    module.train(false);
    throw Error(ErrorKind::kModel, "training failed in the model's forward or backward (" +
                                       line_of(e.what_without_backtrace(), false) +
                                       "). Fix: check that the data fit the model's input.");
  } catch (const std::exception& e) {  // the TorchScript interpreter's errors end in their cause
    module.train(false);
    throw Error(ErrorKind::kModel, "training failed in the model's forward or backward (" + line_of(e.what(), true) +
                                       "). Fix: check that the data fit the model's input.");
  }
  module.train(false);
  for (auto& p : parameters) {
    p.mutable_grad() = at::Tensor();
    p.requires_grad_(false);
  }
  return result;
}

}  // namespace fool
