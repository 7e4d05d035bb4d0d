#include "fool/train/retrain.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/idx.h"
#include "fool/io/images.h"
#include "fool/io/json.h"
#include "fool/io/run_reader.h"
#include "fool/model/model_settings.h"
#include "fool/run/run.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"

namespace fool {
namespace {
namespace fs = std::filesystem;

constexpr const char* kFoolingLabel = "fooling";
constexpr const char* kSettingsFile = "retrain.json";
constexpr const char* kRoundsFile = "rounds.csv";
constexpr const char* kRoundFile = "round.json";
constexpr int64_t kMaxRounds = 1000;
constexpr std::size_t kMaxJsonBytes = 16u << 20;
constexpr std::size_t kMaxModelBytes = std::size_t{8} << 30;

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::string round_name(int64_t round) {
  char name[32];
  std::snprintf(name, sizeof name, "round-%02lld", static_cast<long long>(round));
  return name;
}

/// DIR/NAME or DIR/NAME.gz, whichever exists; throws (kIo) naming both when neither does.
std::string idx_file(const std::string& dir, const std::string& name) {
  for (const std::string& candidate : {name, name + ".gz"}) {
    const auto path = fs::path(dir) / candidate;
    if (fs::is_regular_file(path)) return path.string();
  }
  throw Error(ErrorKind::kIo, "data folder '" + dir + "' has no " + name + " (or " + name +
                                  ".gz). Fix: --data names a folder in the MNIST layout: train-images-idx3-ubyte, "
                                  "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.");
}

LabelledImages read_split(const std::string& dir, const std::string& part, int64_t limit) {
  const std::string images_path = idx_file(dir, part + "-images-idx3-ubyte");
  const std::string labels_path = idx_file(dir, part + "-labels-idx1-ubyte");
  LabelledImages split{read_idx_images(images_path, limit), read_idx_labels(labels_path, limit)};
  if (split.images.size(0) != split.labels.size(0)) {
    throw Error(ErrorKind::kIo, "'" + images_path + "' holds " + std::to_string(split.images.size(0)) +
                                    " images but '" + labels_path + "' " + std::to_string(split.labels.size(0)) +
                                    " labels. Fix: give the images' own label file.");
  }
  if (split.size() == 0) {
    throw Error(ErrorKind::kIo, "'" + images_path + "' holds no images. Fix: give a data folder with images.");
  }
  return split;
}

void check_split(const LabelledImages& split, const std::string& what, const ImageShape& input, int64_t classes,
                 const std::string& model) {
  const auto s = split.images.sizes();
  if (s[1] != input.channels || s[2] != input.height || s[3] != input.width) {
    throw Error(ErrorKind::kUsage, "the " + what + " images are " + std::to_string(s[1]) + "x" + std::to_string(s[2]) +
                                       "x" + std::to_string(s[3]) + " but model '" + model + "' takes " +
                                       std::to_string(input.channels) + "x" + std::to_string(input.height) + "x" +
                                       std::to_string(input.width) +
                                       ". Fix: give --data for this model's input (or the model for this data).");
  }
  const int64_t low = split.labels.min().item<int64_t>(), high = split.labels.max().item<int64_t>();
  if (low < 0 || high >= classes) {
    throw Error(ErrorKind::kUsage, "the " + what + " labels run from " + std::to_string(low) + " to " +
                                       std::to_string(high) + " but model '" + model + "' has " +
                                       std::to_string(classes) + " real classes. Fix: give its own data set.");
  }
}

nlohmann::json model_card(const ModelInfo& info, const std::string& name, const std::vector<std::string>& labels) {
  return {{"fool_model", 1},
          {"name", name},
          {"input", {{"channels", info.input.channels}, {"height", info.input.height}, {"width", info.input.width}}},
          {"labels", labels},
          {"outputs", info.outputs_probabilities ? "probabilities" : "logits"},
          {"preprocessing", {{"central_crop", info.central_crop}}}};
}

/// Fooling images of a finished round: its elites (and snapshots' elites), with their classes.
struct FoolingImages {
  std::vector<at::Tensor> images;  ///< each [C,H,W]
  std::vector<int64_t> classes;
};

void collect_fooling(const std::string& run_dir, bool snapshots, const ImageShape& input, FoolingImages& out) {
  const RunData run = read_run(run_dir, kRunArchive | kRunElites);
  const EliteTable table = read_elite_table(run);
  for (int64_t i = 0; i < table.images.size(0); ++i) {
    out.images.push_back(table.images[i]);
    out.classes.push_back(table.classes[static_cast<std::size_t>(i)]);
  }
  const fs::path snapshot_root = fs::path(run_dir) / "snapshots";
  if (!snapshots || !fs::is_directory(snapshot_root)) return;
  std::vector<fs::path> files;
  for (const auto& gen : fs::directory_iterator(snapshot_root)) {
    if (!gen.is_directory() || gen.is_symlink() || gen.path().filename().string().rfind("gen_", 0) != 0) continue;
    for (const auto& f : fs::directory_iterator(gen.path())) {
      if (f.is_regular_file() && !f.is_symlink() && f.path().extension() == ".png") files.push_back(f.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    const auto cls = csv_integer(name.substr(0, name.find('_')));
    if (!cls) continue;
    out.images.push_back(read_image(f.string(), input));
    out.classes.push_back(*cls);
  }
}

/// The first evaluations count at which every class's elite reached `threshold` (−1: never).
int64_t evaluations_to(const std::vector<ProgressRecord>& progress, double threshold) {
  for (const auto& p : progress) {
    if (p.min >= threshold) return p.evaluations;
  }
  return -1;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6f", v);
  return text;
}

nlohmann::json record_json(const RoundRecord& r) {
  return {{"round", r.round},
          {"model", r.model},
          {"test_accuracy", r.test_accuracy},
          {"fooling_added", r.fooling_added},
          {"fooling_trained", r.fooling_trained},
          {"earlier_as_fooling", r.earlier_as_fooling},
          {"earlier_median_confidence", r.earlier_median},
          {"classes", r.classes},
          {"median_confidence", r.median_confidence},
          {"min_confidence", r.min_confidence},
          {"classes_at_0.99", r.at_099},
          {"classes_at_0.9999", r.at_09999},
          {"evaluations", r.evaluations},
          {"evaluations_to_0.99", r.evaluations_to_099},
          {"evaluations_to_0.9999", r.evaluations_to_09999},
          {"train_loss", r.train_loss},
          {"train_seconds", r.train_seconds},
          {"evolve_seconds", r.evolve_seconds}};
}

RoundRecord record_from_json(const nlohmann::json& j, const std::string& source) {
  RoundRecord r;
  try {
    r.round = j.at("round").get<int64_t>();
    r.model = j.at("model").get<std::string>();
    r.test_accuracy = j.at("test_accuracy").get<double>();
    r.fooling_added = j.at("fooling_added").get<int64_t>();
    r.fooling_trained = j.at("fooling_trained").get<int64_t>();
    r.earlier_as_fooling = j.at("earlier_as_fooling").get<double>();
    r.earlier_median = j.at("earlier_median_confidence").get<double>();
    r.classes = j.at("classes").get<int64_t>();
    r.median_confidence = j.at("median_confidence").get<double>();
    r.min_confidence = j.at("min_confidence").get<double>();
    r.at_099 = j.at("classes_at_0.99").get<int64_t>();
    r.at_09999 = j.at("classes_at_0.9999").get<int64_t>();
    r.evaluations = j.at("evaluations").get<int64_t>();
    r.evaluations_to_099 = j.at("evaluations_to_0.99").get<int64_t>();
    r.evaluations_to_09999 = j.at("evaluations_to_0.9999").get<int64_t>();
    r.train_loss = j.at("train_loss").get<double>();
    r.train_seconds = j.at("train_seconds").get<double>();
    r.evolve_seconds = j.at("evolve_seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kIo, "'" + source + "' is not a round record (" + e.what() +
                                    "). Fix: delete it, and fool retrain scores the round again.");
  }
  return r;
}

nlohmann::json read_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path, kMaxJsonBytes));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kIo,
                "'" + path + "' is not valid JSON (" + e.what() + "). Fix: delete it, or start again with --force.");
  }
}

