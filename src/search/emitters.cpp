#include "fool/search/emitters.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "fool/search/cma_es.h"
#include "fool/util/error.h"

namespace fool {
namespace {

bool needs_direct(const std::string& name) { return name != "polynomial" && name != "elites"; }

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

// ---- unmutated elites, for refinement -------------------------------------------------------

class ElitesEmitter : public Emitter {
 public:
  explicit ElitesEmitter(const SearchContext& c) {
    if (c.options.refine_steps == 0) {
      throw Error(ErrorKind::kUsage,
                  "--emitter elites copies elites for gradient refinement to continue; without --refine-steps "
                  "every copy scores as its elite. Fix: --refine-steps K, or another emitter.");
    }
  }
  std::string name() const override { return "elites"; }
  GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t) override {
    return archive.genomes().index_select(uniform_cells(archive, share, gen));
  }
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

class CmaEmitter : public Emitter {
 public:
  CmaEmitter(const SearchContext& c, bool annealed)
      : annealed_(annealed),
        sigma0_(c.options.cma_sigma),
        alpha_(c.options.cma_mae_alpha),
        cells_(c.targets.size(0)),
        shape_(c.encoding->options().shape),
        resolution_(c.options.cma_resolution),
        options_(at::TensorOptions(c.targets.device()).dtype(at::kFloat)) {
    dims_ = resolution_ > 0 ? shape_.channels * resolution_ * resolution_ : shape_.numel();
  }
  std::string name() const override { return annealed_ ? "cma-mae" : "cma-me"; }

  int64_t prepare(int64_t share) override {
    const int64_t lambda = share / cells_;
    if (lambda < 4) {
      throw Error(ErrorKind::kUsage, "--emitter " + name() + " runs one CMA-ES per target class, with at least 4 " +
                                         "offspring each: its share of the population, " + std::to_string(share) +
                                         ", is too small for " + std::to_string(cells_) +
                                         " classes. Fix: --population " + std::to_string(4 * cells_) +
                                         " or more per emitter, or fewer --classes.");
    }
    cma_ = SepCmaEs(cells_, dims_, lambda, sigma0_, options_);
    return lambda * cells_;
  }

  GenomeBatch ask(const Archive& archive, int64_t, at::Generator& gen, int64_t) override {
    if (!base_.defined()) {  // the first ask: every instance starts at its class's elite
      base_ = archive.genomes()["genes"].clone();
      threshold_ = at::zeros({cells_}, options_);  // CMA-MAE's threshold_min
    }
    return GenomeBatch({{"genes", genes_of(cma_.sample(gen))}});
  }

  void tell(const at::Tensor& target_probabilities, const at::Tensor& before, const Archive& after) override {
    const int64_t lambda = cma_.lambda();
    // Offspring of instance j were drawn for class j: rows j*lambda .. (j+1)*lambda - 1.
    auto p = target_probabilities.view({cells_, lambda, cells_});
    auto own = at::diagonal(p, 0, 0, 2).transpose(0, 1).contiguous();  // [cells, lambda]
    // Ranked by their improvement of the own cell (CMA-ME), or by their excess over its annealed
    // threshold (CMA-MAE): within one instance both order the offspring by own-class probability.
    cma_.update(own);
    // Restarts: CMA-ME when no offspring of the instance improved any cell, CMA-MAE when none
    // passed its cell's annealed threshold (which moves towards the best one that did).
    at::Tensor restart;
    if (annealed_) {
      auto passed = own > threshold_.unsqueeze(1);
      auto any = passed.any(1);
      auto best = at::where(passed, own, at::full_like(own, -1.0)).amax(1);
      threshold_ = at::where(any, threshold_ * (1 - alpha_) + best * alpha_, threshold_);
      restart = alpha_ > 0 ? any.logical_not() : at::zeros_like(any);
    } else {
      restart = (p > before.view({1, 1, cells_})).any(2).any(1).logical_not();
    }
    restart = restart.logical_or(cma_.sigma() < 1e-10);  // a collapsed step size
    if (restart.any().item<bool>()) {
      base_ = at::where(restart.unsqueeze(1), after.genomes()["genes"], base_);
      cma_.restart(restart);
    }
  }

  void save(SearchState& state, const std::string& prefix) const override {
    if (!base_.defined()) return;  // before its first ask: nothing yet
    state[prefix + "base"] = base_.cpu();
    state[prefix + "threshold"] = threshold_.cpu();
    cma_.save(state, prefix);
  }
  void restore(const SearchState& state, const std::string& prefix) override {
    const auto base = state.find(prefix + "base");
    const auto threshold = state.find(prefix + "threshold");
    if (base == state.end() || threshold == state.end()) return;  // saved before its first ask
    base_ = base->second.to(options_);
    threshold_ = threshold->second.to(options_);
    cma_.restore(state, prefix);
  }

 private:
  /// Genomes from perturbations on the coarse grid: the instance's base plus the perturbation
  /// bilinearly upsampled to the image, clipped to [0,1].
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

  bool annealed_;
  double sigma0_, alpha_;
  int64_t cells_;
  ImageShape shape_;
  int64_t resolution_;
  at::TensorOptions options_;
  int64_t dims_ = 0;
  SepCmaEs cma_;
  at::Tensor base_;       ///< [cells, genes]: the elite each instance perturbs
  at::Tensor threshold_;  ///< [cells]: CMA-MAE's acceptance thresholds
};

}  // namespace

const std::vector<std::string>& emitter_names() {
  static const std::vector<std::string> names = {"polynomial", "elites", "gaussian", "iso-line", "cma-me", "cma-mae"};
  return names;
}

std::vector<std::string> parse_emitters(const std::string& list, const std::string& encoding) {
  std::vector<std::string> out;
  std::stringstream parts(list);
  std::string part;
  std::string known;
  for (const auto& n : emitter_names()) known += (known.empty() ? "" : ", ") + n;
  if (list.empty() || list.front() == ',' || list.back() == ',' || list.find(",,") != std::string::npos) {
    throw Error(ErrorKind::kUsage, "--emitter '" + list + "' has an empty name. Fix: a comma list of " + known + ".");
  }
  while (std::getline(parts, part, ',')) {
    if (std::find(emitter_names().begin(), emitter_names().end(), part) == emitter_names().end()) {
      throw Error(ErrorKind::kUsage,
                  "--emitter '" + part + "' is not one of " + known + ". Fix: a comma list of them.");
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
  if (name == "elites") return std::make_unique<ElitesEmitter>(context);
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
      for (std::size_t d = 1; d < sizes.size(); ++d)
        sizes[d] = std::max(sizes[d], b[name].size(static_cast<int64_t>(d)));
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
