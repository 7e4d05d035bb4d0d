#include "fool/model/model.h"

#include <sys/stat.h>
#include <torch/script.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
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
/// fool.json is a model card of a few KB (ImageNet's 1000 labels: 30 KB); a compressed record
/// that unpacks to more is refused before anything is unpacked.
constexpr uint64_t kMaxInfoBytes = 1 << 20;
/// A record that unpacks to more than this and more than kMaxRecordRatio times its packed size is
/// a zip bomb: torch.jit.save stores records uncompressed, and weights do not compress 100-fold.
constexpr uint64_t kMaxPackedRecordBytes = 64ull << 20;
constexpr uint64_t kMaxRecordRatio = 100;
/// Model files are read whole into memory: larger ones are refused before reading.
constexpr uint64_t kMaxModelBytes = 8ull << 30;

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

/// One entry of a zip archive's central directory.
struct ZipEntry {
  std::string name;
  uint64_t packed = 0, unpacked = 0;
};

uint64_t little_endian(const std::string& b, uint64_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<uint64_t>(i)]);
  return v;
}

/// The central directory of the zip archive `b` (zip64 aware, as miniz, LibTorch's reader, reads
/// it), or nothing when `b` is not a zip archive this can read (torch::jit::load then says why).
std::optional<std::vector<ZipEntry>> zip_entries(const std::string& b) {
  const uint64_t size = b.size();
  if (size < 22) return std::nullopt;
  // End of central directory: the last record, followed by a comment of at most 65535 bytes.
  uint64_t end = size - 22;
  const uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (little_endian(b, end, 4) != 0x06054b50) {
    if (end == lowest) return std::nullopt;
    --end;
  }
  uint64_t count = little_endian(b, end + 10, 2), directory = little_endian(b, end + 16, 4);
  if ((count == 0xffff || directory == 0xffffffff) && end >= 20 && little_endian(b, end - 20, 4) == 0x07064b50) {
    const uint64_t end64 = little_endian(b, end - 20 + 8, 8);
    if (size < 56 || end64 > size - 56 || little_endian(b, end64, 4) != 0x06064b50) return std::nullopt;
    count = little_endian(b, end64 + 32, 8);
    directory = little_endian(b, end64 + 48, 8);
  }
  std::vector<ZipEntry> entries;
  uint64_t at = directory;
  for (uint64_t i = 0; i < count; ++i) {
    if (size < 46 || at > size - 46 || little_endian(b, at, 4) != 0x02014b50) return std::nullopt;
    ZipEntry e;
    e.packed = little_endian(b, at + 20, 4);
    e.unpacked = little_endian(b, at + 24, 4);
    const uint64_t name_length = little_endian(b, at + 28, 2), extra_length = little_endian(b, at + 30, 2),
                   comment_length = little_endian(b, at + 32, 2);
    if (at + 46 + name_length + extra_length > size) return std::nullopt;
    e.name = b.substr(at + 46, name_length);
    // Zip64 extended information: the sizes that the fixed fields mark 0xffffffff, in this order.
    const uint64_t extra_end = at + 46 + name_length + extra_length;
    for (uint64_t x = at + 46 + name_length; x + 4 <= extra_end;) {
      const uint64_t id = little_endian(b, x, 2), length = little_endian(b, x + 2, 2);
      if (x + 4 + length > extra_end) break;
      uint64_t field = x + 4;
      if (id == 0x0001) {
        if (e.unpacked == 0xffffffff && field + 8 <= x + 4 + length) {
          e.unpacked = little_endian(b, field, 8);
          field += 8;
        }
        if (e.packed == 0xffffffff && field + 8 <= x + 4 + length) e.packed = little_endian(b, field, 8);
      }
      x += 4 + length;
    }
    entries.push_back(e);
    at += 46 + name_length + extra_length + comment_length;
  }
  return entries;
}

