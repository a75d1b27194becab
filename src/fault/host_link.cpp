#include "quecsim/fault/host_link.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace quecsim::fault {

host_link::host_link(boost::asio::io_context& io, serial::host_port& inner)
    : io_(io), inner_(inner), timer_(io) {}

host_link::~host_link() {
  *alive_ = false;
}

void host_link::arm(host_fault f, std::uint64_t bytes, clock::duration pause, std::size_t piece) {
  // Bytes a replaced fault still held go out first, as they would have.
  if (!held_.empty() && !timing_) {
    inner_.write(held_);
    held_.clear();
  }
  armed_ = true;
  fault_ = f;
  budget_ = bytes;
  whole_write_ = bytes == 0;
  pause_ = pause;
  piece_ = std::max<std::size_t>(1, piece);
}

void host_link::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (!armed_) {
    // Spent, but a delay or split still drains what it held: keep the order of bytes.
    if (!held_.empty()) {
      held_.append(bytes);
      return;
    }
    inner_.write(bytes);
    return;
  }
  std::size_t n = bytes.size();
  if (!whole_write_) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, budget_));
  const std::string_view hit = bytes.substr(0, n);
  const std::string_view rest = bytes.substr(n);
  switch (fault_) {
    case host_fault::drop:
      break;
    case host_fault::duplicate:
      inner_.write(hit);
      inner_.write(hit);
      break;
    case host_fault::delay:
      held_.append(hit);
      if (!timing_) {
        timing_ = true;
        timer_.expires_after(pause_);
        timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
          if (ec || alive.expired()) return;
          release();
        });
      }
      break;
    case host_fault::split:
      held_.append(hit);
      if (!timing_) next_piece();
      break;
  }
  if (whole_write_) {
    armed_ = false;
  } else {
    budget_ -= n;
    if (budget_ == 0) armed_ = false;
  }
  // A delay that covers "everything until it ends" stays armed until its timer fires.
  if (fault_ == host_fault::delay && whole_write_ && timing_) armed_ = true;
  if (!rest.empty()) write(rest);
  check_spent();
}

void host_link::release() {
  timing_ = false;
  armed_ = false;
  inner_.write(held_);
  held_.clear();
  check_spent();
}

void host_link::next_piece() {
  if (held_.empty()) {
    timing_ = false;
    check_spent();
    return;
  }
  const std::size_t n = std::min(piece_, held_.size());
  inner_.write(std::string_view(held_).substr(0, n));
  held_.erase(0, n);
  timing_ = true;
  timer_.expires_after(pause_);
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired()) return;
    next_piece();
  });
}

void host_link::when_drained(std::function<void()> ready) {
  if (held_.empty()) return inner_.when_drained(std::move(ready));
  drain_waiters_.push_back(std::move(ready));
}

void host_link::check_spent() {
  if (armed_ || !held_.empty() || timing_) return;
  // Anyone who waited for held bytes now waits on the real port.
  auto waiters = std::move(drain_waiters_);
  drain_waiters_.clear();
  for (auto& w : waiters) inner_.when_drained(std::move(w));
  if (on_spent_) {
    boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired() || busy() || timing_) return;
      if (on_spent_) on_spent_();
    });
  }
}

}  // namespace quecsim::fault
