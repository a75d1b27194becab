#pragma once

#include <fstream>
#include <string>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"

namespace quecsim {

/// Writes every event as one JSON object per line (JSON Lines), flushed as it happens, so a
/// user can read it while a test runs or after it failed:
/// `{"t":0.012345,"module":0,"event":"rx","source":"uart","data":"AT\r"}`.
/// `data` carries bytes as Latin-1 code points (byte 0xE9 is "\u00e9"): lossless for any byte.
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
  const clock& clock_;
};

/// Bytes as a JSON string value (with quotes), each byte one Latin-1 code point.
std::string json_bytes(std::string_view bytes);

}  // namespace quecsim
