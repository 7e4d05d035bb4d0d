#pragma once
// Every setting of `fool run`, with its default. The command line binds to these fields (so
// --help shows the defaults below), a --config file can set the same fields, and each run writes
// the effective values into its config.json. Names are a public interface: keep them.
#include <cstdint>
#include <string>
#include <vector>

#include "fool/encoding/encoding.h"
#include "fool/model/model_settings.h"
#include "fool/search/search.h"

namespace fool {

struct RunConfig {
  ModelSettings model;                   ///< which model, on which device, at which precision
  std::string more_models;               ///< further model files fooled at once, one per line (--model repeated)
  std::string ensemble_fitness = "min";  ///< several models: a class's fitness is the min or mean over them
  std::string search = "map-elites";     ///< search method, from the registry (fool/search/search.h)
  std::string encoding = "direct";
  int64_t generations = 1000;  ///< generations, the random initial one (generation 0) included
  int64_t population = 0;      ///< offspring per generation and initial genomes; 0: the
                               ///< encoding's default (the paper's: 200, 400 for CPPN in colour)
  std::string classes;         ///< e.g. "0-9" or "1,7,42"; empty: every class
  std::string shard;           ///< "I/N": the I-th of N contiguous parts of the classes; empty: all
  uint64_t seed = 1;
  std::string out;                      ///< run directory; empty: runs/<date>-<encoding>-s<seed>
  bool force = false;                   ///< write into a non-empty --out
  int64_t dump_every = 100;             ///< snapshot the elites every N generations; 0: only at the end
  int64_t checkpoint_every = 25;        ///< write checkpoint.fool every N generations (and at exit); 0: only at exit
  double target_confidence = 0;         ///< stop once every target class reaches it; 0: off
  int64_t max_evaluations = 0;          ///< stop before exceeding this many evaluations; 0: off
  int64_t max_forward_equivalents = 0;  ///< stop before exceeding this many forward equivalents; 0: off
  int64_t batch_size = 1024;            ///< forward chunk size
  int64_t crops = 1;                    ///< 1, or 10: score corners + centre + mirrors, averaged (PAPER.md §3)
  int64_t render_size = 0;              ///< render at this square size (0: the model's; with --crops 10: 256/227 of it)
  EncodingOptions encoding_options;
  SearchOptions search_options;
};

/// Visits every setting as (name, field, help). The one list of names: the command line's options,
/// the --config file's keys and config.json's "settings" all come from it. Fields are integers,
/// floating point, strings, bools, or enums with EnumNames (fool/util/enum_names.h).
template <class Visitor>
void for_each_setting(RunConfig& c, Visitor&& visit) {
  auto& e = c.encoding_options;
  auto& s = c.search_options;
  for_each_model_setting(c.model, visit);
  visit("more-models", c.more_models,
        "further model files to fool at once, one per line (on the command line: repeat --model)");
  visit("ensemble-fitness", c.ensemble_fitness,
        "several models: a class's fitness is the min (every model fooled) or mean of its probability over them");
  visit("search", c.search,
        "search method: map-elites (the paper's evolution) or ascent (its gradient ascent, direct encoding)");
  visit("encoding", c.encoding, "genome encoding: direct or cppn");
  visit("generations", c.generations,
        "generations, the random initial one included (evaluations = generations x population)");
  visit("population", c.population,
        "initial genomes and offspring per generation (0: the paper's, 200; 400 for CPPN on colour models)");
  visit("classes", c.classes, "target classes, e.g. 0-9 or 1,7,42 (empty: all)");
  visit("shard", c.shard, "I/N: run only the I-th of N contiguous parts of the classes (fool merge joins them)");
  visit("seed", c.seed, "random seed");
  visit("out", c.out, "run directory (empty: runs/<time>-<encoding>-s<seed>)");
  visit("force", c.force, "write into a non-empty --out");
  visit("dump-every", c.dump_every, "snapshot the elites every N generations (0: only at the end)");
  visit("checkpoint-every", c.checkpoint_every,
        "write a checkpoint every N generations, and at exit (0: only at exit)");
  visit("target-confidence", c.target_confidence, "stop once every target class reaches it (0: off)");
  visit("max-evaluations", c.max_evaluations, "stop before exceeding this many evaluations (0: off)");
  visit("max-forward-equivalents", c.max_forward_equivalents,
        "stop before exceeding this many forward-pass equivalents, a backward pass counting as two (0: off)");
  visit("batch-size", c.batch_size, "forward pass chunk size (0: whole population)");
  visit("crops", c.crops, "1, or 10: average the corners, centre and their mirrors (the paper's ImageNet scoring)");
  visit("render-size", c.render_size,
        "render at this square size (0: the model's input; with --crops 10, 256/227 of it)");
  visit("mutation-rate", e.mutation_rate, "per-gene (direct) or per-weight (CPPN) mutation probability");
  visit("mutation-eta", e.mutation_eta, "polynomial mutation strength eta_m");
  visit("halve-every", e.halve_every, "direct: halve the mutation rate every N generations (0: never)");
  visit("crossover", e.crossover,
        "direct: none, sbx (the original code's SBX before mutation, equal genes left at 0.5), or sbx-copy-equal");
  visit("crossover-rate", e.crossover_rate, "SBX: probability that a pair of parents is crossed");
  visit("crossover-eta", e.crossover_eta, "SBX distribution index eta_c");
  visit("color-space", e.color_space, "CPPN colour outputs: hls (original code), hsv (paper's text) or rgb");
  visit("coordinates", e.coordinates, "CPPN x,y inputs: normalized [-1,1] or pixels (original code)");
  visit("activations", e.activations, "CPPN activation set, comma-separated");
  visit("cppn-output", e.cppn_output,
        "CPPN output nodes: abs (the original: |activation| clipped to [0,1]) or logistic (1/(1+e^-sum): "
        "gradients to follow for --refine-steps)");
  visit("cppn-hidden", e.cppn_hidden,
        "CPPN initial genome: hidden layers, e.g. 32,32,32, each fully connected to the next (empty: the paper's, "
        "every input to every output)");
  visit("cppn-init-weight", e.cppn_init_weight, "CPPN initial genome: weights uniform in [-R, R] (the original: 10)");
  visit("emitter", s.emitter,
        "map-elites: where offspring come from, a comma list: polynomial (the paper's), elites (unmutated, for "
        "--refine-steps), gaussian, iso-line, cma-me, "
        "cma-mae (the last four: direct encoding)");
  visit("gaussian-sigma", s.gaussian_sigma, "gaussian emitter: standard deviation per gene");
  visit("isoline-sigma", s.isoline_sigma, "iso-line emitter: isotropic standard deviation");
  visit("line-sigma", s.line_sigma, "iso-line emitter: standard deviation along the line between two elites");
  visit("cma-sigma", s.cma_sigma, "cma-me/cma-mae: initial step size");
  visit("cma-resolution", s.cma_resolution,
        "cma-me/cma-mae: search perturbations on a coarse grid of this side, upsampled (0: every pixel)");
  visit("cma-mae-alpha", s.cma_mae_alpha, "cma-mae: threshold learning rate (0: never restart)");
  visit("refine-steps", s.refine_steps,
        "map-elites: gradient steps on each child's continuous genes (direct: pixels, CPPN: weights) before it is "
        "scored, written back into the genome; each costs 3 forward equivalents per child (0: none)");
  visit("refine-from", s.refine_from,
        "refinement: the first generation whose children are refined (plain evolution grows the CPPNs before it)");
  visit("refine-optimizer", s.refine_optimizer, "refinement: adam or sgd");
  visit("refine-lr", s.refine_lr, "refinement: step size");
  visit("ascent-start", s.ascent_start, "ascent: start at the centre plus tiny noise (mean-plus) or uniform noise");
  visit("ascent-centre", s.ascent_centre, "ascent: the image's centre value in [0,1] (the original's mean image)");
  visit("ascent-decay", s.ascent_decay, "ascent: L2 decay towards the centre after each step (0: none)");
  visit("ascent-early-progress", s.ascent_early_progress,
        "ascent: progress learning rate, early objective gain per step");
  visit("ascent-late-progress", s.ascent_late_progress,
        "ascent: progress learning rate, late gain as a fraction of 1 - objective");
  visit("ascent-max-lr", s.ascent_max_lr, "ascent: cap on the learning rate");
  visit("ascent-max-step", s.ascent_max_step,
        "ascent: largest change of any pixel in one step, in [0,1] units (0: no limit; not in the original)");
  visit("ascent-blur-radius", s.ascent_blur_radius, "ascent: Gaussian blur sigma in pixels (0: none, else >= 0.3)");
  visit("ascent-blur-every", s.ascent_blur_every, "ascent: blur every N steps");
  visit("ascent-small-norm-percentile", s.ascent_small_norm_percentile,
        "ascent: zero pixels of the smallest norms (percentile, 0: off)");
  visit("ascent-benefit-percentile", s.ascent_benefit_percentile,
        "ascent: zero pixels of the least benefit (percentile, 0: off)");
  visit("ascent-abs-benefit-percentile", s.ascent_abs_benefit_percentile,
        "ascent: zero pixels of the least |benefit| (percentile, 0: off)");
  visit("ascent-project", s.ascent_project,
        "ascent: size each step without the gradient that would push pixels past 0 or 1 (not in the original)");
}

/// The files of more_models, one per line (empty: a single model).
std::vector<std::string> more_model_files(const RunConfig& c);

/// Checks ranges and names that the type alone does not (the search and encoding names against
/// their registries); throws fool::Error (kUsage) naming the setting and the fix.
void validate(const RunConfig& c);

}  // namespace fool
