// fool retrain: the paper's retraining loop (fool/train/retrain.h). Here: the command line, the
// --config file of run settings, and the signals.
#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "fool/train/retrain.h"

namespace fool::cli {

Command add_retrain_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "retrain", "Rounds of evolve -> add the fooling images as class K+1 -> train the next network (PAPER.md 2.4).");
  auto config = std::make_shared<RetrainConfig>();
  config->run.generations = 500;
  config->run.dump_every = 0;
  auto config_file = std::make_shared<std::string>();
  app->add_option("--config", *config_file, "JSON file of run settings (keys: the run option names)");
  for_each_setting(config->run,
                   [&](const char* name, auto& field, const char* help) { add_setting(*app, name, field, help); });
  // One network at a time: the settings for several models do not apply.
  app->get_option("--more-models")->group("");
  app->get_option("--ensemble-fitness")->group("");
  for_each_retrain_setting(
      *config, [&](const char* name, auto& field, const char* help) { add_setting(*app, name, field, help); });
  return {app, [app, config, config_file] {
            if (!config_file->empty()) apply_config_file(app, *config_file, config->run);
            auto& model = config->run.model.file;
            if (!model.empty() && std::filesystem::exists(model)) {
              model = std::filesystem::absolute(model).lexically_normal().string();
            }
            install_signal_handlers();
            return execute_retrain(*config, &g_stop_signal);
          }};
}

}  // namespace fool::cli
