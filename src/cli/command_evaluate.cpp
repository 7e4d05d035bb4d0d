// fool evaluate: a run's elites scored by other models, the paper's transfer test (DNN A's images
// on DNN B, PAPER.md §3 / Nguyen et al. 2015 §3.2); or the top-1 of plain image files per model.
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <sstream>

#include "cli/common.h"
#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/idx.h"
#include "fool/io/images.h"
#include "fool/io/run_reader.h"
#include "fool/util/detection.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"

namespace fool::cli {
namespace {
namespace fs = std::filesystem;

struct EvaluateOptions {
  std::vector<std::string> models;
  std::vector<std::string> inputs;  ///< run directories, or image files
  std::string out;                  ///< transfer.csv path (default: <run>/transfer.csv)
  ModelSettings forward;            ///< device, threads, precision, layout (the models are --model files)
  int64_t batch_size = 256;
  std::string real;           ///< real images for the detection scores: an IDX file or a folder of images
  int64_t real_limit = 0;     ///< the first N of them (0: all)
  std::string detection_out;  ///< detection.csv path (default: <run>/detection.csv)
};

/// The real images of --real at `model`'s input: an IDX file (which must already have the model's
/// shape) or every image file of a folder (resized as `fool classify` does).
at::Tensor real_images(const EvaluateOptions& o, const Model& model) {
  const auto& shape = model.info().input;
  std::error_code ec;
  if (!fs::is_directory(o.real, ec)) {
    const auto images = read_idx_images(o.real, o.real_limit);
    if (images.size(1) != shape.channels || images.size(2) != shape.height || images.size(3) != shape.width) {
      throw Error(ErrorKind::kUsage, "--real '" + o.real + "' holds " + std::to_string(images.size(1)) + "x" +
                                         std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
                                         " images (channels x height x width) but '" + model.info().name + "' takes " +
                                         std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
                                         std::to_string(shape.width) +
                                         ". Fix: real images of the model's own input, or a folder of "
                                         "image files.");
    }
    return images;
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(o.real, ec)) {
    auto ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file(ec) && (ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp")) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) throw Error(ErrorKind::kIo, "cannot list --real '" + o.real + "': " + ec.message() + ".");
  if (files.empty()) {
    throw Error(ErrorKind::kUsage, "--real '" + o.real +
                                       "' holds no image files (.png, .jpg, .jpeg, .bmp). Fix: a folder of real "
                                       "images, or an IDX file.");
  }
  std::sort(files.begin(), files.end());
  if (o.real_limit > 0 && static_cast<int64_t>(files.size()) > o.real_limit) files.resize(o.real_limit);
  std::vector<at::Tensor> images;
  for (const auto& file : files) images.push_back(read_image(file, shape));
  return at::stack(images);
}

struct LoadedModel {
  std::string column;  ///< model name as used in CSV column names (unique)
  Model model;
};

std::string column_name(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return out.empty() ? "model" : out;
}

std::vector<LoadedModel> load_models(const EvaluateOptions& o, const at::Device& device) {
  std::vector<LoadedModel> models;
  std::set<std::string> used;
  for (const auto& path : o.models) {
    Model model = load_model_file(path, device, o.forward);
    const std::string base =
        column_name(model.info().name.empty() ? fs::path(path).stem().string() : model.info().name);
    std::string column = base;
    for (int k = 2; used.count(column); ++k) column = base + "_" + std::to_string(k);
    used.insert(column);
    models.push_back({column, std::move(model)});
  }
  return models;
}

/// Probabilities [N,K] (CPU) of the image files at the model's own input shape, in one batch.
at::Tensor score_files(const Model& model, const std::vector<std::string>& files, int64_t batch_size) {
  std::vector<at::Tensor> images;
  for (const auto& file : files) images.push_back(read_image(file, model.info().input));
  return model.probabilities(at::stack(images).to(model.device()), batch_size).to(at::kCPU, at::kDouble);
}

std::string percent(int64_t count, std::size_t total) {
  char text[64];
  std::snprintf(text, sizeof text, "%lld/%zu (%5.1f%%)", static_cast<long long>(count), total,
                total ? 100.0 * static_cast<double>(count) / static_cast<double>(total) : 0.0);
  return text;
}

/// Detection of the run's elites among real images by each model's maximum softmax probability
/// (and, for a retrained model whose last label is "fooling", by 1 - its probability): printed and
/// written to `out_path`.
/// `elites[k]`: the run's elites' probabilities on models[k], as evaluate_run scored them.
void detect(const std::vector<at::Tensor>& elites, const std::vector<LoadedModel>& models, const EvaluateOptions& o,
            const std::string& out_path) {
  std::ostringstream csv;
  csv << "model,detector,real_images,fooling_images,auroc,fpr_at_95_tpr\n";
  std::printf("%-24s  %-22s  %8s  %8s  %8s  %14s\n", "model", "detector", "real", "fooling", "AUROC", "FPR at 95% TPR");
  for (std::size_t k = 0; k < models.size(); ++k) {
    const auto& m = models[k];
    const at::Tensor real =
        m.model.probabilities(real_images(o, m.model).to(m.model.device()), o.batch_size).to(at::kCPU, at::kDouble);
    const at::Tensor& fooling = elites[k];
    const auto to_vector = [](const at::Tensor& t) {
      const auto c = t.contiguous();
      return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    std::vector<std::pair<std::string, std::pair<at::Tensor, at::Tensor>>> detectors = {
        {"max-softmax", {std::get<0>(real.max(1)), std::get<0>(fooling.max(1))}}};
    const auto& labels = m.model.info().labels;
    if (!labels.empty() && labels.back() == "fooling") {
      detectors.push_back({"fooling-class", {1.0 - real.select(1, -1), 1.0 - fooling.select(1, -1)}});
    }
    for (const auto& [name, scores] : detectors) {
      const auto d = detection_scores(to_vector(scores.first), to_vector(scores.second));
      std::printf("%-24s  %-22s  %8lld  %8lld  %8.4f  %14.4f\n", m.column.c_str(), name.c_str(),
                  static_cast<long long>(real.size(0)), static_cast<long long>(fooling.size(0)), d.auroc,
                  d.fpr_at_95_tpr);
      char numbers[64];
      std::snprintf(numbers, sizeof numbers, "%.6f,%.6f", d.auroc, d.fpr_at_95_tpr);
      csv << csv_field(m.column) << "," << name << "," << real.size(0) << "," << fooling.size(0) << "," << numbers
          << "\n";
    }
  }
  write_file_atomic(out_path, csv.str());
  std::printf("-> %s\n", out_path.c_str());
  std::fflush(stdout);
}

/// Returns each model's probabilities of the elites ([N,K] on the CPU, float64), for detect().
std::vector<at::Tensor> evaluate_run(const std::string& dir, const std::string& out_path,
                                     const std::vector<LoadedModel>& models, int64_t batch_size) {
  const RunData run = read_run(dir, kRunArchive | kRunElites);
  const std::size_t n = run.archive.size();
  std::vector<at::Tensor> scored;
  std::ostringstream csv;
  csv << "class,label,source_confidence";
  for (const auto& m : models) {
    csv << "," << m.column << "_confidence," << m.column << "_top1_label," << m.column << "_top1_confidence";
  }
  csv << "\n";

  struct Column {
    std::vector<double> same_class;  // NaN where the model has no such class
    std::vector<int64_t> top1;
    std::vector<double> top1_confidence;
  };
  std::vector<Column> columns;
  for (const auto& m : models) {
    const at::Tensor p = score_files(m.model, run.elite_images, batch_size);
    scored.push_back(p);
    auto [values, indices] = p.max(1);
    const auto probability = p.accessor<double, 2>();
    Column c;
    int64_t mismatched = 0, absent = 0;
    std::string example;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& elite = run.archive[i];
      const auto row = static_cast<int64_t>(i);
      if (elite.index < 0 || elite.index >= m.model.num_classes()) {
        ++absent;
        c.same_class.push_back(std::nan(""));
      } else {
        c.same_class.push_back(probability[row][elite.index]);
        const std::string& other = m.model.info().labels[static_cast<std::size_t>(elite.index)];
        if (other != elite.label) {
          if (mismatched++ == 0)
            example = "class " + std::to_string(elite.index) + " '" + elite.label + "' vs '" + other + "'";
        }
      }
      c.top1.push_back(indices[row].item<int64_t>());
      c.top1_confidence.push_back(values[row].item<double>());
    }
    if (mismatched > 0) {
      spdlog::warn("{}: {} of {} class labels differ from the run's ({}); classes are matched by index", m.column,
                   mismatched, n, example);
    }
    if (absent > 0)
      spdlog::warn("{}: {} of the run's classes are beyond its {} outputs", m.column, absent, m.model.num_classes());
    columns.push_back(std::move(c));
  }

  for (std::size_t i = 0; i < n; ++i) {
    const auto& elite = run.archive[i];
    char number[32];
    std::snprintf(number, sizeof number, "%.8f", elite.confidence);
    csv << elite.index << "," << csv_field(elite.label) << "," << number;
    for (std::size_t k = 0; k < models.size(); ++k) {
      const auto& c = columns[k];
      if (std::isnan(c.same_class[i])) {
        csv << ",";
      } else {
        std::snprintf(number, sizeof number, "%.8f", c.same_class[i]);
        csv << "," << number;
      }
      std::snprintf(number, sizeof number, "%.8f", c.top1_confidence[i]);
      csv << "," << csv_field(models[k].model.info().labels[static_cast<std::size_t>(c.top1[i])]) << "," << number;
    }
    csv << "\n";
  }
  write_file_atomic(out_path, csv.str());

  // The matrix: one row per model, the fraction of elites that stay fooling at each threshold.
  std::printf("%s: %zu elites scored by %zu model(s) -> %s\n", dir.c_str(), n, models.size(), out_path.c_str());
  std::printf("%-24s  %-16s  %-16s  %s\n", "model", ">= 0.99", ">= 0.5", "median");
  const auto row = [&](const std::string& name, const std::vector<double>& confidence) {
    int64_t high = 0, half = 0;
    std::vector<double> valid;
    for (double c : confidence) {
      if (std::isnan(c)) continue;
      valid.push_back(c);
      high += c >= 0.99;
      half += c >= 0.5;
    }
    std::printf("%-24s  %-16s  %-16s  %.6f\n", name.c_str(), percent(high, n).c_str(), percent(half, n).c_str(),
                median(valid));
  };
  std::vector<double> source;
  for (const auto& e : run.archive) source.push_back(e.confidence);
  row("(source) " + run.model_name, source);
  for (std::size_t k = 0; k < models.size(); ++k) row(models[k].column, columns[k].same_class);
  std::fflush(stdout);
  return scored;
}

void evaluate_images(const std::vector<std::string>& files, const std::string& out_path,
                     const std::vector<LoadedModel>& models, int64_t batch_size) {
  std::vector<at::Tensor> top1_index, top1_value;
  for (const auto& m : models) {
    auto [values, indices] = score_files(m.model, files, batch_size).max(1);
    top1_value.push_back(values);
    top1_index.push_back(indices);
  }
  std::ostringstream csv;
  csv << "image";
  for (const auto& m : models) csv << "," << m.column << "_top1_label," << m.column << "_top1_confidence";
  csv << "\n";
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::printf("%s\n", files[i].c_str());
    csv << csv_field(files[i]);
    for (std::size_t k = 0; k < models.size(); ++k) {
      const auto row = static_cast<int64_t>(i);
      const int64_t index = top1_index[k][row].item<int64_t>();
      const double value = top1_value[k][row].item<double>();
      const std::string& label = models[k].model.info().labels[static_cast<std::size_t>(index)];
      std::printf("  %-24s  %8.6f  %4lld  %s\n", models[k].column.c_str(), value, static_cast<long long>(index),
                  label.c_str());
      char number[32];
      std::snprintf(number, sizeof number, "%.8f", value);
      csv << "," << csv_field(label) << "," << number;
    }
    csv << "\n";
  }
  std::fflush(stdout);
  if (!out_path.empty()) write_file_atomic(out_path, csv.str());
}

int evaluate(const EvaluateOptions& o) {
  if (o.batch_size < 0) throw Error(ErrorKind::kUsage, "--batch-size must be >= 0 (0: all at once).");
  std::vector<std::string> runs, images;
  for (const auto& input : o.inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      runs.push_back(input);
    } else {
      images.push_back(input);
    }
  }
  if (!runs.empty() && !images.empty()) {
    throw Error(ErrorKind::kUsage,
                "fool evaluate takes run directories or image files, not both. Fix: evaluate them "
                "in two calls.");
  }
  if (!o.real.empty() && runs.empty()) {
    throw Error(ErrorKind::kUsage,
                "--real compares a run's elites with real images, and no run directory was "
                "given. Fix: fool evaluate RUN --model M --real PATH.");
  }
  if (o.real_limit < 0) throw Error(ErrorKind::kUsage, "--real-limit must be >= 0 (0: all).");
  if (runs.size() > 1 && !o.detection_out.empty()) {
    throw Error(ErrorKind::kUsage, "--detection-out names one file but " + std::to_string(runs.size()) +
                                       " run directories were given. Fix: drop it, or evaluate one run at a time.");
  }
  if (runs.size() > 1 && !o.out.empty()) {
    throw Error(ErrorKind::kUsage, "--out names one file but " + std::to_string(runs.size()) +
                                       " run directories were given. Fix: drop --out (each run gets its "
                                       "transfer.csv) or evaluate one run at a time.");
  }
  // Writing transfer.csv into a run directory takes the run's lock, as a run does: not while a
  // run or resume writes there (it would be removed by a --force run and mixed with a running
  // one). An explicit --out is written through a fresh temporary name and needs no lock.
  std::vector<std::shared_ptr<DirectoryLock>> locks;
  if (o.out.empty()) {
    for (const auto& dir : runs) {
      locks.push_back(DirectoryLock::acquire(dir, "wait for it to end, or write the table elsewhere with --out FILE."));
      check_replaceable_file((fs::path(dir) / "transfer.csv").string());
      if (!o.real.empty() && o.detection_out.empty())
        check_replaceable_file((fs::path(dir) / "detection.csv").string());
    }
  } else {
    check_replaceable_file(o.out);
  }
  if (!o.detection_out.empty()) check_replaceable_file(o.detection_out);
  for (const auto& dir : runs) read_run(dir, kRunArchive | kRunElites);  // fail before loading models
  const at::Device device = prepare_device(o.forward.device, o.forward.threads);
  const auto models = load_models(o, device);
  for (const auto& dir : runs) {
    const auto scored =
        evaluate_run(dir, o.out.empty() ? (fs::path(dir) / "transfer.csv").string() : o.out, models, o.batch_size);
    if (!o.real.empty()) {
      detect(scored, models, o, o.detection_out.empty() ? (fs::path(dir) / "detection.csv").string() : o.detection_out);
    }
  }
  if (!images.empty()) evaluate_images(images, o.out, models, o.batch_size);
  return 0;
}

}  // namespace

Command add_evaluate_command(CLI::App& parent) {
  auto* app = parent.add_subcommand(
      "evaluate",
      "Score a run's elites on other models (the paper's transfer test): writes transfer.csv in the run directory "
      "and prints, per model, the fraction of elites still at >= 0.99 and >= 0.5 for their class. With image files "
      "instead of a run: the top-1 label of each image on each model.");
  auto options = std::make_shared<EvaluateOptions>();
  app->add_option("--model", options->models, "TorchScript model file (fool.json inside); repeat for a matrix")
      ->required()
      ->allow_extra_args(false);  // one file per --model, so that the inputs that follow stay positional
  app->add_option("inputs", options->inputs, "run directories, or image files")->required();
  app->add_option("--out", options->out, "CSV file to write (default: <run>/transfer.csv; images: none)");
  add_model_options(*app, options->forward, /*with_file=*/false);
  add_number(*app, "--batch-size", options->batch_size, "forward pass chunk size (0: all at once)")
      ->capture_default_str();
  app->add_option("--real", options->real,
                  "real images (an IDX file, plain or .gz, or a folder of image files): also write detection.csv, the "
                  "AUROC and FPR at 95% TPR of the maximum softmax probability as a detector of the run's elites");
  add_number(*app, "--real-limit", options->real_limit, "use the first N real images (0: all)")->capture_default_str();
  app->add_option("--detection-out", options->detection_out, "detection CSV to write (default: <run>/detection.csv)");
  return {app, [options] { return evaluate(*options); }};
}

}  // namespace fool::cli
