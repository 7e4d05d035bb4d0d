#include "fool/model/model.h"

#include <torch/script.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "fool/util/error.h"
#include "fool/util/sha256.h"

namespace fool {

struct Model::Impl {
  mutable torch::jit::Module module;
  std::shared_ptr<const std::string> bytes;  ///< the file, for a copy at another precision or layout
};

namespace {

constexpr const char* kInfoFile = "fool.json";

[[noreturn]] void model_error(const std::string& source, const std::string& what) {
  throw Error(ErrorKind::kModel, "model '" + source + "': " + what);
}

/// The line of an error message that says what went wrong: a LibTorch error's first line
/// (the rest is a C++ backtrace), or the last non-empty line of a TorchScript interpreter error
/// (the rest is a TorchScript traceback; the last line reads "RuntimeError: <cause>").
std::string cause(const std::string& text, bool last) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(line);
  }
  if (lines.empty()) return text;
  std::string line = last ? lines.back() : lines.front();
  line.erase(0, line.find_first_not_of(" \t"));
  return line;
}

std::string first_line(const c10::Error& e) { return cause(e.what_without_backtrace(), false); }

ModelInfo parse_info(const std::string& json_text, const std::string& source) {
  const std::string fix = " Fix: write fool.json as the model contract in README.md describes (scripts/_fool_model.py does).";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    model_error(source, std::string("fool.json is not valid JSON (") + e.what() + ")." + fix);
  }
  ModelInfo info;
  try {
    if (!j.is_object() || j.value("fool_model", 0) != 1) model_error(source, "fool.json lacks \"fool_model\": 1." + fix);
    info.name = j.value("name", std::string("unnamed"));
    const auto& input = j.at("input");
    info.input = {input.at("channels").get<int64_t>(), input.at("height").get<int64_t>(),
                  input.at("width").get<int64_t>()};
    info.labels = j.at("labels").get<std::vector<std::string>>();
    std::string outputs = j.value("outputs", std::string("logits"));
    if (outputs != "logits" && outputs != "probabilities") {
      model_error(source, "fool.json \"outputs\" is '" + outputs + "', expected \"logits\" or \"probabilities\"." + fix);
    }
    info.outputs_probabilities = outputs == "probabilities";
    if (j.contains("preprocessing")) info.central_crop = j["preprocessing"].value("central_crop", 1.0);
  } catch (const nlohmann::json::exception& e) {
    model_error(source, std::string("fool.json is incomplete (") + e.what() + ")." + fix);
  }
  return info;
}

void validate_shape(const ImageShape& s, const std::string& source) {
  if ((s.channels != 1 && s.channels != 3) || s.height < 1 || s.width < 1 || s.height > 4096 || s.width > 4096) {
    model_error(source, "input shape " + std::to_string(s.channels) + "," + std::to_string(s.height) + "," +
                            std::to_string(s.width) + " is not supported: channels must be 1 or 3 and sides 1..4096.");
  }
}

}  // namespace

Model::Model(std::shared_ptr<Impl> impl, std::shared_ptr<ModelInfo> info, at::Device device)
    : impl_(std::move(impl)), info_(std::move(info)), device_(device) {}

Model Model::load(const std::string& path, const at::Device& device, const ModelOverrides& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) model_error(path, "cannot open the file. Fix: check the path given to --model.");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return load_bytes(buffer.str(), path, device, overrides);
}

Model Model::load_bytes(const std::string& bytes, const std::string& source, const at::Device& device,
                        const ModelOverrides& overrides) {
  auto impl = std::make_shared<Impl>();
  impl->bytes = std::make_shared<const std::string>(bytes);
  std::unordered_map<std::string, std::string> extra{{kInfoFile, ""}};
  try {
    std::istringstream stream(bytes);
    impl->module = torch::jit::load(stream, device, extra);
  } catch (const c10::Error& e) {
    model_error(source, "not a readable TorchScript file (" + first_line(e) +
                            "). Fix: pass a file saved with torch.jit.save, e.g. by scripts/train_lenet.py.");
  } catch (const std::exception& e) {
    model_error(source, std::string("not a readable TorchScript file (") + e.what() +
                            "). Fix: pass a file saved with torch.jit.save.");
  }
  impl->module.eval();
  for (auto p : impl->module.parameters()) p.requires_grad_(false);  // fool never trains a loaded model

  auto info = std::make_shared<ModelInfo>();
  if (!extra[kInfoFile].empty()) {
    *info = parse_info(extra[kInfoFile], source);
  } else if (!overrides.input_shape) {
    model_error(source, "has no fool.json inside. Fix: give --input-shape C,H,W (and --labels FILE), or "
                        "save the model with fool.json as README.md describes.");
  } else {
    info->name = source;
  }
  if (overrides.input_shape) info->input = *overrides.input_shape;
  if (!overrides.labels.empty()) info->labels = overrides.labels;
  validate_shape(info->input, source);
  info->source = source;
  info->sha256 = sha256_hex(bytes.data(), bytes.size());
  for (const auto& p : impl->module.parameters()) info->parameters += p.numel();
  for (const auto& b : impl->module.buffers()) info->buffers += b.numel();

  Model model(impl, info, device);
  // The contract check: one forward of two images of the declared shape.
  at::Tensor out;
  const auto& s = info->input;
  try {
    at::NoGradGuard no_grad;
    auto result = impl->module.forward({at::zeros({2, s.channels, s.height, s.width}, at::TensorOptions(device))});
    if (!result.isTensor()) model_error(source, "forward returns a " + result.tagKind() + ", expected a tensor [N,K].");
    out = result.toTensor();
  } catch (const c10::Error& e) {
    model_error(source, "forward fails on the declared input [N," + std::to_string(s.channels) + "," +
                            std::to_string(s.height) + "," + std::to_string(s.width) + "] (" + first_line(e) +
                            "). Fix: declare the input shape the model takes (fool.json or --input-shape).");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    model_error(source, "forward fails on the declared input [N," + std::to_string(s.channels) + "," +
                            std::to_string(s.height) + "," + std::to_string(s.width) + "] (" + cause(e.what(), true) +
                            "). Fix: declare the input shape the model takes (fool.json or --input-shape).");
  }
  if (out.dim() != 2 || out.size(0) != 2) {
    model_error(source, "forward returns shape " + c10::str(out.sizes()) +
                            ", expected [N,K] class scores. Fix: return logits or probabilities of shape [N,K].");
  }
  const int64_t k = out.size(1);
  if (info->labels.empty()) {
    for (int64_t i = 0; i < k; ++i) info->labels.push_back(std::to_string(i));
  } else if (static_cast<int64_t>(info->labels.size()) != k) {
    model_error(source, "has " + std::to_string(info->labels.size()) + " labels but its forward returns " +
                            std::to_string(k) + " classes. Fix: give exactly one label per output.");
  }
  return model;
}

