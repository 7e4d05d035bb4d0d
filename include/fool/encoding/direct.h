#pragma once
#include "fool/encoding/encoding.h"

namespace fool {

/// Direct encoding (PAPER.md §1.3): one gene in [0,1] per pixel value (C·H·W genes), uniform
/// initialisation, per-gene polynomial mutation at `mutation_rate` (halved every `halve_every`
/// generations when that is > 0), and with --crossover sbx the original's SBX before mutation.
/// Genome field: "genes" [N, C·H·W] float32.
class DirectEncoding : public Encoding {
 public:
  explicit DirectEncoding(const EncodingOptions& options) : Encoding(options) {}
  std::string name() const override { return "direct"; }
  GenomeBatch random(int64_t n, at::Generator& gen, const at::Device& device) const override;
  /// Copies (--crossover none) or the original's SBX (fool/encoding/crossover.h) of each pair.
  GenomeBatch crossover(const GenomeBatch& first, const GenomeBatch& second, at::Generator& gen) const override;
  GenomeBatch mutate(const GenomeBatch& parents, at::Generator& gen, int64_t generation) const override;
  using Encoding::render;
  /// Renders at the model's shape; other sizes resample the genome image (bilinear).
  at::Tensor render(const GenomeBatch& genomes, int64_t height, int64_t width) const override;
  /// Refinement changes the pixels themselves, kept in [0,1].
  bool differentiable() const override { return true; }
  at::Tensor continuous_genes(const GenomeBatch& genomes) const override;
  at::Tensor render_differentiable(const GenomeBatch& genomes, const at::Tensor& genes, int64_t height,
                                   int64_t width) const override;
  at::Tensor project_genes(const GenomeBatch& genomes, const at::Tensor& genes) const override;
  GenomeBatch with_continuous_genes(const GenomeBatch& genomes, const at::Tensor& genes) const override;
  /// The mutation rate in force at `generation`.
  double rate_at(int64_t generation) const;
};

}  // namespace fool
