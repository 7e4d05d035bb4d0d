#include "fool/search/ascent.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>

#include "fool/util/error.h"

namespace fool {
namespace {

/// Image-sized forward passes one gradient step costs: a forward and a backward (two).
constexpr int64_t kStepCost = 3;

/// scipy's "reflect" border: index i of a padded axis of `size`, for i in [-r, size + r).
at::Tensor reflect_indices(int64_t size, int64_t radius, const at::Device& device) {
  std::vector<int64_t> index;
  for (int64_t i = -radius; i < size + radius; ++i) {
    int64_t j = i;
    // Half-sample symmetric: -1 -> 0, -2 -> 1, size -> size-1, ... (periodic with 2*size).
    j = ((j % (2 * size)) + 2 * size) % (2 * size);
    if (j >= size) j = 2 * size - 1 - j;
    index.push_back(j);
  }
  return at::tensor(index, at::kLong).to(device);
}

/// The per-image q-th percentile (q in [0,100], numpy's linear interpolation) of `values` [N,...],
/// shaped [N,1,...] for broadcasting.
at::Tensor percentile(const at::Tensor& values, double q) {
  auto flat = values.flatten(1);
  auto p = at::quantile(flat, q / 100.0, /*dim=*/1, /*keepdim=*/true);
  std::vector<int64_t> shape(static_cast<std::size_t>(values.dim()), 1);
  shape[0] = values.size(0);
  return p.view(shape);
}

}  // namespace

at::Tensor gaussian_blur(const at::Tensor& images, double sigma) {
  const int64_t radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  if (radius == 0) return images;
  std::vector<double> weights;
  double total = 0;
  for (int64_t i = -radius; i <= radius; ++i) {
    weights.push_back(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)));
    total += weights.back();
  }
  for (auto& w : weights) w /= total;
  const int64_t c = images.size(1);
  auto kernel = at::tensor(weights, at::kDouble).to(images.options());
  const auto h = images.size(2), w = images.size(3);
  // Separable: along the rows, then the columns; one depthwise convolution each.
  auto padded = images.index_select(3, reflect_indices(w, radius, images.device()));
  const std::vector<int64_t> stride{1, 1}, no_padding{0, 0}, dilation{1, 1};
  auto out = at::conv2d(padded, kernel.view({1, 1, 1, -1}).expand({c, 1, 1, 2 * radius + 1}).contiguous(), c10::nullopt,
                        stride, no_padding, dilation, c);
  padded = out.index_select(2, reflect_indices(h, radius, images.device()));
  return at::conv2d(padded, kernel.view({1, 1, -1, 1}).expand({c, 1, 2 * radius + 1, 1}).contiguous(), c10::nullopt,
                    stride, no_padding, dilation, c);
}

Ascent::Ascent(const SearchContext& context) : Search(context) {
  check_search_encoding("ascent", context.encoding->name());
  const auto& o = context.options;
  require_setting(o.ascent_centre >= 0 && o.ascent_centre <= 1, "ascent-centre", "must be in [0,1]");
  require_setting(o.ascent_decay >= 0 && o.ascent_decay < 1, "ascent-decay", "must be in [0,1)");
  require_setting(o.ascent_early_progress > 0 && std::isfinite(o.ascent_early_progress), "ascent-early-progress",
                  "must be a number > 0");
  require_setting(o.ascent_late_progress > 0 && std::isfinite(o.ascent_late_progress), "ascent-late-progress",
                  "must be a number > 0");
  require_setting(o.ascent_max_lr > 0, "ascent-max-lr", "must be > 0");
  require_setting(o.ascent_max_step >= 0 && o.ascent_max_step <= 1, "ascent-max-step",
                  "must be in [0,1] (0: no limit)");
  require_setting(o.ascent_blur_radius == 0 || (o.ascent_blur_radius >= 0.3 && o.ascent_blur_radius <= 16),
                  "ascent-blur-radius",
                  "must be 0 (no blur) or in [0.3,16] pixels (the original: below 0.3 works very poorly)");
  require_setting(o.ascent_blur_every >= 1, "ascent-blur-every", "must be >= 1");
  for (const auto& [name, q] :
       {std::pair<const char*, double>{"ascent-small-norm-percentile", o.ascent_small_norm_percentile},
        {"ascent-benefit-percentile", o.ascent_benefit_percentile},
        {"ascent-abs-benefit-percentile", o.ascent_abs_benefit_percentile}}) {
    require_setting(q >= 0 && q < 100, name, "must be in [0,100) (0: off)");
  }
}

GenomeBatch Ascent::ask(int64_t generation) {
  const auto& shape = context_.encoding->options().shape;
  const auto device = context_.scorer->model().device();
  if (generation == 0) {
    const auto options = at::TensorOptions(device).dtype(at::kFloat);
    const int64_t t = archive_.cells();
    if (context_.options.ascent_start == AscentStart::kMeanPlus) {
      // The original's N(0,1) in [0,255] units around the mean image.
      images_ = at::randn({t, shape.channels, shape.height, shape.width}, context_.generator, options)
                    .div_(255.0)
                    .add_(context_.options.ascent_centre);
    } else {
      images_ = at::rand({t, shape.channels, shape.height, shape.width}, context_.generator, options);
    }
    images_.clamp_(0.0, 1.0);
  } else {
    FOOL_CHECK(images_.defined(), "ascent steps only after generation 0");
    step_(generation);
  }
  return GenomeBatch({{"genes", images_.flatten(1).clone()}});
}

