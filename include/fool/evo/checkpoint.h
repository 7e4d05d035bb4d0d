#pragma once
// The checkpoint format: everything a run needs to continue exactly where it stopped — the
// archive (genomes, confidences, generation found), the random generator's state, the counters,
// and the settings — with a format version and a SHA-256 checksum.
//
// Layout: "FOOLCKPT" | format version (u32 LE) | payload size (u64 LE) | payload SHA-256 (64 hex
// chars) | payload (a LibTorch pickle of a dictionary). Writing the bytes to disk (atomically) is
// the caller's job.
#include <ATen/ATen.h>

#include <string>

#include "fool/evo/map_elites.h"

namespace fool {

constexpr uint32_t kCheckpointVersion = 1;

struct CheckpointIdentity {
  std::string settings_json;  ///< the run's settings as JSON text
  std::string model_sha256;
  std::string encoding;
};

struct Checkpoint {
  CheckpointIdentity identity;
  int64_t generation = 0;
  int64_t evaluations = 0;
  double seconds = 0;
  at::Tensor targets, confidence, found;  ///< the archive, on the CPU
  GenomeBatch genomes;                    ///< on the CPU
  at::Tensor generator_state;             ///< the run's random generator
};

/// The bytes of a checkpoint of `search` as it stands.
std::string encode_checkpoint(MapElites& search, const CheckpointIdentity& identity);
/// Parses and verifies checkpoint bytes; `source` names the file in errors. Throws fool::Error
/// (kCheckpoint) for a foreign, truncated, corrupt or newer-format file.
Checkpoint decode_checkpoint(const std::string& bytes, const std::string& source);
/// Puts the checkpoint's archive, generator state and counters into `search` (whose model,
/// encoding and device must be the run's). Throws fool::Error (kCheckpoint) when the checkpoint
/// belongs to another model, encoding or class set.
void restore_checkpoint(MapElites& search, const Checkpoint& checkpoint, const CheckpointIdentity& expected,
                        const std::string& source);

}  // namespace fool
