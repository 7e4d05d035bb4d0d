// Gradient refinement's side of the encodings (encoding.h): the base class's refusals, the
// straight-through quantisation, and the direct encoding's pixels. The CPPN's differentiable
// renderer lives with its exact one in cppn_render.cpp.
#include "fool/encoding/direct.h"
#include "fool/encoding/encoding.h"
#include "fool/util/error.h"

namespace fool {
namespace {

[[noreturn]] void not_differentiable(const std::string& name) {
  throw Error(ErrorKind::kUsage, "the " + name +
                                     " encoding has no genes gradients can refine. Fix: --refine-steps 0, or "
                                     "--encoding direct or cppn.");
}

}  // namespace

at::Tensor Encoding::continuous_genes(const GenomeBatch&) const { not_differentiable(name()); }
at::Tensor Encoding::render_differentiable(const GenomeBatch&, const at::Tensor&, int64_t, int64_t) const {
  not_differentiable(name());
}
at::Tensor Encoding::project_genes(const GenomeBatch&, const at::Tensor&) const { not_differentiable(name()); }
GenomeBatch Encoding::with_continuous_genes(const GenomeBatch&, const at::Tensor&) const { not_differentiable(name()); }

at::Tensor quantize_pixels_straight_through(const at::Tensor& values) {
  // The value is exactly quantize_pixels(values): v - v is 0 whatever v is.
  return quantize_pixels(values.detach()) + (values - values.detach());
}

at::Tensor DirectEncoding::continuous_genes(const GenomeBatch& genomes) const {
  return genomes["genes"].to(at::kFloat);
}

at::Tensor DirectEncoding::render_differentiable(const GenomeBatch& genomes, const at::Tensor& genes, int64_t height,
                                                 int64_t width) const {
  const auto& s = options_.shape;
  auto images = genes.view({genomes.size(), s.channels, s.height, s.width});
  if (height != s.height || width != s.width) {
    images = at::upsample_bilinear2d(images, {height, width}, /*align_corners=*/false);
  }
  return quantize_pixels_straight_through(images);
}

at::Tensor DirectEncoding::project_genes(const GenomeBatch&, const at::Tensor& genes) const {
  return genes.clamp(0.0, 1.0);
}

GenomeBatch DirectEncoding::with_continuous_genes(const GenomeBatch& genomes, const at::Tensor& genes) const {
  return GenomeBatch({{"genes", project_genes(genomes, genes).to(genomes["genes"].scalar_type())}});
}

}  // namespace fool
