#include "fool/search/emitters.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "fool/util/error.h"

namespace fool {
namespace {

bool needs_direct(const std::string& name) { return name != "polynomial"; }

/// Parents drawn uniformly over the cells (PAPER.md §1.2).
at::Tensor uniform_cells(const Archive& archive, int64_t n, at::Generator& gen) {
  return at::randint(archive.cells(), {n}, gen, archive.targets().options());
}

// ---- the paper's operator ------------------------------------------------------------------

class PolynomialEmitter : public Emitter {
 public:
  explicit PolynomialEmitter(const SearchContext& c) : encoding_(*c.encoding) {}
  std::string name() const override { return "polynomial"; }
  GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t generation) override {
    if (encoding_.options().crossover == Crossover::kNone) {
      return encoding_.mutate(archive.genomes().index_select(uniform_cells(archive, share, gen)), gen, generation);
    }
    // With crossover, as the original's epoch(): pairs of parents, each drawn uniformly over the
    // cells, two children per pair, both mutated (an odd share drops the last child).
    const int64_t pairs = (share + 1) / 2;
    auto parents = uniform_cells(archive, 2 * pairs, gen);
    auto children = encoding_.crossover(archive.genomes().index_select(parents.slice(0, 0, pairs)),
                                        archive.genomes().index_select(parents.slice(0, pairs)), gen);
    if (2 * pairs != share) children = children.index_select(at::arange(share, archive.targets().options()));
    return encoding_.mutate(children, gen, generation);
  }

 private:
  const Encoding& encoding_;
};

// ---- Gaussian and iso-line mutation (direct) -----------------------------------------------

class GaussianEmitter : public Emitter {
 public:
  explicit GaussianEmitter(const SearchContext& c) : sigma_(c.options.gaussian_sigma) {}
  std::string name() const override { return "gaussian"; }
  GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t) override {
    auto parents = archive.genomes()["genes"].index_select(0, uniform_cells(archive, share, gen));
    auto noise = at::randn(parents.sizes(), gen, parents.options());
    return GenomeBatch({{"genes", parents.add(noise, sigma_).clamp_(0.0, 1.0)}});
  }

 private:
  double sigma_;
};

class IsoLineEmitter : public Emitter {
 public:
  explicit IsoLineEmitter(const SearchContext& c) : iso_(c.options.isoline_sigma), line_(c.options.line_sigma) {}
  std::string name() const override { return "iso-line"; }
  GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t) override {
    const auto& genes = archive.genomes()["genes"];
    auto first = genes.index_select(0, uniform_cells(archive, share, gen));
    auto second = genes.index_select(0, uniform_cells(archive, share, gen));
    auto iso = at::randn(first.sizes(), gen, first.options());
    auto line = at::randn({share, 1}, gen, first.options());
    auto child = first + iso * iso_ + line * line_ * (second - first);
    return GenomeBatch({{"genes", child.clamp_(0.0, 1.0)}});
  }

 private:
  double iso_, line_;
};

// ---- CMA-ME and CMA-MAE: one sep-CMA-ES per target class ------------------------------------

/// Strategy constants of a (mu/mu_w, lambda) sep-CMA-ES in `n` dimensions (Hansen's tutorial,
/// with c1 and cmu scaled by (n + 2) / 3 for the diagonal covariance, Ros & Hansen 2008).
struct CmaConstants {
  int64_t lambda = 0, mu = 0;
  at::Tensor weights;  ///< [mu], summing to 1
  double mueff = 0, cs = 0, ds = 0, cc = 0, c1 = 0, cmu = 0, chi_n = 0;

