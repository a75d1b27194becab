#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace quecsim::at {

/// The characters and switches of V.250 command-line editing, as ATS3/S4/S5 and ATE set them.
struct line_settings {
  char s3 = '\r';    ///< command line termination character
  char s4 = '\n';    ///< response formatting character
  char s5 = '\b';    ///< command line editing (backspace) character
  bool echo = true;  ///< ATE1: every received character is echoed back
};

/// The longest command line body (the characters after `AT`) the module accepts. Longer lines
/// are answered ERROR; the excess is counted, never stored.
inline constexpr std::size_t max_line_length = 556;

/// A complete command line, as the line discipline delivers it.
struct line {
  std::string body;       ///< what followed `AT`, without the terminator
  bool repeat = false;    ///< `A/`: the host asked to repeat the previous line
  bool lf_only = false;   ///< ended by S4 (LF) alone instead of S3 (CR): a host-behaviour warning
  bool overflow = false;  ///< longer than max_line_length: answer ERROR
};

/// What one call to `line_discipline::feed` produced.
struct feed_result {
  std::size_t consumed = 0;  ///< bytes taken from the input; the rest waits for the next call
  std::string echo;          ///< bytes to echo to the host (empty with echo off)
  bool complete = false;     ///< `command` holds a finished line
  line command;              ///< valid when `complete`
};

/// V.250 command-line assembly as a byte-fed state machine with no I/O: finds the `AT`/`at`
/// prefix (anything before it is ignored), applies backspace editing, recognises `A/`, and
/// ends a line at S3 (or, as many drivers send, at S4 alone). The S4 that follows S3 in a CR LF
/// pair arrives in the idle state, where it is ignored like any byte before `AT`.
class line_discipline {
 public:
  explicit line_discipline(line_settings settings = {}) : settings_(settings) {}

  /// The editing characters and echo switch in force; the caller changes them via ATS3/ATE.
  line_settings& settings() { return settings_; }

  /// Takes bytes until one command line is complete (then stops, so the caller can act on the
  /// line, e.g. enter data mode, before the following bytes are interpreted).
  feed_result feed(std::string_view bytes);

  /// Forgets a partly typed line (power-up, restart).
  void reset();

 private:
  enum class state { idle, got_a, in_line };

  line_settings settings_;
  state state_ = state::idle;
  std::string body_;
  std::size_t overflow_ = 0;  // characters dropped past max_line_length
};

}  // namespace quecsim::at
