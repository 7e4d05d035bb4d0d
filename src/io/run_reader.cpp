#include "fool/io/run_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/io/progress_csv.h"
#include "fool/util/error.h"

namespace fool {
namespace fs = std::filesystem;

namespace {

const char* const kFix = "Fix: pass a directory written by fool run (or restore the file).";
/// The most a run file read back may hold (progress.csv of a million generations: about 80 MB).
constexpr std::size_t kMaxRunFileBytes = std::size_t{256} << 20;

[[noreturn]] void malformed(const std::string& file, const std::string& what) {
  throw Error(ErrorKind::kIo, "'" + file + "' " + what + ". " + kFix);
}

std::string read_existing(const std::string& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) malformed(file, "is missing");
  return read_file(file, kMaxRunFileBytes);
}

nlohmann::json read_json_file(const std::string& file) {
  try {
    return nlohmann::json::parse(read_existing(file));
  } catch (const nlohmann::json::exception& e) {
    malformed(file, std::string("is not valid JSON (") + e.what() + ")");
  }
}

template <class T>
T json_field(const nlohmann::json& j, const char* key, const std::string& file, const std::string& where = "") {
  if (!j.is_object() || !j.contains(key)) malformed(file, std::string("has no field \"") + key + "\"" + where);
  const auto& value = j.at(key);
  bool ok = false;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = value.is_string();
  } else if constexpr (std::is_floating_point_v<T>) {
    ok = value.is_number();
  } else {
    ok = value.is_number_integer();
  }
  if constexpr (std::is_integral_v<T>) {
    ok = ok && !(value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX));
  }
  if (!ok) malformed(file, std::string("field \"") + key + "\"" + where + " has the wrong type (" + value.dump() + ")");
  const T out = value.get<T>();
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(out)) malformed(file, std::string("field \"") + key + "\"" + where + " is not a finite number");
  }
  return out;
}

/// A probability read back (an elite's confidence, a fraction of classes): finite and in [0,1].
/// A cell that never got an elite (confidence -1, only when a model's outputs were NaN) or an
/// edited file fails here, never as a silent pass or fail of `fool check`.
double probability(double value, const std::string& file, const std::string& what) {
  if (!(value >= 0.0 && value <= 1.0)) {
    malformed(file, what + " is " + std::to_string(value) + ", not a probability in [0,1]");
  }
  return value;
}

/// A class index or generation read back: >= 0.
int64_t non_negative(int64_t value, const std::string& file, const std::string& what) {
  if (value < 0) malformed(file, what + " is " + std::to_string(value) + ", not >= 0");
  return value;
}

/// CSV rows (RFC 4180 quoting), the header being row 0.

std::vector<std::vector<std::string>> read_csv_file(const std::string& file, const std::vector<std::string>& header,
                                                    bool more_columns = false) {
  auto rows = parse_csv(read_existing(file));
  const bool starts =
      !rows.empty() && rows[0].size() >= header.size() && std::equal(header.begin(), header.end(), rows[0].begin());
  if (!starts || (!more_columns && rows[0].size() != header.size())) {
    std::string expected;
    for (const auto& h : header) expected += (expected.empty() ? "" : ",") + h;
    malformed(file, "does not start with the header '" + expected + "'");
  }
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() != rows[0].size()) {
      malformed(file, "row " + std::to_string(r + 1) + " has " + std::to_string(rows[r].size()) + " fields, not " +
                          std::to_string(rows[0].size()));
    }
  }
  rows.erase(rows.begin());
  return rows;
}

int64_t to_integer(const std::string& text, const std::string& file, std::size_t row, const char* column) {
  if (const auto value = csv_integer(text)) return *value;
  malformed(file, "row " + std::to_string(row + 2) + ": " + column + " '" + text + "' is not an integer");
}

double to_number(const std::string& text, const std::string& file, std::size_t row, const char* column) {
  if (const auto value = csv_number(text)) return *value;
  malformed(file, "row " + std::to_string(row + 2) + ": " + column + " '" + text + "' is not a number");
}