  CmaConstants(int64_t n, int64_t lambda_, const at::TensorOptions& options) : lambda(lambda_), mu(lambda_ / 2) {
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
    weights = at::tensor(w, options.dtype(at::kDouble)).to(options.dtype());
    mueff = 1.0 / sum_sq;
    const auto d = static_cast<double>(n);
    cs = (mueff + 2) / (d + mueff + 5);
    ds = 1 + 2 * std::max(0.0, std::sqrt((mueff - 1) / (d + 1)) - 1) + cs;
    cc = (4 + mueff / d) / (d + 4 + 2 * mueff / d);
    c1 = 2 / ((d + 1.3) * (d + 1.3) + mueff);
    cmu = std::min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((d + 2) * (d + 2) + mueff));
    const double sep = (d + 2) / 3;
    c1 = std::min(1.0, c1 * sep);
    cmu = std::min(1 - c1, cmu * sep);
    chi_n = std::sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d));
  }
};

class CmaEmitter : public Emitter {
 public:
  CmaEmitter(const SearchContext& c, bool annealed)
      : annealed_(annealed),
        sigma0_(c.options.cma_sigma),
        alpha_(c.options.cma_mae_alpha),
        cells_(c.targets.size(0)),
        shape_(c.encoding->options().shape),
        resolution_(c.options.cma_resolution),
        device_(c.targets.device()) {
    const int64_t grid = resolution_ > 0 ? resolution_ : 0;
    dims_ = grid > 0 ? shape_.channels * grid * grid : shape_.numel();
  }
  std::string name() const override { return annealed_ ? "cma-mae" : "cma-me"; }

  int64_t batch(int64_t share) const override {
    const int64_t lambda = share / cells_;
    if (lambda < 4) {
      throw Error(ErrorKind::kUsage, "--emitter " + name() + " runs one CMA-ES per target class, with at least 4 " +
                                         "offspring each: its share of the population, " + std::to_string(share) +
                                         ", is too small for " + std::to_string(cells_) +
                                         " classes. Fix: --population " + std::to_string(4 * cells_) +
                                         " or more (per emitter), or fewer --classes.");
    }
    return lambda * cells_;
  }

  GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t) override {
    const int64_t lambda = batch(share) / cells_;
    const auto options = archive.confidence().options();
    if (!mean_.defined()) {
      constants_ = std::make_unique<CmaConstants>(dims_, lambda, options);
      base_ = archive.genomes()["genes"].clone();
      mean_ = at::zeros({cells_, dims_}, options);
      sigma_ = at::full({cells_}, sigma0_, options);
      diagonal_ = at::ones({cells_, dims_}, options);
      path_sigma_ = at::zeros({cells_, dims_}, options);
      path_c_ = at::zeros({cells_, dims_}, options);
      steps_ = at::zeros({cells_}, options);
      threshold_ = at::zeros({cells_}, options);  // CMA-MAE's threshold_min
    } else if (!constants_) {
      constants_ = std::make_unique<CmaConstants>(dims_, lambda, options);  // restored from a checkpoint
    }
    auto z = at::randn({cells_, lambda, dims_}, gen, options);
    samples_ = mean_.unsqueeze(1) + sigma_.view({cells_, 1, 1}) * diagonal_.sqrt().unsqueeze(1) * z;
    return GenomeBatch({{"genes", genes_of(samples_)}});
  }

  void tell(const at::Tensor& target_probabilities, const at::Tensor& before, const Archive& after) override {
    const auto& k = *constants_;
    const int64_t lambda = k.lambda;
    // Offspring of instance j were drawn for class j: rows j*lambda .. (j+1)*lambda - 1.
    auto p = target_probabilities.view({cells_, lambda, cells_});
    auto own = at::diagonal(p, 0, 0, 2).transpose(0, 1);  // [cells, lambda]: p of the own class
    // Ranked by improvement of the own cell (CMA-ME) or by the excess over the annealed threshold
    // (CMA-MAE): within one instance both order the offspring by their own-class probability.
    auto order = own.argsort(1, /*descending=*/true).slice(1, 0, k.mu);
    auto chosen = samples_.gather(1, order.unsqueeze(2).expand({cells_, k.mu, dims_}));
    auto y = (chosen - mean_.unsqueeze(1)) / sigma_.view({cells_, 1, 1});
    auto w = k.weights.view({1, k.mu, 1});
    auto step = (w * y).sum(1);  // [cells, dims]
    auto new_mean = mean_ + sigma_.unsqueeze(1) * step;
    path_sigma_ = path_sigma_ * (1 - k.cs) + std::sqrt(k.cs * (2 - k.cs) * k.mueff) * step / diagonal_.sqrt();
    steps_ = steps_ + 1;
    auto norm = path_sigma_.norm(2, 1);
    auto correction = (1 - at::pow(at::full_like(steps_, 1 - k.cs), 2 * steps_)).sqrt();
    auto hsig = (norm / correction < (1.4 + 2 / (static_cast<double>(dims_) + 1)) * k.chi_n).to(mean_.scalar_type());
    path_c_ = path_c_ * (1 - k.cc) + hsig.unsqueeze(1) * std::sqrt(k.cc * (2 - k.cc) * k.mueff) * step;
    diagonal_ = diagonal_ * (1 - k.c1 - k.cmu) + k.c1 * path_c_.pow(2) + k.cmu * (w * y.pow(2)).sum(1);
    sigma_ = sigma_ * ((k.cs / k.ds) * (norm / k.chi_n - 1)).exp();
    mean_ = new_mean;

    // Restarts: CMA-ME when no offspring of the instance improved any cell, CMA-MAE when none
    // passed its cell's annealed threshold (which then moves towards the passing offspring).
    at::Tensor restart;
    if (annealed_) {
      auto passed = own > threshold_.unsqueeze(1);  // [cells, lambda]
      auto any = passed.any(1);
      auto best_passing = at::where(passed, own, at::full_like(own, -1.0)).amax(1);
      threshold_ = at::where(any, threshold_ * (1 - alpha_) + best_passing * alpha_, threshold_);
      restart = alpha_ > 0 ? any.logical_not() : at::zeros_like(any);
    } else {
      auto improved = (p > before.view({1, 1, cells_})).any(2).any(1);  // [cells]
      restart = improved.logical_not();
    }
    // A collapsed step size restarts too.
    restart = restart.logical_or(sigma_ < 1e-10);
    if (restart.any().item<bool>()) {
      auto r = restart.unsqueeze(1);
      base_ = at::where(r, after.genomes()["genes"], base_);
      mean_ = at::where(r, at::zeros_like(mean_), mean_);
      diagonal_ = at::where(r, at::ones_like(diagonal_), diagonal_);
      path_sigma_ = at::where(r, at::zeros_like(path_sigma_), path_sigma_);
      path_c_ = at::where(r, at::zeros_like(path_c_), path_c_);
      sigma_ = at::where(restart, at::full_like(sigma_, sigma0_), sigma_);
      steps_ = at::where(restart, at::zeros_like(steps_), steps_);
    }
  }

  void save(SearchState& state, const std::string& prefix) const override {
    if (!mean_.defined()) return;
    for (const auto& [name, t] : fields()) state[prefix + name] = t->to(at::kCPU);
  }
  void restore(const SearchState& state, const std::string& prefix) override {
    if (state.find(prefix + "mean") == state.end()) return;  // saved before its first ask()
    for (const auto& [name, t] : fields()) {
      const auto it = state.find(prefix + name);
      if (it == state.end()) throw Error(ErrorKind::kCheckpoint, "checkpoint lacks " + prefix + name + ".");
      *t = it->second.to(device_);
    }
  }

 private:
  /// Full genomes from perturbations in the coarse grid: the instance's base plus the
  /// perturbation bilinearly upsampled to the image, clipped to [0,1].
  at::Tensor genes_of(const at::Tensor& x) const {
    const int64_t n = x.size(0) * x.size(1);
    at::Tensor delta = x.reshape({n, -1});
    if (resolution_ > 0) {
      delta = at::upsample_bilinear2d(delta.view({n, shape_.channels, resolution_, resolution_}),
                                      {shape_.height, shape_.width}, /*align_corners=*/false)
                  .reshape({n, -1});
    }
    auto base = base_.unsqueeze(1).expand({cells_, x.size(1), base_.size(1)}).reshape({n, -1});
    return (base + delta).clamp_(0.0, 1.0);
  }
  std::vector<std::pair<std::string, const at::Tensor*>> fields() const {
    return {{"base", &base_},     {"mean", &mean_},   {"sigma", &sigma_},         {"diagonal", &diagonal_},
            {"path_sigma", &path_sigma_}, {"path_c", &path_c_}, {"steps", &steps_}, {"threshold", &threshold_}};
  }
  std::vector<std::pair<std::string, at::Tensor*>> fields() {
    return {{"base", &base_},     {"mean", &mean_},   {"sigma", &sigma_},         {"diagonal", &diagonal_},
            {"path_sigma", &path_sigma_}, {"path_c", &path_c_}, {"steps", &steps_}, {"threshold", &threshold_}};
  }

  bool annealed_;
  double sigma0_, alpha_;
  int64_t cells_;
  ImageShape shape_;
  int64_t resolution_;
  at::Device device_;
  int64_t dims_ = 0;
  std::unique_ptr<CmaConstants> constants_;
  at::Tensor base_, mean_, sigma_, diagonal_, path_sigma_, path_c_, steps_, threshold_;
  at::Tensor samples_;  ///< the last ask()'s perturbations [cells, lambda, dims]
};

}  // namespace

