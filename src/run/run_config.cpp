#include "fool/run/run_config.h"

#include <cmath>
#include <string>
#include <type_traits>

#include "fool/model/classes.h"
#include "fool/model/precision.h"
#include "fool/search/emitters.h"
#include "fool/search/search.h"
#include "fool/util/error.h"
#include "fool/util/utf8.h"

namespace fool {

std::vector<std::string> more_model_files(const RunConfig& c) {
  std::vector<std::string> files;
  if (c.more_models.empty()) return files;
  std::size_t begin = 0;
  for (std::size_t end = c.more_models.find('\n'); end != std::string::npos; end = c.more_models.find('\n', begin)) {
    files.push_back(c.more_models.substr(begin, end - begin));
    begin = end + 1;
  }
  files.push_back(c.more_models.substr(begin));
  return files;
}

void validate(const RunConfig& c) {
  const auto& e = c.encoding_options;
  // config.json records every setting: text that JSON cannot hold fails now, not after the run.
  RunConfig copy = c;
  for_each_setting(copy, [](const char* name, auto& field, const char*) {
    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, std::string>) {
      require_setting(is_utf8(field), name,
                      "'" + field +
                          "' is not UTF-8 text, and fool records its settings in "
                          "config.json. Fix: use a UTF-8 name");
    }
  });
  check_search_name(c.search);
  require_setting(c.ensemble_fitness == "min" || c.ensemble_fitness == "mean", "ensemble-fitness",
                  "'" + c.ensemble_fitness + "' is not min or mean. Fix: --ensemble-fitness min or mean");
  for (const auto& file : more_model_files(c)) {
    require_setting(!file.empty(), "model", "is an empty file name. Fix: give each --model a file");
  }
  make_encoding(c.encoding, e);  // throws naming the encodings; the options are checked when it is built
  check_search_encoding(c.search, c.encoding);
  parse_shard(c.shard);  // throws naming the form
  require_setting(c.generations >= 1, "generations", "must be >= 1");
  require_setting(c.population >= 0, "population", "must be >= 1 (0: the paper's)");
  require_setting(c.model.threads >= 0, "threads", "must be >= 0 (0: every core)");
  precision_from_name(c.model.precision);  // throws naming the value
  require_setting(c.dump_every >= 0, "dump-every", "must be >= 0 (0: only at the end)");
  require_setting(c.checkpoint_every >= 0, "checkpoint-every", "must be >= 0 (0: only at exit)");
  require_setting(c.target_confidence >= 0 && c.target_confidence <= 1, "target-confidence",
                  "must be in [0,1] (0: off)");
  require_setting(c.max_evaluations >= 0, "max-evaluations", "must be >= 0 (0: off)");
  require_setting(c.max_forward_equivalents >= 0, "max-forward-equivalents", "must be >= 0 (0: off)");
  require_setting(c.batch_size >= 0, "batch-size", "must be >= 0 (0: whole population)");
  require_setting(e.mutation_rate >= 0 && e.mutation_rate <= 1, "mutation-rate", "must be in [0,1]");
  require_setting(e.mutation_eta >= 0 && std::isfinite(e.mutation_eta), "mutation-eta", "must be a number >= 0");
  require_setting(e.halve_every >= 0, "halve-every", "must be >= 0 (0: never)");
  require_setting(e.crossover_rate >= 0 && e.crossover_rate <= 1, "crossover-rate", "must be in [0,1]");
  const auto& s = c.search_options;
  if (c.search == "map-elites") parse_emitters(s.emitter, c.encoding);  // throws naming a bad one
  require_setting(s.gaussian_sigma > 0 && std::isfinite(s.gaussian_sigma), "gaussian-sigma", "must be a number > 0");
  require_setting(s.isoline_sigma >= 0 && std::isfinite(s.isoline_sigma), "isoline-sigma", "must be a number >= 0");
  require_setting(s.line_sigma >= 0 && std::isfinite(s.line_sigma), "line-sigma", "must be a number >= 0");
  require_setting(s.cma_sigma > 0 && std::isfinite(s.cma_sigma), "cma-sigma", "must be a number > 0");
  require_setting(s.cma_resolution >= 0 && s.cma_resolution <= 4096, "cma-resolution",
                  "must be in [0, 4096] (0: every pixel)");
  require_setting(s.cma_mae_alpha >= 0 && s.cma_mae_alpha <= 1, "cma-mae-alpha", "must be in [0,1]");
  require_setting(e.crossover_eta >= 0 && std::isfinite(e.crossover_eta), "crossover-eta", "must be a number >= 0");
  require_setting(s.refine_steps >= 0 && s.refine_steps <= 1000, "refine-steps",
                  "must be in [0, 1000] (0: no refinement)");
  require_setting(s.refine_from >= 1, "refine-from", "must be >= 1 (generation 0 is the random population)");
  require_setting(s.refine_lr > 0 && std::isfinite(s.refine_lr), "refine-lr", "must be a number > 0");
  require_setting(s.refine_steps == 0 || c.search == "map-elites", "refine-steps",
                  "refines MAP-Elites' children; --search " + c.search + " has none. Fix: --refine-steps 0");
}

}  // namespace fool
