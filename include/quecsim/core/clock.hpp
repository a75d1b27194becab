#pragma once

#include <chrono>

namespace quecsim {

/// The one source of time for a process. Every simulated duration (a module timeout, a
/// network latency, a guard time) goes through `scaled()`, so a 900 s timeout can run in 9 s
/// under test with a scale of 0.01. Physical rates (UART baud) are not scaled.
class clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  /// `scale` multiplies every simulated duration; it must be greater than zero.
  explicit clock(double scale = 1.0);

  /// The scale factor applied by `scaled()`.
  double scale() const { return scale_; }

  /// A simulated duration converted to the real time it takes in this process.
  duration scaled(duration simulated) const;

  /// The real monotonic time now.
  static time_point now() { return std::chrono::steady_clock::now(); }

  /// Real seconds since this clock was made: the timestamp of transcript records.
  double seconds_since_start() const;

 private:
  double scale_;
  time_point start_;
};

}  // namespace quecsim