const std::vector<std::string>& emitter_names() {
  static const std::vector<std::string> names = {"polynomial", "gaussian", "iso-line", "cma-me", "cma-mae"};
  return names;
}

std::vector<std::string> parse_emitters(const std::string& list, const std::string& encoding) {
  std::vector<std::string> out;
  std::stringstream parts(list);
  std::string part;
  std::string known;
  for (const auto& n : emitter_names()) known += (known.empty() ? "" : ", ") + n;
  while (std::getline(parts, part, ',')) {
    if (std::find(emitter_names().begin(), emitter_names().end(), part) == emitter_names().end()) {
      throw Error(ErrorKind::kUsage, "--emitter '" + part + "' is not one of " + known + ". Fix: a comma list of them.");
    }
    if (needs_direct(part) && encoding != "direct") {
      throw Error(ErrorKind::kUsage, "--emitter " + part + " works on direct genomes (pixels). Fix: --encoding " +
                                         "direct, or --emitter polynomial for " + encoding + ".");
    }
    out.push_back(part);
  }
  if (out.empty()) throw Error(ErrorKind::kUsage, "--emitter is empty. Fix: e.g. --emitter polynomial.");
  return out;
}

std::unique_ptr<Emitter> make_emitter(const std::string& name, const SearchContext& context) {
  if (name == "polynomial") return std::make_unique<PolynomialEmitter>(context);
  if (name == "gaussian") return std::make_unique<GaussianEmitter>(context);
  if (name == "iso-line") return std::make_unique<IsoLineEmitter>(context);
  if (name == "cma-me") return std::make_unique<CmaEmitter>(context, false);
  if (name == "cma-mae") return std::make_unique<CmaEmitter>(context, true);
  throw Error(ErrorKind::kUsage, "--emitter '" + name + "' is unknown.");
}

GenomeBatch concat(const std::vector<GenomeBatch>& batches) {
  FOOL_CHECK(!batches.empty(), "concat of no batches");
  if (batches.size() == 1) return batches.front();
  std::map<std::string, at::Tensor> fields;
  for (const auto& [name, first] : batches.front().fields()) {
    std::vector<int64_t> sizes = first.sizes().vec();
    for (const auto& b : batches) {
      for (std::size_t d = 1; d < sizes.size(); ++d) sizes[d] = std::max(sizes[d], b[name].size(static_cast<int64_t>(d)));
    }
    std::vector<at::Tensor> parts;
    for (const auto& b : batches) {
      std::vector<int64_t> target = sizes;
      target[0] = b[name].size(0);
      parts.push_back(pad_to(b[name], target));
    }
    fields[name] = at::cat(parts);
  }
  return GenomeBatch(std::move(fields));
}

}  // namespace fool
