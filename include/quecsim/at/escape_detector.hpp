#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace quecsim::at {

/// The `+++` escape of data mode (V.250 6.2.1, S12) without I/O: fed the times bytes arrive
/// and the bytes waiting to be passed on, it says whether to hold them (a possible escape),
/// when to look again, and whether what was held is the escape or plain data. Up to three
/// pluses arriving after a guard time of silence are held until either a guard time of
/// silence follows (escape, when there are three) or anything else arrives (plain data).
class escape_detector {
 public:
  /// The detector's time: the process's monotonic clock.
  using time_point = std::chrono::steady_clock::time_point;
  /// Guard times, already scaled by the module's clock.
  using duration = std::chrono::steady_clock::duration;

  /// What to do with the bytes waiting in data mode.
  struct verdict {
    bool hold = false;  ///< keep them: they may be the escape
    /// With `hold`: look again (call `expired`) at this time; unset: the earlier time holds.
    time_point check_at{};
    bool arm = false;     ///< `check_at` is new: (re)arm the timer for it
    bool disarm = false;  ///< a held escape turned out to be data: the timer is not needed
  };

  /// What the guard time after the held pluses found.
  enum class outcome {
    none,    ///< nothing was held (a stale timer)
    escape,  ///< exactly "+++" with silence both sides: leave data mode
    data,    ///< fewer pluses: they are data after all; pass them on
  };

  /// Bytes arrived at `now`; `pending` says whether bytes were already waiting (then the
  /// silence before the new ones is not a guard time: they follow data).
  void received(time_point now, duration guard, bool pending);

  /// Looks at the bytes waiting in data mode (`pending`, not empty) at `now`.
  verdict examine(std::string_view pending, time_point now, duration guard);

  /// The time asked for by the last `arm` came: decides on what is held.
  outcome expired(std::string_view pending);

  /// Forgets everything held (entering or leaving data mode, power-up).
  void reset();

  /// How many pluses are held (0: none).
  std::size_t held() const { return pluses_; }

 private:
  time_point last_rx_{};
  bool silence_before_ = false;  ///< the bytes at the head came after a guard time
  std::size_t pluses_ = 0;       ///< pluses at the head held as a possible escape
};

}  // namespace quecsim::at
