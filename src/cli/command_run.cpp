// fool run / fool resume: parse the settings and hand them to the run (fool/run/run.h), which
// owns the whole life cycle. Here: the command line, the --config file, and the signals.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "fool/io/json.h"
#include "fool/run/run.h"
#include "fool/util/error.h"

namespace fool::cli {

void apply_config_file(CLI::App* app, const std::string& path, RunConfig& config) {
  RunConfig from_file = config;
  load_config_file(path, from_file);
  nlohmann::json merged = settings_to_json(from_file);
  nlohmann::json given = settings_to_json(config);
  for (auto& item : given.items()) {
    if (app->get_option("--" + item.key())->count() > 0) merged[item.key()] = item.value();
  }
  settings_from_json(merged, config, path);
}

namespace {

std::string default_out(const RunConfig& c) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string("runs/") + stamp + "-" + c.encoding + "-s" + std::to_string(c.seed);
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("run", "Evolve fooling images: MAP-Elites with one cell per class.");
  auto config = std::make_shared<RunConfig>();
  auto config_file = std::make_shared<std::string>();
  app->add_option("--config", *config_file, "JSON settings file (keys: these option names); the command line wins");
  for_each_setting(*config,
                   [&](const char* name, auto& field, const char* help) { add_setting(*app, name, field, help); });
  // --model A --model B: fool both at once (the files after the first go to more-models).
  app->get_option("--model")
      ->multi_option_policy(CLI::MultiOptionPolicy::Join)
      ->description("TorchScript model file (empty: the bundled LeNet); repeat it to fool several models at once");
  app->get_option("--more-models")->group("");
  return {app, [app, config, config_file] {
            if (!config_file->empty()) apply_config_file(app, *config_file, *config);
            auto& file = config->model.file;
            if (const auto newline = file.find('\n'); newline != std::string::npos) {
              config->more_models = file.substr(newline + 1);
              file.resize(newline);
            }
            if (config->out.empty()) config->out = default_out(*config);
            auto& model = config->model.file;
            if (!model.empty() && std::filesystem::exists(model)) {
              model = std::filesystem::absolute(model).lexically_normal().string();
            }
            if (!config->more_models.empty()) {  // absolute too, so that a resume from elsewhere finds them
              std::string files;
              for (auto f : more_model_files(*config)) {
                if (!f.empty() && std::filesystem::exists(f))
                  f = std::filesystem::absolute(f).lexically_normal().string();
                files += (files.empty() ? "" : "\n") + f;
              }
              config->more_models = files;
            }
            install_signal_handlers();
            return execute_run(*config, RunMode::kFresh, &g_stop_signal);
          }};
}

Command add_resume_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("resume", "Continue a run from its checkpoint, exactly where it stopped.");
  auto dir = std::make_shared<std::string>();
  auto generations = std::make_shared<int64_t>(0);
  app->add_option("dir", *dir, "run directory written by fool run")->required();
  add_number(*app, "--generations", *generations, "new total number of generations (0: the run's own)");
  return {app, [dir, generations] {
            const std::string config_path = (std::filesystem::path(*dir) / "config.json").string();
            if (!std::filesystem::exists(config_path)) {
              throw Error(ErrorKind::kIo,
                          "'" + *dir + "' has no config.json. Fix: pass the --out directory of a fool run.");
            }
            RunConfig config;
            load_config_file(config_path, config);
            config.out = *dir;
            if (*generations < 0) throw Error(ErrorKind::kUsage, "--generations must be >= 0.");
            if (*generations > 0) config.generations = *generations;
            install_signal_handlers();
            return execute_run(config, RunMode::kResume, &g_stop_signal);
          }};
}

}  // namespace fool::cli
