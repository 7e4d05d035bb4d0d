#include "fool/encoding/cppn.h"

#include <cmath>
#include <sstream>

#include "fool/encoding/mutation.h"
#include "fool/util/error.h"

namespace fool {
namespace {

constexpr double kMinRankGap = 1e-9;  // a connection is split only where a rank fits between

/// Picks one true element of `mask` [N,...] per genome uniformly at random. Returns the flat index
/// into the trailing dimensions [N] and whether the genome had any candidate [N].
std::pair<at::Tensor, at::Tensor> choose(const at::Tensor& mask, at::Generator& gen) {
  const int64_t n = mask.size(0);
  auto score = at::where(mask, at::rand(mask.sizes(), gen, mask.options().dtype(at::kFloat)),
                         at::full({}, -1.0f, mask.options().dtype(at::kFloat)));
  auto [best, index] = score.view({n, -1}).max(1);
  return {index, best >= 0};
}

at::Tensor coin(int64_t n, double p, at::Generator& gen, const at::TensorOptions& options) {
  return at::rand({n}, gen, options.dtype(at::kFloat)) < p;
}

/// [N,M,M] mask of the one entry (row[n], col[n]) of every genome with apply[n].
at::Tensor one_hot_pair(const at::Tensor& row, const at::Tensor& col, const at::Tensor& apply, int64_t m) {
  auto slots = at::arange(m, row.options());
  auto rows = slots.view({1, m, 1}) == row.view({-1, 1, 1});
  auto cols = slots.view({1, 1, m}) == col.view({-1, 1, 1});
  return rows.logical_and(cols).logical_and(apply.view({-1, 1, 1}));
}

/// [N,M] mask of slot[n] for every genome with apply[n].
at::Tensor one_hot_slot(const at::Tensor& slot, const at::Tensor& apply, int64_t m) {
  return (at::arange(m, slot.options()).view({1, m}) == slot.view({-1, 1})).logical_and(apply.view({-1, 1}));
}

/// "32,32,32": the widths of --cppn-hidden's layers. Throws fool::Error (kUsage).
std::vector<int64_t> parse_hidden_layers(const std::string& text) {
  std::vector<int64_t> widths;
  if (text.empty()) return widths;
  const std::string fix =
      ". Fix: comma-separated layer widths of 1-256 nodes, at most 1024 in all, e.g. 32,32,32 "
      "(empty: no hidden layer).";
  std::stringstream parts(text + ",");
  int64_t total = 0;
  for (std::string part; std::getline(parts, part, ',');) {
    const bool digits = !part.empty() && part.size() <= 3 && part.find_first_not_of("0123456789") == std::string::npos;
    const int64_t width = digits ? std::stoll(part) : 0;
    if (width < 1 || width > 256)
      throw Error(ErrorKind::kUsage, "--cppn-hidden '" + text + "': bad layer '" + part + "'" + fix);
    widths.push_back(width);
    total += width;
  }
  if (total > 1024)
    throw Error(ErrorKind::kUsage, "--cppn-hidden '" + text + "' has " + std::to_string(total) + " nodes" + fix);
  return widths;
}

}  // namespace

Activation activation_from_name(const std::string& name) {
  if (name == "sine") return Activation::kSine;
  if (name == "sigmoid") return Activation::kSigmoid;
  if (name == "gaussian") return Activation::kGaussian;
  if (name == "linear") return Activation::kLinear;
  if (name == "tanh") return Activation::kTanh;
  if (name == "logistic") return Activation::kLogistic;
  throw Error(ErrorKind::kUsage, "unknown CPPN activation '" + name +
                                     "'. Fix: --activations takes a comma-separated subset of sine, sigmoid, gaussian, "
                                     "linear, tanh, logistic.");
}

std::string activation_name(Activation a) {
  switch (a) {
    case Activation::kSine:
      return "sine";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kGaussian:
      return "gaussian";
    case Activation::kLinear:
      return "linear";
    case Activation::kTanh:
      return "tanh";
    case Activation::kLogistic:
      return "logistic";
  }
  return "unknown";
}

CppnEncoding::CppnEncoding(const EncodingOptions& options)
    : Encoding(options), outputs_(options.shape.channels == 1 ? 1 : 3) {
  std::stringstream names(options.activations);
  for (std::string name; std::getline(names, name, ',');) activations_.push_back(activation_from_name(name));
  if (activations_.empty())
    throw Error(ErrorKind::kUsage, "--activations is empty. Fix: e.g. sine,sigmoid,gaussian,linear.");
  hidden_ = parse_hidden_layers(options.cppn_hidden);
  if (!(options.cppn_init_weight > 0 && options.cppn_init_weight <= kCppnWeightRange)) {
    throw Error(ErrorKind::kUsage,
                "--cppn-init-weight must be in (0, 10], the weights' range. Fix: e.g. 10 (the "
                "original) or 3.");
  }
  // The original's CPPN cross() copies the parents (DnnFF::cross, PAPER.md §1.4).
  if (options.crossover != Crossover::kNone) {
    throw Error(
        ErrorKind::kUsage,
        "--crossover " + enum_name(options.crossover) +
            " applies to the direct encoding only: the original CPPNs were never crossed. Fix: --crossover none.");
  }
}

GenomeBatch CppnEncoding::random(int64_t n, at::Generator& gen, const at::Device& device) const {
  const int64_t o = outputs_;
  int64_t m = kCppnInputs + o;
  for (const int64_t width : hidden_) m += width;
  const auto options = at::TensorOptions(device);
  auto active = at::ones({n, m}, options.dtype(at::kBool));
  auto activation = at::randint(static_cast<int64_t>(activations_.size()), {n, m}, gen, options.dtype(at::kLong));
  activation.narrow(1, 0, kCppnInputs).zero_();
  auto rank = at::zeros({n, m}, options.dtype(at::kDouble));
  rank.narrow(1, kCppnInputs, o).fill_(1.0);
  // The initial topology: every input to every output, random weights, no hidden node (the
  // paper's); or with --cppn-hidden, layers of hidden nodes (slots after the outputs, layer l of L
  // at rank l/(L+1)), inputs to the first, each to the next, the last to the outputs.
  auto edge = at::zeros({n, m, m}, options.dtype(at::kBool));
  int64_t from = 0, from_size = kCppnInputs, next = kCppnInputs + o;
  const auto layers = static_cast<double>(hidden_.size());
  for (std::size_t l = 0; l < hidden_.size(); ++l) {
    rank.narrow(1, next, hidden_[l]).fill_(static_cast<double>(l + 1) / (layers + 1));
    edge.narrow(1, next, hidden_[l]).narrow(2, from, from_size).fill_(true);
    from = next;
    from_size = hidden_[l];
    next += hidden_[l];
  }
  edge.narrow(1, kCppnInputs, o).narrow(2, from, from_size).fill_(true);
  const double range = options_.cppn_init_weight;
  auto weight = at::rand({n, m, m}, gen, options.dtype(at::kFloat)).mul_(2 * range).sub_(range);
  weight.mul_(edge);
  return GenomeBatch(
      {{"active", active}, {"activation", activation}, {"rank", rank}, {"edge", edge}, {"weight", weight}});
}

GenomeBatch CppnEncoding::mutate(const GenomeBatch& parents, at::Generator& gen, int64_t generation) const {
  GenomeBatch g = parents.clone();
  const int64_t n = g.size();
  // Room for one more node in every genome.
  const int64_t needed = g["active"].sum(1).max().item<int64_t>() + 1;
  if (needed > g["active"].size(1)) {
    const int64_t m = needed;
    for (const char* field : {"active", "activation", "rank"}) g[field] = pad_to(g[field], {n, m});
    for (const char* field : {"edge", "weight"}) g[field] = pad_to(g[field], {n, m, m});
  }
  auto& active = g["active"];
  auto& activation = g["activation"];
  auto& rank = g["rank"];
  auto& edge = g["edge"];
  auto& weight = g["weight"];
  const int64_t m = active.size(1);
  const auto long_options = active.options().dtype(at::kLong);
  const auto slots = at::arange(m, long_options);
  const auto is_input = slots < kCppnInputs;
  const auto is_output = (slots >= kCppnInputs).logical_and(slots < kCppnInputs + outputs_);
  const auto is_hidden = slots >= kCppnInputs + outputs_;
  const int64_t activation_count = static_cast<int64_t>(activations_.size());

  // 1. Each weight with probability `mutation_rate`: polynomial mutation in [−10, 10].
  polynomial_mutation_(weight, options_.mutation_rate, options_.mutation_eta, gen, edge, -kCppnWeightRange,
                       kCppnWeightRange);

  // 2. Each non-input node's activation with probability 0.1: resampled uniformly.
  auto resample = (at::rand({n, m}, gen, weight.options()) < rates.activation)
                      .logical_and_(active)
                      .logical_and_(is_input.logical_not().view({1, m}));
  activation = at::where(resample, at::randint(activation_count, {n, m}, gen, long_options), activation);

  auto rank_from = rank.view({n, 1, m});  // rank of the source j
  auto rank_to = rank.view({n, m, 1});    // rank of the target i

  // 3. Add a connection (0.5): source any non-output node, target any non-input node of higher rank.
  {
    auto apply = coin(n, rates.add_connection, gen, weight.options());
    auto candidates = active.view({n, m, 1})
                          .logical_and(active.view({n, 1, m}))
                          .logical_and(is_input.logical_not().view({1, m, 1}))
                          .logical_and(is_output.logical_not().view({1, 1, m}))
                          .logical_and(edge.logical_not())
                          .logical_and(rank_from < rank_to);
    auto [flat, valid] = choose(candidates, gen);
    auto hot = one_hot_pair(flat.div(m, "floor"), flat.remainder(m), apply.logical_and(valid), m);
    auto fresh = at::rand({n, 1, 1}, gen, weight.options()).mul_(2 * kCppnWeightRange).sub_(kCppnWeightRange);
    edge = edge.logical_or(hot);
    weight = at::where(hot, fresh, weight);
  }
  // 4. Delete a random connection (0.3).
  {
    auto apply = coin(n, rates.delete_connection, gen, weight.options());
    auto [flat, valid] = choose(edge, gen);
    auto hot = one_hot_pair(flat.div(m, "floor"), flat.remainder(m), apply.logical_and(valid), m);
    edge = edge.logical_and(hot.logical_not());
    weight = weight.masked_fill(hot, 0.0);
  }
  // 5. Add a node (0.5): split a random connection j → i into j → s → i, both inheriting its weight.
  {
    auto apply = coin(n, rates.add_node, gen, weight.options());
    auto [flat, valid] = choose(edge.logical_and((rank_to - rank_from) > kMinRankGap), gen);
    apply = apply.logical_and(valid);
    auto to = flat.div(m, "floor"), from = flat.remainder(m);
    auto free_slot = active.logical_not().logical_and(is_hidden.view({1, m})).to(at::kByte).argmax(1);
    auto inherited = weight.view({n, m * m}).gather(1, flat.view({n, 1})).view({n, 1, 1});
    auto middle = (rank.gather(1, to.view({n, 1})) + rank.gather(1, from.view({n, 1}))) * 0.5;  // [N,1]
    auto node = one_hot_slot(free_slot, apply, m);
    active = active.logical_or(node);
    rank = at::where(node, middle, rank);
    activation = at::where(node, at::randint(activation_count, {n, 1}, gen, long_options), activation);
    auto split = one_hot_pair(to, from, apply, m);
    auto halves = one_hot_pair(free_slot, from, apply, m).logical_or(one_hot_pair(to, free_slot, apply, m));
    edge = edge.logical_and(split.logical_not()).logical_or(halves);
    weight = at::where(halves, inherited, weight.masked_fill(split, 0.0));
  }
  // 6. Delete a random hidden node and its connections (0.2).
  {
    auto apply = coin(n, rates.delete_node, gen, weight.options());
    auto [slot, valid] = choose(active.logical_and(is_hidden.view({1, m})), gen);
    auto node = one_hot_slot(slot, apply.logical_and(valid), m);
    auto touching = node.view({n, m, 1}).logical_or(node.view({n, 1, m}));
    active = active.logical_and(node.logical_not());
    rank = rank.masked_fill(node, 0.0);
    activation = activation.masked_fill(node, 0);
    edge = edge.logical_and(touching.logical_not());
    weight = weight.masked_fill(touching, 0.0);
  }
  return trim_cppn(g);
}

GenomeBatch trim_cppn(const GenomeBatch& genomes) {
  const auto& active = genomes["active"];
  const int64_t m = active.size(1);
  const auto used = active.any(0);  // [M]
  const int64_t keep = m - used.flip(0).to(at::kByte).argmax().item<int64_t>();
  if (keep == m) return genomes;
  return GenomeBatch({{"active", active.slice(1, 0, keep).contiguous()},
                      {"activation", genomes["activation"].slice(1, 0, keep).contiguous()},
                      {"rank", genomes["rank"].slice(1, 0, keep).contiguous()},
                      {"edge", genomes["edge"].slice(1, 0, keep).slice(2, 0, keep).contiguous()},
                      {"weight", genomes["weight"].slice(1, 0, keep).slice(2, 0, keep).contiguous()}});
}

}  // namespace fool
