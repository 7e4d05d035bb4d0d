#include "fool/sweep/merge.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/io/progress_csv.h"
#include "fool/io/run_directory.h"
#include "fool/io/run_reader.h"
#include "fool/sweep/sweep.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

constexpr std::size_t kMaxGenomeBytes = 16 << 20;

/// One candidate elite: a class of one run.
struct Candidate {
  std::size_t run = 0;  ///< index into the runs
  ClassResult result;
  std::string image;  ///< its PNG
};

Error mixed(const std::string& a, const std::string& b, const std::string& what) {
  return Error(ErrorKind::kUsage, "'" + b + "' is " + what + " than '" + a +
                                      "': not parts of one experiment. Fix: merge runs of one model and encoding, "
                                      "or add --allow-mixed to merge them anyway.");
}

}  // namespace

std::vector<std::string> expand_run_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> runs;
  for (const auto& input : inputs) {
    if (!fs::exists(fs::path(input) / kSweepFile)) {
      runs.push_back(input);
      continue;
    }
    const SweepPlan plan = read_plan(input);
    for (const auto& cell : plan.cells) {
      const CellState state = cell_state(plan, cell);
      if (state != CellState::kFinished) {
        throw Error(ErrorKind::kIo, "cell " + cell.name + " of the sweep '" + input + "' is " + enum_name(state) +
                                        ". Fix: finish the sweep first (run the same fool "
                                        "sweep command again), or merge its finished cells by name.");
      }
      runs.push_back((fs::path(input) / cell.dir).string());
    }
  }
  return runs;
}

