// fool bench: the model's raw forward throughput against the full evolution loop of every
// encoding, measured in one process, interleaved in rounds so that machine noise hits all alike.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

// Peak GPU memory from LibTorch's CUDA caching allocator, where LibTorch is a CUDA build.
#if defined(FOOL_CUDA_MEMORY_STATS) && __has_include(<c10/cuda/CUDACachingAllocator.h>) && \
    __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define FOOL_HAS_CUDA_ALLOCATOR 1
#endif

#include "cli/common.h"
#include "fool/encoding/encoding.h"
#include "fool/evo/map_elites.h"
#include "fool/evo/random.h"
#include "fool/evo/scoring.h"
#include "fool/io/files.h"
#include "fool/util/error.h"

namespace fool::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  int64_t batch_size = 200;
  double seconds = 2.0;  ///< per measurement per round
  int rounds = 3;
  int64_t crops = 1;
  std::string encodings = "all";
  std::string json;
  uint64_t seed = 1;
};

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void synchronize(const at::Device& device) {
  if (device.is_cuda()) at::zeros({1}, at::TensorOptions(device)).item<float>();
}

/// Items per second of `step` (which handles `items` each call), run for about `seconds`.
double throughput(const std::function<void()>& step, int64_t items, double seconds, const at::Device& device) {
  // Warm-up: TorchScript's profiling executor optimises a graph only after its first runs.
  for (int i = 0; i < 3; ++i) step();
  synchronize(device);
  int64_t calls = 0;
  const double start = now();
  double elapsed = 0;
  do {
    step();
    ++calls;
    if (calls % 4 == 0 || device.is_cpu()) synchronize(device);
    elapsed = now() - start;
  } while (elapsed < seconds);
  synchronize(device);
  elapsed = now() - start;
  return static_cast<double>(calls * items) / elapsed;
}

/// Peak bytes the CUDA allocator handed out since the last reset (MiB), or −1 where unknown.
double peak_gpu_mib(const at::Device& device, bool reset) {
#ifdef FOOL_HAS_CUDA_ALLOCATOR
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const double peak = static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);  // [0]: all pools
    if (reset) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
    return peak;
  }
#endif
  (void)device;
  (void)reset;
  return -1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

