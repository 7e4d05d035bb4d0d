#pragma once
// One directory per run (PAPER.md §5 modernised):
//   config.json    effective settings, versions, device, model and its sha256, seed
//   progress.csv   a row per generation (the original bestfit.dat; io/progress_csv.h)
//   elites/        one PNG per class at the model's resolution (and its genome .json for CPPN),
//                  elites/large/ upscaled copies for viewing
//   snapshots/gen_NNNNNN/  the same, every --dump-every generations
//   archive.csv, summary.json   the final archive and the machine-readable result
#include <ATen/ATen.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fool/run/progress.h"

namespace fool {

/// The archive as host data, one entry per target class, plus the elites' images.
struct EliteTable {
  std::vector<int64_t> classes;
  std::vector<std::string> labels;
  std::vector<double> confidence;
  std::vector<int64_t> generation;
  /// First generation each elite was its class's argmax, and reached 0.99, 0.999, 0.9999 (−1: not
  /// yet); empty when unknown (a run read back).
  std::vector<std::array<int64_t, 4>> milestones;
  at::Tensor images;  ///< [T,C,H,W] in [0,1] on the CPU
  std::vector<nlohmann::json> genomes;  ///< genome files written beside the PNGs (CPPN); may be empty
};

class RunDirectory {
 public:
  /// Creates the directory; refuses an existing non-empty one unless `force`. Throws fool::Error
  /// (kIo) naming the directory and the fix.
  static RunDirectory create(const std::string& path, bool force);
  /// Reopens the run directory of a run to continue it; throws fool::Error (kIo) when it is not one.
  static RunDirectory reopen(const std::string& path);

  const std::string& path() const { return path_; }
  void write_json(const std::string& name, const nlohmann::json& j) const;
  /// Writes elites/ (replacing the previous set as a whole) or a snapshot directory.
  void write_elites(const EliteTable& table, const std::string& subdir) const;
  void write_archive_csv(const EliteTable& table) const;
  /// milestones.csv: class, label, first_argmax, first_0.99, first_0.999, first_0.9999.
  void write_milestones_csv(const EliteTable& table) const;

  /// "0042_label_0.999912.png": class, label and confidence in the name.
  static std::string elite_file_name(const EliteTable& table, std::size_t i);

 private:
  explicit RunDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

/// summary.json: the fields scripts depend on (README.md documents them).
/// `identity` holds "model", "model_sha256", "search", "encoding", "seed" and "device".
nlohmann::json make_summary(const EliteTable& table, const nlohmann::json& identity, const ProgressRecord& last);

/// Fractions of `confidence` at or above each of the thresholds 0.99, 0.999, 0.9999.
nlohmann::json fractions_at_least(const std::vector<double>& confidence);

}  // namespace fool
