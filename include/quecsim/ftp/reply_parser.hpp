#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quecsim::ftp {

/// One complete FTP reply (RFC 959 section 4.2): a three-digit code and its text lines.
struct reply {
  int code = 0;                    ///< 100-599 for well-formed replies
  std::vector<std::string> lines;  ///< every line as received, without CR LF

  /// First digit: 1 preliminary, 2 completion, 3 intermediate, 4 transient, 5 permanent.
  int kind() const { return code / 100; }
  /// The text after "NNN " / "NNN-" of the first line.
  std::string text() const;
};

/// A byte-fed parser of FTP control-connection replies, without I/O. Feed it whatever the
/// socket produced; take complete replies with `next()`. Multi-line replies (`123-...` up to
/// `123 ...`) come out as one reply. Memory stays bounded whatever the server sends:
/// overlong lines are cut at `max_line` bytes, a multi-line reply keeps at most `max_lines`
/// lines, and lines that are not replies (outside a multi-line reply) are counted and
/// dropped.
class reply_parser {
 public:
  /// Limits: bytes kept per line, lines kept per reply.
  explicit reply_parser(std::size_t max_line = 2048, std::size_t max_lines = 256)
      : max_line_(max_line), max_lines_(max_lines) {}

  /// Consumes `bytes`; complete replies queue up for `next()`.
  void feed(std::string_view bytes);

  /// The oldest complete reply not yet taken, if any.
  std::optional<reply> next();

  /// Lines dropped because they were not part of any reply.
  std::size_t garbage_lines() const { return garbage_; }
  /// Lines cut because they were longer than `max_line`.
  std::size_t truncated_lines() const { return truncated_; }
  /// Whether a reply is partly received (a multi-line reply not yet ended, or a line).
  bool in_progress() const { return !line_.empty() || open_.has_value(); }
  /// Forgets any partial line or reply (a new connection).
  void reset();

 private:
  void on_line(std::string line);

  std::size_t max_line_;
  std::size_t max_lines_;
  std::string line_;
  bool overlong_ = false;      ///< the current line passed max_line: drop bytes to its end
  std::optional<reply> open_;  ///< a multi-line reply awaiting its last line
  std::deque<reply> done_;
  std::size_t garbage_ = 0;
  std::size_t truncated_ = 0;
};

/// Parses the "h1,h2,h3,h4,p1,p2" of a 227 PASV reply text; false if there is none.
bool parse_pasv(std::string_view text, std::string& address, unsigned& port);

/// Parses the "(|||port|)" of a 229 EPSV reply text; false if there is none.
bool parse_epsv(std::string_view text, unsigned& port);

/// Formats the argument of PORT for an IPv4 address and port: "h1,h2,h3,h4,p1,p2".
std::string format_port(const std::string& ipv4, unsigned port);

}  // namespace quecsim::ftp
