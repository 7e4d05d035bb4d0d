#include "fool/io/run_directory.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/util/error.h"

namespace fool {
namespace fs = std::filesystem;

namespace {

std::string sanitize(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      out += c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
    if (out.size() >= 40) break;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "class" : out;
}

std::string format_confidence(double c) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6f", c);
  return buffer;
}


}  // namespace

RunDirectory RunDirectory::create(const std::string& path, bool force) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec)) {
      throw Error(ErrorKind::kIo, "--out '" + path + "' exists and is not a directory. Fix: choose another --out.");
    }
    if (!fs::is_empty(path, ec) && !force) {
      throw Error(ErrorKind::kIo, "--out '" + path + "' is not empty. Fix: choose a new directory, or add --force "
                                  "to write into it.");
    }
  }
  make_directories(path);
  // Probe writability now rather than after the first generation.
  write_file_atomic((fs::path(path) / ".fool-write-test").string(), "");
  fs::remove(fs::path(path) / ".fool-write-test", ec);
  RunDirectory dir(path);
  return dir;
}

RunDirectory RunDirectory::reopen(const std::string& path) {
  if (!fs::is_directory(path)) {
    throw Error(ErrorKind::kIo, "run directory '" + path + "' does not exist. Fix: pass the --out of a fool run.");
  }
  return RunDirectory(path);
}

void RunDirectory::write_json(const std::string& name, const nlohmann::json& j) const {
  write_file_atomic((fs::path(path_) / name).string(), j.dump(2) + "\n");
}

std::string RunDirectory::elite_file_name(const EliteTable& table, std::size_t i) {
  const std::size_t width = std::to_string(std::max<int64_t>(9, table.classes.back())).size();
  std::string index = std::to_string(table.classes[i]);
  index = std::string(width > index.size() ? width - index.size() : 0, '0') + index;
  return index + "_" + sanitize(table.labels[i]) + "_" + format_confidence(table.confidence[i]) + ".png";
}

void RunDirectory::write_elites(const EliteTable& table, const std::string& subdir) const {
  const fs::path final_dir = fs::path(path_) / subdir;
  const fs::path staging = fs::path(path_) / (subdir + ".tmp");
  std::error_code ec;
  fs::remove_all(staging, ec);
  make_directories((staging / "large").string());
  const ImageShape shape{table.images.size(1), table.images.size(2), table.images.size(3)};
  const int upscale = viewing_upscale(shape);
  for (std::size_t i = 0; i < table.classes.size(); ++i) {
    const std::string name = elite_file_name(table, i);
    write_png((staging / name).string(), table.images[static_cast<int64_t>(i)]);
    write_png((staging / "large" / name).string(), table.images[static_cast<int64_t>(i)], upscale);
    if (i < table.genomes.size()) {
      const std::string stem = name.substr(0, name.size() - 4);
      write_file_atomic((staging / (stem + ".json")).string(), table.genomes[i].dump(1) + "\n");
    }
  }
  // Swap the whole set in: a reader sees the old set or the new one, never a mix.
  const fs::path old_dir = fs::path(path_) / (subdir + ".old");
  fs::remove_all(old_dir, ec);
  if (fs::exists(final_dir)) fs::rename(final_dir, old_dir, ec);
  fs::rename(staging, final_dir, ec);
  if (ec) throw Error(ErrorKind::kIo, "cannot move '" + staging.string() + "' into place: " + ec.message() + ".");
  fs::remove_all(old_dir, ec);
}

void RunDirectory::write_archive_csv(const EliteTable& table) const {
  std::ostringstream csv;
  csv << "class,label,confidence,generation\n";
  for (std::size_t i = 0; i < table.classes.size(); ++i) {
    char confidence[32];
    std::snprintf(confidence, sizeof confidence, "%.8f", table.confidence[i]);
    csv << table.classes[i] << "," << csv_field(table.labels[i]) << "," << confidence << "," << table.generation[i]
        << "\n";
  }
  write_file_atomic((fs::path(path_) / "archive.csv").string(), csv.str());
}

void RunDirectory::write_milestones_csv(const EliteTable& table) const {
  std::ostringstream csv;
  csv << "class,label,first_argmax,first_0.99,first_0.999,first_0.9999\n";
  for (std::size_t i = 0; i < table.classes.size() && i < table.milestones.size(); ++i) {
    const auto& m = table.milestones[i];
    csv << table.classes[i] << "," << csv_field(table.labels[i]) << "," << m[0] << "," << m[1] << "," << m[2] << ","
        << m[3] << "\n";
  }
  write_file_atomic((fs::path(path_) / "milestones.csv").string(), csv.str());
}

nlohmann::json fractions_at_least(const std::vector<double>& confidence) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* threshold : {"0.99", "0.999", "0.9999"}) {
    const double t = std::stod(threshold);
    double count = 0;
    for (double c : confidence) count += c >= t ? 1 : 0;
    out[threshold] = confidence.empty() ? 0.0 : count / static_cast<double>(confidence.size());
  }
  return out;
}

nlohmann::json make_summary(const EliteTable& table, const nlohmann::json& identity, const ProgressRecord& last) {
  nlohmann::json s;
  for (const char* key : {"model", "model_sha256", "search", "encoding", "seed", "device"}) s[key] = identity.at(key);
  s["generations"] = last.generation + 1;  // generations run, generation 0 included (as --generations)
  s["evaluations"] = last.evaluations;
  s["forward_equivalents"] = last.forward_equivalents;
  s["seconds"] = last.seconds;
  s["evaluations_per_second"] = last.seconds > 0 ? static_cast<double>(last.evaluations) / last.seconds : 0.0;
  s["median_confidence"] = last.median;
  s["min_confidence"] = last.min;
  s["fraction_at_least"] = fractions_at_least(table.confidence);
  s["classes"] = nlohmann::json::array();
  for (std::size_t i = 0; i < table.classes.size(); ++i) {
    s["classes"].push_back({{"index", table.classes[i]},
                            {"label", table.labels[i]},
                            {"confidence", table.confidence[i]},
                            {"generation", table.generation[i]}});
  }
  return s;
}

}  // namespace fool
