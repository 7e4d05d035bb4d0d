#pragma once
// progress.csv, the one file format of ProgressRecord: written a row per generation by the run,
// read back by `fool report` and by `fool resume` (which keeps the rows up to its checkpoint).
#include <string>
#include <vector>

#include "fool/run/progress.h"

namespace fool {

/// "generation,evaluations,seconds,min,median,mean,max,filled,replacements\n"
const std::string& progress_csv_header();
/// One row, newline included.
std::string progress_csv_row(const ProgressRecord& record);

/// Parses progress.csv text; `source` names the file in errors. Strict: a wrong header, a row of
/// the wrong width or a field that is not a number throws fool::Error (kIo) naming the row.
/// With `keep_complete_prefix`, the rows before the first incomplete or malformed one are returned
/// instead (a run killed while writing a row leaves it torn).
std::vector<ProgressRecord> parse_progress_csv(const std::string& text, const std::string& source,
                                               bool keep_complete_prefix = false);

}  // namespace fool
