#pragma once
// CPPN encoding (PAPER.md §1.4): each genome is a DAG of nodes computing act(Σ w·in), with inputs
// x, y, d (distance from the centre) and a bias of 1, and one (gray) or three (colour) outputs.
//
// A population is stored as padded tensors, `M` node slots per genome (zero = absent):
//   "active"     [N,M]   bool    node exists
//   "activation" [N,M]   int64   index into the activation set (ignored for inputs)
//   "rank"       [N,M]   float64 topological rank: inputs 0, outputs 1, hidden nodes in (0,1);
//                                an edge j→i exists only when rank[j] < rank[i], so every
//                                mutation keeps the graph acyclic without a graph search
//   "edge"       [N,M,M] bool    edge[n,i,j]: connection j → i
//   "weight"     [N,M,M] float32 its weight in [−10,10]
// Slots 0..3 are the inputs x, y, d, bias; slots 4..4+O−1 the outputs; hidden nodes use the rest.
// An output's value is |act(Σ)| clipped to [0,1] (the original), or with --cppn-output logistic
// 1/(1+e^−Σ) whatever its activation gene says (the gene stays, mutation resamples it, the renderer
// ignores it): the clip is flat wherever an output saturates, the logistic function nowhere, so
// gradient refinement has a direction to follow.
// Rendering (cppn_render.cpp) evaluates every genome × every pixel with batched tensor operations,
// depth level by depth level across the population; it needs the edges, not the ranks.
#include <string>
#include <vector>

#include "fool/encoding/encoding.h"

namespace fool {

enum class Activation : int64_t { kSine, kSigmoid, kGaussian, kLinear, kTanh, kLogistic };

/// "sine" sin(p); "sigmoid" 2/(1+e^−p)−1; "gaussian" e^(−p²); "linear" clamp(p,−3,3)/3;
/// "tanh" tanh(5p) (the follow-up work's no-sine set); "logistic" 1/(1+e^−p) (what output nodes
/// compute with --cppn-output logistic). Throws fool::Error (kUsage) for others.
Activation activation_from_name(const std::string& name);
std::string activation_name(Activation a);

constexpr int64_t kCppnInputs = 4;
constexpr double kCppnWeightRange = 10.0;

/// The original code's constants (DnnFF::mutate), applied in this order per offspring.
struct CppnMutationRates {
  double activation = 0.1;  ///< per node: resample its activation
  double add_connection = 0.5;
  double delete_connection = 0.3;
  double add_node = 0.5;     ///< split a connection; both halves inherit its weight
  double delete_node = 0.2;  ///< a random hidden node and its edges
};

class CppnEncoding : public Encoding {
 public:
  explicit CppnEncoding(const EncodingOptions& options);
  std::string name() const override { return "cppn"; }
  bool padded() const override { return true; }
  GenomeBatch random(int64_t n, at::Generator& gen, const at::Device& device) const override;
  GenomeBatch mutate(const GenomeBatch& parents, at::Generator& gen, int64_t generation) const override;
  using Encoding::render;
  at::Tensor render(const GenomeBatch& genomes, int64_t height, int64_t width) const override;

  /// Refinement changes the weights of the existing connections (continuous_genes: "weight"
  /// [N,M,M] float32), kept in [−10,10]; the topology and activations stay as they are.
  bool differentiable() const override { return true; }
  at::Tensor continuous_genes(const GenomeBatch& genomes) const override;
  at::Tensor render_differentiable(const GenomeBatch& genomes, const at::Tensor& genes, int64_t height,
                                   int64_t width) const override;
  at::Tensor project_genes(const GenomeBatch& genomes, const at::Tensor& genes) const override;
  GenomeBatch with_continuous_genes(const GenomeBatch& genomes, const at::Tensor& genes) const override;

  /// The raw outputs before colour conversion: [N,O,height,width], |o| clipped to [0,1].
  at::Tensor render_outputs(const GenomeBatch& genomes, int64_t height, int64_t width) const;
  /// The same with `weight` [N,M,M] in place of the genomes' weights, as a function autograd can
  /// differentiate (no in-place operations on values it needs); in the genomes' or `weight`'s
  /// dtype (float64 for gradient checks). Its values equal render_outputs' for the same weights.
  at::Tensor render_outputs_differentiable(const GenomeBatch& genomes, const at::Tensor& weight, int64_t height,
                                           int64_t width) const;
  /// The four input planes [4,height,width] (x, y, d, bias) as the renderer sees them.
  at::Tensor input_planes(int64_t height, int64_t width, const at::Device& device) const;

  /// The image of quantised outputs [N,O,H,W]: gray as it is, colour read as 8-bit HLS or HSV.
  at::Tensor colour_image(at::Tensor outputs) const;

  int64_t outputs() const { return outputs_; }
  /// --cppn-hidden's layer widths (empty: the paper's initial genome).
  const std::vector<int64_t>& hidden_layers() const { return hidden_; }
  const std::vector<Activation>& activations() const { return activations_; }
  CppnMutationRates rates;

 private:
  /// The activation set the renderer applies, and each node's index into it: activations_, and
  /// with logistic outputs one more entry, the logistic function, that the output slots index.
  std::pair<at::Tensor, std::vector<Activation>> rendered_activations(const at::Tensor& activation) const;

  int64_t outputs_;
  std::vector<Activation> activations_;
  std::vector<int64_t> hidden_;
};

/// Removes trailing node slots no genome of the batch uses.
GenomeBatch trim_cppn(const GenomeBatch& genomes);

/// HLS (OpenCV's 8-bit convention: hue byte × 2 degrees) or HSV planes in [0,1] → RGB [N,3,H,W].
at::Tensor hls_to_rgb(const at::Tensor& hls);
at::Tensor hsv_to_rgb(const at::Tensor& hsv);

}  // namespace fool
