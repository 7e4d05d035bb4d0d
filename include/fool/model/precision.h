#pragma once
// The arithmetic of the model's forward pass. fp32 is exact float32; bf16 and fp16 run under
// LibTorch's autocast: convolutions and matrix products take bf16/fp16 inputs (weights stored as
// graph constants or buffers included), the numerically sensitive operations stay float32, and
// fool always turns the output into float32 probabilities. fp16 needs a CUDA device; the CPU
// runs bf16 (emulated where the processor lacks bf16 instructions, so slower, but it shows the
// effect on confidences before a GPU run).
#include <ATen/ATen.h>

#include <string>

namespace fool {

enum class Precision { kFloat32, kBFloat16, kFloat16 };

/// "fp32", "bf16" or "fp16". Throws fool::Error (kUsage) for other names.
Precision precision_from_name(const std::string& name);
std::string precision_name(Precision precision);
/// Throws fool::Error (kUsage) when `device` cannot run `precision` (fp16 on the CPU).
void check_precision(Precision precision, const at::Device& device);

/// Autocast at `precision` on `device` for the lifetime of the scope (fp32: autocast off); restores
/// the previous state and clears autocast's cast cache when it ends. TorchScript modules go
/// through TorchScript's own autocast pass, which also lowers traced `aten::_convolution` (eager
/// CPU autocast does not); it fixes the casts of the first precision a module runs at, so each
/// precision needs its own copy of the module (Model::with_forward loads one).
class AutocastScope {
 public:
  AutocastScope(Precision precision, const at::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  at::DeviceType type_ = at::kCPU;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

}  // namespace fool
