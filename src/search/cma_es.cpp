#include "fool/search/cma_es.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "fool/util/error.h"

namespace fool {

SepCmaEs::SepCmaEs(int64_t instances, int64_t dims, int64_t lambda, double sigma0, const at::TensorOptions& options)
    : instances_(instances), dims_(dims), lambda_(lambda), sigma0_(sigma0) {
  FOOL_CHECK(instances > 0 && dims > 0 && lambda >= 4, "sep-CMA-ES needs instances, dimensions and lambda >= 4");
  const int64_t mu = lambda / 2;
  std::vector<double> w;
  double sum = 0, sum_sq = 0;
  for (int64_t i = 1; i <= mu; ++i) {
    w.push_back(std::log(static_cast<double>(mu) + 0.5) - std::log(static_cast<double>(i)));
    sum += w.back();
  }
  for (auto& v : w) {
    v /= sum;
    sum_sq += v * v;
  }
  weights_ = at::tensor(w, at::TensorOptions(at::kDouble)).to(options.device(), options.dtype().toScalarType());
  mueff_ = 1.0 / sum_sq;
  const auto n = static_cast<double>(dims);
  cs_ = (mueff_ + 2) / (n + mueff_ + 5);
  ds_ = 1 + 2 * std::max(0.0, std::sqrt((mueff_ - 1) / (n + 1)) - 1) + cs_;
  cc_ = (4 + mueff_ / n) / (n + 4 + 2 * mueff_ / n);
  c1_ = 2 / ((n + 1.3) * (n + 1.3) + mueff_);
  cmu_ = std::min(1 - c1_, 2 * (mueff_ - 2 + 1 / mueff_) / ((n + 2) * (n + 2) + mueff_));
  const double sep = (n + 2) / 3;  // the diagonal learns (n + 2) / 3 times faster
  c1_ = std::min(1.0, c1_ * sep);
  cmu_ = std::min(1 - c1_, cmu_ * sep);
  chi_n_ = std::sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  mean_ = at::zeros({instances, dims}, options);
  sigma_ = at::full({instances}, sigma0, options);
  diagonal_ = at::ones({instances, dims}, options);
  path_sigma_ = at::zeros({instances, dims}, options);
  path_c_ = at::zeros({instances, dims}, options);
  steps_ = at::zeros({instances}, options);
}

at::Tensor SepCmaEs::sample(at::Generator& gen) {
  auto z = at::randn({instances_, lambda_, dims_}, gen, mean_.options());
  samples_ = mean_.unsqueeze(1) + sigma_.view({instances_, 1, 1}) * diagonal_.sqrt().unsqueeze(1) * z;
  return samples_;
}

void SepCmaEs::update(const at::Tensor& fitness) {
  FOOL_CHECK(samples_.defined(), "sep-CMA-ES update() before sample()");
  const int64_t mu = lambda_ / 2;
  auto order = fitness.argsort(1, /*descending=*/true).slice(1, 0, mu);
  auto chosen = samples_.gather(1, order.unsqueeze(2).expand({instances_, mu, dims_}));
  auto y = (chosen - mean_.unsqueeze(1)) / sigma_.view({instances_, 1, 1});
  auto w = weights_.view({1, mu, 1});
  auto step = (w * y).sum(1);  // [B, n]: the weighted mean step in units of sigma
  mean_ = mean_ + sigma_.unsqueeze(1) * step;
  path_sigma_ = path_sigma_ * (1 - cs_) + std::sqrt(cs_ * (2 - cs_) * mueff_) * step / diagonal_.sqrt();
  steps_ = steps_ + 1;
  auto norm = path_sigma_.norm(2, 1);
  auto correction = (1 - at::pow(at::full_like(steps_, 1 - cs_), 2 * steps_)).sqrt();
  auto hsig = (norm / correction < (1.4 + 2 / (static_cast<double>(dims_) + 1)) * chi_n_).to(mean_.scalar_type());
  path_c_ = path_c_ * (1 - cc_) + hsig.unsqueeze(1) * std::sqrt(cc_ * (2 - cc_) * mueff_) * step;
  diagonal_ = diagonal_ * (1 - c1_ - cmu_) + c1_ * path_c_.pow(2) + cmu_ * (w * y.pow(2)).sum(1);
  sigma_ = sigma_ * ((cs_ / ds_) * (norm / chi_n_ - 1)).exp();
}

void SepCmaEs::restart(const at::Tensor& mask, const at::Tensor& mean) {
  auto rows = mask.unsqueeze(1);
  mean_ = at::where(rows, mean.defined() ? mean : at::zeros_like(mean_), mean_);
  diagonal_ = at::where(rows, at::ones_like(diagonal_), diagonal_);
  path_sigma_ = at::where(rows, at::zeros_like(path_sigma_), path_sigma_);
  path_c_ = at::where(rows, at::zeros_like(path_c_), path_c_);
  sigma_ = at::where(mask, at::full_like(sigma_, sigma0_), sigma_);
  steps_ = at::where(mask, at::zeros_like(steps_), steps_);
}

void SepCmaEs::save(SearchState& state, const std::string& prefix) const {
  state[prefix + "mean"] = mean_.cpu();
  state[prefix + "sigma"] = sigma_.cpu();
  state[prefix + "diagonal"] = diagonal_.cpu();
  state[prefix + "path_sigma"] = path_sigma_.cpu();
  state[prefix + "path_c"] = path_c_.cpu();
  state[prefix + "steps"] = steps_.cpu();
}

void SepCmaEs::restore(const SearchState& state, const std::string& prefix) {
  const auto get = [&](const std::string& name, const at::Tensor& like) {
    const auto it = state.find(prefix + name);
    if (it == state.end()) {
      throw Error(ErrorKind::kCheckpoint, "the checkpoint lacks the search state '" + prefix + name +
                                              "'. Fix: resume with the settings it was written with, or start again.");
    }
    if (!it->second.sizes().equals(like.sizes())) {
      throw Error(ErrorKind::kCheckpoint, "the checkpoint's '" + prefix + name + "' has another shape. Fix: resume " +
                                              "with the settings it was written with.");
    }
    return it->second.to(like.options());
  };
  mean_ = get("mean", mean_);
  sigma_ = get("sigma", sigma_);
  diagonal_ = get("diagonal", diagonal_);
  path_sigma_ = get("path_sigma", path_sigma_);
  path_c_ = get("path_c", path_c_);
  steps_ = get("steps", steps_);
}

}  // namespace fool
