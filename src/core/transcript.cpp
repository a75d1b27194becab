#include "quecsim/core/transcript.hpp"

#include <cstdio>
#include <stdexcept>

namespace quecsim {

std::string json_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out.push_back('"');
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else if (c >= 0x80) {
          // U+0080..U+00FF in UTF-8.
          out.push_back(static_cast<char>(0xC0 | (c >> 6)));
          out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

transcript::transcript(const std::string& path, const clock& clk) : out_(path), clock_(clk) {
  if (!out_) throw std::runtime_error("cannot write transcript file " + path);
}

void transcript::attach(events::bus& bus) {
  bus.subscribe([this](const events::event& e) { record(e); });
}

void transcript::record(const events::event& e) {
  char t[32];
  std::snprintf(t, sizeof t, "%.6f", clock_.seconds_since_start());
  out_ << "{\"t\":" << t << ",\"module\":" << e.module << ",\"event\":\""
       << events::name(e.what) << "\",\"source\":" << json_bytes(e.source)
       << ",\"data\":" << json_bytes(e.data) << "}\n";
  out_.flush();
}

}  // namespace quecsim
