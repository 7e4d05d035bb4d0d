#include "fool/model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "fool/util/error.h"

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FOOL_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace fool {
namespace {

bool autocast_enabled(at::DeviceType type) {
#ifdef FOOL_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(type);
#else
  return type == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast(at::DeviceType type, bool enabled, at::ScalarType dtype) {
#ifdef FOOL_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(type, dtype);
  at::autocast::set_autocast_enabled(type, enabled);
#else
  if (type == at::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

at::ScalarType autocast_dtype(at::DeviceType type) {
#ifdef FOOL_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(type);
#else
  return type == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

}  // namespace

Precision precision_from_name(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  if (name == "fp16") return Precision::kFloat16;
  throw Error(ErrorKind::kUsage,
              "unknown precision '" + name + "'. Fix: --precision takes fp32, bf16 or fp16 (CUDA only).");
}

std::string precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFloat32:
      return "fp32";
    case Precision::kBFloat16:
      return "bf16";
    case Precision::kFloat16:
      return "fp16";
  }
  return "unknown";
}

void check_precision(Precision precision, const at::Device& device) {
  if (precision == Precision::kFloat16 && !device.is_cuda()) {
    throw Error(ErrorKind::kUsage, "--precision fp16 needs a CUDA device, and this run is on " + device.str() +
                                       ". Fix: use --precision bf16 on the CPU, or --device cuda.");
  }
}

AutocastScope::AutocastScope(Precision precision, const at::Device& device)
    : type_(device.is_cuda() ? at::kCUDA : at::kCPU) {
  was_enabled_ = autocast_enabled(type_);
  active_ = precision != Precision::kFloat32 || was_enabled_;  // fp32 also switches an outer autocast off
  if (!active_) return;
  previous_dtype_ = autocast_dtype(type_);
  const bool lower = precision != Precision::kFloat32;
  set_autocast(type_, lower, precision == Precision::kFloat16 ? at::kHalf : lower ? at::kBFloat16 : previous_dtype_);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast(type_, was_enabled_, previous_dtype_);
}

}  // namespace fool