std::vector<ClassResult> read_archive_csv(const std::string& file) {
  std::vector<ClassResult> out;
  // Runs against several models add a confidence:<model> column per model.
  const auto rows = read_csv_file(file, {"class", "label", "confidence", "generation"}, /*more_columns=*/true);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    ClassResult c;
    const std::string row = "row " + std::to_string(r + 2) + ": ";
    c.index = non_negative(to_integer(rows[r][0], file, r, "class"), file, row + "class");
    c.label = rows[r][1];
    c.confidence = probability(to_number(rows[r][2], file, r, "confidence"), file, row + "confidence");
    c.generation = non_negative(to_integer(rows[r][3], file, r, "generation"), file, row + "generation");
    out.push_back(c);
  }
  if (out.empty()) malformed(file, "has no elites");
  return out;
}

/// elites/<class>_<label>_<confidence>.png for every archive row, matched by the class index that
/// starts the file name (RunDirectory::elite_file_name).
std::vector<std::string> find_elite_images(const std::string& dir, const std::vector<ClassResult>& archive) {
  const fs::path elites = fs::path(dir) / "elites";
  std::error_code ec;
  if (!fs::is_directory(elites, ec)) malformed(elites.string(), "is missing");
  std::map<int64_t, std::string> by_class;
  for (const auto& entry : fs::directory_iterator(elites, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.size() < 5 || name.substr(name.size() - 4) != ".png") continue;
    const auto underscore = name.find('_');
    const std::string digits = name.substr(0, underscore);
    int64_t index = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    // Not <digits>_...png, or a number no class has: not an elite image.
    if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || index < 0) continue;
    if (by_class.count(index)) {
      malformed(elites.string(), "holds two images of class " + std::to_string(index) + " ('" +
                                     fs::path(by_class[index]).filename().string() + "' and '" + name + "')");
    }
    by_class[index] = entry.path().string();
  }
  if (ec) malformed(elites.string(), "cannot be listed (" + ec.message() + ")");
  std::vector<std::string> out;
  for (const auto& c : archive) {
    auto it = by_class.find(c.index);
    if (it == by_class.end()) {
      malformed(elites.string(), "has no image of class " + std::to_string(c.index) + " (a file " +
                                     std::to_string(c.index) + "_*.png, listed in archive.csv)");
    }
    out.push_back(it->second);
  }
  return out;
}

RunSummary parse_summary(const nlohmann::json& j, const std::string& file) {
  RunSummary s;
  s.source = file;
  if (!j.is_object()) malformed(file, "is not a JSON object");
  s.model = json_field<std::string>(j, "model", file);
  s.model_sha256 =
      j.contains("model_sha256") && j["model_sha256"].is_string() ? j["model_sha256"].get<std::string>() : "";
  s.encoding = json_field<std::string>(j, "encoding", file);
  s.device = j.contains("device") && j["device"].is_string() ? j["device"].get<std::string>() : "";
  if (j.contains("search")) s.search = json_field<std::string>(j, "search", file);
  s.seed = json_field<int64_t>(j, "seed", file);
  s.generations = json_field<int64_t>(j, "generations", file);
  s.evaluations = json_field<int64_t>(j, "evaluations", file);
  s.seconds = json_field<double>(j, "seconds", file);
  s.evaluations_per_second = json_field<double>(j, "evaluations_per_second", file);
  s.forward_equivalents =
      j.contains("forward_equivalents") ? json_field<int64_t>(j, "forward_equivalents", file) : s.evaluations;
  s.median_confidence = probability(json_field<double>(j, "median_confidence", file), file, "median_confidence");
  s.min_confidence = probability(json_field<double>(j, "min_confidence", file), file, "min_confidence");
  if (!j.contains("fraction_at_least") || !j["fraction_at_least"].is_object()) {
    malformed(file, "has no object \"fraction_at_least\"");
  }
  for (const auto& item : j["fraction_at_least"].items()) {
    if (!item.value().is_number()) malformed(file, "fraction_at_least \"" + item.key() + "\" is not a number");
    s.fraction_at_least.emplace_back(
        item.key(), probability(item.value().get<double>(), file, "fraction_at_least \"" + item.key() + "\""));
  }
  std::sort(s.fraction_at_least.begin(), s.fraction_at_least.end(),
            [](const auto& a, const auto& b) { return std::atof(a.first.c_str()) < std::atof(b.first.c_str()); });
  if (!j.contains("classes") || !j["classes"].is_array()) malformed(file, "has no array \"classes\"");
  for (const auto& c : j["classes"]) {
    const std::string where = " in classes[" + std::to_string(s.classes.size()) + "]";
    ClassResult r;
    r.index = non_negative(json_field<int64_t>(c, "index", file, where), file, "index" + where);
    r.label = json_field<std::string>(c, "label", file, where);
    r.confidence = probability(json_field<double>(c, "confidence", file, where), file, "confidence" + where);
    r.generation = non_negative(json_field<int64_t>(c, "generation", file, where), file, "generation" + where);
    s.classes.push_back(r);
  }
  if (s.classes.empty()) malformed(file, "lists no classes");
  return s;
}

}  // namespace

