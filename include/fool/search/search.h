#pragma once
// A search method, in the batched ask/tell form of libcmaes and pyribs: ask() gives the next
// batch of genomes, the run scores them (render, then one chunked forward), tell() takes their
// probabilities. step() is that composition. MAP-Elites (PAPER.md §1.2) is one search; others
// register by name the way the encodings do, and the run loop, checkpoints and `fool bench` serve
// them all without a change.
//
// Every search keeps the archive the run reports: one cell per target class holding the best
// genome found for it. Its state (archive, generator, state()) is what a checkpoint saves, so a
// resumed run continues exactly.
#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fool/encoding/encoding.h"
#include "fool/model/scoring.h"
#include "fool/search/archive.h"
#include "fool/util/enum_names.h"

namespace fool {

/// How the paper's gradient ascent starts (PAPER.md §2.2, `start_at`).
enum class AscentStart {
  kMeanPlus,  ///< the centre image plus N(0, 1/255) noise ("mean_plus", the original's default)
  kUniform,   ///< uniform noise over [0,1] ("randu")
};
template <>
struct EnumNames<AscentStart> {
  static const std::vector<std::pair<AscentStart, std::string>>& list() {
    static const std::vector<std::pair<AscentStart, std::string>> names = {{AscentStart::kMeanPlus, "mean-plus"},
                                                                           {AscentStart::kUniform, "uniform"}};
    return names;
  }
};

/// How --refine-steps moves the continuous genes (fool/search/refine.h).
enum class RefineOptimizer {
  kAdam,  ///< Adam (Kingma & Ba 2015), its moments fresh for every child
  kSgd,   ///< plain gradient ascent, genes += lr * gradient
};
template <>
struct EnumNames<RefineOptimizer> {
  static const std::vector<std::pair<RefineOptimizer, std::string>>& list() {
    static const std::vector<std::pair<RefineOptimizer, std::string>> names = {{RefineOptimizer::kAdam, "adam"},
                                                                               {RefineOptimizer::kSgd, "sgd"}};
    return names;
  }
};

/// Settings every search may read; each search documents which ones it uses. Defaults are the
/// original code's (caffe/ascent/find_fooling_image.py, PAPER.md §2.2).
struct SearchOptions {
  AscentStart ascent_start = AscentStart::kMeanPlus;
  double ascent_centre = 0.5;                ///< the image the decay pulls towards and mean-plus starts at, in [0,1]
  double ascent_decay = 0.01;                ///< L2 decay: x -= decay * (x - centre) after every step
  double ascent_early_progress = 0.03;       ///< "progress" learning rate: aim for this rise of the objective...
  double ascent_late_progress = 0.1;         ///< ...or this fraction of what is left to 1, the smaller
  double ascent_max_lr = 1e12;               ///< cap on the learning rate
  double ascent_max_step = 0;                ///< largest change of any pixel in one step, in [0,1] units (0: no limit)
  double ascent_blur_radius = 0;             ///< Gaussian blur sigma in pixels (0: none; the original refuses < 0.3)
  int64_t ascent_blur_every = 1;             ///< blur every N steps
  double ascent_small_norm_percentile = 0;   ///< zero the pixels whose norm over channels is below this percentile
  double ascent_benefit_percentile = 0;      ///< zero the pixels whose benefit -grad*x is below this percentile
  double ascent_abs_benefit_percentile = 0;  ///< zero the pixels whose |benefit| is below this percentile
  bool ascent_project =
      false;  ///< drop gradient components that push clipped pixels out of [0,1] (not in the original)
  std::string emitter = "polynomial";  ///< MAP-Elites' emitters, a comma list (fool/search/emitters.h)
  double gaussian_sigma = 0.1;         ///< gaussian: the mutation's standard deviation per gene
  double isoline_sigma = 0.01;         ///< iso-line: isotropic standard deviation
  double line_sigma = 0.2;             ///< iso-line: standard deviation along the line between two elites
  double cma_sigma = 0.3;              ///< cma-me, cma-mae: initial step size
  int64_t cma_resolution = 7;          ///< cma-me, cma-mae: search a coarse grid of this side (0: every pixel)
  double cma_mae_alpha = 0.01;         ///< cma-mae: threshold learning rate (0: never restart)
  int64_t refine_steps = 0;            ///< map-elites: gradient steps on each child before it is scored (0: none)
  int64_t refine_from = 1;             ///< ...from this generation on (plain evolution before it)
  RefineOptimizer refine_optimizer = RefineOptimizer::kAdam;  ///< how refinement steps move the genes
  double refine_lr = 0.1;                                     ///< its step size
};

/// What every search is built from. The scorer (and its model) and the encoding must outlive it.
struct SearchContext {
  const Scorer* scorer = nullptr;
  const Encoding* encoding = nullptr;
  at::Tensor targets;         ///< int64 [T] class indices on the model's device; cell j is class targets[j]
  int64_t population = 200;   ///< genomes per ask()
  int64_t batch_size = 1024;  ///< forward chunk size (0: a whole batch at once)
  at::Generator generator;    ///< the run's one generator, on the model's device
  SearchOptions options;
};

/// Named tensors that a search checkpoints beyond its archive and the generator (scalars as 0-d
/// tensors, on the CPU when saved).
using SearchState = std::map<std::string, at::Tensor>;

class Search {
 public:
  virtual ~Search() = default;
  /// The name it is registered under ("map-elites", ...).
  virtual std::string name() const = 0;