/// Refuses, before LibTorch unpacks anything, a fool.json that unpacks to more than a model card
/// ever needs, and any record that unpacks far beyond its size in the file.
void check_archive(const std::string& bytes, const std::string& source) {
  const auto entries = zip_entries(bytes);
  if (!entries) return;
  const std::string info_suffix = std::string("/extra/") + kInfoFile;
  for (const auto& e : *entries) {
    const bool info = e.name.size() >= info_suffix.size() &&
                      e.name.compare(e.name.size() - info_suffix.size(), info_suffix.size(), info_suffix) == 0;
    if (info && e.unpacked > kMaxInfoBytes) {
      model_error(source, std::string(kInfoFile) + " unpacks to " + std::to_string(e.unpacked) +
                              " bytes, more than the limit of " + std::to_string(kMaxInfoBytes) +
                              " bytes for a model card. Fix: write fool.json as the model contract in README.md "
                              "describes (name, input, labels, outputs).");
    }
    if (e.unpacked > kMaxPackedRecordBytes && e.unpacked / std::max<uint64_t>(1, e.packed) > kMaxRecordRatio) {
      model_error(source, "record '" + e.name + "' unpacks to " + std::to_string(e.unpacked) + " bytes from " +
                              std::to_string(e.packed) + ", more than " + std::to_string(kMaxRecordRatio) +
                              " times its size in the file (a zip bomb, not a TorchScript file). Fix: save the "
                              "model with torch.jit.save.");
    }
  }
}

