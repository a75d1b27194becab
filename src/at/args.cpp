#include "quecsim/at/args.hpp"

#include <cctype>

namespace quecsim::at {
namespace {

// Splits on commas outside quotes. The caller has already checked the quotes balance.
std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> fields;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == ',' && !quoted) {
      fields.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  fields.push_back(text.substr(start));
  return fields;
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  // 18 digits always fit in int64; no parameter of the module needs more.
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (const char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c)) == 0) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return negative ? -n : n;
}

bool is_quoted(std::string_view s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"';
}

std::optional<value> parse_field(std::string_view field, const param& p) {
  value v;
  if (field.empty()) {
    if (!p.optional) return std::nullopt;
    return v;
  }
  const bool quoted = is_quoted(field);
  const std::string_view inner = quoted ? field.substr(1, field.size() - 2) : field;
  if (quoted && inner.find('"') != std::string_view::npos) return std::nullopt;
  if (!quoted && field.find('"') != std::string_view::npos) return std::nullopt;

  const bool want_string = p.kind == param::type::string || (p.kind == param::type::any && quoted);
  if (want_string) {
    if (!quoted || inner.size() > p.max_length) return std::nullopt;
    v.kind = value::type::string;
    v.text = std::string(inner);
    return v;
  }
  if (quoted && !p.quoted_integer_ok) return std::nullopt;
  const auto n = parse_integer(inner);
  if (!n) return std::nullopt;
  if (p.kind == param::type::integer && (*n < p.min || *n > p.max)) return std::nullopt;
  v.kind = value::type::integer;
  v.number = *n;
  return v;
}

}  // namespace

std::optional<std::vector<value>> parse_args(std::string_view text,
                                             const std::vector<param>& params) {
  std::size_t quotes = 0;
  for (const char c : text) quotes += (c == '"') ? 1 : 0;
  if (quotes % 2 != 0) return std::nullopt;

  const auto fields = split_fields(text);
  if (fields.size() > params.size()) return std::nullopt;
  std::vector<value> out;
  out.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (i >= fields.size()) {
      if (!params[i].optional) return std::nullopt;
      out.emplace_back();
      continue;
    }
    auto v = parse_field(fields[i], params[i]);
    if (!v) return std::nullopt;
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace quecsim::at