/// Removes what an earlier retrain wrote into `dir` (--force): its settings, table and round-NN folders.
void remove_previous(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool round = name.size() >= 8 && name.rfind("round-", 0) == 0 &&
                       std::all_of(name.begin() + 6, name.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (name == kSettingsFile || name == kRoundsFile || round) fs::remove_all(entry.path());
  }
}

void validate_retrain(const RetrainConfig& c) {
  validate(c.run);
  const auto fail = [](const std::string& what) { throw Error(ErrorKind::kUsage, what); };
  if (c.data.empty()) fail("--data is missing. Fix: --data FOLDER with the MNIST layout's IDX files.");
  if (!fs::is_directory(c.data)) fail("--data '" + c.data + "' is not a folder. Fix: name the folder of IDX files.");
  if (c.rounds < 0 || c.rounds > kMaxRounds) fail("--rounds must be from 0 to " + std::to_string(kMaxRounds) + ".");
  if (c.init != "fine-tune" && c.init != "scratch") fail("--init is '" + c.init + "'. Fix: fine-tune or scratch.");
  if (c.train.epochs < 1 || c.train.epochs > 1000) fail("--epochs must be from 1 to 1000.");
  if (c.train.batch_size < 1 || c.train.batch_size > 65536) fail("--train-batch-size must be from 1 to 65536.");
  if (!(c.train.learning_rate > 0 && c.train.learning_rate <= 10)) fail("--train-lr must be in (0, 10].");
  if (!(c.train.momentum >= 0 && c.train.momentum < 1)) fail("--momentum must be in [0, 1).");
  if (!(c.train.weight_decay >= 0 && c.train.weight_decay <= 1)) fail("--weight-decay must be in [0, 1].");
  if (c.train_limit < 0) fail("--train-limit must be >= 0 (0: every image).");
  if (!(c.fooling_share > 0 && c.fooling_share <= 100)) fail("--fooling-share must be in (0, 100].");
  if (!c.run.shard.empty()) fail("--shard does not apply to fool retrain. Fix: leave it out.");
  if (!c.run.more_models.empty()) fail("fool retrain trains one network at a time. Fix: give one --model.");
}

