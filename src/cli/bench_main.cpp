// fool-bench: `fool bench` alone, for machines without OpenCV (the GPU machine). The subcommand is
// implied: `fool-bench --device cuda` is `fool bench --device cuda` (`fool-bench bench ...` works too).
#include <string>
#include <vector>

#include "cli/app.h"

int main(int argc, char** argv) {
  using namespace fool::cli;
  std::vector<char*> args(argv, argv + argc);
  static char bench[] = "bench";
  const std::string first = argc > 1 ? argv[1] : "";
  if (first != "bench" && first != "--help" && first != "-h" && first != "--version")
    args.insert(args.begin() + 1, bench);
  return run_app(static_cast<int>(args.size()), args.data(),
                 "fool-bench: forward throughput against the full evolution loop of each encoding.",
                 [](CLI::App& app) { return std::vector<Command>{add_bench_command(app)}; });
}
