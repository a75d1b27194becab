#include "quecsim/at/escape_detector.hpp"

namespace quecsim::at {

void escape_detector::received(time_point now, duration guard, bool pending) {
  // Only bytes arriving into an empty buffer can start an escape: the silence before them
  // is measured from the previous arrival.
  if (!pending) silence_before_ = (now - last_rx_) >= guard;
  last_rx_ = now;
}

escape_detector::verdict escape_detector::examine(std::string_view pending, time_point now,
                                                  duration guard) {
  verdict v;
  if (silence_before_ && !pending.empty() && pending.front() == '+') {
    std::size_t pluses = 0;
    while (pluses < pending.size() && pluses < 4 && pending[pluses] == '+') ++pluses;
    if (pluses == pending.size() && pluses <= 3) {
      v.hold = true;
      if (pluses != pluses_) {
        // A new plus: the guard time after it starts again.
        pluses_ = pluses;
        v.arm = true;
        v.check_at = now + guard;
      }
      return v;
    }
  }
  if (pluses_ != 0) {
    pluses_ = 0;
    v.disarm = true;
  }
  silence_before_ = false;
  return v;
}

escape_detector::outcome escape_detector::expired(std::string_view pending) {
  if (pluses_ == 0) return outcome::none;
  const bool escape = pluses_ == 3 && pending == "+++";
  pluses_ = 0;
  if (escape) return outcome::escape;
  // Fewer than three pluses before the guard time ran out: they were data after all.
  silence_before_ = false;
  return outcome::data;
}

void escape_detector::reset() {
  pluses_ = 0;
  silence_before_ = false;
}

}  // namespace quecsim::at