void Ascent::step_(int64_t generation) {
  const auto& o = context_.options;
  const int64_t t = images_.size(0);
  const int64_t chunk = context_.batch_size > 0 ? context_.batch_size : t;
  const auto& targets = archive_.targets();
  for (int64_t begin = 0; begin < t; begin += chunk) {
    const int64_t end = std::min(t, begin + chunk);
    at::Tensor grad, objective;
    {
      at::AutoGradMode grad_mode(true);
      auto x = images_.slice(0, begin, end).detach().requires_grad_(true);
      // Straight-through: the forward sees the 8-bit image that will be scored and saved, the
      // gradient flows to the continuous pixels as if quantisation were the identity.
      auto q = x + (quantize_pixels(x.detach()) - x.detach());
      auto probabilities = context_.scorer->differentiable_probabilities(q);
      objective = probabilities.gather(1, targets.slice(0, begin, end).view({-1, 1})).view({-1});
      grad = torch::autograd::grad({objective.sum()}, {x})[0];
    }
    at::NoGradGuard no_grad;
    objective = objective.detach();
    auto image = images_.slice(0, begin, end);
    if (o.ascent_project) {
      // Components that would push a pixel already at 0 or 1 further out are clipped away after
      // the step anyway: left in, they shrink the step that the progress rule sizes by ‖∇‖².
      grad.masked_fill_(image.le(0.0).logical_and(grad < 0).logical_or(image.ge(1.0).logical_and(grad > 0)), 0.0);
    }
    const int64_t n = end - begin;
    const std::vector<int64_t> per_image = {n, 1, 1, 1};
    // "progress" learning rate: a step that should raise the objective by p to first order,
    // p = min(early, late * (1 - objective)); a zero gradient leaves the image as it is.
    auto squared_norm = grad.pow(2).flatten(1).sum(1);
    auto progress = at::clamp_max(o.ascent_late_progress * (1.0 - objective), o.ascent_early_progress);
    auto lr = at::where(squared_norm > 0, (progress / squared_norm.clamp_min(1e-30)).clamp_max(o.ascent_max_lr),
                        at::zeros_like(squared_norm));
    auto x = image - o.ascent_centre;  // the original's mean-subtracted X
    auto step = grad * lr.view(per_image);
    if (o.ascent_max_step > 0) {
      // Far from the target the first-order rule asks for steps that saturate the image: no pixel
      // moves by more than max_step.
      const auto biggest = step.abs().flatten(1).amax(1).clamp_min(1e-30);
      step.mul_((o.ascent_max_step / biggest).clamp_max(1.0).view(per_image));
    }
    x.add_(step);
    x.mul_(1.0 - o.ascent_decay);
    if (o.ascent_blur_radius > 0 && (generation - 1) % o.ascent_blur_every == 0) {
      x = gaussian_blur(x, o.ascent_blur_radius);
    }
    if (o.ascent_small_norm_percentile > 0) {
      auto norms = x.pow(2).sum(1, /*keepdim=*/true).sqrt();  // [n,1,H,W]
      x.masked_fill_(norms < percentile(norms, o.ascent_small_norm_percentile), 0.0);
    }
    if (o.ascent_benefit_percentile > 0) {
      auto benefit = (grad * -x).sum(1, /*keepdim=*/true);
      x.masked_fill_(benefit < percentile(benefit, o.ascent_benefit_percentile), 0.0);
    }
    if (o.ascent_abs_benefit_percentile > 0) {
      auto benefit = (grad * -x).sum(1, /*keepdim=*/true).abs();
      x.masked_fill_(benefit < percentile(benefit, o.ascent_abs_benefit_percentile), 0.0);
    }
    image.copy_(x.add_(o.ascent_centre).clamp_(0.0, 1.0));  // the original crops X + mean to [0,255]
    extra_forward_equivalents_ += kStepCost * n;
  }
}

int64_t Ascent::next_forward_equivalents(int64_t) const { return (1 + kStepCost) * archive_.cells(); }

int64_t Ascent::tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) {
  return archive_.insert(genomes, probabilities, generation, scored_log_probabilities(probabilities));
}

SearchState Ascent::state() const {
  if (!images_.defined()) return {};
  return {{"images", images_}};
}

void Ascent::restore_state(const SearchState& state) {
  const auto it = state.find("images");
  const auto& shape = context_.encoding->options().shape;
  if (it == state.end() || it->second.dim() != 4 || it->second.size(0) != archive_.cells() ||
      it->second.size(1) != shape.channels || it->second.size(2) != shape.height || it->second.size(3) != shape.width ||
      it->second.scalar_type() != at::kFloat) {
    throw Error(ErrorKind::kCheckpoint,
                "the ascent's images are missing or of the wrong shape in the checkpoint. "
                "Fix: resume from an intact copy, or start the run again.");
  }
  images_ = it->second.clone();
}

}  // namespace fool
