// fool merge: the best elite of each class over several runs of one model (the shards of one
// run, seeds, a whole sweep) as one run directory (fool/sweep/merge.h).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "fool/sweep/merge.h"

namespace fool::cli {

Command add_merge_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "merge",
      "Join runs of one model (the shards of --shard I/N, seeds, a sweep's cells) into one run directory: per class "
      "the best elite with its image, genome and provenance.");
  auto o = std::make_shared<MergeOptions>();
  app->add_option("out", o->out, "the merged run directory")->required();
  app->add_option("runs", o->inputs, "run directories, or sweep directories (every cell)")->required();
  app->add_flag("--force", o->force, "write into a non-empty OUT (fool's own files there are replaced)");
  app->add_flag("--allow-mixed", o->allow_mixed, "merge runs of different models or encodings (same image size)");
  return {app, [o] {
            const MergeResult r = merge_runs(*o);
            std::printf("%s\n", (std::filesystem::path(o->out) / "summary.json").string().c_str());
            std::fprintf(stderr, "merged %zu runs: %zu classes\n", r.runs, r.classes);
            return 0;
          }};
}

}  // namespace fool::cli
