#include "fool/run/reporters.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "fool/io/files.h"
#include "fool/io/genome_json.h"
#include "fool/io/progress_csv.h"

namespace fool {
namespace fs = std::filesystem;

EliteTable elite_table(const Search& search, const std::vector<std::string>& labels) {
  const Archive& archive = search.archive();
  EliteTable table;
  auto classes = archive.targets().to(at::kCPU);
  auto confidence = archive.confidence().to(at::kCPU, at::kDouble);
  auto generation = archive.generation().to(at::kCPU);
  auto milestones = archive.milestones().to(at::kCPU);
  for (int64_t i = 0; i < archive.cells(); ++i) {
    table.milestones.push_back({milestones[i][0].item<int64_t>(), milestones[i][1].item<int64_t>(),
                                milestones[i][2].item<int64_t>(), milestones[i][3].item<int64_t>()});
    table.classes.push_back(classes[i].item<int64_t>());
    table.labels.push_back(labels.at(static_cast<std::size_t>(table.classes.back())));
    table.confidence.push_back(confidence[i].item<double>());
    table.generation.push_back(generation[i].item<int64_t>());
  }
  const auto images = search.encoding().render(archive.genomes());
  table.images = images.to(at::kCPU);
  const Scorer& scorer = *search.context().scorer;
  if (scorer.models().size() > 1) {
    // Each model's probability of each elite's class, for archive.csv and summary.json.
    at::NoGradGuard no_grad;
    const auto targets = archive.targets().view({-1, 1});
    std::vector<at::Tensor> per_model;
    for (const auto& p : scorer.model_probabilities(images, search.context().batch_size)) {
      per_model.push_back(p.gather(1, targets).view({-1}));
    }
    const auto all = at::stack(per_model, 1).to(at::kCPU, at::kDouble).contiguous();  // [T,M]
    for (const Model* m : scorer.models()) table.model_names.push_back(m->info().source);
    for (int64_t i = 0; i < all.size(0); ++i) {
      table.model_confidence.emplace_back(all[i].data_ptr<double>(), all[i].data_ptr<double>() + all.size(1));
    }
  }
  for (int64_t i = 0; i < archive.cells(); ++i) {
    auto genome = genome_to_json(search.encoding(), archive.genomes(), i);
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

// ---- progress.csv --------------------------------------------------------------------------

ProgressCsvReporter::ProgressCsvReporter(const RunDirectory& dir)
    : path_((fs::path(dir.path()) / "progress.csv").string()) {}

void ProgressCsvReporter::begin(const Search&, const ProgressRecord* resumed_from) {
  std::string kept = progress_csv_header();
  if (resumed_from != nullptr && fs::exists(path_)) {
    for (const auto& row : parse_progress_csv(read_file(path_), path_, /*keep_complete_prefix=*/true)) {
      if (row.generation > resumed_from->generation) break;
      kept += progress_csv_row(row);
    }
  }
  write_file_atomic(path_, kept);
  out_ = std::make_unique<AppendFile>(path_);
}

void ProgressCsvReporter::generation(const Search&, const ProgressRecord& record) {
  out_->append(progress_csv_row(record));
}

// ---- snapshots -----------------------------------------------------------------------------

std::string SnapshotReporter::directory_name(int64_t generation) {
  char name[32];
  std::snprintf(name, sizeof name, "snapshots/gen_%06lld", static_cast<long long>(generation));
  return name;
}

void SnapshotReporter::generation(const Search& search, const ProgressRecord& record) {
  if (every_ <= 0 || record.generation == 0 || record.generation % every_ != 0) return;
  dir_.write_elites(elite_table(search, labels_), directory_name(record.generation));
}

// ---- checkpoint ----------------------------------------------------------------------------

void CheckpointReporter::save(const Search& search, const ProgressRecord& record) const {
  write_file_atomic(path_, encode_checkpoint(search, record, identity_));
}

void CheckpointReporter::generation(const Search& search, const ProgressRecord& record) {
  if (record.generation == 0 || (every_ > 0 && record.generation % every_ == 0)) save(search, record);
}

void CheckpointReporter::end(const Search& search, const ProgressRecord& last, StopReason) { save(search, last); }

// ---- final results -------------------------------------------------------------------------

void ResultsReporter::end(const Search& search, const ProgressRecord& last, StopReason reason) {
  const EliteTable table = elite_table(search, labels_);
  dir_.write_elites(table, "elites");
  dir_.write_archive_csv(table);
  dir_.write_milestones_csv(table);
  nlohmann::json summary = make_summary(table, identity_, last);
  summary["stop_reason"] = enum_name(reason);  // "signal": interrupted, `fool resume` continues it
  dir_.write_json("summary.json", summary);
}

// ---- console -------------------------------------------------------------------------------

ConsoleReporter::ConsoleReporter(int64_t generations, std::vector<std::string> labels)
    : last_generation_(generations - 1), labels_(std::move(labels)), live_(::isatty(STDERR_FILENO) == 1) {}

void ConsoleReporter::generation(const Search&, const ProgressRecord& r) {
  const double rate = r.seconds > 0 ? static_cast<double>(r.evaluations) / r.seconds : 0.0;
  if (live_) {
    if (r.seconds - last_print_ < 0.1 && r.generation != last_generation_) return;
    last_print_ = r.seconds;
    std::fprintf(stderr, "\r\033[Kgen %lld/%lld  evals %lld  %.0f/s  conf min %.4f median %.4f max %.4f",
                 static_cast<long long>(r.generation), static_cast<long long>(last_generation_),
                 static_cast<long long>(r.evaluations), rate, r.min, r.median, r.max);
    std::fflush(stderr);
    return;
  }
  if (r.seconds - last_print_ < 5.0 && r.generation != 0) return;
  last_print_ = r.seconds;
  spdlog::info("gen {}/{}  evals {}  {:.0f}/s  conf min {:.4f} median {:.4f} max {:.4f}", r.generation,
               last_generation_, r.evaluations, rate, r.min, r.median, r.max);
}

void ConsoleReporter::end(const Search& search, const ProgressRecord& r, StopReason) {
  if (live_) std::fprintf(stderr, "\n");
  const Archive& archive = search.archive();
  auto classes = archive.targets().to(at::kCPU);
  auto confidence = archive.confidence().to(at::kCPU, at::kDouble);
  auto found = archive.generation().to(at::kCPU);
  std::printf("%6s  %-24s  %10s  %10s\n", "class", "label", "confidence", "generation");
  for (int64_t i = 0; i < archive.cells(); ++i) {
    const auto k = classes[i].item<int64_t>();
    std::printf("%6lld  %-24.24s  %10.6f  %10lld\n", static_cast<long long>(k),
                labels_.at(static_cast<std::size_t>(k)).c_str(), confidence[i].item<double>(),
                static_cast<long long>(found[i].item<int64_t>()));
  }
  std::printf("%lld generations, %lld evaluations in %.2f s (%.0f/s); confidence min %.6f median %.6f\n",
              static_cast<long long>(r.generation + 1), static_cast<long long>(r.evaluations), r.seconds,
              r.seconds > 0 ? static_cast<double>(r.evaluations) / r.seconds : 0.0, r.min, r.median);
  std::fflush(stdout);
}

}  // namespace fool
