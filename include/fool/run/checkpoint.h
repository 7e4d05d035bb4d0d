#pragma once
// The checkpoint format: everything a run needs to continue exactly where it stopped — the
// search's archive (genomes, confidences, generation found), its own state, the random
// generator's state, the counters and the settings — with a format version and a SHA-256.
//
// Layout: "FOOLCKPT" | format version (u32 LE) | payload size (u64 LE) | payload SHA-256 (64 hex
// chars) | payload (a LibTorch pickle of a dictionary). Writing the bytes to disk (atomically) is
// the caller's job. Version 1 (MAP-Elites only, before searches were plug-ins) is still read.
#include <ATen/ATen.h>

#include <string>

#include "fool/run/progress.h"
#include "fool/search/search.h"

namespace fool {

constexpr uint32_t kCheckpointVersion = 2;

struct CheckpointIdentity {
  std::string settings_json;  ///< the run's settings as JSON text (config.json "settings")
  std::string model_sha256;
  std::string encoding;
  std::string search;
};

struct Checkpoint {
  CheckpointIdentity identity;
  int64_t generation = 0;
  int64_t evaluations = 0;
  int64_t forward_equivalents = 0;
  double seconds = 0;
  at::Tensor targets, confidence, found;  ///< the archive, on the CPU
  at::Tensor milestones;                  ///< the archive's milestones (undefined in older checkpoints)
  at::Tensor log_confidence;              ///< absent from checkpoints written before the tie-breaker: undefined
  GenomeBatch genomes;                    ///< on the CPU
  at::Tensor generator_state;             ///< the run's random generator
  SearchState search_state;               ///< Search::state(), on the CPU
};

/// The bytes of a checkpoint of `search` after the generation that `last` describes.
std::string encode_checkpoint(const Search& search, const ProgressRecord& last, const CheckpointIdentity& identity);
/// Parses and verifies checkpoint bytes; `source` names the file in errors. Throws fool::Error
/// (kCheckpoint) for a foreign, truncated, corrupt, malformed or newer-format file.
Checkpoint decode_checkpoint(const std::string& bytes, const std::string& source);

/// The first setting that decides a run's course and differs between the settings JSON texts `a`
/// and `b`, or "" when none does. Settings a resume may change (--generations, --threads, ...) are
/// skipped; one added after older checkpoints were written counts as its default where absent.
std::string differing_setting(const std::string& a, const std::string& b);
/// Puts the checkpoint's archive, search state and generator state into `search` (built with the
/// run's model, encoding and device). Throws fool::Error (kCheckpoint) when the checkpoint belongs
/// to another model, encoding, search, class set or run (another seed, population, ...), or its
/// contents do not fit them.
void restore_checkpoint(Search& search, const Checkpoint& checkpoint, const CheckpointIdentity& expected,
                        const std::string& source);

}  // namespace fool
