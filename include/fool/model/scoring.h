#pragma once
// How a rendered image becomes a confidence vector: the model's softmax, optionally averaged over
// the paper's ten crops (PAPER.md §3: the four corners and the centre, each also mirrored), and
// optionally rendered at another resolution than the model's input. Several models are fooled at
// once through one Scorer: a class's fitness is then the minimum (or mean) of its probability over
// the models.
#include <ATen/ATen.h>

#include <vector>

#include "fool/model/model.h"

namespace fool {

struct ScoringOptions {
  int64_t crops = 1;        ///< 1: the whole image; 10: corners + centre + mirrors, probabilities averaged
  int64_t render_size = 0;  ///< square side the encodings render at; 0: the model's input size
};

/// How several models' probabilities of a class make one fitness.
enum class EnsembleFitness {
  kMin,   ///< the least convinced model decides: every model must be fooled
  kMean,  ///< the average probability
};

class Scorer {
 public:
  /// Throws fool::Error (kUsage) for a crop count other than 1 or 10, or a render size smaller than
  /// the model's input when cropping.
  Scorer(const Model& model, ScoringOptions options);
  /// Several models (at least one, the first one's input and classes for all), combined by
  /// `fitness`. Throws fool::Error (kUsage) when their inputs or class counts differ.
  Scorer(std::vector<const Model*> models, ScoringOptions options, EnsembleFitness fitness);

  /// The size images are rendered at.
  int64_t render_height() const { return render_height_; }
  int64_t render_width() const { return render_width_; }
  /// images: [N,C,render_height,render_width] in [0,1] on the model's device → [N,K] probabilities
  /// (several models: their minimum or mean, per class).
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size) const;
  /// The same, also setting `log_probabilities` [N,K] from the same forwards (log-softmax: finite
  /// where a probability underflows to 0 or rounds to 1; crops and models combined in log space).
  at::Tensor probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& log_probabilities) const;
  /// Each model's own [N,K] probabilities, in the order of models().
  std::vector<at::Tensor> model_probabilities(const at::Tensor& images, int64_t batch_size) const;
  /// The same, in one batch with autograd on (the images' gradient flows through the crops).
  at::Tensor differentiable_probabilities(const at::Tensor& images) const;
  /// The images the model sees: [N·crops, C, H, W].
  at::Tensor model_inputs(const at::Tensor& images) const;
  /// The first model: its device, input and labels are the run's.
  const Model& model() const { return *models_.front(); }
  const std::vector<const Model*>& models() const { return models_; }
  EnsembleFitness fitness() const { return fitness_; }
  const ScoringOptions& options() const { return options_; }

 private:
  std::vector<const Model*> models_;
  ScoringOptions options_;
  EnsembleFitness fitness_ = EnsembleFitness::kMin;
  at::Tensor one_model(const Model& model, const at::Tensor& images, int64_t batch_size,
                       at::Tensor* log_probabilities = nullptr) const;
  at::Tensor combine(const std::vector<at::Tensor>& probabilities) const;
  at::Tensor combine_log(const std::vector<at::Tensor>& log_probabilities) const;
  int64_t render_height_, render_width_;
};

}  // namespace fool
