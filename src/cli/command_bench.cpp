// fool bench: the model's raw forward throughput against the full search loop of every encoding,
// and that loop split into its ask / render / predict / tell phases, measured in one process,
// interleaved in rounds so that machine noise hits all alike.
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
#include <sstream>

// Peak GPU memory from LibTorch's CUDA caching allocator, where LibTorch is a CUDA build.
#if defined(FOOL_CUDA_MEMORY_STATS) && __has_include(<c10/cuda/CUDACachingAllocator.h>) && \
    __has_include(<cuda_runtime_api.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define FOOL_HAS_CUDA_ALLOCATOR 1
#endif

#include "cli/common.h"
#include "fool/encoding/encoding.h"
#include "fool/io/files.h"
#include "fool/model/scoring.h"
#include "fool/search/random.h"
#include "fool/search/refine.h"
#include "fool/search/search.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"

namespace fool::cli {
namespace {

struct BenchOptions {
  ModelSettings model;
  std::string search = "map-elites";
  int64_t batch_size = 200;
  double seconds = 2.0;  ///< per measurement per round
  int rounds = 3;
  int64_t crops = 1;
  std::string encodings = "all";
  std::string json;
  uint64_t seed = 1;
};

constexpr const char* kPhases[] = {"ask", "render", "predict", "tell"};

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

/// One search under measurement, with the generation it has reached.
struct Subject {
  std::unique_ptr<Encoding> encoding;
  std::unique_ptr<Search> search;
  std::unique_ptr<Refiner> refiner;  ///< one --refine-steps step, for encodings with continuous genes
  int64_t generation = 0;
};

/// Real generations of `s` for about `seconds`, each phase timed on its own (with a device
/// synchronisation after each, so on a GPU the phases add up to a little more than the loop).
/// Returns each phase's throughput in genomes per second.
std::map<std::string, double> split_phases(Subject& s, double seconds, const at::Device& device) {
  std::map<std::string, double> spent;
  int64_t items = 0;
  const double start = now();
  do {
    const int64_t g = ++s.generation;
    double t = now();
    const auto lap = [&](const char* phase) {
      synchronize(device);
      const double t2 = now();
      spent[phase] += t2 - t;
      t = t2;
    };
    const GenomeBatch genomes = s.search->ask(g);
    lap("ask");
    const at::Tensor images = s.search->render(genomes);
    lap("render");
    const at::Tensor probabilities = s.search->predict(images);
    lap("predict");
    s.search->tell(genomes, probabilities, g);
    lap("tell");
    items += genomes.size();
  } while (now() - start < seconds);
  std::map<std::string, double> rate;
  for (const auto& [phase, t] : spent) rate[phase] = static_cast<double>(items) / std::max(t, 1e-12);
  return rate;
}

int bench(const BenchOptions& o) {
  if (o.batch_size < 1) throw Error(ErrorKind::kUsage, "--batch-size must be >= 1.");
  if (o.rounds < 1 || !(o.seconds > 0)) throw Error(ErrorKind::kUsage, "--rounds and --seconds must be positive.");
  check_search_name(o.search);
  // Fail before minutes of measuring, not after.
  const auto json_dir = std::filesystem::path(o.json).parent_path();
  if (!o.json.empty() && !json_dir.empty() && !std::filesystem::is_directory(json_dir)) {
    throw Error(ErrorKind::kIo, "cannot write --json '" + o.json + "': '" + json_dir.string() +
                                    "' is not a directory. Fix: create it, or choose another path.");
  }
  if (!o.json.empty()) check_replaceable_file(o.json);
  const Model model = load_model(o.model);
  const at::Device device = model.device();
  std::vector<std::string> names;
  if (o.encodings == "all") {
    names = encoding_names();
  } else {
    std::stringstream in(o.encodings);
    for (std::string name; std::getline(in, name, ',');) names.push_back(name);
  }

  const auto& s = model.info().input;
  auto gen = make_generator(device, o.seed);
  const auto images = at::rand({o.batch_size, s.channels, s.height, s.width}, gen, at::TensorOptions(device));
  const Scorer scorer(model, ScoringOptions{o.crops, 0});
  EncodingOptions encoding_options;
  encoding_options.shape = {s.channels, scorer.render_height(), scorer.render_width()};

  std::vector<Subject> subjects;
  for (const auto& name : names) {
    Subject subject;
    subject.encoding = make_encoding(name, encoding_options);
    SearchContext context;
    context.scorer = &scorer;
    context.encoding = subject.encoding.get();
    context.targets = at::arange(model.num_classes(), at::TensorOptions(device).dtype(at::kLong));
    context.population = o.batch_size;
    context.batch_size = o.batch_size * o.crops;  // images per forward: every crop of a generation at once
    context.generator = make_generator(device, o.seed);
    subject.search = make_search(o.search, context);
    if (subject.encoding->differentiable()) {  // one gradient refinement step, for its cost
      context.options.refine_steps = 1;
      subject.refiner = std::make_unique<Refiner>(context);
    }
    subject.search->step(0);
    subjects.push_back(std::move(subject));
  }

  std::vector<std::string> order = {"forward"};  // rows in the order measured
  std::map<std::string, std::vector<double>> samples;
  std::map<std::string, double> peak_mib;
  const auto record = [&](const std::string& name, double value) {
    if (!samples.count(name)) order.push_back(name);
    samples[name].push_back(value);
    peak_mib[name] = std::max(peak_mib[name], peak_gpu_mib(device, /*reset=*/true));
  };
  peak_gpu_mib(device, /*reset=*/true);
  at::NoGradGuard no_grad;
  for (int round = 0; round < o.rounds; ++round) {
    samples["forward"].push_back(throughput([&] { model.forward(images); }, o.batch_size, o.seconds, device));
    peak_mib["forward"] = std::max(peak_mib["forward"], peak_gpu_mib(device, /*reset=*/true));
    for (auto& subject : subjects) {
      const auto& name = subject.encoding->name();
      record(name + "_loop",
             throughput([&] { subject.search->step(++subject.generation); }, o.batch_size, o.seconds, device));
      const auto rates = split_phases(subject, o.seconds / 2, device);
      for (const char* phase : kPhases) record(name + "_" + phase, rates.at(phase));
      if (subject.refiner) {
        const auto& archive = subject.search->archive();
        const auto children = archive.genomes().index_select(
            at::arange(o.batch_size, archive.targets().options()).remainder(archive.cells()));
        record(name + "_refine",
               throughput([&] { subject.refiner->refine(children, archive); }, o.batch_size, o.seconds / 2, device));
      }
    }
  }

  const double forward = median(samples["forward"]);
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  nlohmann::json out = {{"model", model.info().source},
                        {"search", o.search},
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
  for (const auto& subject : subjects) {
    // How far the loop had evolved when measured (CPPN genomes grow, and render slower, with age).
    out["generations"][subject.encoding->name()] = subject.generation;
    const auto& genomes = subject.search->archive().genomes();
    if (genomes.fields().count("active"))
      out["mean_cppn_nodes"] = genomes["active"].sum(1).to(at::kDouble).mean().item<double>();
  }
  const bool gpu_memory = peak_gpu_mib(device, false) >= 0;
  if (o.crops > 1) {
    std::printf("(an evaluation scores %lld crops: a loop at 1/%lld x forward is forward-bound)\n",
                static_cast<long long>(o.crops), static_cast<long long>(o.crops));
  }
  std::printf("%-16s %14s %10s %10s%s\n", "measure", "images/s", "x forward", "% of gen",
              gpu_memory ? "   peak GPU MiB" : "");
  for (const auto& name : order) {
    const double value = median(samples[name]);
    out["images_per_second"][name] = value;
    out["ratio_to_forward"][name] = value / forward;
    if (gpu_memory) out["peak_gpu_mib"][name] = peak_mib[name];
    // A phase's share of a generation: its time per genome over the four phases' together.
    std::string share = "";
    const auto underscore = name.rfind('_');
    const std::string phase = underscore == std::string::npos ? "" : name.substr(underscore + 1);
    if (std::find(std::begin(kPhases), std::end(kPhases), phase) != std::end(kPhases)) {
      const std::string stem = name.substr(0, underscore + 1);
      double total = 0;
      for (const char* p : kPhases) total += 1.0 / median(samples[stem + p]);
      const double percent = 100.0 * (1.0 / value) / total;
      out["percent_of_generation"][name] = percent;
      char text[16];
      std::snprintf(text, sizeof text, "%.1f", percent);
      share = text;
    }
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "_refine") == 0) {
      // What one refinement step of one child costs in forward passes (fool counts 3).
      out["refine_step_forward_equivalents"][name.substr(0, name.size() - 7)] = forward / value;
    }
    std::printf("%-16s %14.0f %10.3f %10s", name.c_str(), value, value / forward, share.c_str());
    if (gpu_memory) std::printf(" %14.0f", peak_mib[name]);
    std::printf("\n");
  }
  if (out.contains("refine_step_forward_equivalents")) {
    for (const auto& [name, cost] : out["refine_step_forward_equivalents"].items()) {
      std::printf("%s: one refinement step of a child costs %.2f forward passes here (runs count %lld)\n", name.c_str(),
                  cost.get<double>(), static_cast<long long>(Refiner::kStepCost));
    }
  }
  if (!o.json.empty())
    write_file_atomic(o.json, out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "bench", "Measure forward throughput against the full loop of each encoding, and the loop's phases.");
  auto o = std::make_shared<BenchOptions>();
  add_model_options(*app, o->model);
  app->add_option("--search", o->search, "search method whose loop is measured")->capture_default_str();
  add_number(*app, "--batch-size", o->batch_size, "images per forward = offspring per generation")
      ->capture_default_str();
  add_number(*app, "--seconds", o->seconds, "seconds per measurement per round")->capture_default_str();
  add_number(*app, "--rounds", o->rounds, "interleaved rounds; medians are reported")->capture_default_str();
  add_number(*app, "--crops", o->crops, "1, or 10: score each image on its corners, centre and mirrors")
      ->capture_default_str();
  app->add_option("--encodings", o->encodings, "comma-separated encodings, or all")->capture_default_str();
  app->add_option("--json", o->json, "also write the figures to this JSON file");
  add_number(*app, "--seed", o->seed, "random seed")->capture_default_str();
  return {app, [o] { return bench(*o); }};
}

}  // namespace fool::cli
