#pragma once
// The run's console: a live line on a terminal, periodic log lines otherwise, a final table.
#include <cstdint>

#include "fool/evo/map_elites.h"
#include "fool/io/run_directory.h"

namespace fool::cli {

class ProgressConsole {
 public:
  explicit ProgressConsole(int64_t total_generations);
  void update(const GenerationStats& stats);
  /// Ends the live line (if any) and prints the elites as a table on standard output.
  void finish(const EliteTable& table, const GenerationStats& last);

 private:
  int64_t total_;
  bool live_;
  double last_print_ = -1e9;
};

}  // namespace fool::cli
