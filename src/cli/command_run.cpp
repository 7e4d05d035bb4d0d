// fool run / fool resume: MAP-Elites over the classes of a model, writing a run directory, with
// checkpoints that let a killed run continue exactly where it stopped.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>

#include "cli/common.h"
#include "cli/console.h"
#include "fool/evo/checkpoint.h"
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

constexpr const char* kCheckpointFile = "checkpoint.fool";

// ---- signals: the first SIGINT/SIGTERM ends the run cleanly after the current generation; a
// second SIGINT exits at once (every file is written atomically, so what is there is whole). ----
std::atomic<int> g_stop_signal{0};

extern "C" void on_signal(int signal) {
  if (g_stop_signal.load() != 0 && signal == SIGINT) _exit(130);
  g_stop_signal.store(signal);
}

void install_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

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

EliteTable elite_table(const Archive& archive, const Encoding& encoding, const Scorer& scorer) {
  const Model& model = scorer.model();
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
    const auto k = static_cast<std::size_t>(i);
    (*genome)["class"] = table.classes[k];
    (*genome)["label"] = table.labels[k];
    (*genome)["confidence"] = table.confidence[k];
    (*genome)["generation"] = table.generation[k];
    table.genomes.push_back(*genome);
  }
  return table;
}

std::string snapshot_name(int64_t generation) {
  char name[32];
  std::snprintf(name, sizeof name, "snapshots/gen_%06lld", static_cast<long long>(generation));
  return name;
}

/// Runs (or continues) the search described by `c` in `dir_path`. With `resume`, the run
/// directory exists and its checkpoint, if any, is restored.
int run(RunConfig c, bool resume) {
  validate(c);
  const at::Device device = prepare_device(c.device, c.threads);
  const Model model = load_model(c.model, c.input_shape, c.labels, device, c.precision, c.channels_last);
  const auto classes = parse_classes(c.classes, model.num_classes());
  if (c.population == 0) c.population = paper_population(c.encoding, model.info().input.channels);
  const Scorer scorer(model, {c.crops, c.render_size});
  // Genomes live at the rendering resolution (the paper's ImageNet genomes are 256x256 for 227 crops).
  c.encoding_options.shape = {model.info().input.channels, scorer.render_height(), scorer.render_width()};
  const auto encoding = make_encoding(c.encoding, c.encoding_options);
  const CheckpointIdentity identity{settings_to_json(c).dump(), model.info().sha256, c.encoding};
  const std::string checkpoint_path = (std::filesystem::path(c.out) / kCheckpointFile).string();

  MapElites search(scorer, *encoding, at::tensor(classes, at::kLong).to(device), {c.population, c.batch_size},
                   make_generator(device, c.seed));
  std::optional<RunDirectory> dir;
  std::optional<GenerationStats> stats;
  if (resume && std::filesystem::exists(checkpoint_path)) {
    const Checkpoint checkpoint = decode_checkpoint(read_file(checkpoint_path), checkpoint_path);
    restore_checkpoint(search, checkpoint, identity, checkpoint_path);
    dir.emplace(RunDirectory::reopen(c.out, checkpoint.generation));
    stats = search.stats(0);
    spdlog::info("resuming {} at generation {} ({} evaluations)", c.out, checkpoint.generation, checkpoint.evaluations);
  } else {
    dir.emplace(resume ? RunDirectory::reopen(c.out, -1) : RunDirectory::create(c.out, c.force));
  }

  const nlohmann::json run_identity = {{"model", model.info().source},
                                       {"model_sha256", model.info().sha256},
                                       {"encoding", c.encoding},
                                       {"seed", c.seed},
                                       {"device", device.str()}};
  nlohmann::json config = run_identity;
  config["fool_version"] = version();
  config["git_revision"] = git_revision();
  config["libtorch_version"] = TORCH_VERSION;
  config["threads"] = at::get_num_threads();
  config["model_info"] = {{"name", model.info().name},
                          {"input", {model.info().input.channels, model.info().input.height, model.info().input.width}},
                          {"classes", model.num_classes()},
                          {"parameters", model.info().parameters},
                          {"buffers", model.info().buffers}};
  config["settings"] = settings_to_json(c);
  dir->write_json("config.json", config);
  if (!resume) {
    spdlog::info("{} on {} ({} threads): {} encoding, {} classes, {} generations of {} -> {}", model.info().source,
                 device.str(), at::get_num_threads(), c.encoding, classes.size(), c.generations, c.population, c.out);
  }

  auto save_checkpoint = [&] { write_file_atomic(checkpoint_path, encode_checkpoint(search, identity)); };
  g_stop_signal.store(0);
  install_signal_handlers();
  ProgressConsole console(c.generations - 1);
  if (!stats) {
    stats = search.initialise();
    dir->append_progress(*stats);
    console.update(*stats);
    save_checkpoint();
  }
  auto reached_target = [&] { return c.target_confidence > 0 && stats->min >= c.target_confidence; };
  while (search.generation() + 1 < c.generations && !reached_target() && g_stop_signal.load() == 0) {
    if (c.max_evaluations > 0 && search.evaluations() + c.population > c.max_evaluations) break;
    stats = search.step();
    dir->append_progress(*stats);
    console.update(*stats);
    const int64_t g = stats->generation;
    if (c.dump_every > 0 && g % c.dump_every == 0) {
      dir->write_elites(elite_table(search.archive(), *encoding, scorer), snapshot_name(g));
    }
    if (c.checkpoint_every > 0 && g % c.checkpoint_every == 0) save_checkpoint();
  }
  save_checkpoint();
  stats = search.stats(stats->replacements);
  const EliteTable table = elite_table(search.archive(), *encoding, scorer);
  dir->write_elites(table, "elites");
  dir->write_archive_csv(table);
  dir->write_json("summary.json", make_summary(table, run_identity, *stats));
  console.finish(table, *stats);
  if (const int signal = g_stop_signal.load(); signal != 0) {
    spdlog::warn("interrupted at generation {}: outputs and checkpoint written; continue with: fool resume {}",
                 stats->generation, c.out);
    return 128 + signal;
  }
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
            if (config->out.empty()) config->out = default_out(*config);
            if (!config->model.empty() && std::filesystem::exists(config->model)) {
              config->model = std::filesystem::absolute(config->model).lexically_normal().string();
            }
            return run(*config, /*resume=*/false);
          }};
}

Command add_resume_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("resume", "Continue a run from its checkpoint, exactly where it stopped.");
  auto dir = std::make_shared<std::string>();
  auto generations = std::make_shared<int64_t>(0);
  app->add_option("dir", *dir, "run directory written by fool run")->required();
  app->add_option("--generations", *generations, "new total number of generations (0: the run's own)");
  return {app, [dir, generations] {
            const std::string config_path = (std::filesystem::path(*dir) / "config.json").string();
            if (!std::filesystem::exists(config_path)) {
              throw Error(ErrorKind::kIo, "'" + *dir + "' has no config.json. Fix: pass the --out directory of a fool run.");
            }
            RunConfig config;
            load_config_file(config_path, config);
            config.out = *dir;
            if (*generations < 0) throw Error(ErrorKind::kUsage, "--generations must be >= 0.");
            if (*generations > 0) config.generations = *generations;
            return run(config, /*resume=*/true);
          }};
}

}  // namespace fool::cli
