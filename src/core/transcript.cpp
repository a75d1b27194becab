#include "quecsim/core/transcript.hpp"

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace quecsim {

std::string json_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out.push_back('"');
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
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

void secret_masker::mask(std::string& bytes) {
  static constexpr std::string_view keyword = "QFTPPASS";
  for (char& c : bytes) {
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    switch (stage_) {
      case 0:
        if (u == keyword[matched_]) {
          if (++matched_ == keyword.size()) {
            matched_ = 0;
            stage_ = 1;
          }
        } else {
          matched_ = (u == keyword[0]) ? 1 : 0;
        }
        break;
      case 1:
        if (c == '"') {
          stage_ = 2;
        } else if (c != '=' && c != ':' && c != ' ') {
          stage_ = 0;
        }
        break;
      default:
        if (c == '"' || c == '\r' || c == '\n') {
          stage_ = 0;
        } else {
          c = '*';
        }
        break;
    }
  }
}

std::string_view event_text(const events::event& e, std::string& scratch) {
  if (const auto* b = std::get_if<events::bytes_moved>(&e.detail)) {
    scratch = (b->up ? "up " : "down ") + std::to_string(b->count);
    return scratch;
  }
  if (const auto* f = std::get_if<events::fault_fired>(&e.detail)) {
    // An object's keys come out sorted, as the injector's records always did.
    nlohmann::json record{
        {"scenario", f->scenario}, {"event", f->event}, {"action", f->action}, {"did", f->did}};
    if (f->params != nullptr) record["params"] = *f->params;
    scratch = record.dump();
    return scratch;
  }
  return e.data;
}

std::string record_builder::build(const events::event& e) {
  std::string masked;
  std::string_view data = event_text(e, masked);
  if (e.what == events::kind::uart_rx || e.what == events::kind::uart_tx) {
    masked.assign(e.data);
    maskers_[{e.module, e.what == events::kind::uart_rx}].mask(masked);
    data = masked;
  }
  char t[32];
  std::snprintf(t, sizeof t, "%.6f", clock_.seconds_since_start());
  std::string out;
  out.reserve(data.size() + e.source.size() + 80);
  out += "{\"t\":";
  out += t;
  out += ",\"module\":";
  out += std::to_string(e.module);
  out += ",\"event\":\"";
  out += events::name(e.what);
  out += "\",\"source\":";
  out += json_bytes(e.source);
  out += ",\"data\":";
  out += json_bytes(data);
  out += '}';
  return out;
}

transcript::transcript(const std::string& path, const clock& clk) : out_(path), records_(clk) {
  if (!out_) throw std::runtime_error("cannot write transcript file " + path);
}

void transcript::attach(events::bus& bus) {
  bus.subscribe([this](const events::event& e) { record(e); });
}

void transcript::record(const events::event& e) {
  if (!events::recorded(e.what)) return;
  out_ << records_.build(e) << '\n';
  out_.flush();
}

}  // namespace quecsim
