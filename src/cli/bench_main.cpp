// fool-bench: `fool bench` alone, for machines without OpenCV (the GPU machine).
#include "cli/app.h"

int main(int argc, char** argv) {
  using namespace fool::cli;
  return run_app(argc, argv, "fool-bench: forward throughput against the full evolution loop of each encoding.",
                 [](CLI::App& app) { return std::vector<Command>{add_bench_command(app)}; });
}
