#include "fool/search/random.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/cuda.h>

#include "fool/util/error.h"

namespace fool {

at::Generator make_generator(const at::Device& device, uint64_t seed) {
  if (device.is_cuda()) {
    // The device's default CUDA generator, reseeded: one run per process.
    // (Context::defaultGenerator and torch::cuda are the APIs that LibTorch 1.13 and 2.x share.)
    at::Generator gen =
        at::globalContext().defaultGenerator(at::Device(at::kCUDA, device.index() < 0 ? 0 : device.index()));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
    return gen;
  }
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

at::Device resolve_device(const std::string& name) {
  const bool cuda_available = torch::cuda::is_available();
  if (name == "auto") return cuda_available ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!cuda_available) {
      throw Error(ErrorKind::kUsage, "--device " + name +
                                         ": this LibTorch build or machine has no CUDA device. "
                                         "Fix: use --device cpu (or auto).");
    }
    try {
      at::Device device(name);
      // A bare "cuda" has no index (-1); name the device so that everything on it, the allocator's
      // statistics included, refers to one device.
      if (!device.has_index()) device.set_index(0);
      const auto count = static_cast<int64_t>(torch::cuda::device_count());
      if (device.index() >= count) {
        throw Error(ErrorKind::kUsage, "--device " + name + ": this machine has " + std::to_string(count) +
                                           " CUDA device(s). Fix: use cuda:0 to cuda:" + std::to_string(count - 1) +
                                           ".");
      }
      return device;
    } catch (const c10::Error&) {
    }
  }
  throw Error(ErrorKind::kUsage, "--device '" + name + "' is not a device. Fix: use auto, cpu, cuda or cuda:N.");
}

}  // namespace fool
