#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quecsim::json_text {

/// Why a JSON text did not parse, and where: the line and column (from 1) of the fault and,
/// for a value the text holds but a double cannot (1e400), the JSON pointer of that value.
struct failure {
  std::size_t line = 1;
  std::size_t column = 1;
  std::string pointer;  ///< empty for a syntax error
  std::string reason;   ///< "syntax error while parsing ...", "expected a number ..., got 1e400"
};

/// Parses `text`; on failure returns nothing and fills `why`. Never throws for bad input, so
/// every loader reports a bad file the same way: with its line, column and pointer.
std::optional<nlohmann::json> parse(std::string_view text, failure& why);

/// The message of a failed parse: "SOURCE:LINE:COLUMN: not valid JSON: REASON", or for a value
/// out of range "SOURCE:LINE:COLUMN: POINTER: REASON".
std::string describe(const std::string& source, const failure& why);

/// What a JSON value is, for a message that says what was found where something else was
/// expected: `the string "5"`, `the integer -3`, `the number 2.5`, `true`, `null`, `an array`,
/// `an object`. Long strings are cut.
std::string found(const nlohmann::json& value);

/// `key` escaped for a JSON pointer (RFC 6901: "~" as "~0", "/" as "~1").
std::string pointer_escape(const std::string& key);

/// The candidate closest to `name` (edit distance, any case) when it is close enough to be a
/// likely typo, else empty: "pdp_deactivate" -> "pdp_deact".
std::string nearest(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace quecsim::json_text