ModelInfo parse_info(const std::string& json_text, const std::string& source) {
  const std::string fix =
      " Fix: write fool.json as the model contract in README.md describes (scripts/_fool_model.py does).";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    model_error(source, std::string("fool.json is not valid JSON (") + e.what() + ")." + fix);
  }
  ModelInfo info;
  try {
    if (!j.is_object() || j.value("fool_model", 0) != 1)
      model_error(source, "fool.json lacks \"fool_model\": 1." + fix);
    info.name = j.value("name", std::string("unnamed"));
    const auto& input = j.at("input");
    info.input = {input.at("channels").get<int64_t>(), input.at("height").get<int64_t>(),
                  input.at("width").get<int64_t>()};
    info.labels = j.at("labels").get<std::vector<std::string>>();
    std::string outputs = j.value("outputs", std::string("logits"));
    if (outputs != "logits" && outputs != "probabilities") {
      model_error(source,
                  "fool.json \"outputs\" is '" + outputs + "', expected \"logits\" or \"probabilities\"." + fix);
    }
    info.outputs_probabilities = outputs == "probabilities";
    if (j.contains("preprocessing")) info.central_crop = j["preprocessing"].value("central_crop", 1.0);
    if (!(info.central_crop > 0 && info.central_crop <= 1)) {
      model_error(source, "fool.json \"preprocessing\".\"central_crop\" is " + std::to_string(info.central_crop) +
                              ", not a fraction in (0,1]." + fix);
    }
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
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    model_error(path, std::string("cannot open the file (") + std::strerror(errno) +
                          "). Fix: check the path given to --model.");
  }
  if (!S_ISREG(st.st_mode)) model_error(path, "is not a regular file. Fix: pass a TorchScript file to --model.");
  if (static_cast<uint64_t>(st.st_size) > kMaxModelBytes) {
    model_error(path, "is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                          std::to_string(kMaxModelBytes) + " bytes for a model file. Fix: pass a smaller model.");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) model_error(path, "cannot open the file. Fix: check the path given to --model.");
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return load_bytes(bytes, path, device, overrides);
}

Model Model::load_bytes(const std::string& bytes, const std::string& source, const at::Device& device,
                        const ModelOverrides& overrides) {
  check_archive(bytes, source);
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
    model_error(source,
                "has no fool.json inside. Fix: give --input-shape C,H,W (and --labels FILE), or "
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
  if (k == 0) {
    model_error(source, "forward returns no class scores (shape " + c10::str(out.sizes()) +
                            "). Fix: return logits or probabilities of shape [N,K] with K >= 1.");
  }
  if (info->labels.empty()) {
    for (int64_t i = 0; i < k; ++i) info->labels.push_back(std::to_string(i));
  } else if (static_cast<int64_t>(info->labels.size()) != k) {
    model_error(source, "has " + std::to_string(info->labels.size()) + " labels but its forward returns " +
                            std::to_string(k) + " classes. Fix: give exactly one label per output.");
  }
  at::Tensor broken;
  model.check_outputs(out, broken);
  model.throw_if_broken(broken, 2);
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
    model_error(info_->source,
                "forward fails with " + setting + " (" + first_line(e) + "). Fix: run without " + setting + ".");
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
    if (auto oom = out_of_memory_error(e.what())) throw *oom;
    model_error(info_->source, "forward failed (" + cause(e.what(), true) + ").");
  }
  if (!result.isTensor()) {
    model_error(info_->source, "forward returns a " + result.tagKind() + ", expected a tensor [N,K].");
  }
  return result.toTensor();
}

at::Tensor Model::checked_chunk(const at::Tensor& images, at::Tensor& broken, at::Tensor* log_probabilities) const {
  auto out = forward(images);
  if (out.dim() != 2 || out.size(0) != images.size(0) || out.size(1) != num_classes()) {
    model_error(info_->source, "forward returns shape " + c10::str(out.sizes()) + " for a batch of " +
                                   std::to_string(images.size(0)) + " images, expected [" +
                                   std::to_string(images.size(0)) + "," + std::to_string(num_classes()) +
                                   "]. Fix: return one row of " + std::to_string(num_classes()) +
                                   " class scores per image, for any batch size.");
  }
  out = out.to(at::kFloat);
  auto p = info_->outputs_probabilities ? out : at::softmax(out, 1);
  check_outputs(info_->outputs_probabilities ? p : out, broken);
  if (log_probabilities != nullptr)
    *log_probabilities = info_->outputs_probabilities ? p.log() : at::log_softmax(out, 1);
  return p;
}

void Model::check_outputs(const at::Tensor& out, at::Tensor& broken) const {
  // Rows of probabilities sum to 1 within float rounding (a little more at bf16/fp16); logits may
  // be anything finite. NaN fails every comparison, so each rule is written as "not ok".
  if (out.numel() == 0) return;
  const double tolerance = precision_ == Precision::kFloat32 ? 1e-3 : 2e-2;
  const auto scores = out.to(at::kFloat);
  auto flags = at::isfinite(scores).all().logical_not().to(at::kInt);
  if (info_->outputs_probabilities) {
    auto [low, high] = at::aminmax(scores);
    const auto in_range = (low >= -tolerance).logical_and(high <= 1.0 + tolerance);
    const auto sums_to_one = (scores.sum(1) - 1.0).abs().amax() <= tolerance;
    flags = flags.bitwise_or(in_range.logical_not().to(at::kInt).mul(2))
                .bitwise_or(sums_to_one.logical_not().to(at::kInt).mul(4));
  }
  broken = broken.defined() ? broken.bitwise_or(flags) : flags;
}

void Model::throw_if_broken(const at::Tensor& broken, int64_t images) const {
  if (!broken.defined()) return;
  const int flags = broken.item<int>();  // the one host synchronisation of a batch
  if (flags == 0) return;
  std::string what = (flags & 1)   ? "NaN or infinite values"
                     : (flags & 2) ? "probabilities outside [0,1]"
                                   : "probability rows that do not sum to 1";
  model_error(info_->source,
              "forward breaks the model contract on a batch of " + std::to_string(images) +
                  " images: its outputs hold " + what + ". Fix: return finite " +
                  (info_->outputs_probabilities ? "probabilities (rows in [0,1] summing to 1)" : "logits") +
                  ", or declare \"outputs\" correctly in fool.json.");
}

at::Tensor Model::probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& broken) const {
  at::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  if (batch_size <= 0 || batch_size >= n) return checked_chunk(images, broken);
  auto result = at::empty({n, num_classes()}, images.options().dtype(at::kFloat));
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    result.slice(0, begin, end).copy_(checked_chunk(images.slice(0, begin, end), broken));
  }
  return result;
}

at::Tensor Model::probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& broken,
                                at::Tensor& log_probabilities) const {
  at::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  if (batch_size <= 0 || batch_size >= n) return checked_chunk(images, broken, &log_probabilities);
  auto result = at::empty({n, num_classes()}, images.options().dtype(at::kFloat));
  log_probabilities = at::empty({n, num_classes()}, images.options().dtype(at::kFloat));
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    at::Tensor log_p;
    result.slice(0, begin, end).copy_(checked_chunk(images.slice(0, begin, end), broken, &log_p));
    log_probabilities.slice(0, begin, end).copy_(log_p);
  }
  return result;
}

at::Tensor Model::probabilities(const at::Tensor& images, int64_t batch_size) const {
  at::Tensor broken;
  auto result = probabilities(images, batch_size, broken);
  throw_if_broken(broken, images.size(0));
  return result;
}

}  // namespace fool