int bench(const BenchOptions& o) {
  if (o.batch_size < 1) throw Error(ErrorKind::kUsage, "--batch-size must be >= 1.");
  if (o.rounds < 1 || o.seconds <= 0) throw Error(ErrorKind::kUsage, "--rounds and --seconds must be positive.");
  // Fail before minutes of measuring, not after.
  const auto json_dir = std::filesystem::path(o.json).parent_path();
  if (!o.json.empty() && !json_dir.empty() && !std::filesystem::is_directory(json_dir)) {
    throw Error(ErrorKind::kIo, "cannot write --json '" + o.json + "': '" + json_dir.string() +
                                    "' is not a directory. Fix: create it, or choose another path.");
  }
  const Model model = load_model(o.model);
  const at::Device device = model.device();
  std::vector<std::string> names;
  if (o.encodings == "all") {
    names = encoding_names();
  } else {
    std::stringstream in(o.encodings);
    for (std::string name; std::getline(in, name, ',');) names.push_back(name);
  }
  EncodingOptions encoding_options;
  encoding_options.shape = model.info().input;
  std::vector<std::unique_ptr<Encoding>> encodings;
  for (const auto& name : names) encodings.push_back(make_encoding(name, encoding_options));

  const auto& s = model.info().input;
  auto gen = make_generator(device, o.seed);
  const auto images = at::rand({o.batch_size, s.channels, s.height, s.width}, gen, at::TensorOptions(device));
  auto targets = at::arange(model.num_classes(), at::TensorOptions(device).dtype(at::kLong));
  const Scorer scorer(model, ScoringOptions{o.crops, 0});
  const int64_t chunk = o.batch_size * o.crops;  // images per forward: every crop of a generation at once

  std::map<std::string, std::vector<double>> samples;
  std::map<std::string, double> peak_mib;
  std::vector<std::unique_ptr<MapElites>> searches;
  for (const auto& encoding : encodings) {
    searches.push_back(std::make_unique<MapElites>(scorer, *encoding, targets, SearchSettings{o.batch_size, chunk},
                                                   make_generator(device, o.seed)));
    searches.back()->initialise();
  }
  // One sample of `name`, with the peak GPU memory it used.
  auto measure = [&](const std::string& name, const std::function<void()>& step, int64_t items, double seconds) {
    samples[name].push_back(throughput(step, items, seconds, device));
    peak_mib[name] = std::max(peak_mib[name], peak_gpu_mib(device, /*reset=*/true));
  };
  peak_gpu_mib(device, /*reset=*/true);
  at::NoGradGuard no_grad;
  for (int round = 0; round < o.rounds; ++round) {
    measure("forward", [&] { model.forward(images); }, o.batch_size, o.seconds);
    for (std::size_t e = 0; e < encodings.size(); ++e) {
      const auto& name = encodings[e]->name();
      measure(name + "_loop", [&] { searches[e]->step(); }, o.batch_size, o.seconds);
      // A full batch of offspring of the current archive, as the loop renders them.
      const auto& archive = searches[e]->archive();
      auto parents = at::randint(archive.cells(), {o.batch_size}, gen, archive.targets().options());
      auto genomes = encodings[e]->mutate(archive.genomes().index_select(parents), gen, 1);
      measure(name + "_render", [&] { encodings[e]->render(genomes, scorer.render_height(), scorer.render_width()); },
              genomes.size(), o.seconds / 2);
    }
  }

  const double forward = median(samples["forward"]);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  nlohmann::json out = {{"model", model.info().source},
                        {"device", device.str()},
                        {"precision", precision_name(model.precision())},
                        {"channels_last", model.channels_last()},
                        {"threads", at::get_num_threads()},
                        {"batch_size", o.batch_size},
                        {"crops", o.crops},
                        {"classes", model.num_classes()},
                        {"rounds", o.rounds},
                        {"seconds_per_measurement", o.seconds},
                        {"peak_rss_mib", static_cast<double>(usage.ru_maxrss) / 1024.0}};
  for (std::size_t e = 0; e < encodings.size(); ++e) {
    // How far the loop had evolved when measured (CPPN genomes grow, and render slower, with age).
    out["generations"][encodings[e]->name()] = searches[e]->generation();
    const auto& genomes = searches[e]->archive().genomes();
    if (genomes.fields().count("active")) out["mean_cppn_nodes"] = genomes["active"].sum(1).to(at::kDouble).mean().item<double>();
  }
  const bool gpu_memory = peak_gpu_mib(device, false) >= 0;
  if (o.crops > 1) {
    std::printf("(an evaluation scores %lld crops: a loop at 1/%lld x forward is forward-bound)\n",
                static_cast<long long>(o.crops), static_cast<long long>(o.crops));
  }
  std::printf("%-16s %14s %10s%s\n", "measure", "images/s", "x forward", gpu_memory ? "   peak GPU MiB" : "");
  for (const auto& [name, values] : samples) {
    const double value = median(values);
    out["images_per_second"][name] = value;
    out["ratio_to_forward"][name] = value / forward;
    if (gpu_memory) out["peak_gpu_mib"][name] = peak_mib[name];
    std::printf("%-16s %14.0f %10.3f", name.c_str(), value, value / forward);
    if (gpu_memory) std::printf(" %14.0f", peak_mib[name]);
    std::printf("\n");
  }
  if (!o.json.empty()) write_file_atomic(o.json, out.dump(2) + "\n");
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto* app = parent.add_subcommand("bench", "Measure forward throughput against the full loop of each encoding.");
  auto o = std::make_shared<BenchOptions>();
  add_model_options(*app, o->model);
  app->add_option("--batch-size", o->batch_size, "images per forward = offspring per generation")->capture_default_str();
  app->add_option("--seconds", o->seconds, "seconds per measurement per round")->capture_default_str();
  app->add_option("--rounds", o->rounds, "interleaved rounds; medians are reported")->capture_default_str();
  app->add_option("--crops", o->crops, "1, or 10: score each image on its corners, centre and mirrors")->capture_default_str();
  app->add_option("--encodings", o->encodings, "comma-separated encodings, or all")->capture_default_str();
  app->add_option("--json", o->json, "also write the figures to this JSON file");
  app->add_option("--seed", o->seed, "random seed")->capture_default_str();
  return {app, [o] { return bench(*o); }};
}

}  // namespace fool::cli
