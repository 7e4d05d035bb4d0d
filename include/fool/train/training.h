#pragma once
// Training a contract model (fool/model/model.h) in C++ on its own TorchScript module: the
// retraining half of the paper (PAPER.md §2.4). A classifier gains a `fooling` output, is trained
// with SGD on labelled images (fine-tuned from its weights, or from re-initialised ones as the
// paper did), and is saved again as a normal contract model.
#include <torch/script.h>

#include <atomic>
#include <cstdint>

namespace fool {

/// Images [N,C,H,W] float32 in [0,1] with their classes [N] int64, on the CPU.
struct LabelledImages {
  at::Tensor images;
  at::Tensor labels;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

struct TrainOptions {
  int64_t epochs = 2;
  int64_t batch_size = 64;
  double learning_rate = 0.01;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  uint64_t seed = 1;  ///< the order of the examples (and re-initialised weights)
};

struct TrainResult {
  int64_t steps = 0;     ///< optimiser steps taken
  double last_loss = 0;  ///< mean cross-entropy of the last epoch
  bool stopped = false;  ///< a stop signal ended it early (the module is then half-trained)
};

/// Adds one output to the module's classifier, the last parameter of rank >= 2 whose first size is
/// `classes` (a Linear's weight [K,H], or a 1x1 convolution's [K,H,1,1]), and its bias [K] when it
/// has one: the new row is drawn as PyTorch draws a fresh layer's (uniform in ±1/sqrt(fan_in)),
/// the old rows are kept. Throws fool::Error (kModel) when no parameter has `classes` rows.
void add_output(torch::jit::Module& module, int64_t classes, uint64_t seed);

/// Draws every parameter again as PyTorch initialises a fresh layer: weights of rank >= 2 and their
/// biases uniform in ±1/sqrt(fan_in), normalisation scales 1 and shifts 0; BatchNorm statistics
/// reset. Other buffers (constants a converter stored) are kept.
void reinitialise(torch::jit::Module& module, uint64_t seed);

/// Trains `module` in place with SGD (momentum, weight decay) on `data` for options.epochs passes
/// in a seeded order, minimising cross-entropy of its logits (or of the log of its outputs when
/// `outputs_probabilities`). `stop_signal`, when non-zero, ends it after the current step. Leaves
/// the module in eval mode with no gradients required. Throws fool::Error (kModel) when the forward
/// fails or the loss becomes NaN, (kUsage) for empty data or bad options.
TrainResult train_classifier(torch::jit::Module& module, bool outputs_probabilities, const LabelledImages& data,
                             const TrainOptions& options, const std::atomic<int>* stop_signal = nullptr);

}  // namespace fool
