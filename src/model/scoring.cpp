#include "fool/model/scoring.h"

#include <cmath>
#include <utility>

#include "fool/util/error.h"

namespace fool {

Scorer::Scorer(const Model& model, ScoringOptions options)
    : Scorer(std::vector<const Model*>{&model}, options, EnsembleFitness::kMin) {}

Scorer::Scorer(std::vector<const Model*> models, ScoringOptions options, EnsembleFitness fitness)
    : models_(std::move(models)), options_(options), fitness_(fitness) {
  FOOL_CHECK(!models_.empty(), "a Scorer needs a model");
  const Model& first = *models_.front();
  for (const Model* m : models_) {
    const auto& a = first.info().input;
    const auto& b = m->info().input;
    if (b.channels != a.channels || b.height != a.height || b.width != a.width ||
        m->num_classes() != first.num_classes()) {
      throw Error(ErrorKind::kUsage, "model '" + m->info().source + "' takes " + std::to_string(b.channels) + "x" +
                                         std::to_string(b.height) + "x" + std::to_string(b.width) + " images into " +
                                         std::to_string(m->num_classes()) + " classes, but model '" +
                                         first.info().source + "' " + std::to_string(a.channels) + "x" +
                                         std::to_string(a.height) + "x" + std::to_string(a.width) + " into " +
                                         std::to_string(first.num_classes()) +
                                         ". Fix: fool models of the same input and classes together.");
    }
    if (m->device() != first.device()) {
      throw Error(ErrorKind::kUsage, "the models are on different devices. Fix: one --device for all.");
    }
  }
  const auto& input = first.info().input;
  if (options_.crops != 1 && options_.crops != 10) {
    throw Error(ErrorKind::kUsage, "--crops must be 1 (whole image) or 10 (corners, centre and their mirrors).");
  }
  if (options_.render_size < 0)
    throw Error(ErrorKind::kUsage, "--render-size must be >= 0 (0: the model's input size).");
  render_height_ = options_.render_size > 0 ? options_.render_size : input.height;
  render_width_ = options_.render_size > 0 ? options_.render_size : input.width;
  if (options_.crops == 10 && options_.render_size == 0) {
    // The paper's ratio: 256-pixel images, 227-pixel crops.
    render_height_ = (input.height * 256 + 226) / 227;
    render_width_ = (input.width * 256 + 226) / 227;
  }
  if (options_.crops == 10 && (render_height_ < input.height || render_width_ < input.width)) {
    throw Error(ErrorKind::kUsage, "--render-size " + std::to_string(options_.render_size) +
                                       " is smaller than the model's input; ten crops need a larger image.");
  }
}

at::Tensor Scorer::model_inputs(const at::Tensor& images) const {
  const auto& input = model().info().input;
  if (options_.crops == 1) {
    if (images.size(2) == input.height && images.size(3) == input.width) return images;
    return at::upsample_bilinear2d(images, {input.height, input.width}, /*align_corners=*/false);
  }
  const int64_t h = input.height, w = input.width;
  const int64_t dy = images.size(2) - h, dx = images.size(3) - w;
  const int64_t origins[5][2] = {{0, 0}, {0, dx}, {dy, 0}, {dy, dx}, {dy / 2, dx / 2}};
  std::vector<at::Tensor> crops;
  for (const auto& o : origins) {
    auto crop = images.slice(2, o[0], o[0] + h).slice(3, o[1], o[1] + w);
    crops.push_back(crop);
    crops.push_back(crop.flip({3}));
  }
  // [N,10,C,H,W] → [N·10,C,H,W], the ten crops of an image adjacent.
  return at::stack(crops, 1).flatten(0, 1);
}

at::Tensor Scorer::combine(const std::vector<at::Tensor>& probabilities) const {
  if (probabilities.size() == 1) return probabilities.front();
  const auto stacked = at::stack(probabilities, 0);
  return fitness_ == EnsembleFitness::kMin ? std::get<0>(stacked.min(0)) : stacked.mean(0);
}

at::Tensor Scorer::combine_log(const std::vector<at::Tensor>& log_probabilities) const {
  if (log_probabilities.size() == 1) return log_probabilities.front();
  const auto stacked = at::stack(log_probabilities, 0);
  if (fitness_ == EnsembleFitness::kMin) return std::get<0>(stacked.min(0));
  return at::logsumexp(stacked, 0) - std::log(static_cast<double>(log_probabilities.size()));
}

at::Tensor Scorer::probabilities(const at::Tensor& images, int64_t batch_size) const {
  return combine(model_probabilities(images, batch_size));
}

at::Tensor Scorer::probabilities(const at::Tensor& images, int64_t batch_size, at::Tensor& log_probabilities) const {
  std::vector<at::Tensor> p, log_p;
  for (const Model* m : models_) {
    at::Tensor l;
    p.push_back(one_model(*m, images, batch_size, &l));
    log_p.push_back(l);
  }
  log_probabilities = combine_log(log_p);
  return combine(p);
}

std::vector<at::Tensor> Scorer::model_probabilities(const at::Tensor& images, int64_t batch_size) const {
  std::vector<at::Tensor> out;
  for (const Model* m : models_) out.push_back(one_model(*m, images, batch_size));
  return out;
}

at::Tensor Scorer::one_model(const Model& m, const at::Tensor& images, int64_t batch_size,
                             at::Tensor* log_probabilities) const {
  const int64_t n = images.size(0);
  const int64_t chunk = batch_size > 0 ? batch_size : n;
  at::Tensor broken;  // checked once for the whole batch: one host sync
  if (options_.crops == 1) {
    if (log_probabilities == nullptr) return m.probabilities(model_inputs(images), batch_size);
    auto p = m.probabilities(model_inputs(images), batch_size, broken, *log_probabilities);
    m.throw_if_broken(broken, n);
    return p;
  }
  // Crop per chunk of images so that only one chunk of crops exists at a time.
  const int64_t images_per_chunk = std::max<int64_t>(1, chunk / options_.crops);
  auto result = at::empty({n, m.num_classes()}, images.options().dtype(at::kFloat));
  if (log_probabilities != nullptr) *log_probabilities = at::empty_like(result);
  const double log_crops = std::log(static_cast<double>(options_.crops));
  for (int64_t begin = 0; begin < n; begin += images_per_chunk) {
    const int64_t end = std::min(n, begin + images_per_chunk);
    at::Tensor log_p;
    auto p = log_probabilities == nullptr
                 ? m.probabilities(model_inputs(images.slice(0, begin, end)), 0, broken)
                 : m.probabilities(model_inputs(images.slice(0, begin, end)), 0, broken, log_p);
    result.slice(0, begin, end).copy_(p.view({end - begin, options_.crops, -1}).mean(1));
    if (log_probabilities != nullptr) {  // the log of the crops' mean probability
      log_probabilities->slice(0, begin, end)
          .copy_(at::logsumexp(log_p.view({end - begin, options_.crops, -1}), 1) - log_crops);
    }
  }
  m.throw_if_broken(broken, n * options_.crops);
  return result;
}

at::Tensor Scorer::differentiable_probabilities(const at::Tensor& images) const {
  std::vector<at::Tensor> per_model;
  const auto inputs = model_inputs(images);
  for (const Model* m : models_) {
    const auto p = m->differentiable_probabilities(inputs);
    per_model.push_back(options_.crops == 1 ? p : p.view({images.size(0), options_.crops, -1}).mean(1));
  }
  return combine(per_model);
}

}  // namespace fool
