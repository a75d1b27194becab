#include "transcript_reader.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace quecsim::sim::support {

bool latin1_from_utf8(const std::string& utf8, std::string& bytes) {
  bytes.clear();
  bytes.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      bytes.push_back(static_cast<char>(c));
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      const auto d = static_cast<unsigned char>(utf8[++i]);
      bytes.push_back(static_cast<char>(((c & 0x03U) << 6) | (d & 0x3FU)));
    } else {
      return false;
    }
  }
  return true;
}

bool transcript_reader::next(transcript_record& r) {
  if (!std::getline(in_, line_)) {
    if (in_.bad())
      throw transcript_error(name_ + ": read error after line " + std::to_string(number_));
    return false;
  }
  ++number_;
  const auto where = name_ + ":" + std::to_string(number_) + ": ";
  if (in_.eof()) throw transcript_error(where + "the last line has no line end (a cut file?)");
  nlohmann::json j = nlohmann::json::parse(line_, nullptr, false);
  if (j.is_discarded()) throw transcript_error(where + "not JSON");
  if (!j.is_object()) throw transcript_error(where + "not a JSON object");
  const auto field = [&](const char* key) -> const nlohmann::json& {
    const auto it = j.find(key);
    if (it == j.end()) throw transcript_error(where + "no \"" + key + "\"");
    return *it;
  };
  const auto& t = field("t");
  const auto& module = field("module");
  const auto& event = field("event");
  const auto& source = field("source");
  const auto& data = field("data");
  if (!t.is_number()) throw transcript_error(where + "\"t\" is not a number");
  if (!module.is_number_integer()) throw transcript_error(where + "\"module\" is not an integer");
  if (!event.is_string()) throw transcript_error(where + "\"event\" is not a string");
  if (!source.is_string()) throw transcript_error(where + "\"source\" is not a string");
  if (!data.is_string()) throw transcript_error(where + "\"data\" is not a string");
  r.line = number_;
  r.t = t.get<double>();
  r.module = module.get<int>();
  r.event = event.get<std::string>();
  r.source = source.get<std::string>();
  if (!latin1_from_utf8(data.get_ref<const std::string&>(), r.data)) {
    throw transcript_error(where + "\"data\" holds a character above U+00FF (not bytes)");
  }
  return true;
}

std::string escape_bytes(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() + 8);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace quecsim::sim::support
