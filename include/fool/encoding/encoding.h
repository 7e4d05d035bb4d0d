#pragma once
// How a genome becomes an image (PAPER.md §1.3 direct, §1.4 CPPN). Encodings are built by name
// from a registry; the command line validates --encoding against it and the tests loop over it.
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fool/encoding/genomes.h"
#include "fool/model/model.h"
#include "fool/util/enum_names.h"

namespace fool {

/// How a CPPN's three colour outputs are read (PAPER.md §1.4): as OpenCV 8-bit HLS like the
/// original code, as HSV as the paper's text says, or as red, green and blue (not in the paper).
enum class ColorSpace { kHls, kHsv, kRgb };
/// How a CPPN's output node becomes a value in [0,1]: the original's |activation| clipped to [0,1],
/// or the logistic function of the node's sum (its activation gene unused; not in the paper). The
/// clip is flat wherever an output saturates, which leaves gradient refinement nothing to follow.
enum class CppnOutput { kAbs, kLogistic };
/// A CPPN's x, y inputs: [−1, 1] across the image, or the original code's raw pixel indices.
enum class Coordinates { kNormalized, kPixels };
/// How MAP-Elites breeds two parents before mutation (docs/reproduction-audit.md). kNone: each
/// child is a copy of one parent. kSbx: the original direct encoding's simulated binary crossover
/// (sferes' evo_float_image, Deb's code) with its quirk: genes on which the two parents are equal
/// are left at 0.5. kSbxCopyEqual: the same SBX with equal genes copied, as sferes2 fixed it in 2018.
enum class Crossover { kNone, kSbx, kSbxCopyEqual };

template <>
struct EnumNames<ColorSpace> {
  static const std::vector<std::pair<ColorSpace, std::string>>& list() {
    static const std::vector<std::pair<ColorSpace, std::string>> names = {
        {ColorSpace::kHls, "hls"}, {ColorSpace::kHsv, "hsv"}, {ColorSpace::kRgb, "rgb"}};
    return names;
  }
};
template <>
struct EnumNames<CppnOutput> {
  static const std::vector<std::pair<CppnOutput, std::string>>& list() {
    static const std::vector<std::pair<CppnOutput, std::string>> names = {{CppnOutput::kAbs, "abs"},
                                                                          {CppnOutput::kLogistic, "logistic"}};
    return names;
  }
};
template <>
struct EnumNames<Crossover> {
  static const std::vector<std::pair<Crossover, std::string>>& list() {
    static const std::vector<std::pair<Crossover, std::string>> names = {
        {Crossover::kNone, "none"}, {Crossover::kSbx, "sbx"}, {Crossover::kSbxCopyEqual, "sbx-copy-equal"}};
    return names;
  }
};
template <>
struct EnumNames<Coordinates> {
  static const std::vector<std::pair<Coordinates, std::string>>& list() {
    static const std::vector<std::pair<Coordinates, std::string>> names = {{Coordinates::kNormalized, "normalized"},
                                                                           {Coordinates::kPixels, "pixels"}};
    return names;
  }
};

/// Settings every encoding may read; each encoding documents which ones it uses.
struct EncodingOptions {
  ImageShape shape;                           ///< the image the model scores (channels decide gray or colour)
  double mutation_rate = 0.1;                 ///< per gene / per weight (PAPER.md §1.3, §1.4)
  double mutation_eta = 15.0;                 ///< polynomial mutation strength η_m
  int64_t halve_every = 1000;                 ///< direct: halve the rate every N generations (paper's text); 0: never
  Crossover crossover = Crossover::kNone;     ///< direct: none, or the original's SBX (PAPER.md §1.3)
  double crossover_rate = 0.5;                ///< SBX: probability that a pair of parents is crossed (else copied)
  double crossover_eta = 10.0;                ///< SBX distribution index η_c
  ColorSpace color_space = ColorSpace::kHls;  ///< CPPN colour outputs
  Coordinates coordinates = Coordinates::kNormalized;        ///< CPPN x,y inputs
  std::string activations = "sine,sigmoid,gaussian,linear";  ///< CPPN activation set
  CppnOutput cppn_output = CppnOutput::kAbs;                 ///< CPPN output nodes: |a| clipped, or logistic
  std::string cppn_hidden;         ///< CPPN initial hidden layers, e.g. "32,32,32" (empty: inputs to outputs)
  double cppn_init_weight = 10.0;  ///< CPPN initial weights uniform in [−R, R] (the original: the whole range)
};

class Encoding {
 public:
  virtual ~Encoding() = default;
  virtual std::string name() const = 0;
  const EncodingOptions& options() const { return options_; }
  /// True when genomes are padded to a capacity that varies between batches (zero: absent; see
  /// genomes.h), false when every genome of the encoding has the same fixed shape.
  virtual bool padded() const { return false; }

