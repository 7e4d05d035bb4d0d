#pragma once
// Emitters: where MAP-Elites' offspring come from (pyribs' word). Each generation the population
// is shared between the emitters of --emitter (a comma list), their offspring scored in one batch
// and inserted into the one-cell-per-class archive together; each emitter then sees the
// probabilities of its own offspring.
//
//   polynomial  the paper's operator: parents uniform over the cells, the encoding's mutation
//               (with --crossover, SBX pairs first). The default; results unchanged.
//   elites      copies of elites, uniform over the cells, unmutated: --refine-steps then continues
//               their gradient ascent (Lamarckian hill climbing) where a mutant must first recover
//               what its mutation broke; any encoding; needs --refine-steps
//   gaussian    direct: parent + N(0, sigma^2) on every gene, clipped to [0,1]
//   iso-line    direct: x_i + N(0, iso^2) + N(0, line^2) (x_j - x_i), two parents uniform over
//               the cells (Vassiliades & Mouret 2018)
//   cma-me      direct: one sep-CMA-ES per target class (Ros & Hansen 2008's diagonal covariance,
//               for genomes of 10^5 genes), searching a perturbation of its class's elite in a
//               coarse grid (--cma-resolution, bilinearly upsampled: the low-frequency subspace
//               that query-efficient black-box attacks search); offspring ranked by their
//               improvement of the class's cell, restarted from the current elite when none
//               improves the archive (Fontaine et al. 2020)
//   cma-mae     the same ranked against an annealed acceptance threshold per cell, t <- (1 -
//               alpha) t + alpha f, and restarted only when no offspring passes it (Fontaine &
//               Nikolaidis 2023); alpha 0 never restarts (plain CMA-ES per class)
#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

#include "fool/search/search.h"

namespace fool {

class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual std::string name() const = 0;
  /// Called once, before the first ask(), with its share of the population (the same every
  /// generation); returns the offspring it gives for it. Throws fool::Error (kUsage) when the
  /// share is too small.
  virtual int64_t prepare(int64_t share) { return share; }
  /// Its offspring for `generation` > 0, from the archive as it stands.
  virtual GenomeBatch ask(const Archive& archive, int64_t share, at::Generator& gen, int64_t generation) = 0;
  /// After the archive took the whole generation: its offspring's probabilities of the target
  /// classes ([n,T], the archive's cell order), the cells' confidences before the insertion, and
  /// the archive after it.
  virtual void tell(const at::Tensor& target_probabilities, const at::Tensor& before, const Archive& after) {}
  /// State to checkpoint, each name prefixed with `prefix`.
  virtual void save(SearchState& state, const std::string& prefix) const {}
  virtual void restore(const SearchState& state, const std::string& prefix) {}
};

/// The names of --emitter, in order.
const std::vector<std::string>& emitter_names();
/// Parses a comma list of emitter names; throws fool::Error (kUsage) naming a bad one, an empty
/// list, or one that needs the direct encoding with another.
std::vector<std::string> parse_emitters(const std::string& list, const std::string& encoding);

std::unique_ptr<Emitter> make_emitter(const std::string& name, const SearchContext& context);

/// Genome batches one after the other (trailing dimensions zero-padded to the largest).
GenomeBatch concat(const std::vector<GenomeBatch>& batches);

}  // namespace fool
