// fool run: MAP-Elites over the classes of a model, writing a run directory.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <memory>

#include "cli/common.h"
#include "cli/console.h"
#include "fool/evo/map_elites.h"
#include "fool/evo/random.h"
#include "fool/evo/run_config.h"
#include "fool/io/files.h"
#include "fool/io/genome_json.h"
#include "fool/io/json.h"
#include "fool/io/run_directory.h"
#include "fool/model/classes.h"
#include "fool/util/error.h"
#include "fool/util/version.h"

namespace fool::cli {
namespace {

void add_setting(CLI::App* app, const char* name, bool& field, const char* help) {
  app->add_flag(std::string("--") + name, field, help);
}

template <class T>
void add_setting(CLI::App* app, const char* name, T& field, const char* help) {
  app->add_option(std::string("--") + name, field, help)->capture_default_str();
}

/// Settings from --config that the command line did not give.
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

std::string default_out(const RunConfig& c) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string("runs/") + stamp + "-" + c.encoding + "-s" + std::to_string(c.seed);
}

EliteTable elite_table(const Archive& archive, const Encoding& encoding, const Model& model) {
  EliteTable table;
  auto classes = archive.targets().to(at::kCPU);
  auto confidence = archive.confidence().to(at::kCPU, at::kDouble);
  auto generation = archive.generation().to(at::kCPU);
  for (int64_t i = 0; i < archive.cells(); ++i) {
    table.classes.push_back(classes[i].item<int64_t>());
    table.labels.push_back(model.info().labels[static_cast<std::size_t>(table.classes.back())]);
    table.confidence.push_back(confidence[i].item<double>());
    table.generation.push_back(generation[i].item<int64_t>());
  }
  table.images = encoding.render(archive.genomes()).to(at::kCPU);
  for (int64_t i = 0; i < archive.cells(); ++i) {
    auto genome = genome_to_json(encoding, archive.genomes(), i);
    if (!genome) break;
    (*genome)["class"] = table.classes[static_cast<std::size_t>(i)];
    (*genome)["label"] = table.labels[static_cast<std::size_t>(i)];
    (*genome)["confidence"] = table.confidence[static_cast<std::size_t>(i)];
    (*genome)["generation"] = table.generation[static_cast<std::size_t>(i)];
    table.genomes.push_back(*genome);
  }
  return table;
}

std::string snapshot_name(int64_t generation) {
  char name[32];
  std::snprintf(name, sizeof name, "snapshots/gen_%06lld", static_cast<long long>(generation));
  return name;
}

int run(RunConfig c) {
  validate(c);
  const at::Device device = prepare_device(c.device, c.threads);
  const Model model = load_model(c.model, c.input_shape, c.labels, device);
  const auto classes = parse_classes(c.classes, model.num_classes());
  if (c.out.empty()) c.out = default_out(c);
  c.encoding_options.shape = model.info().input;
  const auto encoding = make_encoding(c.encoding, c.encoding_options);
  RunDirectory dir = RunDirectory::create(c.out, c.force);

  const nlohmann::json identity = {{"model", model.info().source},
                                   {"model_sha256", model.info().sha256},
                                   {"encoding", c.encoding},
                                   {"seed", c.seed},
                                   {"device", device.str()}};
  nlohmann::json config = identity;
  config["fool_version"] = version();
  config["git_revision"] = git_revision();
  config["libtorch_version"] = TORCH_VERSION;
  config["threads"] = at::get_num_threads();
  config["model_info"] = {{"name", model.info().name},
                          {"input", {model.info().input.channels, model.info().input.height, model.info().input.width}},
                          {"classes", model.num_classes()},
                          {"parameters", model.info().parameters}};
  config["settings"] = settings_to_json(c);
  dir.write_json("config.json", config);
  spdlog::info("{} on {} ({} threads): {} encoding, {} classes, {} generations of {} -> {}", model.info().source,
               device.str(), at::get_num_threads(), c.encoding, classes.size(), c.generations, c.population, c.out);

  MapElites search(model, *encoding, at::tensor(classes, at::kLong).to(device), {c.population, c.batch_size},
                   make_generator(device, c.seed));
  ProgressConsole console(c.generations - 1);
  GenerationStats stats = search.initialise();
  dir.append_progress(stats);
  console.update(stats);
  auto reached_target = [&] { return c.target_confidence > 0 && stats.min >= c.target_confidence; };
  while (search.generation() + 1 < c.generations && !reached_target()) {
    if (c.max_evaluations > 0 && search.evaluations() + c.population > c.max_evaluations) break;
    stats = search.step();
    dir.append_progress(stats);
    console.update(stats);
    if (c.dump_every > 0 && stats.generation % c.dump_every == 0) {
      dir.write_elites(elite_table(search.archive(), *encoding, model), snapshot_name(stats.generation));
    }
  }
  stats = search.stats(stats.replacements);
  const EliteTable table = elite_table(search.archive(), *encoding, model);
  dir.write_elites(table, "elites");
  dir.write_archive_csv(table);
  dir.write_json("summary.json", make_summary(table, identity, stats));
  console.finish(table, stats);
  spdlog::info("elites in {}/elites, summary in {}/summary.json", c.out, c.out);
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("run", "Evolve fooling images: MAP-Elites with one cell per class.");
  auto config = std::make_shared<RunConfig>();
  auto config_file = std::make_shared<std::string>();
  app->add_option("--config", *config_file, "JSON settings file (keys: these option names); the command line wins");
  for_each_setting(*config, [&](const char* name, auto& field, const char* help) { add_setting(app, name, field, help); });
  return {app, [app, config, config_file] {
            if (!config_file->empty()) apply_config_file(app, *config_file, *config);
            return run(*config);
          }};
}

}  // namespace fool::cli
