#include "fool/io/run_directory.h"

#include <fcntl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <sstream>
#include <system_error>

#include "fool/io/csv.h"
#include "fool/io/files.h"
#include "fool/io/images.h"
#include "fool/util/error.h"
#include "fool/util/statistics.h"

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

namespace {

// What --force removes; README.md "The run directory" lists the same names.
const std::vector<std::string> kOutputFiles = {"config.json",    "progress.csv",    "archive.csv",  "summary.json",
                                               "milestones.csv", "checkpoint.fool", "transfer.csv", ".fool-write-test"};
const std::vector<std::string> kOutputFolders = {"elites", "snapshots", "report"};

std::string lock_fix(const std::string& path) {
  return "wait for that process to end (or stop it), then try again; or choose another --out than '" + path + "'.";
}

/// True when `dir` holds nothing, or nothing but the lock file a failed start may leave.
bool holds_nothing_of_value(const std::string& dir) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->path().filename() != DirectoryLock::kFileName) return false;
  }
  return !ec;
}

bool is_link(const fs::path& p) {
  std::error_code ec;
  return fs::is_symlink(fs::symlink_status(p, ec));
}

void remove_path(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);  // a symbolic link is removed itself, never followed
  if (ec) {
    throw Error(ErrorKind::kIo, "cannot remove '" + p.string() + "': " + ec.message() +
                                    ". Fix: remove it by hand, or choose another --out.");
  }
}

/// "gen_000100.Ab12Cd.tmp" or "gen_000100.tmp": a snapshot's staging folder.
bool is_snapshot_staging(const std::string& entry) {
  const std::size_t dot = entry.find('.');
  const std::string stem = entry.substr(0, dot);
  if (dot == std::string::npos || stem.size() <= 4 || stem.compare(0, 4, "gen_") != 0) return false;
  if (stem.find_first_not_of("0123456789", 4) != std::string::npos) return false;
  return is_temporary_name_of(entry, stem);
}

void remove_stale_entries(const fs::path& dir, const std::function<bool(const std::string&)>& is_stale) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (is_stale(it->path().filename().string()) && !is_link(it->path())) stale.push_back(it->path());
  }
  for (const auto& p : stale) remove_path(p);
}

}  // namespace

const std::vector<std::string>& RunDirectory::output_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = kOutputFiles;
    all.insert(all.end(), kOutputFolders.begin(), kOutputFolders.end());
    return all;
  }();
  return names;
}

RunDirectory RunDirectory::create(const std::string& path, bool force) {
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  if (existed) {
    if (!fs::is_directory(path, ec)) {
      throw Error(ErrorKind::kIo, "--out '" + path + "' exists and is not a directory. Fix: choose another --out.");
    }
    if (!force && !holds_nothing_of_value(path)) {
      throw Error(ErrorKind::kIo, "--out '" + path +
                                      "' is not empty. Fix: choose a new directory, or add --force "
                                      "to write into it.");
    }
  }
  make_directories(path);
  auto lock = DirectoryLock::acquire(path, lock_fix(path));
  lock->remove_directory_if_unused(!existed);
  return RunDirectory(path, force, std::move(lock));
}

RunDirectory RunDirectory::reopen(const std::string& path) {
  if (!fs::is_directory(path)) {
    throw Error(ErrorKind::kIo, "run directory '" + path + "' does not exist. Fix: pass the --out of a fool run.");
  }
  auto lock = DirectoryLock::acquire(path, lock_fix(path));
  // Refuse at once, not after the run, an output that would have to be written through.
  for (const auto& name : kOutputFiles) check_replaceable_file((fs::path(path) / name).string());
  for (const auto& name : kOutputFolders) check_replaceable_directory((fs::path(path) / name).string());
  return RunDirectory(path, /*force=*/false, std::move(lock));
}

