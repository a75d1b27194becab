#include "quecsim/core/json_text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace quecsim::json_text {
namespace {

using json = nlohmann::json;

// A SAX pass that only follows where it is, so that a failure can name the JSON pointer of the
// value being read (nlohmann's exceptions carry a byte offset at most).
class locator {
 public:
  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t) { return value(); }
  bool number_unsigned(json::number_unsigned_t) { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t&) { return value(); }
  bool binary(json::binary_t&) { return value(); }
  bool start_object(std::size_t) {
    frames_.push_back({false, 0, {}});
    return true;
  }
  bool key(json::string_t& k) {
    frames_.back().key = k;
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) {
    frames_.push_back({true, 0, {}});
    return true;
  }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string& token,
                   const nlohmann::detail::exception& e) {
    position_ = position;
    token_ = token;
    id_ = e.id;
    what_ = e.what();
    return false;
  }

  // The pointer of the value being read when the parse stopped.
  std::string pointer() const {
    std::string out;
    for (const auto& f : frames_) {
      out += '/';
      if (f.array) {
        out += std::to_string(f.next);
        continue;
      }
      out += pointer_escape(f.key);
    }
    return out;
  }
  std::size_t position() const { return position_; }
  const std::string& token() const { return token_; }
  int id() const { return id_; }
  const std::string& what() const { return what_; }

 private:
  struct frame {
    bool array;
    std::size_t next;  // an array's index of the next value
    std::string key;   // an object's key of the current value
  };
  bool value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().next;
    return true;
  }
  bool close() {
    frames_.pop_back();
    return value();
  }

  std::vector<frame> frames_;
  std::size_t position_ = 0;
  std::string token_;
  int id_ = 0;
  std::string what_;
};

void locate(std::string_view text, std::size_t offset, failure& why) {
  why.line = 1;
  why.column = 1;
  offset = std::min(offset, text.size());
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++why.line;
      why.column = 1;
    } else {
      ++why.column;
    }
  }
}

}  // namespace

std::optional<nlohmann::json> parse(std::string_view text, failure& why) {
  try {
    return json::parse(text);
  } catch (const json::exception&) {
    // Read again, following the pointer, to say where (a bad file is rare: no cost otherwise).
  }
  locator where;
  (void)json::sax_parse(text, &where);
  why = failure{};
  if (where.id() == 406) {
    // A number the text holds but a double cannot (1e400): at the start of its token.
    const std::size_t end = where.position();
    locate(text, end >= where.token().size() ? end - where.token().size() : 0, why);
    why.pointer = where.pointer();
    why.reason = "expected a number a double can hold, got " + where.token();
    return std::nullopt;
  }
  // nlohmann's position is the count of characters read: the fault is the last of them.
  locate(text, where.position() == 0 ? 0 : where.position() - 1, why);
  std::string what = where.what();
  // Keep the reason, drop nlohmann's own position prefix.
  if (const auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
  why.reason = what.empty() ? std::string("not JSON") : what;
  return std::nullopt;
}

std::string describe(const std::string& source, const failure& why) {
  const std::string at = source + ":" + std::to_string(why.line) + ":" + std::to_string(why.column);
  if (!why.pointer.empty()) return at + ": " + why.pointer + ": " + why.reason;
  return at + ": not valid JSON: " + why.reason;
}

std::string pointer_escape(const std::string& key) {
  std::string out;
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string found(const nlohmann::json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case json::value_t::string: {
      std::string text = value.get<std::string>();
      const bool cut = text.size() > 40;
      if (cut) text.resize(40);
      // dump() writes the quotes and escapes control characters; bytes that are not UTF-8 (a
      // file's own, or a multi-byte character the cut split) become U+FFFD instead of throwing.
      return "the string " + json(text).dump(-1, ' ', false, json::error_handler_t::replace) +
             (cut ? "..." : "");
    }
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "the integer " + value.dump();
    case json::value_t::number_float:
      return "the number " + value.dump();
    case json::value_t::array:
      return value.empty() ? "an empty array" : "an array";
    case json::value_t::object:
      return value.empty() ? "an empty object" : "an object";
    default:
      return "a value of another kind";
  }
}

std::string nearest(const std::string& name, const std::vector<std::string>& candidates) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const std::string a = lower(name);
  if (a.empty() || a.size() > 64) return {};
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const auto& candidate : candidates) {
    const std::string b = lower(candidate);
    // Levenshtein distance, one row at a time.
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      std::size_t diagonal = row[0];
      row[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j) {
        const std::size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    std::size_t distance = row[b.size()];
    // A name that starts the same way ("pdp_deactivate" for "pdp_deact") is a likely typo too.
    if (distance > 0 && std::min(a.size(), b.size()) >= 4 &&
        (a.rfind(b, 0) == 0 || b.rfind(a, 0) == 0)) {
      distance = std::min<std::size_t>(distance, 2);
    }
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  const std::size_t allowed = std::max<std::size_t>(2, a.size() / 3);
  // The name itself is no suggestion; the same name in another case is.
  if (best_distance == 0) return best == name ? std::string() : best;
  return best_distance <= allowed ? best : std::string();
}

}  // namespace quecsim::json_text
