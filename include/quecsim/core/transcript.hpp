#pragma once

#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"

namespace quecsim {

/// Masks the quoted value that follows `QFTPPASS=` or `QFTPPASS:` (any case) in a byte
/// stream fed in arbitrary chunks; each masked byte becomes '*'.
class secret_masker {
 public:
  /// Masks `bytes` in place, remembering where the stream stands for the next chunk.
  void mask(std::string& bytes);

 private:
  std::size_t matched_ = 0;  // characters of the keyword matched so far
  int stage_ = 0;            // 0 keyword, 1 '='/':' seen, 2 inside the quotes
};

/// Builds the JSON record of one event, the shape the transcript writes and the control
/// socket sends: `{"t":0.012345,"module":0,"event":"rx","source":"uart","data":"AT\r"}`.
/// UART bytes are masked as the class comment of `transcript` says; the masking state runs
/// across events, so one builder must see every event of the bus in order.
class record_builder {
 public:
  /// `clk` gives `t`, the real seconds since the clock was made.
  explicit record_builder(const clock& clk) : clock_(clk) {}

  /// The record of `e`: one JSON object, without a line end.
  std::string build(const events::event& e);

 private:
  const clock& clock_;
  std::map<std::pair<int, bool>, secret_masker> maskers_;  // per module and direction
};

/// Writes every event as one JSON object per line (JSON Lines), flushed as it happens, so a
/// user can read it while a test runs or after it failed:
/// `{"t":0.012345,"module":0,"event":"rx","source":"uart","data":"AT\r"}`.
/// `data` carries bytes as Latin-1 code points (byte 0xE9 is "\u00e9"): lossless for any byte.
/// Passwords never reach the file: the FTP client masks its PASS lines, and the transcript
/// masks the quoted value after `QFTPPASS=` / `QFTPPASS:` in UART bytes, across chunks.
class transcript {
 public:
  /// Opens (truncates) `path`; throws std::runtime_error naming the path when it cannot.
  transcript(const std::string& path, const clock& clk);

  /// Subscribes this transcript to `bus` for the life of both.
  void attach(events::bus& bus);

  /// Writes one event.
  void record(const events::event& e);

 private:
  std::ofstream out_;
  record_builder records_;
};

/// The text of an event's `data` field: its text, or its typed payload rendered as older
/// transcripts wrote it ("down 4096", a fault's JSON object), so that they still replay.
std::string_view event_text(const events::event& e, std::string& scratch);

/// Bytes as a JSON string value (with quotes), each byte one Latin-1 code point.
std::string json_bytes(std::string_view bytes);

}  // namespace quecsim
