#pragma once
// CSV as the run directory writes it (RFC 4180 quoting: a field with a comma, quote or newline is
// quoted, quotes doubled).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fool {

/// One field, quoted when it needs to be.
std::string csv_field(const std::string& s);
/// A whole CSV text as rows of fields (the header is row 0).
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

/// A field read as a whole decimal integer (strtoll's syntax) or a number (strtod's); nothing when
/// it is empty, has characters after the number or is out of range. Readers word their own errors.
std::optional<int64_t> csv_integer(const std::string& field);
std::optional<double> csv_number(const std::string& field);

}  // namespace fool
