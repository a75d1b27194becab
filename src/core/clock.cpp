#include "quecsim/core/clock.hpp"

#include <stdexcept>

namespace quecsim {

clock::clock(double scale) : scale_(scale), start_(now()) {
  if (!(scale > 0.0)) throw std::invalid_argument("time scale must be greater than zero");
}

clock::duration clock::scaled(duration simulated) const {
  if (scale_ == 1.0) return simulated;
  return std::chrono::duration_cast<duration>(std::chrono::duration<double, duration::period>(
      static_cast<double>(simulated.count()) * scale_));
}

double clock::seconds_since_start() const {
  return std::chrono::duration<double>(now() - start_).count();
}

}  // namespace quecsim
