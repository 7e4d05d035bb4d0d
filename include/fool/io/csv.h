#pragma once
// CSV as the run directory writes it (RFC 4180 quoting: a field with a comma, quote or newline is
// quoted, quotes doubled).
#include <string>
#include <vector>

namespace fool {

/// One field, quoted when it needs to be.
std::string csv_field(const std::string& s);
/// A whole CSV text as rows of fields (the header is row 0).
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

}  // namespace fool
