#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace quecsim {

/// Splits a byte stream into lines (LF-terminated, a CR before the LF dropped) without ever
/// holding more than `limit` bytes: a longer line is reported once as overlong and skipped up
/// to its LF. Pure logic, fed whatever a socket delivered; the control socket's server and
/// quecsim-ftpd's control connection both frame their lines with it.
class line_splitter {
 public:
  /// When an overlong line is reported: as soon as it passes the limit (a server that answers
  /// at once), or at its LF (a server that answers one reply per line, in order).
  enum class report { at_limit, at_end };

  /// `limit`: the longest line kept, its CR and LF excluded.
  explicit line_splitter(std::size_t limit, report when = report::at_limit)
      : limit_(limit), when_(when) {}

  /// Feeds the next bytes of the stream: `on_line(std::string_view)` gets each complete line,
  /// `on_overlong()` each line over the limit.
  template <class OnLine, class OnOverlong>
  void feed(std::string_view bytes, OnLine&& on_line, OnOverlong&& on_overlong) {
    while (!bytes.empty()) {
      const auto lf = bytes.find('\n');
      const std::string_view part = bytes.substr(0, lf);
      if (skipping_) {
        // The rest of an overlong line: dropped as it arrives.
      } else if (line_.size() + part.size() > limit_ + 1) {
        // One byte of slack: the CR of a CRLF line exactly at the limit.
        line_.clear();
        line_.shrink_to_fit();
        skipping_ = true;
        if (when_ == report::at_limit) on_overlong();
      } else {
        line_.append(part);
      }
      if (lf == std::string_view::npos) return;
      if (skipping_) {
        if (when_ == report::at_end) on_overlong();
      } else {
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.size() > limit_) {
          on_overlong();
        } else {
          on_line(std::string_view(line_));
        }
      }
      line_.clear();
      skipping_ = false;
      bytes.remove_prefix(lf + 1);
    }
  }

  /// Bytes of the unfinished line held now (bounded by the limit).
  std::size_t held() const { return line_.size(); }

 private:
  std::size_t limit_;
  report when_;
  std::string line_;
  bool skipping_ = false;  // inside an overlong line, until its LF
};

}  // namespace quecsim
