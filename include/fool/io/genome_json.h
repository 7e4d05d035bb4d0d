#pragma once
// Genomes as JSON files, so an elite can be rendered again at any size (`fool render`).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "fool/encoding/encoding.h"

namespace fool {

/// Genome `index` of `genomes` as JSON, or nothing for an encoding whose image is its genome
/// (direct: the PNG already holds it).
/// CPPN format: {"fool_genome": 1, "encoding": "cppn", "image": {channels, height, width},
///   "color_space", "coordinates", "output" (abs when absent), "activations": [...], "nodes": [{id, kind, activation,
///   rank}], "connections": [{from, to, weight}]}
std::optional<nlohmann::json> genome_to_json(const Encoding& encoding, const GenomeBatch& genomes, int64_t index);

/// A genome file read back: the encoding it needs and a batch of one genome on the CPU.
struct LoadedGenome {
  std::unique_ptr<Encoding> encoding;
  GenomeBatch genome;
  nlohmann::json metadata;  ///< class, label, confidence when present
};
/// Limits of a genome file: node slots (ids 0..kMaxGenomeNodes-1; fool's runs stay far below, and
/// the [M,M] edge tensors and the renderer's plan grow with the square and cube of it), the image
/// side it declares, and the file's size (fool render reads no more).
constexpr int64_t kMaxGenomeNodes = 1024;
constexpr int64_t kMaxGenomeImageSide = 4096;
constexpr std::size_t kMaxGenomeFileBytes = 16u << 20;

/// Throws fool::Error (kIo) naming the file and what is wrong with it (a missing or mistyped
/// field, an unknown activation, a connection against the rank order, a limit above exceeded).
LoadedGenome genome_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace fool
