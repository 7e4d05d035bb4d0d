#include "cli/console.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace fool::cli {

ProgressConsole::ProgressConsole(int64_t total_generations)
    : total_(total_generations), live_(::isatty(STDERR_FILENO) == 1) {}

void ProgressConsole::update(const GenerationStats& s) {
  const double rate = s.seconds > 0 ? static_cast<double>(s.evaluations) / s.seconds : 0.0;
  if (live_) {
    if (s.seconds - last_print_ < 0.1 && s.generation != total_) return;
    last_print_ = s.seconds;
    std::fprintf(stderr, "\r\033[Kgen %lld/%lld  evals %lld  %.0f/s  conf min %.4f median %.4f max %.4f",
                 static_cast<long long>(s.generation), static_cast<long long>(total_),
                 static_cast<long long>(s.evaluations), rate, s.min, s.median, s.max);
    std::fflush(stderr);
    return;
  }
  if (s.seconds - last_print_ < 5.0 && s.generation != 0) return;
  last_print_ = s.seconds;
  spdlog::info("gen {}/{}  evals {}  {:.0f}/s  conf min {:.4f} median {:.4f} max {:.4f}", s.generation, total_,
               s.evaluations, rate, s.min, s.median, s.max);
}

void ProgressConsole::finish(const EliteTable& table, const GenerationStats& s) {
  if (live_) std::fprintf(stderr, "\n");
  std::printf("%6s  %-24s  %10s  %10s\n", "class", "label", "confidence", "generation");
  for (std::size_t i = 0; i < table.classes.size(); ++i) {
    std::printf("%6lld  %-24.24s  %10.6f  %10lld\n", static_cast<long long>(table.classes[i]), table.labels[i].c_str(),
                table.confidence[i], static_cast<long long>(table.generation[i]));
  }
  std::printf("%lld generations, %lld evaluations in %.2f s (%.0f/s); confidence min %.6f median %.6f\n",
              static_cast<long long>(s.generation + 1), static_cast<long long>(s.evaluations), s.seconds,
              s.seconds > 0 ? static_cast<double>(s.evaluations) / s.seconds : 0.0, s.min, s.median);
  std::fflush(stdout);
}

}  // namespace fool::cli
