#pragma once
// The paper's other way to fool a network (PAPER.md §2.2, Fig. 13): gradient ascent on the pixels
// of one image per target class, the softmax probability of the class backpropagated to the
// input, with the original code's "progress" learning rate, L2 decay towards a centre image,
// optional blur every k steps and its three percentile zeroings (caffe/ascent/
// find_fooling_image.py). All target classes are optimised together as one batch (chunked by
// the forward chunk size). One generation is one step for every class; generation 0 scores the
// starting images.
//
// The image scored and saved is always the 8-bit image (the direct encoding's quantisation): the
// gradient is taken through it with a straight-through estimate, so the objective the step
// follows is the confidence of the file on disk. Each step costs a forward and a backward pass
// per image (3 forward equivalents) besides the loop's scoring of the result.
#include "fool/search/search.h"

namespace fool {

class Ascent : public Search {
 public:
  /// Throws fool::Error (kUsage) for an encoding other than direct or settings out of range.
  explicit Ascent(const SearchContext& context);
  std::string name() const override { return "ascent"; }
  GenomeBatch ask(int64_t generation) override;
  int64_t tell(const GenomeBatch& genomes, const at::Tensor& probabilities, int64_t generation) override;
  int64_t next_evaluations() const override { return archive_.cells(); }
  int64_t next_forward_equivalents(int64_t generation) const override;
  SearchState state() const override;
  void restore_state(const SearchState& state) override;

 private:
  void step_(int64_t generation);
  at::Tensor images_;  ///< [T,C,H,W] float32 in [0,1]: the continuous images, one per target class
};

/// scipy.ndimage.gaussian_filter of every channel of `images` [N,C,H,W] (sigma in pixels,
/// truncated at 4 sigma, "reflect" borders: the edge pixel repeated, d c b a | a b c d).
at::Tensor gaussian_blur(const at::Tensor& images, double sigma);

}  // namespace fool
