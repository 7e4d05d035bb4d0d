// CPPN rendering: every genome × every pixel in a few dozen batched tensor operations.
//
// A population renders level by level, not node by node. A node's level is one more than that of
// its deepest source (inputs are level 0), so the nodes of one level, across every genome, depend
// only on lower levels and are computed together. Node values live in one [rows, pixels] tensor:
// the four input planes, shared by every genome, then every computed node, sorted by (level,
// activation) so that a level is one contiguous block and each activation one contiguous slice of
// it. Nodes that no output depends on are not computed. A level costs one gather, multiply and add
// per input of its widest node, plus one in-place pass per activation it uses; the plan costs a
// few small [N,M,M] operations, and the host waits for the device once per level of the deepest
// genome plus twice per chunk of genomes.
//
// Every computed value is a sum over the node's sources in slot order followed by its activation,
// whatever else is in the batch, so a genome renders bit for bit the same alone or in any batch.
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <vector>

#include "fool/encoding/cppn.h"
#include "fool/util/error.h"

namespace fool {
namespace {

constexpr int64_t kRenderBudget = 1 << 26;  // floats of node values per rendering chunk (256 MiB)

/// Applies activation `a` (cppn.h) to `p` in place.
void activate_(Activation a, at::Tensor p) {
  switch (a) {
    case Activation::kSine:
      p.sin_();
      return;
    case Activation::kSigmoid:
      p.mul_(0.5).tanh_();
      return;  // = 2/(1+e^−p) − 1
    case Activation::kGaussian:
      p.mul_(p).neg_().exp_();
      return;
    case Activation::kLinear:
      p.clamp_(-3.0, 3.0).div_(3.0);
      return;
    case Activation::kTanh:
      p.mul_(5.0).tanh_();
      return;
    case Activation::kLogistic:
      p.sigmoid_();
      return;
  }
}

/// activate_ without writing into `p`, for autograd: the same operations in the same order.
at::Tensor activated(Activation a, const at::Tensor& p) {
  switch (a) {
    case Activation::kSine:
      return p.sin();
    case Activation::kSigmoid:
      return p.mul(0.5).tanh();
    case Activation::kGaussian:
      return p.mul(p).neg().exp();
    case Activation::kLinear:
      return p.clamp(-3.0, 3.0).div(3.0);
    case Activation::kTanh:
      return p.mul(5.0).tanh();
    case Activation::kLogistic:
      return p.sigmoid();
  }
  return p;
}

/// How to render a batch of genomes. Rows: 0..3 the input planes, then the computed nodes.
struct Plan {
  at::Tensor source;            ///< [D,R] long: value row of each node's d-th input (padding: bias row)
  at::Tensor weight;            ///< [D,R] float: its weight (padding: 0)
  at::Tensor outputs;           ///< [N,O] long: value row of each output node
  std::vector<int64_t> count;   ///< [levels × activations]: computed nodes per (level, activation)
  std::vector<int64_t> fan_in;  ///< [levels]: inputs of the widest node of each level
  int64_t levels = 0;
  int64_t rows = 0;  ///< computed nodes
};

Plan make_plan(const at::Tensor& active, const at::Tensor& activation, const at::Tensor& edge, const at::Tensor& weight,
               int64_t outputs, int64_t activation_count) {
  const int64_t n = active.size(0), m = active.size(1);
  const auto long_options = active.options().dtype(at::kLong);
  const auto zero = at::zeros({}, long_options);
  const auto slots = at::arange(m, long_options);
  const auto is_input = (slots < kCppnInputs).view({1, m});
  const auto is_output = (slots >= kCppnInputs).logical_and(slots < kCppnInputs + outputs).view({1, m});
  const auto non_input = active.logical_and(is_input.logical_not());

  // Levels, and the nodes some output depends on, to a fixpoint: one round per level.
  auto level = at::zeros({n, m}, long_options);
  auto needed = active.logical_and(is_output);
  bool changed = true;
  for (int64_t round = 0; round <= m && changed; ++round) {
    const auto deepest = at::where(edge, (level + 1).view({n, 1, m}), zero).amax(2);
    const auto next_level = at::where(non_input, deepest.clamp_min(1), zero);
    const auto next_needed = needed.logical_or(edge.logical_and(needed.view({n, m, 1})).any(1));
    changed = next_level.ne(level).any().logical_or(next_needed.ne(needed).any()).item<bool>();
    level = next_level;
    needed = next_needed;
  }
  FOOL_CHECK(!changed, "CPPN levels did not converge: a genome has a cycle");
  const auto computed = needed.logical_and(non_input).view({n * m});
  const auto flat_level = level.view({n * m});
  const auto fan_in = edge.sum(2).view({n * m});

  Plan plan;
  auto sizes = at::stack({computed.sum(), flat_level.max()}).to(at::kCPU);
  plan.rows = sizes[0].item<int64_t>();
  plan.levels = sizes[1].item<int64_t>() + 1;
  const int64_t groups = plan.levels * activation_count;
  // Computed nodes sorted by (level, activation); the rest after them.
  const auto key = at::where(computed, flat_level * activation_count + activation.reshape({n * m}),
                             at::full({}, groups, long_options));
  const auto order = std::get<1>(key.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false)).narrow(0, 0, plan.rows);
  const auto in_level = flat_level.view({n * m, 1}) == at::arange(plan.levels, long_options).view({1, plan.levels});
  const auto level_fan_in =
      at::where(in_level.logical_and(computed.view({n * m, 1})), fan_in.view({n * m, 1}), zero).amax(0);
  // Nodes per (level, activation), the uncomputed ones counted in one extra group (no bincount:
  // on a GPU it synchronises with the host on its own).
  const auto count =
      at::zeros({groups + 1}, long_options).scatter_add_(0, key, at::ones_like(key)).narrow(0, 0, groups);
  const auto host = at::cat({count, level_fan_in}).to(at::kCPU).contiguous();
  const auto* host_data = host.data_ptr<int64_t>();
  plan.count.assign(host_data, host_data + groups);
  plan.fan_in.assign(host_data + groups, host_data + groups + plan.levels);
  const int64_t width = std::max<int64_t>(1, *std::max_element(plan.fan_in.begin(), plan.fan_in.end()));