nlohmann::json retrain_settings(RetrainConfig c) {
  nlohmann::json j;
  j["run"] = settings_to_json(c.run);
  j["run"].erase("out");
  j["run"].erase("force");
  for_each_retrain_setting(c, [&](const char* name, auto& field, const char*) { j["retrain"][name] = field; });
  return j;
}

}  // namespace

const std::vector<std::string>& rounds_csv_header() {
  static const std::vector<std::string> header{"round",
                                               "model",
                                               "test_accuracy",
                                               "fooling_added",
                                               "fooling_trained",
                                               "earlier_as_fooling",
                                               "earlier_median_confidence",
                                               "classes",
                                               "median_confidence",
                                               "min_confidence",
                                               "classes_at_0.99",
                                               "classes_at_0.9999",
                                               "evaluations",
                                               "evaluations_to_0.99",
                                               "evaluations_to_0.9999",
                                               "train_loss",
                                               "train_seconds",
                                               "evolve_seconds"};
  return header;
}

std::string rounds_csv_row(const RoundRecord& r) {
  const auto optional = [](double v) { return v < 0 ? std::string() : number(v); };
  const auto optional_count = [](int64_t v) { return v < 0 ? std::string() : std::to_string(v); };
  std::ostringstream row;
  row << r.round << ',' << csv_field(r.model) << ',' << number(r.test_accuracy) << ',' << r.fooling_added << ','
      << r.fooling_trained << ',' << optional(r.earlier_as_fooling) << ',' << optional(r.earlier_median) << ','
      << r.classes << ',' << number(r.median_confidence) << ',' << number(r.min_confidence) << ',' << r.at_099 << ','
      << r.at_09999 << ',' << r.evaluations << ',' << optional_count(r.evaluations_to_099) << ','
      << optional_count(r.evaluations_to_09999) << ',' << number(r.train_loss) << ',' << number(r.train_seconds) << ','
      << number(r.evolve_seconds);
  return row.str();
}

