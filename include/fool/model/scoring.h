#pragma once
// How a rendered image becomes a confidence vector: the model's softmax, optionally averaged over
// the paper's ten crops (PAPER.md §3: the four corners and the centre, each also mirrored), and
// optionally rendered at another resolution than the model's input.
#include <ATen/ATen.h>

#include "fool/model/model.h"

namespace fool {

struct ScoringOptions {
  int64_t crops = 1;        ///< 1: the whole image; 10: corners + centre + mirrors, probabilities averaged
  int64_t render_size = 0;  ///< square side the encodings render at; 0: the model's input size
};

class Scorer {
 public:
  /// Throws fool::Error (kUsage) for a crop count other than 1 or 10, or a render size smaller than
  /// the model's input when cropping.
  Scorer(const Model& model, ScoringOptions options);

  /// The size images are rendered at.
  int64_t render_height() const { return render_height_; }
  int64_t render_width() const { return render_width_; }
  /// images: [N,C,render_height,render_width] in [0,1] on the model's device → [N,K] probabilities.
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size) const;
  /// The same, in one batch with autograd on (the images' gradient flows through the crops).
  at::Tensor differentiable_probabilities(const at::Tensor& images) const;
  /// The images the model sees: [N·crops, C, H, W].
  at::Tensor model_inputs(const at::Tensor& images) const;
  const Model& model() const { return model_; }
  const ScoringOptions& options() const { return options_; }

 private:
  const Model& model_;
  ScoringOptions options_;
  int64_t render_height_, render_width_;
};

}  // namespace fool
