#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quecsim::at {

/// How one parameter of a write form is written and what it may hold.
struct param {
  enum class type {
    string,   ///< a quoted string of at most `max_length` bytes
    integer,  ///< a decimal integer in [min, max]
    any,      ///< either, checked by the handler (AT+QFTPCFG's <value>)
  };
  type kind = type::integer;
  std::size_t max_length = 0;
  std::int64_t min = 0;
  std::int64_t max = 0;
  bool optional = false;
  bool quoted_integer_ok = false;  ///< accept `"21"` for 21, as OpenCPU sends AT+QFTPOPEN's port

  /// A quoted string parameter of at most `max_length` bytes.
  static param string(std::size_t max_length, bool optional = false) {
    param p;
    p.kind = type::string;
    p.max_length = max_length;
    p.optional = optional;
    return p;
  }
  /// An integer parameter in [min, max].
  static param integer(std::int64_t min, std::int64_t max, bool optional = false) {
    param p;
    p.kind = type::integer;
    p.min = min;
    p.max = max;
    p.optional = optional;
    return p;
  }
  /// A parameter that may be a quoted string (up to `max_length`) or an integer.
  static param either(std::size_t max_length, bool optional = false) {
    param p;
    p.kind = type::any;
    p.max_length = max_length;
    p.optional = optional;
    return p;
  }
};

/// One parsed parameter value.
struct value {
  enum class type { omitted, integer, string };
  type kind = type::omitted;
  std::int64_t number = 0;
  std::string text;

  bool omitted() const { return kind == type::omitted; }
  bool is_integer() const { return kind == type::integer; }
  bool is_string() const { return kind == type::string; }
};

/// Parses the arguments of a write form against its parameters. Returns nothing when they do
/// not fit: too many, a required one missing or empty, a string unquoted or too long, an
/// integer out of range or malformed, text after a closing quote.
std::optional<std::vector<value>> parse_args(std::string_view text,
                                             const std::vector<param>& params);

}  // namespace quecsim::at