std::vector<RoundRecord> parse_rounds_csv(const std::string& text, const std::string& source) {
  const auto rows = parse_csv(text);
  const auto& header = rounds_csv_header();
  const auto bad = [&](std::size_t line, const std::string& what) {
    return Error(ErrorKind::kIo, "'" + source + "' line " + std::to_string(line + 1) + ": " + what +
                                     ". Fix: give the rounds.csv that fool retrain wrote.");
  };
  if (rows.empty() || rows[0] != header) throw bad(0, "the header is not rounds.csv's");
  std::vector<RoundRecord> records;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& f = rows[i];
    if (f.size() != header.size())
      throw bad(i, std::to_string(f.size()) + " fields, expected " + std::to_string(header.size()));
    const auto integer = [&](std::size_t k, bool optional) -> int64_t {
      if (optional && f[k].empty()) return -1;
      const auto v = csv_integer(f[k]);
      if (!v) throw bad(i, header[k] + " '" + f[k] + "' is not a whole number");
      return *v;
    };
    const auto real = [&](std::size_t k, bool optional) -> double {
      if (optional && f[k].empty()) return -1;
      const auto v = csv_number(f[k]);
      if (!v || !std::isfinite(*v)) throw bad(i, header[k] + " '" + f[k] + "' is not a number");
      return *v;
    };
    RoundRecord r;
    r.round = integer(0, false);
    if (r.round < 0 || r.round > kMaxRounds)
      throw bad(i, "round " + f[0] + " is outside 0.." + std::to_string(kMaxRounds));
    r.model = f[1];
    r.test_accuracy = real(2, false);
    r.fooling_added = integer(3, false);
    r.fooling_trained = integer(4, false);
    r.earlier_as_fooling = real(5, true);
    r.earlier_median = real(6, true);
    r.classes = integer(7, false);
    r.median_confidence = real(8, false);
    r.min_confidence = real(9, false);
    r.at_099 = integer(10, false);
    r.at_09999 = integer(11, false);
    r.evaluations = integer(12, false);
    r.evaluations_to_099 = integer(13, true);
    r.evaluations_to_09999 = integer(14, true);
    r.train_loss = real(15, false);
    r.train_seconds = real(16, false);
    r.evolve_seconds = real(17, false);
    records.push_back(r);
  }
  return records;
}

