#include "fool/run/run_loop.h"

#include <chrono>
#include <optional>

#include "fool/util/error.h"

namespace fool {
namespace {

double now_seconds() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

}  // namespace

RunOutcome run_loop(Search& search, const StopRules& stop, const std::vector<Reporter*>& reporters,
                    const ProgressRecord* resumed_from) {
  const double started = now_seconds();
  const double seconds_before = resumed_from ? resumed_from->seconds : 0.0;
  const auto seconds = [&] { return seconds_before + (now_seconds() - started); };
  for (auto* r : reporters) r->begin(search, resumed_from);

  ProgressRecord record;
  const auto run_generation = [&](int64_t generation, const ProgressRecord& before) {
    const Search::Step step = search.step(generation);
    record = progress_record(search.archive(), generation, before.evaluations + step.evaluations,
                             before.forward_equivalents + step.forward_equivalents, seconds(), step.replacements);
    for (auto* r : reporters) r->generation(search, record);
  };
  if (resumed_from != nullptr) {
    record = progress_record(search.archive(), resumed_from->generation, resumed_from->evaluations,
                             resumed_from->forward_equivalents, seconds(), 0);
  } else {
    run_generation(0, ProgressRecord{});
  }

  RunOutcome outcome;
  const auto signal = [&] { return stop.signal != nullptr ? stop.signal->load() : 0; };
  while (true) {
    if (record.generation + 1 >= stop.generations) {
      outcome.reason = StopReason::kGenerations;
    } else if (stop.target_confidence > 0 && record.min >= stop.target_confidence) {
      outcome.reason = StopReason::kTargetConfidence;
    } else if (signal() != 0) {
      outcome.reason = StopReason::kSignal;
    } else if (stop.max_evaluations > 0 && record.evaluations + search.next_evaluations() > stop.max_evaluations) {
      outcome.reason = StopReason::kMaxEvaluations;
    } else if (stop.max_forward_equivalents > 0 &&
               record.forward_equivalents + search.next_forward_equivalents_all_models(record.generation + 1) >
                   stop.max_forward_equivalents) {
      outcome.reason = StopReason::kMaxForwardEquivalents;
    } else {
      const ProgressRecord before = record;
      run_generation(record.generation + 1, before);
      continue;
    }
    break;
  }
  outcome.signal = signal();
  outcome.last = progress_record(search.archive(), record.generation, record.evaluations, record.forward_equivalents,
                                 seconds(), record.replacements);
  for (auto* r : reporters) r->end(search, outcome.last, outcome.reason);
  return outcome;
}

}  // namespace fool
