#pragma once
// The life cycle of a run, one place for every search: generation 0, then generations until a
// stop rule fires (the generation count, a target confidence reached by every class, an
// evaluation budget, a signal), with every output a Reporter that shares one begin / generation
// / end life cycle (progress.csv, the console, snapshots, checkpoints, the final elites), the way
// google/benchmark's reporters do. Reporters are called in the order given.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "fool/run/progress.h"
#include "fool/search/search.h"
#include "fool/util/enum_names.h"

namespace fool {

struct StopRules {
  int64_t generations = 1000;                ///< generations, generation 0 included
  double target_confidence = 0;              ///< stop once every target class reaches it; 0: off
  int64_t max_evaluations = 0;               ///< stop before a generation would exceed it; 0: off
  int64_t max_forward_equivalents = 0;       ///< the same in forward equivalents; 0: off
  const std::atomic<int>* signal = nullptr;  ///< non-zero: stop after the current generation
};

enum class StopReason { kGenerations, kTargetConfidence, kMaxEvaluations, kMaxForwardEquivalents, kSignal };

/// The names summary.json's "stop_reason" uses.
template <>
struct EnumNames<StopReason> {
  static const std::vector<std::pair<StopReason, std::string>>& list() {
    static const std::vector<std::pair<StopReason, std::string>> names = {
        {StopReason::kGenerations, "generations"},
        {StopReason::kTargetConfidence, "target-confidence"},
        {StopReason::kMaxEvaluations, "max-evaluations"},
        {StopReason::kMaxForwardEquivalents, "max-forward-equivalents"},
        {StopReason::kSignal, "signal"}};
    return names;
  }
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  /// Before the first generation of this process; `resumed_from` is the checkpoint's record when
  /// the run continues one.
  virtual void begin(const Search& search, const ProgressRecord* resumed_from) {}
  /// After every generation this process runs, generation 0 included.
  virtual void generation(const Search& search, const ProgressRecord& record) {}
  /// Once, when a stop rule fired; `last` is the final record (seconds up to now).
  virtual void end(const Search& search, const ProgressRecord& last, StopReason reason) {}
};

struct RunOutcome {
  ProgressRecord last;
  StopReason reason = StopReason::kGenerations;
  int signal = 0;  ///< the signal that stopped the run, or 0
};

/// Runs `search` from generation 0, or from `resumed_from` (a checkpoint's record, whose archive
/// and generator the search already holds), until a stop rule fires.
RunOutcome run_loop(Search& search, const StopRules& stop, const std::vector<Reporter*>& reporters,
                    const ProgressRecord* resumed_from = nullptr);

}  // namespace fool
