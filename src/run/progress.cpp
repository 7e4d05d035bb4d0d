#include "fool/run/progress.h"

namespace fool {

ProgressRecord progress_record(const Archive& archive, int64_t generation, int64_t evaluations,
                               int64_t forward_equivalents, double seconds, int64_t replacements) {
  const auto& confidence = archive.confidence();
  auto filled = confidence >= 0;
  auto summary = at::stack({confidence.min(), at::quantile(confidence, 0.5), confidence.mean(), confidence.max(),
                            filled.sum().to(at::kFloat)})
                     .to(at::kCPU, at::kDouble);
  auto v = summary.accessor<double, 1>();
  ProgressRecord r;
  r.generation = generation;
  r.evaluations = evaluations;
  r.forward_equivalents = forward_equivalents;
  r.seconds = seconds;
  r.min = v[0];
  r.median = v[1];
  r.mean = v[2];
  r.max = v[3];
  r.filled = static_cast<int64_t>(v[4]);
  r.replacements = replacements;
  return r;
}

}  // namespace fool