std::shared_ptr<Model::Impl> Model::reload() const {
  auto impl = std::make_shared<Impl>();
  impl->bytes = impl_->bytes;
  std::istringstream stream(*impl_->bytes);
  impl->module = torch::jit::load(stream, device_);
  impl->module.eval();
  for (auto p : impl->module.parameters()) p.requires_grad_(false);  // fool never trains a loaded model
  if (channels_last_) {
    at::NoGradGuard no_grad;
    for (auto t : impl->module.parameters()) {
      if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
    }
    for (auto t : impl->module.buffers()) {
      if (t.dim() == 4) t.set_data(t.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  return impl;
}

void Model::check_forward(const std::string& setting) const {
  const auto& s = info_->input;
  try {
    forward(at::zeros({2, s.channels, s.height, s.width}, at::TensorOptions(device_)));
  } catch (const c10::Error& e) {
    model_error(info_->source, "forward fails with " + setting + " (" + first_line(e) + "). Fix: run without " +
                                   setting + ".");
  }
}

Model Model::with_forward(Precision precision, bool channels_last) const {
  check_precision(precision, device_);
  Model model = *this;
  if (precision == precision_ && channels_last == channels_last_) return model;
  // A module of its own: TorchScript's autocast pass writes the casts of the first precision a
  // module runs at into its optimised graph (it keys graphs by autocast on/off, not by dtype).
  model.precision_ = precision;
  model.channels_last_ = channels_last;
  model.impl_ = model.reload();
  std::string setting;
  if (precision != precision_) setting = "--precision " + precision_name(precision);
  if (channels_last != channels_last_) setting += std::string(setting.empty() ? "" : " ") + "--channels-last";
  model.check_forward(setting);
  return model;
}

Model Model::with_precision(Precision precision) const { return with_forward(precision, channels_last_); }

Model Model::with_channels_last(bool channels_last) const { return with_forward(precision_, channels_last); }

at::Tensor Model::forward(const at::Tensor& images) const {
  at::NoGradGuard no_grad;
  return run_module(images);
}

at::Tensor Model::differentiable_probabilities(const at::Tensor& images) const {
  // The module's weights never need gradients (load turns them off): autograd computes only the
  // gradient with respect to the images.
  auto out = run_module(images).to(at::kFloat);
  return info_->outputs_probabilities ? out : at::softmax(out, 1);
}

at::Tensor Model::run_module(const at::Tensor& images) const {
  const AutocastScope autocast(precision_, device_);
  c10::IValue result;
  try {
    result = impl_->module.forward(
        {channels_last_ && images.dim() == 4 ? images.contiguous(at::MemoryFormat::ChannelsLast) : images});
  } catch (const c10::Error& e) {
    throw;  // the contract check in load_bytes names it; elsewhere main does
  } catch (const std::exception& e) {
    // TorchScript interpreter errors carry a whole traceback: keep the cause.
    model_error(info_->source, "forward failed (" + cause(e.what(), true) + ").");
  }
  if (!result.isTensor()) {
    model_error(info_->source, "forward returns a " + result.tagKind() + ", expected a tensor [N,K].");
  }
  return result.toTensor();
}

at::Tensor Model::probabilities(const at::Tensor& images, int64_t batch_size) const {
  at::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  if (batch_size <= 0 || batch_size >= n) {
    auto out = forward(images).to(at::kFloat);
    return info_->outputs_probabilities ? out : at::softmax(out, 1);
  }
  auto result = at::empty({n, num_classes()}, images.options().dtype(at::kFloat));
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    auto out = forward(images.slice(0, begin, end)).to(at::kFloat);
    result.slice(0, begin, end).copy_(info_->outputs_probabilities ? out : at::softmax(out, 1));
  }
  return result;
}

}  // namespace fool
