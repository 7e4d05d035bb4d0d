#pragma once
// How well a score tells real inputs from fooling ones: the detection figures of Hendrycks &
// Gimpel's baseline (ICLR 2017), where the score is the maximum softmax probability and real
// (in-distribution) inputs are the positives.
#include <algorithm>
#include <cmath>
#include <vector>

namespace fool {

struct DetectionScores {
  double auroc = NAN;          ///< P(score(real) > score(fooling)) + P(equal) / 2
  double fpr_at_95_tpr = NAN;  ///< fooling inputs kept when the threshold keeps 95% of the real ones
};

/// `real`: scores of real inputs (higher: more real), `fooling`: of fooling inputs. AUROC is the
/// Mann-Whitney statistic with ties counted half. FPR at 95% TPR: the threshold t is the largest
/// score with at least 95% of the real scores >= t (the ceil(0.95 n)-th largest real score); the
/// result is the fraction of fooling scores >= t. NaN when either side is empty.
inline DetectionScores detection_scores(std::vector<double> real, std::vector<double> fooling) {
  DetectionScores d;
  if (real.empty() || fooling.empty()) return d;
  std::sort(real.begin(), real.end());
  std::sort(fooling.begin(), fooling.end());
  // For each real score: fooling scores below it, plus half of those equal to it.
  double wins = 0;
  for (double r : real) {
    const auto below = std::lower_bound(fooling.begin(), fooling.end(), r) - fooling.begin();
    const auto not_above = std::upper_bound(fooling.begin(), fooling.end(), r) - fooling.begin();
    wins += static_cast<double>(below) + 0.5 * static_cast<double>(not_above - below);
  }
  d.auroc = wins / (static_cast<double>(real.size()) * static_cast<double>(fooling.size()));
  const auto kept = static_cast<std::size_t>(std::ceil(0.95 * static_cast<double>(real.size()) - 1e-9));
  const double threshold = real[real.size() - std::max<std::size_t>(kept, 1)];
  const auto accepted = fooling.end() - std::lower_bound(fooling.begin(), fooling.end(), threshold);
  d.fpr_at_95_tpr = static_cast<double>(accepted) / static_cast<double>(fooling.size());
  return d;
}

}  // namespace fool