  // The value row of every node: inputs their slot, computed nodes 4 + their place in the order.
  auto position = at::zeros({n * m}, long_options);
  position.index_copy_(0, order, at::arange(kCppnInputs, kCppnInputs + plan.rows, long_options));
  position = position.view({n, m});
  position.narrow(1, 0, kCppnInputs)
      .copy_(slots.narrow(0, 0, kCppnInputs).view({1, kCppnInputs}).expand({n, kCppnInputs}));
  plan.outputs = position.narrow(1, kCppnInputs, outputs).contiguous();

  // Each computed node's sources in slot order, padded to the widest node: the order of the sum
  // does not depend on what else is in the batch.
  const auto node_edges = edge.reshape({n * m, m}).index_select(0, order);  // [R,M]
  auto [present, source_slot] = at::where(node_edges, (m - slots).view({1, m}), zero).topk(width, 1, true, true);
  const auto real = present > 0;
  const auto genome = order.div(m, "floor").view({plan.rows, 1});
  const auto source_row =
      position.view({n * m}).index_select(0, (genome * m + source_slot).view({-1})).view({plan.rows, width});
  plan.source = at::where(real, source_row, at::full({}, kCppnInputs - 1, long_options)).t().contiguous();
  plan.weight = weight.reshape({n * m, m}).index_select(0, order).gather(1, source_slot).mul_(real).t().contiguous();
  return plan;
}

/// out [S,pixels] = Σ_d weight[d] · values[source[d]] over the D rows of `source` and `weight`
/// ([D,S]; D = 0: zeros), summed in d order: the one place both renderers add a level's inputs.
void weighted_sums_into(at::Tensor out, const at::Tensor& values, const at::Tensor& source, const at::Tensor& weight) {
  const int64_t width = source.size(0), size = source.size(1);
  if (width == 0) out.zero_();
  for (int64_t d = 0; d < width; ++d) {
    const auto inputs = values.index_select(0, source[d]);
    const auto w = weight[d].view({size, 1});
    if (d == 0) {
      at::mul_out(out, inputs, w);
    } else {
      out.add_(inputs.mul_(w));
    }
  }
}

/// Node values of one chunk of genomes: [N,O,pixels], |o| clipped to [0,1].
at::Tensor render_plan(const Plan& plan, const at::Tensor& planes, const std::vector<Activation>& activations) {
  const int64_t pixels = planes.size(1);
  const int64_t kinds = static_cast<int64_t>(activations.size());
  auto values = at::empty({kCppnInputs + plan.rows, pixels}, planes.options());
  values.narrow(0, 0, kCppnInputs).copy_(planes);
  int64_t row = 0;
  for (int64_t level = 1; level < plan.levels; ++level) {
    int64_t size = 0;
    for (int64_t a = 0; a < kinds; ++a) size += plan.count[level * kinds + a];
    if (size == 0) continue;
    auto out = values.narrow(0, kCppnInputs + row, size);
    const int64_t width = plan.fan_in[level];
    weighted_sums_into(out, values, plan.source.narrow(0, 0, width).narrow(1, row, size),
                       plan.weight.narrow(0, 0, width).narrow(1, row, size));
    int64_t offset = 0;
    for (int64_t a = 0; a < kinds; ++a) {
      const int64_t count = plan.count[level * kinds + a];
      if (count > 0) activate_(activations[static_cast<std::size_t>(a)], out.narrow(0, offset, count));
      offset += count;
    }
    row += size;
  }
  const int64_t n = plan.outputs.size(0), o = plan.outputs.size(1);
  return values.index_select(0, plan.outputs.view({-1})).abs_().clamp_(0.0, 1.0).view({n, o, pixels});
}

/// One level's sums, weighted_sums_into as render_plan calls it (so the same bits), with a backward pass of its own:
/// autograd's would keep every gathered [nodes, pixels] term, and give each a [rows, pixels] gradient of zeros, which
/// for layered CPPNs (fan-in 32) costs ten times the classifier's backward pass.
struct LevelSum : public torch::autograd::Function<LevelSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& values, const at::Tensor& source,
                            const at::Tensor& weight) {
    ctx->save_for_backward({values, source, weight});
    at::Tensor out = at::empty({source.size(1), values.size(1)}, values.options());
    weighted_sums_into(out, values, source, weight);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &values = saved[0], &source = saved[1], &weight = saved[2];
    const auto& grad = grads[0];
    const int64_t width = source.size(0), size = source.size(1);
    auto grad_values = at::zeros_like(values);
    auto grad_weight = at::empty_like(weight);
    for (int64_t d = 0; d < width; ++d) {
      grad_values.index_add_(0, source[d], grad * weight[d].view({size, 1}));
      grad_weight[d].copy_(values.index_select(0, source[d]).mul_(grad).sum(1));
    }
    return {grad_values, at::Tensor(), grad_weight};
  }
};

