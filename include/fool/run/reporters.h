#pragma once
// The outputs of a run, each a Reporter on the run loop's life cycle (run_loop.h), writing into
// the run directory (io/run_directory.h documents the layout).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fool/io/run_directory.h"
#include "fool/run/checkpoint.h"
#include "fool/run/run_loop.h"

namespace fool {

/// The archive of `search` as host data with its images rendered at the encoding's own size
/// (the model's input) and, for encodings that have one, each elite's genome file.
EliteTable elite_table(const Search& search, const std::vector<std::string>& labels);

/// progress.csv: a row per generation. On a resume it first keeps the rows up to the checkpoint's
/// generation (a torn last row dropped), rewritten atomically, then appends.
class ProgressCsvReporter : public Reporter {
 public:
  explicit ProgressCsvReporter(const RunDirectory& dir);
  void begin(const Search& search, const ProgressRecord* resumed_from) override;
  void generation(const Search& search, const ProgressRecord& record) override;

 private:
  std::string path_;
  std::unique_ptr<AppendFile> out_;
};

/// snapshots/gen_NNNNNN/: the elites every `every` generations (0: never; generation 0 is not
/// snapshotted).
class SnapshotReporter : public Reporter {
 public:
  SnapshotReporter(const RunDirectory& dir, int64_t every, std::vector<std::string> labels)
      : dir_(dir), every_(every), labels_(std::move(labels)) {}
  void generation(const Search& search, const ProgressRecord& record) override;
  /// "snapshots/gen_000100"
  static std::string directory_name(int64_t generation);

 private:
  const RunDirectory& dir_;
  int64_t every_;
  std::vector<std::string> labels_;
};

/// checkpoint.fool after generation 0, every `every` generations (0: only at the end) and at
/// the end.
class CheckpointReporter : public Reporter {
 public:
  CheckpointReporter(std::string path, CheckpointIdentity identity, int64_t every)
      : path_(std::move(path)), identity_(std::move(identity)), every_(every) {}
  void generation(const Search& search, const ProgressRecord& record) override;
  void end(const Search& search, const ProgressRecord& last, StopReason reason) override;

 private:
  void save(const Search& search, const ProgressRecord& record) const;
  std::string path_;
  CheckpointIdentity identity_;
  int64_t every_;
};

/// At the end: elites/ (PNGs, upscaled copies, genomes), archive.csv and summary.json.
class ResultsReporter : public Reporter {
 public:
  ResultsReporter(const RunDirectory& dir, nlohmann::json identity, std::vector<std::string> labels)
      : dir_(dir), identity_(std::move(identity)), labels_(std::move(labels)) {}
  void end(const Search& search, const ProgressRecord& last, StopReason reason) override;

 private:
  const RunDirectory& dir_;
  nlohmann::json identity_;
  std::vector<std::string> labels_;
};

/// The console: a live line on a terminal, a log line every 5 s otherwise, and at the end the
/// elites as a table on standard output.
class ConsoleReporter : public Reporter {
 public:
  ConsoleReporter(int64_t generations, std::vector<std::string> labels);
  void generation(const Search& search, const ProgressRecord& record) override;
  void end(const Search& search, const ProgressRecord& last, StopReason reason) override;

 private:
  int64_t last_generation_;
  std::vector<std::string> labels_;
  bool live_;
  double last_print_ = -1e9;
};

}  // namespace fool
