#include "quecsim/ftp/reply_parser.hpp"

#include <cctype>

namespace quecsim::ftp {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Whether `line` starts with a reply code: three digits, the first 1-5.
bool has_code(std::string_view line) {
  return line.size() >= 3 && line[0] >= '1' && line[0] <= '5' && is_digit(line[1]) &&
         is_digit(line[2]);
}

int code_of(std::string_view line) {
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

std::string reply::text() const {
  if (lines.empty() || lines.front().size() <= 4) return {};
  return lines.front().substr(4);
}

void reply_parser::reset() {
  line_.clear();
  overlong_ = false;
  open_.reset();
  done_.clear();
}

void reply_parser::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (c == '\n') {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      on_line(std::move(line_));
      line_.clear();
      overlong_ = false;
      continue;
    }
    if (overlong_) continue;
    if (line_.size() >= max_line_) {
      // Keep the start (it holds the code) and drop the rest up to the line's end.
      overlong_ = true;
      ++truncated_;
      continue;
    }
    line_.push_back(c);
  }
}

void reply_parser::on_line(std::string line) {
  if (open_) {
    const bool last =
        has_code(line) && code_of(line) == open_->code && (line.size() == 3 || line[3] == ' ');
    if (open_->lines.size() < max_lines_) open_->lines.push_back(std::move(line));
    if (last) {
      done_.push_back(std::move(*open_));
      open_.reset();
    }
    return;
  }
  if (!has_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
    ++garbage_;
    return;
  }
  reply r;
  r.code = code_of(line);
  const bool multi = line.size() > 3 && line[3] == '-';
  r.lines.push_back(std::move(line));
  if (multi)
    open_ = std::move(r);
  else
    done_.push_back(std::move(r));
}

std::optional<reply> reply_parser::next() {
  if (done_.empty()) return std::nullopt;
  reply r = std::move(done_.front());
  done_.pop_front();
  return r;
}

bool parse_pasv(std::string_view text, std::string& address, unsigned& port) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!is_digit(text[i]) || (i > 0 && is_digit(text[i - 1]))) continue;
    unsigned v[6] = {};
    std::size_t p = i;
    bool ok = true;
    for (int k = 0; k < 6 && ok; ++k) {
      if (k > 0) {
        if (p >= text.size() || text[p] != ',') {
          ok = false;
          break;
        }
        ++p;
      }
      std::size_t digits = 0;
      unsigned value = 0;
      while (p < text.size() && is_digit(text[p]) && digits < 4) {
        value = value * 10 + static_cast<unsigned>(text[p] - '0');
        ++p;
        ++digits;
      }
      if (digits == 0 || digits > 3 || value > 255) ok = false;
      v[k] = value;
    }
    if (!ok) continue;
    address = std::to_string(v[0]) + "." + std::to_string(v[1]) + "." + std::to_string(v[2]) + "." +
              std::to_string(v[3]);
    port = v[4] * 256 + v[5];
    return port != 0;
  }
  return false;
}

bool parse_epsv(std::string_view text, unsigned& port) {
  const auto open = text.find('(');
  if (open == std::string_view::npos || open + 5 > text.size()) return false;
  const char d = text[open + 1];
  if (is_digit(d) || text[open + 2] != d || text[open + 3] != d) return false;
  std::size_t p = open + 4;
  unsigned value = 0;
  std::size_t digits = 0;
  while (p < text.size() && is_digit(text[p]) && digits < 6) {
    value = value * 10 + static_cast<unsigned>(text[p] - '0');
    ++p;
    ++digits;
  }
  if (digits == 0 || value == 0 || value > 65535) return false;
  if (p + 1 >= text.size() || text[p] != d || text[p + 1] != ')') return false;
  port = value;
  return true;
}

std::string format_port(const std::string& ipv4, unsigned port) {
  std::string out;
  for (const char c : ipv4) out.push_back(c == '.' ? ',' : c);
  return out + "," + std::to_string(port / 256) + "," + std::to_string(port % 256);
}

}  // namespace quecsim::ftp