/// render_plan as a function of plan.weight that autograd can differentiate: each level's values
/// are appended to the ones below it instead of written into one preallocated tensor.
at::Tensor render_plan_differentiable(const Plan& plan, const at::Tensor& planes,
                                      const std::vector<Activation>& activations) {
  const int64_t pixels = planes.size(1);
  const int64_t kinds = static_cast<int64_t>(activations.size());
  at::Tensor values = planes;
  int64_t row = 0;
  for (int64_t level = 1; level < plan.levels; ++level) {
    int64_t size = 0;
    for (int64_t a = 0; a < kinds; ++a) size += plan.count[level * kinds + a];
    if (size == 0) continue;
    const int64_t width = plan.fan_in[level];
    const auto sum = LevelSum::apply(values, plan.source.narrow(0, 0, width).narrow(1, row, size),
                                     plan.weight.narrow(0, 0, width).narrow(1, row, size));
    std::vector<at::Tensor> parts;
    int64_t offset = 0;
    for (int64_t a = 0; a < kinds; ++a) {
      const int64_t count = plan.count[level * kinds + a];
      if (count > 0) parts.push_back(activated(activations[static_cast<std::size_t>(a)], sum.narrow(0, offset, count)));
      offset += count;
    }
    values = at::cat({values, at::cat(parts)});
    row += size;
  }
  const int64_t n = plan.outputs.size(0), o = plan.outputs.size(1);
  return values.index_select(0, plan.outputs.view({-1})).abs().clamp(0.0, 1.0).view({n, o, pixels});
}

}  // namespace