  /// The next genomes to score, on the model's device; generation 0 asks for the initial ones.
  virtual GenomeBatch ask(int64_t generation) = 0;
  /// The probabilities [N,K] of the N genomes of the last ask(). Returns the number of archive
  /// cells they replaced.
  virtual int64_t tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) = 0;

  /// Images the next generation (after generation 0) will score (default: the population).
  virtual int64_t next_evaluations() const { return context_.population; }
  /// The cost of generation `generation` (> 0) in forward equivalents, the search's own passes
  /// included (default: the evaluations), for one model.
  virtual int64_t next_forward_equivalents(int64_t generation) const { return next_evaluations(); }
  /// The same for every model of the scorer: each image goes through each of them.
  int64_t next_forward_equivalents_all_models(int64_t generation) const {
    return next_forward_equivalents(generation) * models();
  }
  /// The models the scorer fools at once (1 unless --model is repeated).
  int64_t models() const;

  /// State beyond the archive and the generator, for checkpoints (default: none).
  virtual SearchState state() const { return {}; }
  /// Puts back what state() gave; throws fool::Error (kCheckpoint) when an entry is missing.
  virtual void restore_state(const SearchState& state) {}

  /// The images the scorer sees: [N,C,h,w] in [0,1] at the scorer's render size, 8-bit values.
  at::Tensor render(const GenomeBatch& genomes) const;
  /// [N,K] probabilities of `images`, in forward chunks of context().batch_size.
  at::Tensor predict(const at::Tensor& images) const;
  /// The same, also giving their log-probabilities (the archive's tie-breaker).
  at::Tensor predict(const at::Tensor& images, at::Tensor& log_probabilities) const;

  struct Step {
    int64_t evaluations = 0;          ///< genomes scored (one forward pass each)
    int64_t forward_equivalents = 0;  ///< evaluations plus the search's own passes (a backward counts two),
                                      ///< times the models scored
    int64_t replacements = 0;         ///< archive cells replaced
  };
  /// One generation: ask, render, predict, tell.
  Step step(int64_t generation);

  const Archive& archive() const { return archive_; }
  Archive& archive() { return archive_; }
  at::Generator& generator() { return context_.generator; }
  const SearchContext& context() const { return context_; }
  /// The log-probabilities step() predicted with the probabilities it hands to tell() (undefined
  /// when tell() is called otherwise): a tell() passes them to Archive::insert.
  at::Tensor scored_log_probabilities(const at::Tensor& probabilities) const {
    return log_probabilities_.defined() && log_probabilities_.sizes() == probabilities.sizes() ? log_probabilities_
                                                                                               : at::Tensor();
  }
  const Encoding& encoding() const { return *context_.encoding; }
  const Scorer& scorer() const { return *context_.scorer; }

  /// Forward-pass equivalents the search spent on its own since the last call (gradient steps:
  /// a forward and a backward, 3 per image), beyond the loop's scoring of what ask() returned.
  int64_t take_extra_forward_equivalents() {
    const int64_t spent = extra_forward_equivalents_;
    extra_forward_equivalents_ = 0;
    return spent;
  }

 protected:
  /// Checks the context (scorer, encoding, a positive population); throws kInternal otherwise.
  explicit Search(SearchContext context);
  SearchContext context_;
  Archive archive_;
  int64_t extra_forward_equivalents_ = 0;
  at::Tensor log_probabilities_;  ///< of the batch step() is telling
};

using SearchFactory = std::function<std::unique_ptr<Search>(const SearchContext&)>;

/// Adds a search to the registry (the built-in ones register themselves; tests and later methods
/// call this). `encodings` names the encodings it works with (empty: every one). Throws
/// fool::Error (kInternal) for a name already taken.
void register_search(const std::string& name, const std::string& description, SearchFactory factory,
                     std::vector<std::string> encodings = {});
/// Throws fool::Error (kUsage) when the search `name` does not work with the encoding `encoding`.
void check_search_encoding(const std::string& name, const std::string& encoding);
bool search_supports(const std::string& name, const std::string& encoding);
/// Every registered name, in registration order ("map-elites" first).
std::vector<std::string> search_names();
/// Builds the search registered under `name`; throws fool::Error (kUsage) listing the names.
std::unique_ptr<Search> make_search(const std::string& name, const SearchContext& context);
/// Throws fool::Error (kUsage) listing the names unless `name` is registered.
void check_search_name(const std::string& name);

}  // namespace fool