bool is_run_directory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) &&
         (fs::exists(fs::path(path) / "summary.json", ec) || fs::exists(fs::path(path) / "archive.csv", ec));
}

RunSummary read_summary(const std::string& path) { return parse_summary(read_json_file(path), path); }

RunData read_run(const std::string& dir, unsigned parts) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorKind::kIo, "run directory '" + dir +
                                    "' does not exist or is not a directory. Fix: pass the "
                                    "--out directory of a fool run.");
  }
  RunData run;
  run.path = dir;
  const auto file = [&](const char* name) { return (fs::path(dir) / name).string(); };
  if (parts & kRunSummary) run.summary = read_summary(file("summary.json"));
  if (parts & kRunConfig) {
    const std::string path = file("config.json");
    run.config = read_json_file(path);
    if (!run.config.is_object()) malformed(path, "is not a JSON object");
    run.model_name = run.config.value("model", std::string());
    if (run.config.contains("model_info")) {
      const auto& info = run.config["model_info"];
      if (info.contains("name") && info["name"].is_string()) run.model_name = info["name"].get<std::string>();
      if (info.contains("input")) {
        const auto& input = info["input"];
        if (!input.is_array() || input.size() != 3 || !input[0].is_number_integer() || !input[1].is_number_integer() ||
            !input[2].is_number_integer()) {
          malformed(path, "field \"model_info\".\"input\" is not [C,H,W] (" + input.dump() + ")");
        }
        run.input = ImageShape{input[0].get<int64_t>(), input[1].get<int64_t>(), input[2].get<int64_t>()};
      }
    }
    // Several models fooled at once: every model's name, joined.
    if (run.config.contains("models") && run.config["models"].is_array() && run.config["models"].size() > 1) {
      std::string names;
      for (const auto& m : run.config["models"]) {
        if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) continue;
        names += (names.empty() ? "" : " + ") + m["name"].get<std::string>();
      }
      if (!names.empty()) run.model_name = names;
    }
  }
  if (run.model_name.empty()) run.model_name = run.summary.model;
  if (parts & (kRunArchive | kRunElites)) run.archive = read_archive_csv(file("archive.csv"));
  if (parts & kRunElites) run.elite_images = find_elite_images(dir, run.archive);
  if (parts & kRunProgress) {
    const std::string path = file("progress.csv");
    run.progress = parse_progress_csv(read_existing(path), path);
  }
  return run;
}

EliteTable read_elite_table(const RunData& run) {
  FOOL_CHECK(run.elite_images.size() == run.archive.size(), "read_elite_table needs kRunArchive | kRunElites");
  EliteTable table;
  std::vector<at::Tensor> images;
  for (std::size_t i = 0; i < run.archive.size(); ++i) {
    table.classes.push_back(run.archive[i].index);
    table.labels.push_back(run.archive[i].label);
    table.confidence.push_back(run.archive[i].confidence);
    table.generation.push_back(run.archive[i].generation);
    // The images as stored, not as config.json says they should be (an edited "model_info"
    // "input" must not decide how many bytes are read); any that differ from the first are
    // converted to its channels and size.
    if (i == 0) {
      images.push_back(read_image(run.elite_images[i]));
    } else {
      const auto& first = images.front();
      images.push_back(read_image(run.elite_images[i], ImageShape{first.size(0), first.size(1), first.size(2)}));
    }
  }
  table.images = at::stack(images);
  return table;
}

}  // namespace fool
