#include "fool/io/progress_csv.h"

#include <cstdio>

#include "fool/io/csv.h"
#include "fool/util/error.h"

namespace fool {
namespace {

constexpr std::size_t kColumns = 10;
/// Runs made before forward equivalents were counted: no last column (it equals evaluations).
const char* const kHeaderWithoutForwardEquivalents =
    "generation,evaluations,seconds,min,median,mean,max,filled,replacements";

struct Malformed {
  std::string what;
};

int64_t to_integer(const std::string& text, const char* column) {
  if (const auto value = csv_integer(text)) return *value;
  throw Malformed{std::string(column) + " '" + text + "' is not an integer"};
}

double to_number(const std::string& text, const char* column) {
  if (const auto value = csv_number(text)) return *value;
  throw Malformed{std::string(column) + " '" + text + "' is not a number"};
}

}  // namespace

const std::string& progress_csv_header() {
  static const std::string header =
      "generation,evaluations,seconds,min,median,mean,max,filled,replacements,forward_equivalents\n";
  return header;
}

std::string progress_csv_row(const ProgressRecord& r) {
  char row[256];
  std::snprintf(row, sizeof row, "%lld,%lld,%.4f,%.8f,%.8f,%.8f,%.8f,%lld,%lld,%lld\n",
                static_cast<long long>(r.generation), static_cast<long long>(r.evaluations), r.seconds, r.min, r.median,
                r.mean, r.max, static_cast<long long>(r.filled), static_cast<long long>(r.replacements),
                static_cast<long long>(r.forward_equivalents));
  return row;
}

std::vector<ProgressRecord> parse_progress_csv(const std::string& text, const std::string& source,
                                               bool keep_complete_prefix) {
  const std::string fix = ". Fix: pass a directory written by fool run (or restore the file).";
  auto rows = parse_csv(text);
  const std::string header = progress_csv_header().substr(0, progress_csv_header().size() - 1);
  const bool old_format = !rows.empty() && rows[0] == parse_csv(kHeaderWithoutForwardEquivalents)[0];
  const std::size_t columns = old_format ? kColumns - 1 : kColumns;
  if (rows.empty() || (rows[0] != parse_csv(header)[0] && !old_format)) {
    throw Error(ErrorKind::kIo, "'" + source + "' does not start with the header '" + header + "'" + fix);
  }
  // A last line without its newline was being written when the run stopped.
  const bool torn_tail = !text.empty() && text.back() != '\n';
  std::vector<ProgressRecord> out;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    try {
      const auto& f = rows[r];
      if (torn_tail && r + 1 == rows.size()) throw Malformed{"is incomplete (no newline)"};
      if (f.size() != columns) {
        throw Malformed{"has " + std::to_string(f.size()) + " fields, not " + std::to_string(columns)};
      }
      ProgressRecord p;
      p.generation = to_integer(f[0], "generation");
      p.evaluations = to_integer(f[1], "evaluations");
      p.seconds = to_number(f[2], "seconds");
      p.min = to_number(f[3], "min");
      p.median = to_number(f[4], "median");
      p.mean = to_number(f[5], "mean");
      p.max = to_number(f[6], "max");
      p.filled = to_integer(f[7], "filled");
      p.replacements = to_integer(f[8], "replacements");
      p.forward_equivalents = old_format ? p.evaluations : to_integer(f[9], "forward_equivalents");
      out.push_back(p);
    } catch (const Malformed& m) {
      if (keep_complete_prefix) break;
      throw Error(ErrorKind::kIo, "'" + source + "' row " + std::to_string(r + 1) + ": " + m.what + fix);
    }
  }
  if (out.empty() && !keep_complete_prefix) throw Error(ErrorKind::kIo, "'" + source + "' has no rows" + fix);
  return out;
}

}  // namespace fool