void RunDirectory::prepare_for_writing() const {
  lock_->remove_directory_if_unused(false);
  const fs::path root(path_);
  if (force_) {
    for (const auto& name : output_names()) remove_path(root / name);
  }
  remove_stale_entries(root, [](const std::string& entry) {
    for (const auto& name : output_names()) {
      if (is_temporary_name_of(entry, name)) return true;
    }
    return false;
  });
  const fs::path snapshots = root / "snapshots";
  std::error_code ec;
  if (!is_link(snapshots) && fs::is_directory(snapshots, ec)) remove_stale_entries(snapshots, is_snapshot_staging);
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
  // snapshots/ is fool's own folder: created here, never followed when it is a link.
  if (final_dir.parent_path() != fs::path(path_)) make_own_directory(final_dir.parent_path().string());
  check_replaceable_directory(final_dir.string());
  const fs::path staging = make_unique_directory(final_dir.string());
  try {
    make_own_directory((staging / "large").string());
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
    // Swap the whole set in: a reader sees the old set or the new one, never a mix. With an
    // existing set, one atomic exchange (the old set then lies under the staging name); where
    // the file system cannot exchange, two renames.
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(final_dir, ec))) {
      if (::rename(staging.c_str(), final_dir.c_str()) != 0) throw std::system_error(errno, std::generic_category());
    } else if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0) {
      if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
        throw std::system_error(errno, std::generic_category());
      }
      const fs::path old_dir = make_unique_directory(final_dir.string());
      if (::rename(final_dir.c_str(), old_dir.c_str()) != 0) throw std::system_error(errno, std::generic_category());
      if (::rename(staging.c_str(), final_dir.c_str()) != 0) {
        const int err = errno;
        ::rename(old_dir.c_str(), final_dir.c_str());  // put the previous set back
        throw std::system_error(err, std::generic_category());
      }
      remove_path(old_dir);
      return;
    }
  } catch (const std::system_error& e) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw Error(ErrorKind::kIo, "cannot move '" + staging.string() + "' into place as '" + final_dir.string() +
                                    "': " + e.code().message() + ". Fix: check the run directory.");
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  std::error_code ec;
  fs::remove_all(staging, ec);  // the previous set, after an exchange (nothing after a plain rename)
}

void RunDirectory::write_archive_csv(const EliteTable& table) const {
  std::ostringstream csv;
  csv << "class,label,confidence,generation";
  for (const auto& name : table.model_names) csv << "," << csv_field("confidence:" + name);
  csv << "\n";
  for (std::size_t i = 0; i < table.classes.size(); ++i) {
    char confidence[32];
    std::snprintf(confidence, sizeof confidence, "%.8f", table.confidence[i]);
    csv << table.classes[i] << "," << csv_field(table.labels[i]) << "," << confidence << "," << table.generation[i];
    if (i < table.model_confidence.size()) {
      for (const double p : table.model_confidence[i]) {
        std::snprintf(confidence, sizeof confidence, "%.8f", p);
        csv << "," << confidence;
      }
    }
    csv << "\n";
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
    if (i < table.model_confidence.size()) s["classes"].back()["model_confidences"] = table.model_confidence[i];
  }
  if (!table.model_names.empty()) {
    // Per model: the median and minimum of the elites' probabilities of their classes, and how many reach 0.99.
    s["models"] = nlohmann::json::array();
    for (std::size_t m = 0; m < table.model_names.size(); ++m) {
      std::vector<double> p;
      for (const auto& row : table.model_confidence) p.push_back(row.at(m));
      std::sort(p.begin(), p.end());
      const std::size_t n = p.size();
      s["models"].push_back(
          {{"model", table.model_names[m]},
           {"median_confidence", median(p)},
           {"min_confidence", n == 0 ? 0 : p.front()},
           {"classes_at_0.99", std::count_if(p.begin(), p.end(), [](double v) { return v >= 0.99; })}});
    }
  }
  return s;
}

}  // namespace fool
