#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace fool {

/// The run's one random generator, seeded, on the device whose tensors it fills. Every random
/// draw of a run goes through it, so a seed fixes the run and a checkpoint can save its state.
at::Generator make_generator(const at::Device& device, uint64_t seed);

/// Resolves "auto" | "cpu" | "cuda" | "cuda:N"; "auto" picks CUDA when available. Throws
/// fool::Error (kUsage) for an unknown name or CUDA on a machine without it.
at::Device resolve_device(const std::string& name);

}  // namespace fool