at::Tensor CppnEncoding::input_planes(int64_t height, int64_t width, const at::Device& device) const {
  const auto options = at::TensorOptions(device).dtype(at::kFloat);
  // Normalised coordinates in [−1, 1] (d always uses them, PAPER.md §1.4).
  auto xn = width > 1 ? at::linspace(-1.0, 1.0, width, options) : at::zeros({1}, options);
  auto yn = height > 1 ? at::linspace(-1.0, 1.0, height, options) : at::zeros({1}, options);
  auto x_grid = xn.view({1, width}).expand({height, width});
  auto y_grid = yn.view({height, 1}).expand({height, width});
  auto d = (x_grid * x_grid + y_grid * y_grid).sqrt();
  at::Tensor x = x_grid, y = y_grid;
  if (options_.coordinates == Coordinates::kPixels) {
    // The original's raw pixel indices 0..S−1 of the model's grid, at any rendering size.
    const auto& s = options_.shape;
    x = (x_grid + 1.0) * (0.5 * static_cast<double>(s.width - 1));
    y = (y_grid + 1.0) * (0.5 * static_cast<double>(s.height - 1));
  }
  return at::stack({x, y, d, at::ones({height, width}, options)});
}

at::Tensor CppnEncoding::render_outputs(const GenomeBatch& genomes, int64_t height, int64_t width) const {
  const int64_t total = genomes.size();
  const int64_t pixels = height * width;
  const auto& active = genomes["active"];
  const auto device = active.device();
  const auto planes = input_planes(height, width, device).view({kCppnInputs, pixels});
  auto result = at::empty({total, outputs_, height, width}, at::TensorOptions(device).dtype(at::kFloat));
  const int64_t m = active.size(1);
  const int64_t chunk = std::max<int64_t>(1, kRenderBudget / std::max<int64_t>(1, m * pixels));
  for (int64_t begin = 0; begin < total; begin += chunk) {
    const int64_t end = std::min(total, begin + chunk);
    const auto [activation, set] = rendered_activations(genomes["activation"].slice(0, begin, end));
    const auto plan = make_plan(active.slice(0, begin, end), activation, genomes["edge"].slice(0, begin, end),
                                genomes["weight"].slice(0, begin, end), outputs_, static_cast<int64_t>(set.size()));
    result.slice(0, begin, end).copy_(render_plan(plan, planes, set).view({end - begin, outputs_, height, width}));
  }
  return result;
}

at::Tensor CppnEncoding::render_outputs_differentiable(const GenomeBatch& genomes, const at::Tensor& weight,
                                                       int64_t height, int64_t width) const {
  const int64_t pixels = height * width;
  const auto& active = genomes["active"];
  FOOL_CHECK(weight.dim() == 3 && weight.size(0) == active.size(0) && weight.size(1) == active.size(1) &&
                 weight.size(2) == active.size(1),
             "CPPN weights of the wrong shape for their genomes");
  const auto planes = input_planes(height, width, active.device()).to(weight.scalar_type()).view({kCppnInputs, pixels});
  const auto [activation, set] = rendered_activations(genomes["activation"]);
  const auto plan = make_plan(active, activation, genomes["edge"], weight, outputs_, static_cast<int64_t>(set.size()));
  return render_plan_differentiable(plan, planes, set).view({genomes.size(), outputs_, height, width});
}

std::pair<at::Tensor, std::vector<Activation>> CppnEncoding::rendered_activations(const at::Tensor& activation) const {
  if (options_.cppn_output == CppnOutput::kAbs) return {activation, activations_};
  auto set = activations_;
  set.push_back(Activation::kLogistic);
  auto rendered = activation.clone();
  rendered.narrow(1, kCppnInputs, outputs_).fill_(static_cast<int64_t>(activations_.size()));
  return {rendered, set};
}

at::Tensor CppnEncoding::continuous_genes(const GenomeBatch& genomes) const { return genomes["weight"].to(at::kFloat); }

