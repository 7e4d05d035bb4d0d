#pragma once
// One directory per run (PAPER.md §5 modernised):
//   config.json    effective settings, versions, device, model and its sha256, seed
//   progress.csv   a row per generation (the original bestfit.dat; io/progress_csv.h)
//   elites/        one PNG per class at the model's resolution (and its genome .json for CPPN),
//                  elites/large/ upscaled copies for viewing
//   snapshots/gen_NNNNNN/  the same, every --dump-every generations
//   archive.csv, summary.json   the final archive and the machine-readable result
//   .fool.lock     the advisory lock of the process writing the run (io/files.h DirectoryLock)
#include <ATen/ATen.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fool/io/files.h"
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
  at::Tensor images;                    ///< [T,C,H,W] in [0,1] on the CPU
  std::vector<nlohmann::json> genomes;  ///< genome files written beside the PNGs (CPPN); may be empty
  /// Several models fooled at once: their names, and each elite's probability of its class on each
  /// ([T][M]); empty for one model.
  std::vector<std::string> model_names;
  std::vector<std::vector<double>> model_confidence;
};

/// A run directory held for writing: every RunDirectory holds the directory's lock (.fool.lock,
/// flock) until its last copy goes, so one process at a time runs, resumes or evaluates into it.
class RunDirectory {
 public:
  /// Creates the directory (or takes an empty one, or a non-empty one with `force`) and takes its
  /// lock. Throws fool::Error (kIo) naming the directory and the fix when it is not empty without
  /// `force`, not a directory, or in use by another process (naming that process's PID). Nothing
  /// but the lock file is written until prepare_for_writing(); a directory this call created is
  /// removed again if the run ends before that (a model that fails to load leaves nothing).
  static RunDirectory create(const std::string& path, bool force);
  /// Reopens the run directory of a run to continue it and takes its lock; throws fool::Error
  /// (kIo) when it is not one, is in use, or one of fool's own names in it is not a regular file
  /// (or directory) of its own, such as a symbolic link.
  static RunDirectory reopen(const std::string& path);

  /// Call once, before the first write. With `force`, removes the previous run's outputs:
  /// exactly the names in output_names() (symbolic links among them are removed, not followed);
  /// other files stay. Always removes what an interrupted process left: the temporary files and
  /// staging folders of those names ("NAME.XXXXXX.tmp", "NAME.tmp", "NAME.old",
  /// snapshots/gen_N.XXXXXX.tmp), never a symbolic link.
  void prepare_for_writing() const;

  const std::string& path() const { return path_; }
  void write_json(const std::string& name, const nlohmann::json& j) const;
  /// Writes elites/ (replacing the previous set as a whole) or a snapshot directory, staged in a
  /// new uniquely named folder beside it and swapped in.
  void write_elites(const EliteTable& table, const std::string& subdir) const;
  void write_archive_csv(const EliteTable& table) const;
  /// milestones.csv: class, label, first_argmax, first_0.99, first_0.999, first_0.9999.
  void write_milestones_csv(const EliteTable& table) const;

  /// "0042_label_0.999912.png": class, label and confidence in the name.
  static std::string elite_file_name(const EliteTable& table, std::size_t i);
  /// fool's own names in a run directory (files and folders): what --force removes.
  static const std::vector<std::string>& output_names();

 private:
  RunDirectory(std::string path, bool force, std::shared_ptr<DirectoryLock> lock)
      : path_(std::move(path)), force_(force), lock_(std::move(lock)) {}
  std::string path_;
  bool force_ = false;
  std::shared_ptr<DirectoryLock> lock_;
};

/// summary.json: the fields scripts depend on (README.md documents them).
/// `identity` holds "model", "model_sha256", "search", "encoding", "seed" and "device".
nlohmann::json make_summary(const EliteTable& table, const nlohmann::json& identity, const ProgressRecord& last);

/// Fractions of `confidence` at or above each of the thresholds 0.99, 0.999, 0.9999.
nlohmann::json fractions_at_least(const std::vector<double>& confidence);

}  // namespace fool
