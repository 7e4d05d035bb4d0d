#include "fool/run/run.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <tuple>

#include "fool/io/files.h"
#include "fool/io/json.h"
#include "fool/io/run_directory.h"
#include "fool/model/classes.h"
#include "fool/run/checkpoint.h"
#include "fool/run/reporters.h"
#include "fool/run/run_loop.h"
#include "fool/search/random.h"
#include "fool/util/error.h"
#include "fool/util/version.h"

namespace fool {

int execute_run(RunConfig c, RunMode mode, const std::atomic<int>* stop_signal) {
  validate(c);
  const bool resume = mode == RunMode::kResume;
  const std::string checkpoint_path = (std::filesystem::path(c.out) / kCheckpointFile).string();
  const auto no_checkpoint = [&] {
    return Error(ErrorKind::kCheckpoint, "'" + c.out + "' has no " + kCheckpointFile +
                                             " to resume from (the run stopped before its first generation ended). "
                                             "Fix: start it again with fool run --out " +
                                             c.out + " --force.");
  };
  if (resume && !std::filesystem::is_directory(c.out)) throw no_checkpoint();
  // The run directory's lock first, before anything is loaded or written: a second run or a
  // resume into a directory that a process is writing fails at once, naming that process.
  const RunDirectory dir = resume ? RunDirectory::reopen(c.out) : RunDirectory::create(c.out, c.force);
  if (resume && !std::filesystem::exists(checkpoint_path)) throw no_checkpoint();
  const Model model = load_model(c.model);
  const at::Device device = model.device();
  // Fooling several models at once: the others on the same device, with the same forward options.
  std::vector<Model> others;
  for (const auto& file : more_model_files(c)) others.push_back(load_model_file(file, device, c.model));
  std::vector<const Model*> models{&model};
  for (const auto& m : others) models.push_back(&m);
  const auto classes = shard_classes(parse_classes(c.classes, model.num_classes()), parse_shard(c.shard));
  if (c.population == 0) c.population = default_population(c.encoding, model.info().input.channels);
  const Scorer scorer(models, {c.crops, c.render_size},
                      c.ensemble_fitness == "mean" ? EnsembleFitness::kMean : EnsembleFitness::kMin);
  std::string models_sha256 = model.info().sha256;  // the checkpoint's model identity: every model's
  for (const auto& m : others) models_sha256 += "+" + m.info().sha256;
  // Genomes live at the rendering resolution (the paper's ImageNet genomes are 256x256 for 227 crops).
  c.encoding_options.shape = {model.info().input.channels, scorer.render_height(), scorer.render_width()};
  const auto encoding = make_encoding(c.encoding, c.encoding_options);
  const nlohmann::json settings = settings_to_json(c);
  const CheckpointIdentity identity{settings.dump(), models_sha256, c.encoding, c.search};

  SearchContext context;
  context.scorer = &scorer;
  context.encoding = encoding.get();
  context.targets = at::tensor(classes, at::kLong).to(device);
  context.population = c.population;
  context.batch_size = c.batch_size;
  context.generator = make_generator(device, c.seed);
  context.options = c.search_options;
  const auto search = make_search(c.search, context);
  // Generation 0 always runs whole: a budget below it would be exceeded at once.
  const int64_t first = search->next_evaluations();
  for (const auto& [name, budget, cost] :
       {std::tuple<const char*, int64_t, int64_t>{"max-evaluations", c.max_evaluations, first},
        {"max-forward-equivalents", c.max_forward_equivalents, first * search->models()}}) {
    if (budget > 0 && budget < cost) {
      throw Error(ErrorKind::kUsage, std::string("--") + name + " " + std::to_string(budget) +
                                         " is less than generation 0, which costs " + std::to_string(cost) +
                                         ". Fix: --" + name + " " + std::to_string(cost) +
                                         " or more, or a smaller --population.");
    }
  }

  std::optional<ProgressRecord> resumed_from;
  if (resume) {
    const Checkpoint checkpoint = decode_checkpoint(read_file(checkpoint_path), checkpoint_path);
    restore_checkpoint(*search, checkpoint, identity, checkpoint_path);
    resumed_from = progress_record(search->archive(), checkpoint.generation, checkpoint.evaluations,
                                   checkpoint.forward_equivalents, checkpoint.seconds, 0);
  }
  nlohmann::json run_identity = {{"model", model.info().source},
                                 {"model_sha256", model.info().sha256},
                                 {"search", c.search},
                                 {"encoding", c.encoding},
                                 {"seed", c.seed},
                                 {"device", device.str()}};
  if (!others.empty()) {
    run_identity["models"] = nlohmann::json::array();
    for (const Model* m : models) {
      run_identity["models"].push_back(
          {{"source", m->info().source}, {"sha256", m->info().sha256}, {"name", m->info().name}});
    }
    run_identity["ensemble_fitness"] = c.ensemble_fitness;
  }
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
  config["settings"] = settings;
  dir.prepare_for_writing();  // --force: the previous run's outputs go; stale temporaries always
  dir.write_json("config.json", config);
  if (resume) {
    spdlog::info("resuming {} at generation {} ({} evaluations)", c.out, resumed_from->generation,
                 resumed_from->evaluations);
  } else {
    spdlog::info("{} on {} ({} threads): {} search, {} encoding, {} classes, {} generations of {} -> {}",
                 model.info().source, device.str(), at::get_num_threads(), c.search, c.encoding, classes.size(),
                 c.generations, c.population, c.out);
  }

  const auto& labels = model.info().labels;
  ProgressCsvReporter progress(dir);
  SnapshotReporter snapshots(dir, c.dump_every, labels);
  CheckpointReporter checkpoints(checkpoint_path, identity, c.checkpoint_every);
  ResultsReporter results(dir, run_identity, labels);
  ConsoleReporter console(c.generations, labels);
  const StopRules stop{c.generations, c.target_confidence, c.max_evaluations, c.max_forward_equivalents, stop_signal};
  const RunOutcome outcome = run_loop(*search, stop, {&progress, &snapshots, &checkpoints, &results, &console},
                                      resumed_from ? &*resumed_from : nullptr);
  if (outcome.signal != 0) {
    spdlog::warn("interrupted at generation {}: outputs and checkpoint written; continue with: fool resume {}",
                 outcome.last.generation, c.out);
    return 128 + outcome.signal;
  }
  spdlog::info("elites in {}/elites, summary in {}/summary.json", c.out, c.out);
  return 0;
}

}  // namespace fool