at::Tensor CppnEncoding::project_genes(const GenomeBatch& genomes, const at::Tensor& genes) const {
  return genes.clamp(-kCppnWeightRange, kCppnWeightRange).mul(genomes["edge"]);
}

GenomeBatch CppnEncoding::with_continuous_genes(const GenomeBatch& genomes, const at::Tensor& genes) const {
  auto out = genomes.clone();
  out["weight"] = project_genes(genomes, genes.detach()).to(genomes["weight"].scalar_type()).contiguous();
  return out;
}

at::Tensor CppnEncoding::render_differentiable(const GenomeBatch& genomes, const at::Tensor& genes, int64_t height,
                                               int64_t width) const {
  // The forward value is render() of the genomes with these weights, exactly; the gradient is that
  // of the continuous colour image (before any rounding) with respect to the weights.
  // (The differentiable outputs equal render_outputs' bit for bit: the same sums in the same
  // order, tests/unit/refine_test.cpp.)
  const auto outputs = render_outputs_differentiable(genomes, project_genes(genomes, genes), height, width);
  const auto exact = colour_image(quantize_pixels(outputs.detach()));
  at::Tensor smooth = outputs;
  if (outputs_ == 3 && options_.color_space != ColorSpace::kRgb) {
    // The hue byte × 2 degrees as a fraction of a turn: o·255·2/360, wrapped.
    const auto hue = (outputs.select(1, 0) * (255.0 * 2.0 / 360.0)).remainder(1.0);
    const auto planes = at::stack({hue, outputs.select(1, 1), outputs.select(1, 2)}, 1);
    smooth = options_.color_space == ColorSpace::kHsv ? hsv_to_rgb(planes) : hls_to_rgb(planes);
  }
  return exact + (smooth - smooth.detach());
}

at::Tensor CppnEncoding::render(const GenomeBatch& genomes, int64_t height, int64_t width) const {
  return colour_image(quantize_pixels(render_outputs(genomes, height, width)));
}

at::Tensor CppnEncoding::colour_image(at::Tensor outputs) const {
  if (outputs_ == 1 || options_.color_space == ColorSpace::kRgb) return outputs;
  // Three bytes read as OpenCV 8-bit HLS (or HSV): hue byte × 2 degrees, wrapping past 180.
  auto hue = (outputs.select(1, 0) * 255.0).round_().mul_(2.0).remainder_(360.0).div_(360.0);
  auto planes = at::stack({hue, outputs.select(1, 1), outputs.select(1, 2)}, 1);
  auto rgb = options_.color_space == ColorSpace::kHsv ? hsv_to_rgb(planes) : hls_to_rgb(planes);
  return rgb.mul_(255.0).round_().clamp_(0.0, 255.0).div_(255.0);
}

at::Tensor hls_to_rgb(const at::Tensor& hls) {
  auto h = hls.select(1, 0), l = hls.select(1, 1), s = hls.select(1, 2);
  auto p2 = at::where(l <= 0.5, l * (1.0 + s), l + s - l * s);
  auto p1 = 2.0 * l - p2;
  auto channel = [&](const at::Tensor& t_in) {
    auto t = t_in - t_in.floor();
    return at::where(t < 1.0 / 6.0, p1 + (p2 - p1) * 6.0 * t,
                     at::where(t < 0.5, p2, at::where(t < 2.0 / 3.0, p1 + (p2 - p1) * (2.0 / 3.0 - t) * 6.0, p1)));
  };
  return at::stack({channel(h + 1.0 / 3.0), channel(h), channel(h - 1.0 / 3.0)}, 1).clamp_(0.0, 1.0);
}

at::Tensor hsv_to_rgb(const at::Tensor& hsv) {
  auto h = hsv.select(1, 0) * 6.0, s = hsv.select(1, 1), v = hsv.select(1, 2);
  auto channel = [&](double n) {
    auto k = (h + n).remainder(6.0);
    return v - v * s * at::clamp(at::minimum(k, 4.0 - k), 0.0, 1.0);
  };
  return at::stack({channel(5.0), channel(3.0), channel(1.0)}, 1).clamp_(0.0, 1.0);
}

}  // namespace fool
