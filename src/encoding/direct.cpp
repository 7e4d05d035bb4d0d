#include "fool/encoding/direct.h"

#include <cmath>

#include "fool/encoding/crossover.h"
#include "fool/encoding/mutation.h"

namespace fool {

GenomeBatch DirectEncoding::random(int64_t n, at::Generator& gen, const at::Device& device) const {
  return GenomeBatch({{"genes", at::rand({n, options_.shape.numel()}, gen, at::TensorOptions(device))}});
}

double DirectEncoding::rate_at(int64_t generation) const {
  if (options_.halve_every <= 0) return options_.mutation_rate;
  return options_.mutation_rate * std::pow(0.5, static_cast<double>(generation / options_.halve_every));
}

GenomeBatch DirectEncoding::crossover(const GenomeBatch& first, const GenomeBatch& second, at::Generator& gen) const {
  if (options_.crossover == Crossover::kNone) return Encoding::crossover(first, second, gen);
  auto [child1, child2] = sbx_crossover(first["genes"], second["genes"], options_.crossover_rate,
                                        options_.crossover_eta, options_.crossover == Crossover::kSbx, gen);
  return GenomeBatch({{"genes", at::cat({child1, child2})}});
}

GenomeBatch DirectEncoding::mutate(const GenomeBatch& parents, at::Generator& gen, int64_t generation) const {
  auto genes = parents["genes"].clone();
  polynomial_mutation_(genes, rate_at(generation), options_.mutation_eta, gen);
  return GenomeBatch({{"genes", genes}});
}

at::Tensor DirectEncoding::render(const GenomeBatch& genomes, int64_t height, int64_t width) const {
  const auto& s = options_.shape;
  auto images = genomes["genes"].view({genomes.size(), s.channels, s.height, s.width});
  if (height != s.height || width != s.width) {
    images = at::upsample_bilinear2d(images, {height, width}, /*align_corners=*/false);
  }
  return quantize_pixels(images);
}

}  // namespace fool