MergeResult merge_runs(const MergeOptions& o) {
  const std::vector<std::string> dirs = expand_run_inputs(o.inputs);
  if (dirs.empty()) throw Error(ErrorKind::kUsage, "fool merge needs at least one run directory.");
  std::vector<RunData> runs;
  for (const auto& dir : dirs) runs.push_back(read_run(dir, kRunSummary | kRunConfig | kRunArchive | kRunElites));

  // Runs that belong together: one model (by content), one encoding, one image size.
  const RunData& first = runs.front();
  for (std::size_t r = 1; r < runs.size() && !o.allow_mixed; ++r) {
    if (runs[r].summary.model_sha256 != first.summary.model_sha256) {
      throw mixed(first.path, runs[r].path, "a run of another model (sha256 " + runs[r].summary.model_sha256 + ")");
    }
    if (runs[r].summary.encoding != first.summary.encoding) {
      throw mixed(first.path, runs[r].path, "a run of another encoding (" + runs[r].summary.encoding + ")");
    }
  }

  // Per class, the best elite: the highest confidence; on a tie, the earliest generation, then
  // the first run given.
  std::map<int64_t, Candidate> best;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    // summary.json holds the confidences at full precision, archive.csv rounded: the summary's.
    std::map<int64_t, const ClassResult*> precise;
    for (const auto& c : runs[r].summary.classes) precise[c.index] = &c;
    for (std::size_t i = 0; i < runs[r].archive.size(); ++i) {
      ClassResult c = runs[r].archive[i];
      if (const auto it = precise.find(c.index); it != precise.end()) {
        c.confidence = it->second->confidence;
        c.generation = it->second->generation;
      }
      auto it = best.find(c.index);
      if (it == best.end()) {
        best.emplace(c.index, Candidate{r, c, runs[r].elite_images[i]});
        continue;
      }
      if (it->second.result.label != c.label && !o.allow_mixed) {
        throw mixed(runs[it->second.run].path, runs[r].path,
                    "labelling class " + std::to_string(c.index) + " '" + c.label + "', not '" +
                        it->second.result.label + "',");
      }
      const ClassResult& held = it->second.result;
      if (c.confidence > held.confidence || (c.confidence == held.confidence && c.generation < held.generation)) {
        it->second = Candidate{r, c, runs[r].elite_images[i]};
      }
    }
  }

  EliteTable table;
  std::vector<at::Tensor> images;
  std::vector<std::optional<nlohmann::json>> genomes;
  nlohmann::json provenance = nlohmann::json::array();
  std::string first_image;
  for (const auto& [index, candidate] : best) {
    at::Tensor image = read_image(candidate.image);
    if (!images.empty() && image.sizes() != images.front().sizes()) {
      throw Error(ErrorKind::kUsage, "'" + candidate.image + "' is " + std::to_string(image.size(2)) + "x" +
                                         std::to_string(image.size(1)) + " with " + std::to_string(image.size(0)) +
                                         " channels, unlike '" + first_image + "'. Fix: merge runs of one image size.");
    }
    if (images.empty()) first_image = candidate.image;
    images.push_back(image);
    table.classes.push_back(index);
    table.labels.push_back(candidate.result.label);
    table.confidence.push_back(candidate.result.confidence);
    table.generation.push_back(candidate.result.generation);
    const fs::path genome = fs::path(candidate.image).replace_extension(".json");
    std::optional<nlohmann::json> j;
    if (fs::is_regular_file(genome)) {
      try {
        j = nlohmann::json::parse(read_file(genome.string(), kMaxGenomeBytes));
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::kIo, "'" + genome.string() + "' is not valid JSON (" + e.what() +
                                        "). Fix: restore it from the run, or merge without that run.");
      }
    }
    genomes.push_back(std::move(j));
    provenance.push_back({{"index", index},
                          {"run", runs[candidate.run].path},
                          {"generation", candidate.result.generation},
                          {"seed", runs[candidate.run].summary.seed}});
  }
  table.images = at::stack(images);
  const bool all_genomes = std::all_of(genomes.begin(), genomes.end(), [](const auto& g) { return g.has_value(); });
  if (all_genomes) {
    for (auto& g : genomes) table.genomes.push_back(std::move(*g));
  } else if (std::any_of(genomes.begin(), genomes.end(), [](const auto& g) { return g.has_value(); })) {
    spdlog::warn("some elites have no genome file (runs of another encoding): the merge keeps images only");
  }

  // The merged record: the runs' evaluations and time added up, the statistics of the merged
  // elites.
  ProgressRecord record;
  nlohmann::json merged_from = nlohmann::json::array();
  for (const auto& run : runs) {
    record.generation = std::max(record.generation, run.summary.generations - 1);
    record.evaluations += run.summary.evaluations;
    record.forward_equivalents += run.summary.forward_equivalents;
    record.seconds += run.summary.seconds;
    merged_from.push_back({{"run", run.path},
                           {"seed", run.summary.seed},
                           {"classes", run.archive.size()},
                           {"evaluations", run.summary.evaluations}});
  }
  const auto& c = table.confidence;
  record.min = *std::min_element(c.begin(), c.end());
  record.max = *std::max_element(c.begin(), c.end());
  record.median = median(c);
  double sum = 0;
  for (double v : c) sum += v;
  record.mean = sum / static_cast<double>(c.size());
  record.filled = static_cast<int64_t>(c.size());

  const RunDirectory out = RunDirectory::create(o.out, o.force);
  out.prepare_for_writing();
  nlohmann::json config = first.config.is_object() ? first.config : nlohmann::json::object();
  config["merged_from"] = merged_from;
  out.write_json("config.json", config);
  write_file_atomic((fs::path(o.out) / "progress.csv").string(), progress_csv_header() + progress_csv_row(record));
  out.write_elites(table, "elites");
  out.write_archive_csv(table);
  const RunSummary& s = first.summary;
  const nlohmann::json identity = {{"model", s.model},   {"model_sha256", s.model_sha256},
                                   {"search", s.search}, {"encoding", s.encoding},
                                   {"seed", s.seed},     {"device", s.device}};
  nlohmann::json summary = make_summary(table, identity, record);
  summary["stop_reason"] = "merged";
  for (std::size_t i = 0; i < summary["classes"].size(); ++i) {
    summary["classes"][i]["run"] = provenance[i]["run"];
    summary["classes"][i]["seed"] = provenance[i]["seed"];
  }
  summary["merged_from"] = merged_from;
  out.write_json("summary.json", summary);
  return {runs.size(), table.classes.size()};
}

}  // namespace fool
