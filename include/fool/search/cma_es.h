#pragma once
// A batch of independent sep-CMA-ES instances (Hansen's (mu/mu_w, lambda)-CMA-ES with a diagonal
// covariance, Ros & Hansen 2008: c1 and cmu scaled by (n + 2) / 3), as tensor operations over
// all instances at once: B instances in n dimensions, lambda samples each. Maximises: update()
// takes fitness where higher is better. Used by the cma-me / cma-mae emitters, one instance per
// target class; checked on the sphere function in tests/unit/cma_es_test.cpp.
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "fool/search/search.h"

namespace fool {

class SepCmaEs {
 public:
  SepCmaEs() = default;
  /// `instances` x `dims`, `lambda` samples each (>= 4), step size `sigma0`, means at 0.
  SepCmaEs(int64_t instances, int64_t dims, int64_t lambda, double sigma0, const at::TensorOptions& options);

  /// [B, lambda, n] samples mean + sigma * sqrt(C) * N(0, I), kept for update().
  at::Tensor sample(at::Generator& gen);
  /// Ranks the last samples by `fitness` [B, lambda] (higher is better) and moves every instance.
  void update(const at::Tensor& fitness);
  /// Instances where `mask` [B] is true start again: mean `mean` rows (or 0), sigma0, C = I.
  void restart(const at::Tensor& mask, const at::Tensor& mean = {});

  const at::Tensor& mean() const { return mean_; }
  const at::Tensor& sigma() const { return sigma_; }
  const at::Tensor& diagonal() const { return diagonal_; }
  int64_t lambda() const { return lambda_; }
  int64_t mu() const { return lambda_ / 2; }

  void save(SearchState& state, const std::string& prefix) const;
  /// Throws fool::Error (kCheckpoint) naming a missing entry.
  void restore(const SearchState& state, const std::string& prefix);

 private:
  int64_t instances_ = 0, dims_ = 0, lambda_ = 0;
  double sigma0_ = 0;
  at::Tensor weights_;  ///< [mu], summing to 1
  double mueff_ = 0, cs_ = 0, ds_ = 0, cc_ = 0, c1_ = 0, cmu_ = 0, chi_n_ = 0;
  at::Tensor mean_, sigma_, diagonal_, path_sigma_, path_c_, steps_;
  at::Tensor samples_;
};

}  // namespace fool
