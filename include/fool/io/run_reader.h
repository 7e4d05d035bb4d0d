#pragma once
// Reading a run directory back (the layout run_directory.h writes): summary.json, config.json,
// archive.csv, progress.csv and elites/*.png. `fool check`, `fool evaluate` and `fool report` read
// runs only through this, so a change of layout shows up in one place.
#include <ATen/ATen.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fool/io/run_directory.h"
#include "fool/model/model.h"
#include "fool/run/progress.h"

namespace fool {

/// One entry of summary.json "classes" or one row of archive.csv.
struct ClassResult {
  int64_t index = 0;
  std::string label;
  double confidence = 0;  ///< the elite's probability of its class on the run's model, in [0,1]
  int64_t generation = 0;
};

/// summary.json, every field that scripts (and `fool check`) depend on.
struct RunSummary {
  std::string source;  ///< the file read, for messages
  std::string model, model_sha256, encoding, device;
  std::string search = "map-elites";  ///< absent from runs made before searches were plug-ins
  int64_t seed = 0;
  int64_t generations = 0;
  int64_t evaluations = 0;
  int64_t forward_equivalents = 0;  ///< absent from older runs: equal to evaluations
  double seconds = 0;
  double evaluations_per_second = 0;
  double median_confidence = 0;
  double min_confidence = 0;
  /// "fraction_at_least": threshold as written ("0.99", ...) and the fraction of classes at or above it,
  /// in increasing threshold order.
  std::vector<std::pair<std::string, double>> fraction_at_least;
  std::vector<ClassResult> classes;
};

/// Which files read_run reads; the others stay empty.
enum RunPart : unsigned {
  kRunSummary = 1u << 0,   ///< summary.json
  kRunConfig = 1u << 1,    ///< config.json
  kRunArchive = 1u << 2,   ///< archive.csv
  kRunProgress = 1u << 3,  ///< progress.csv
  kRunElites = 1u << 4,    ///< elites/*.png (paths only; one per archive.csv row, so implies kRunArchive)
  kRunEverything = 0x1fu,
};

struct RunData {
  std::string path;  ///< the run directory
  RunSummary summary;
  nlohmann::json config;             ///< config.json as written (null when not read)
  ImageShape input;                  ///< the model's input as config.json "model_info" records it (default 1,28,28);
                                     ///< informative only: elite images are read as stored
  std::string model_name;            ///< config.json "model_info"."name", else the summary's model
  std::vector<ClassResult> archive;  ///< archive.csv rows, in file order
  std::vector<std::string> elite_images;  ///< elites/<class>_*.png for each archive row, same order
  std::vector<ProgressRecord> progress;   ///< progress.csv rows, in file order
};

/// True when `path` is a directory holding summary.json or archive.csv.
bool is_run_directory(const std::string& path);

/// Reads the chosen parts of the run directory `dir`. Throws fool::Error (kIo) naming the file and
/// what is wrong (missing, not JSON, a field missing or of the wrong type, a malformed CSV row, an
/// elite image missing) and the fix.
RunData read_run(const std::string& dir, unsigned parts = kRunEverything);

/// Reads a summary.json file on its own (a `--baseline`). Same errors as read_run.
RunSummary read_summary(const std::string& path);

/// The run's elites as an EliteTable: archive rows plus the PNGs read back as stored, at the first
/// one's channels and size ([T,C,H,W] float32 in [0,1] on the CPU; exactly the 8-bit images that
/// were scored). Needs kRunArchive | kRunElites.
EliteTable read_elite_table(const RunData& run);

}  // namespace fool