int execute_retrain(RetrainConfig c, const std::atomic<int>* stop_signal) {
  validate_retrain(c);
  const std::string dir = c.run.out;
  if (dir.empty()) throw Error(ErrorKind::kUsage, "--out is missing. Fix: --out DIR for the rounds.");
  make_directories(dir);
  const auto lock = DirectoryLock::acquire(dir, "wait for it to end, or choose another --out.");
  const std::string settings_path = (fs::path(dir) / kSettingsFile).string();
  const nlohmann::json settings = retrain_settings(c);
  if (c.run.force) remove_previous(dir);
  if (fs::exists(settings_path)) {
    nlohmann::json before = read_json_file(settings_path), now = settings;
    if (!before.is_object() || !before.contains("run") || !before.contains("retrain") || !before["run"].is_object() ||
        !before["retrain"].is_object()) {
      throw Error(ErrorKind::kIo, "'" + settings_path +
                                      "' is not fool retrain's settings file. Fix: another --out, "
                                      "or --force to start the rounds again.");
    }
    before["retrain"].erase("rounds");
    now["retrain"].erase("rounds");
    if (before != now) {
      std::string differing;
      for (const auto& part : {"run", "retrain"}) {
        for (const auto& item : now[part].items()) {
          if (!before[part].contains(item.key()) || before[part][item.key()] != item.value()) {
            differing += (differing.empty() ? "--" : ", --") + item.key();
          }
        }
      }
      throw Error(ErrorKind::kUsage, "'" + dir + "' holds rounds made with other settings (" +
                                         (differing.empty() ? std::string("settings") : differing) +
                                         "). Fix: the same settings to continue them, another --out, or --force.");
    }
  } else {
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().filename() != DirectoryLock::kFileName) {
        throw Error(ErrorKind::kIo, "'" + dir + "' is not empty and holds no " + kSettingsFile +
                                        ". Fix: another --out, or --force to replace a retrain's outputs.");
      }
    }
  }

  // The first network and the data.
  const at::Device device = prepare_device(c.run.model.device, c.run.model.threads);
  const Model first = load_model(c.run.model);
  const ModelInfo info = first.info();
  const bool first_has_fooling = info.labels.back() == kFoolingLabel;
  const int64_t real_classes = first.num_classes() - (first_has_fooling ? 1 : 0);
  if (real_classes < 1) throw Error(ErrorKind::kModel, "model '" + info.source + "' has no class but `fooling`.");
  std::vector<std::string> labels(info.labels.begin(), info.labels.begin() + real_classes);
  labels.push_back(kFoolingLabel);
  LabelledImages train = read_split(c.data, "train", c.train_limit);
  const LabelledImages test = read_split(c.data, "t10k", 0);
  check_split(train, "training", info.input, real_classes, info.source);
  check_split(test, "test", info.input, real_classes, info.source);
  if (!fs::exists(settings_path)) write_file_atomic(settings_path, settings.dump(2) + "\n");
  spdlog::info("retrain {}: {} training and {} test images, {} classes + fooling, {} rounds after the first -> {}",
               info.source, train.size(), test.size(), real_classes, c.rounds, dir);

  FoolingImages fooling;
  std::vector<RoundRecord> records;
  const auto write_table = [&] {
    std::string text;
    const auto& header = rounds_csv_header();
    for (std::size_t i = 0; i < header.size(); ++i) text += (i ? "," : "") + header[i];
    text += "\n";
    for (const auto& r : records) text += rounds_csv_row(r) + "\n";
    write_file_atomic((fs::path(dir) / kRoundsFile).string(), text);
  };
  for (int64_t round = 0; round <= c.rounds; ++round) {
    const fs::path rdir = fs::path(dir) / round_name(round);
    const std::string model_rel = round_name(round) + "/model.pt";
    const std::string model_path = (rdir / "model.pt").string();
    const std::string run_dir = (rdir / "run").string();
    const std::string record_path = (rdir / kRoundFile).string();
    make_directories(rdir.string());
    if (fs::exists(record_path)) {
      records.push_back(record_from_json(read_json_file(record_path), record_path));
      collect_fooling(run_dir, c.snapshot_elites, info.input, fooling);
      continue;
    }
    RoundRecord r;
    r.round = round;
    r.model = model_rel;
    // The network: round 0's is the given one; later ones are trained here unless already saved.
    if (!fs::exists(model_path)) {
      const std::string previous = (fs::path(dir) / round_name(round == 0 ? 0 : round - 1) / "model.pt").string();
      if (round == 0) {
        write_file_atomic(
            model_path, c.run.model.file.empty() ? bundled_model_bytes() : read_file(c.run.model.file, kMaxModelBytes));
      } else {
        const auto start = Clock::now();
        const std::string from = c.init == "scratch" ? (fs::path(dir) / round_name(0) / "model.pt").string() : previous;
        const uint64_t seed = c.train.seed + static_cast<uint64_t>(round) * 1000003u;
        const Model from_model = load_model_file(from, device, c.run.model);  // checks the file first
        torch::jit::Module module;
        try {
          module = torch::jit::load(from, device);
        } catch (const c10::Error& e) {
          throw Error(ErrorKind::kModel, "'" + from +
                                             "' cannot be loaded for training. Fix: delete it, and "
                                             "fool retrain makes it again.");
        }
        if (from_model.info().labels.back() != kFoolingLabel) add_output(module, real_classes, seed);
        if (c.init == "scratch") reinitialise(module, seed + 1);
        // Real images plus every earlier round's fooling images, the latter repeated so that the
        // fooling class is drawn fooling_share times as often as an average real class.
        const int64_t n_fooling = static_cast<int64_t>(fooling.images.size());
        const auto wanted = static_cast<int64_t>(
            std::llround(c.fooling_share * static_cast<double>(train.size()) / static_cast<double>(real_classes)));
        const int64_t repeats = n_fooling == 0 ? 0 : std::max<int64_t>(1, (wanted + n_fooling - 1) / n_fooling);
        LabelledImages data = train;
        if (n_fooling > 0) {
          const auto images = at::stack(fooling.images).repeat({repeats, 1, 1, 1});
          data.images = at::cat({train.images, images}, 0);
          data.labels = at::cat({train.labels, at::full({images.size(0)}, real_classes, at::kLong)}, 0);
        }
        data.images = data.images.to(device);
        data.labels = data.labels.to(device);
        TrainOptions options = c.train;
        options.seed = seed;
        spdlog::info("round {}: training on {} images ({} fooling images x {}), {} epochs, from {}", round, data.size(),
                     n_fooling, repeats, options.epochs, c.init == "scratch" ? "scratch" : round_name(round - 1));
        const TrainResult trained = train_classifier(module, info.outputs_probabilities, data, options, stop_signal);
        if (trained.stopped) return 128 + stop_signal->load();
        std::ostringstream bytes;
        torch::jit::ExtraFilesMap extra{
            {"fool.json", model_card(info, info.name + "-round-" + std::to_string(round), labels).dump()}};
        module.save(bytes, extra);
        write_file_atomic(model_path, bytes.str());
        nlohmann::json train_record = {{"loss", trained.last_loss},
                                       {"steps", trained.steps},
                                       {"seconds", seconds_since(start)},
                                       {"fooling_images", n_fooling},
                                       {"repeats", repeats}};
        write_file_atomic((rdir / "train.json").string(), train_record.dump(2) + "\n");
      }
    }
    if (round > 0 && fs::exists(rdir / "train.json")) {
      const std::string train_path = (rdir / "train.json").string();
      const auto t = read_json_file(train_path);
      try {
        r.train_loss = t.at("loss").get<double>();
        r.train_seconds = t.at("seconds").get<double>();
        r.fooling_trained = t.at("fooling_images").get<int64_t>();
      } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::kIo,
                    "'" + train_path + "' is not a training record (" + e.what() +
                        "). Fix: delete it and the round's model.pt, and fool retrain trains it again.");
      }
    }
    const Model model = load_model_file(model_path, device, c.run.model);
    if (round > 0 && (model.info().labels.back() != kFoolingLabel || model.num_classes() != real_classes + 1)) {
      throw Error(ErrorKind::kModel, "'" + model_path + "' has " + std::to_string(model.num_classes()) +
                                         " labels, the last '" + model.info().labels.back() + "'; round " +
                                         std::to_string(round) + " needs " + std::to_string(real_classes) +
                                         " real classes and `fooling` last. Fix: delete it, and fool retrain "
                                         "trains the round's network again.");
    }
    // How the network does: test accuracy, and the earlier rounds' fooling images.
    {
      at::NoGradGuard no_grad;
      const auto p = model.probabilities(test.images.to(device), 1024).cpu();
      r.test_accuracy = p.argmax(1).eq(test.labels).to(at::kDouble).mean().item<double>();
      if (!fooling.images.empty()) {
        const auto q = model.probabilities(at::stack(fooling.images).to(device), 1024).cpu();
        const auto cls = at::tensor(fooling.classes, at::kLong);
        if (round > 0) r.earlier_as_fooling = q.argmax(1).eq(real_classes).to(at::kDouble).mean().item<double>();
        const auto own = q.gather(1, cls.view({-1, 1})).view({-1}).to(at::kDouble);
        r.earlier_median = median(std::vector<double>(own.data_ptr<double>(), own.data_ptr<double>() + own.numel()));
      }
    }
    // Evolution against it, the real classes only.
    RunConfig run = c.run;
    run.model.file = fs::absolute(model_path).string();
    run.out = run_dir;
    run.seed = c.run.seed + static_cast<uint64_t>(round);
    if (run.classes.empty()) run.classes = "0-" + std::to_string(real_classes - 1);
    const bool resume = fs::exists(fs::path(run_dir) / kCheckpointFile);
    run.force = !resume;
    spdlog::info("round {}: test accuracy {:.2f}%, evolving against {}", round, 100 * r.test_accuracy, model_rel);
    const int code = execute_run(run, resume ? RunMode::kResume : RunMode::kFresh, stop_signal);
    if (code != 0) return code;
    const RunData result = read_run(run_dir, kRunSummary | kRunProgress);
    r.classes = static_cast<int64_t>(result.summary.classes.size());
    r.median_confidence = result.summary.median_confidence;
    r.min_confidence = result.summary.min_confidence;
    for (const auto& cls : result.summary.classes) {
      r.at_099 += cls.confidence >= 0.99;
      r.at_09999 += cls.confidence >= 0.9999;
    }
    r.evaluations = result.summary.evaluations;
    r.evolve_seconds = result.summary.seconds;
    r.evaluations_to_099 = evaluations_to(result.progress, 0.99);
    r.evaluations_to_09999 = evaluations_to(result.progress, 0.9999);
    const std::size_t before = fooling.images.size();
    collect_fooling(run_dir, c.snapshot_elites, info.input, fooling);
    r.fooling_added = static_cast<int64_t>(fooling.images.size() - before);
    write_file_atomic(record_path, record_json(r).dump(2) + "\n");
    records.push_back(r);
    write_table();
    spdlog::info(
        "round {}: median {:.6f}, {} of {} classes >= 0.99, {} >= 0.9999; earlier fooling images: {} "
        "labelled fooling",
        round, r.median_confidence, r.at_099, r.classes, r.at_09999,
        r.earlier_as_fooling < 0 ? std::string("-") : number(r.earlier_as_fooling));
  }
  write_table();
  spdlog::info("rounds in {}/{}", dir, kRoundsFile);
  return 0;
}

}  // namespace fool