  /// `n` random genomes (the initial population) on `device`.
  virtual GenomeBatch random(int64_t n, at::Generator& gen, const at::Device& device) const = 0;
  /// Two children per pair of parents, before mutation: `first` and `second` hold the pairs
  /// (same size N); the result holds 2N children, the pair i's children at rows i and N + i. The
  /// default (and --crossover none) copies the parents: first, then second.
  virtual GenomeBatch crossover(const GenomeBatch& first, const GenomeBatch& second, at::Generator& gen) const;
  /// Mutated copies of `parents` (one child per parent); `generation` drives rate schedules.
  virtual GenomeBatch mutate(const GenomeBatch& parents, at::Generator& gen, int64_t generation) const = 0;
  /// Phenotypes: [N,C,height,width] float32 in [0,1], quantised to multiples of 1/255 so that the
  /// image scored is exactly the 8-bit image written to disk.
  virtual at::Tensor render(const GenomeBatch& genomes, int64_t height, int64_t width) const = 0;
  /// Rendering at the model's own resolution.
  at::Tensor render(const GenomeBatch& genomes) const {
    return render(genomes, options_.shape.height, options_.shape.width);
  }

  // Gradient refinement (--refine-steps, fool/search/refine.h). An encoding whose images are a
  // differentiable function of some of its genes (direct: the pixels; CPPN: the connection
  // weights, topology and activations fixed) exposes them as one float tensor.

  /// True when the three functions below are implemented (default: false).
  virtual bool differentiable() const { return false; }
  /// The genes refinement changes, float32 [N,...]. Throws fool::Error (kUsage) by default.
  virtual at::Tensor continuous_genes(const GenomeBatch& genomes) const;
  /// The images of `genomes` with `genes` in place of their continuous genes, [N,C,height,width]:
  /// the values are exactly render()'s 8-bit images, the gradient with respect to `genes` is that
  /// of the continuous image before quantisation (a straight-through estimate). Throws fool::Error
  /// (kUsage) by default.
  virtual at::Tensor render_differentiable(const GenomeBatch& genomes, const at::Tensor& genes, int64_t height,
                                           int64_t width) const;
  /// `genes` moved into the encoding's range (direct [0,1], CPPN weights [−10,10], absent
  /// connections 0). Throws fool::Error (kUsage) by default.
  virtual at::Tensor project_genes(const GenomeBatch& genomes, const at::Tensor& genes) const;
  /// `genomes` with `genes` (after project_genes) written back: a Lamarckian copy.
  virtual GenomeBatch with_continuous_genes(const GenomeBatch& genomes, const at::Tensor& genes) const;

 protected:
  explicit Encoding(EncodingOptions options) : options_(std::move(options)) {}
  EncodingOptions options_;
};

using EncodingFactory = std::function<std::unique_ptr<Encoding>(const EncodingOptions&)>;

/// Names of every registered encoding, in registration order ("direct", "cppn", ...).
std::vector<std::string> encoding_names();
/// Builds the encoding registered under `name`; throws fool::Error (kUsage) listing the names.
std::unique_ptr<Encoding> make_encoding(const std::string& name, const EncodingOptions& options);
/// The paper's offspring per generation for the encoding registered under `name` on a model with
/// `channels` input channels (PAPER.md §1.1: 200; 400 for its ImageNet CPPN run). Throws
/// fool::Error (kUsage) for an unknown name.
int64_t default_population(const std::string& name, int64_t channels);

/// 8-bit quantisation shared by every encoding: floor(|v|·255)/255 clipped to [0,1], as the
/// original code's int(|g|·255) (PAPER.md §1.3).
at::Tensor quantize_pixels(const at::Tensor& values);
/// quantize_pixels(values) as the forward value, with the gradient of `values` (straight-through).
at::Tensor quantize_pixels_straight_through(const at::Tensor& values);

}  // namespace fool
