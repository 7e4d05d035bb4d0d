#pragma once
// A classifier under attack, loaded once per process (PAPER.md §3: never rebuilt per image).
//
// The model contract: a TorchScript module whose forward takes float32 [N,C,H,W] in [0,1]
// (C = 1 gray or 3 RGB; the module normalises on its own) and returns [N,K] logits, or
// probabilities when it ends in a softmax. The extra file `fool.json` inside it describes it:
//   {"fool_model": 1, "name": "...", "input": {"channels": C, "height": H, "width": W},
//    "labels": [K strings], "outputs": "logits" | "probabilities"}
#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fool/model/precision.h"

namespace fool {

struct ImageShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t numel() const { return channels * height * width; }
};

struct ModelInfo {
  std::string name;
  std::string source;  ///< file path, or "bundled:<name>" for the embedded default
  std::string sha256;  ///< of the model file's bytes
  ImageShape input;
  std::vector<std::string> labels;  ///< K entries
  bool outputs_probabilities = false;
  double central_crop = 1.0;  ///< preferred evaluation crop of natural photos (fool.json "preprocessing")
  int64_t parameters = 0;     ///< elements of the module's parameters
  int64_t buffers = 0;  ///< elements of its buffers: BatchNorm statistics, or weights a converter stored as buffers
};

/// What the command line may override when a file lacks fool.json.
struct ModelOverrides {
  std::optional<ImageShape> input_shape;  ///< --input-shape C,H,W
  std::vector<std::string> labels;        ///< --labels FILE (empty: keep)
};

class Model {
 public:
  /// Loads a TorchScript file onto `device`, reads fool.json, and runs one forward on the declared
  /// shape to check the contract. Throws fool::Error (kModel) naming the problem and the fix.
  static Model load(const std::string& path, const at::Device& device, const ModelOverrides& overrides = {});
  /// Same, from bytes in memory (the bundled model); `source` names it in messages.
  static Model load_bytes(const std::string& bytes, const std::string& source, const at::Device& device,
                          const ModelOverrides& overrides = {});

  /// The model forwarding at `precision` (fool/model/precision.h) and, with `channels_last`, in
  /// channels-last memory order (NHWC: its 4-D weights and every input batch laid out so, which
  /// the CPU's oneDNN and the GPU's cuDNN fp16 tensor cores favour for convolutions; the same
  /// numbers up to float rounding). Any change gives a copy of the module of its own, loaded again
  /// from the file's bytes and checked with one forward. Throws fool::Error (kUsage) when the
  /// device cannot run the precision, (kModel) when the forward fails so.
  Model with_forward(Precision precision, bool channels_last) const;
  Model with_precision(Precision precision) const;     ///< with_forward(precision, channels_last())
  Model with_channels_last(bool channels_last) const;  ///< with_forward(precision(), channels_last)
  Precision precision() const { return precision_; }
  bool channels_last() const { return channels_last_; }

  const ModelInfo& info() const { return *info_; }
  const at::Device& device() const { return device_; }
  int64_t num_classes() const { return static_cast<int64_t>(info_->labels.size()); }

  /// images: [N,C,H,W] float32 in [0,1] on device(). Returns [N,K] float32 softmax probabilities
  /// (of the logits turned to float32 when the forward runs at a lower precision),
  /// evaluated in chunks of at most `batch_size` images (0: all at once). The outputs are checked
  /// against the contract: a chunk's shape other than [n,K] throws fool::Error (kModel) at once;
  /// NaN or infinite outputs, and "probabilities" outside [0,1] or rows not summing to 1, are
  /// checked on the device per chunk and throw (kModel) after the last one (one host sync).
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size = 0) const;
  /// The same without the host sync: ORs into `broken` (an int scalar on device(); undefined: set
  /// here) which contract rules the chunks broke. throw_if_broken(broken, N) checks it later, so
  /// that a caller scoring a batch in several calls synchronises once.
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& broken) const;
  /// The same, also setting `log_probabilities` to [N,K] float32 log-probabilities from the same
  /// forward: log-softmax of the logits, finite where a probability underflows to 0 or rounds to 1
  /// (a model that outputs probabilities: their logarithm).
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& broken,
                           at::Tensor& log_probabilities) const;
  /// Throws fool::Error (kModel) naming the rule when `broken` (from probabilities) is non-zero.
  void throw_if_broken(const at::Tensor& broken, int64_t images) const;
  /// The raw module output for one chunk ([N,K], logits or probabilities as declared; bf16 or
  /// fp16 at those precisions).
  at::Tensor forward(const at::Tensor& images) const;
  /// [N,K] float32 probabilities of `images` with autograd on, in one batch: for gradients with
  /// respect to the images (PAPER.md §2.2). The weights never require gradients.
  at::Tensor differentiable_probabilities(const at::Tensor& images) const;

 private:
  struct Impl;
  Model(std::shared_ptr<Impl> impl, std::shared_ptr<ModelInfo> info, at::Device device);
  std::shared_ptr<Impl> impl_;
  std::shared_ptr<ModelInfo> info_;
  at::Device device_;
  Precision precision_ = Precision::kFloat32;
  bool channels_last_ = false;
  /// The module's forward on one batch, under the model's precision and layout, with whatever
  /// gradient mode the caller has set.
  at::Tensor run_module(const at::Tensor& images) const;
  /// A fresh copy of the module, from the file's bytes, laid out for channels_last_.
  std::shared_ptr<Impl> reload() const;
  /// One forward of two blank images as configured; throws fool::Error (kModel) naming `setting`.
  void check_forward(const std::string& setting) const;
  /// One chunk's forward, its shape checked, as float32 probabilities; contract flags into `broken`.
  at::Tensor checked_chunk(const at::Tensor& images, at::Tensor& broken, at::Tensor* log_probabilities = nullptr) const;
  /// ORs into `broken` the contract rules that the raw outputs `out` [n,K] break (bit 1: NaN or
  /// infinite, 2: probabilities outside [0,1], 4: rows not summing to 1).
  void check_outputs(const at::Tensor& out, at::Tensor& broken) const;
};

/// The LeNet bundled in the binary (models/lenet_mnist.pt): its bytes.
const std::string& bundled_model_bytes();
constexpr const char* kBundledModelName = "bundled:lenet_mnist";

}  // namespace fool
