#include "quecsim/at/command_line.hpp"

#include <cctype>

namespace quecsim::at {
namespace {

bool is_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '!' || c == '%' || c == '-' || c == '.' || c == '/' ||
         c == ':' || c == '_';
}

char upper(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}

// Removes spaces outside quotes and checks the characters; nothing when the line is malformed.
std::optional<std::string> normalise(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  bool quoted = false;
  for (const char c : body) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return std::nullopt;
    if (c == '"') quoted = !quoted;
    if (!quoted && u >= 0x80) return std::nullopt;
    if (!quoted && c == ' ') continue;
    out.push_back(c);
  }
  if (quoted) return std::nullopt;
  return out;
}

std::string digits_at(const std::string& s, std::size_t& i) {
  std::string d;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) d.push_back(s[i++]);
  return d;
}

// The form that starts at s[i] ("=?", "?", "=" or nothing), stepping past its characters.
form form_at(const std::string& s, std::size_t& i) {
  if (s.compare(i, 2, "=?") == 0) {
    i += 2;
    return form::test;
  }
  if (i < s.size() && s[i] == '?') {
    ++i;
    return form::read;
  }
  if (i < s.size() && s[i] == '=') {
    ++i;
    return form::write;
  }
  return form::exec;
}

}  // namespace

std::optional<std::vector<command>> split_commands(std::string_view raw) {
  const auto normalised = normalise(raw);
  if (!normalised) return std::nullopt;
  const std::string& s = *normalised;

  std::vector<command> out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ';') {
      ++i;
      continue;
    }
    command cmd;
    if (c == '+' || c == '#' || c == '$' || c == '^') {
      cmd.name.push_back(c);
      ++i;
      while (i < s.size() && is_name_char(s[i])) cmd.name.push_back(upper(s[i++]));
      if (cmd.name.size() == 1) return std::nullopt;
      cmd.kind = form_at(s, i);
      if (cmd.kind == form::write) {
        bool quoted = false;
        while (i < s.size() && (quoted || s[i] != ';')) {
          if (s[i] == '"') quoted = !quoted;
          cmd.args.push_back(s[i++]);
        }
      }
      // An extended command ends the line or is followed by ';'.
      if (i < s.size() && s[i] != ';') return std::nullopt;
    } else if (c == 'S' || c == 's') {
      ++i;
      const std::string reg = digits_at(s, i);
      if (reg.empty() || reg.size() > 3) return std::nullopt;
      cmd.name = "S" + std::to_string(std::stoul(reg));
      cmd.kind = form_at(s, i);
      if (cmd.kind == form::exec) return std::nullopt;  // an S-register is read or written
      if (cmd.kind == form::write) cmd.args = digits_at(s, i);
    } else if (c == '&') {
      ++i;
      if (i >= s.size() || std::isalpha(static_cast<unsigned char>(s[i])) == 0) return std::nullopt;
      cmd.name = std::string("&") + upper(s[i++]);
      cmd.args = digits_at(s, i);
    } else if (std::isalpha(static_cast<unsigned char>(c)) != 0) {
      cmd.name = std::string(1, upper(c));
      ++i;
      cmd.args = digits_at(s, i);
    } else {
      return std::nullopt;
    }
    out.push_back(std::move(cmd));
  }
  return out;
}

}  // namespace quecsim::at
