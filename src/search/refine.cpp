#include "fool/search/refine.h"

#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <cmath>

#include "fool/util/error.h"

namespace fool {
namespace {

constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEpsilon = 1e-8;
constexpr double kTiny = 1e-30;  // log of a probability that underflowed to 0

/// log p of the archive's target classes, [N,T], from probabilities [N,K].
at::Tensor log_target_probabilities(const at::Tensor& probabilities, const Archive& archive) {
  return probabilities.index_select(1, archive.targets()).clamp_min(kTiny).log();
}

/// The cell each child is nearest to taking: the largest log p_j - log confidence_j.
at::Tensor nearest_cells(const at::Tensor& log_p, const Archive& archive) {
  return (log_p - archive.confidence().clamp_min(kTiny).log().view({1, -1})).argmax(1);
}

}  // namespace

Refiner::Refiner(const SearchContext& context)
    : context_(context),
      steps_(context.options.refine_steps),
      optimizer_(context.options.refine_optimizer),
      lr_(context.options.refine_lr) {
  if (steps_ > 0 && !context.encoding->differentiable()) {
    throw Error(ErrorKind::kUsage, "--refine-steps needs an encoding with continuous genes; " +
                                       context.encoding->name() + " has none. Fix: --refine-steps 0.");
  }
}

GenomeBatch Refiner::refine(const GenomeBatch& children, const Archive& archive) const {
  if (steps_ == 0 || children.size() == 0) return children;
  const int64_t n = children.size();
  const int64_t chunk = context_.batch_size > 0 ? context_.batch_size : n;
  if (chunk >= n) return refine_chunk(children, archive);
  const auto index_options = archive.targets().options();
  GenomeBatch out = children.clone();
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const auto rows = at::arange(begin, std::min(n, begin + chunk), index_options);
    out.index_copy_(rows, refine_chunk(children.index_select(rows), archive));
  }
  return out;
}

std::pair<at::Tensor, at::Tensor> Refiner::targets(const GenomeBatch& children, const Archive& archive) const {
  at::NoGradGuard no_grad;
  const auto& e = *context_.encoding;
  const auto& s = *context_.scorer;
  const auto genes = e.continuous_genes(children);
  const auto log_p = log_target_probabilities(
      s.probabilities(e.render_differentiable(children, genes, s.render_height(), s.render_width()),
                      context_.batch_size),
      archive);
  const auto cells = nearest_cells(log_p, archive);
  return {cells, log_p.gather(1, cells.view({-1, 1})).view({-1})};
}

GenomeBatch Refiner::refine_chunk(const GenomeBatch& children, const Archive& archive) const {
  const auto& e = *context_.encoding;
  const auto& s = *context_.scorer;
  at::Tensor genes = e.continuous_genes(children).detach().clone();
  at::Tensor m, v;
  if (optimizer_ == RefineOptimizer::kAdam) {
    m = at::zeros_like(genes);
    v = at::zeros_like(genes);
  }
  at::Tensor classes;  // [n] the class each child climbs, chosen at its first step
  for (int64_t step = 1; step <= steps_; ++step) {
    at::Tensor grad;
    {
      at::AutoGradMode grad_mode(true);
      auto x = genes.detach().requires_grad_(true);
      const auto images = e.render_differentiable(children, x, s.render_height(), s.render_width());
      const auto log_p = log_target_probabilities(s.differentiable_probabilities(images), archive);
      if (!classes.defined()) {
        at::NoGradGuard no_grad;
        classes = nearest_cells(log_p.detach(), archive);
      }
      const auto objective = log_p.gather(1, classes.view({-1, 1})).sum();
      grad = torch::autograd::grad({objective}, {x})[0];
    }
    at::NoGradGuard no_grad;
    grad = at::nan_to_num(grad, 0.0, 0.0, 0.0);  // a saturated softmax's 0·inf; no direction is no step
    if (optimizer_ == RefineOptimizer::kAdam) {
      m.mul_(kAdamBeta1).add_(grad, 1 - kAdamBeta1);
      v.mul_(kAdamBeta2).addcmul_(grad, grad, 1 - kAdamBeta2);
      const double c1 = 1 - std::pow(kAdamBeta1, static_cast<double>(step));
      const double c2 = 1 - std::pow(kAdamBeta2, static_cast<double>(step));
      genes.add_(m / c1 / ((v / c2).sqrt_().add_(kAdamEpsilon)), lr_);
    } else {
      genes.add_(grad, lr_);
    }
    genes = e.project_genes(children, genes);
  }
  return e.with_continuous_genes(children, genes);
}

}  // namespace fool
