#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "quecsim/core/clock.hpp"
#include "quecsim/serial/host_port.hpp"

namespace quecsim::fault {

/// What a host-side fault does to the bytes the module sends.
enum class host_fault {
  delay,      ///< hold them for a while, then send them all
  split,      ///< send them in small pieces with gaps between
  duplicate,  ///< send them twice
  drop,       ///< never send them
};

/// The module's UART as host-side faults see it. The injector puts it between the module and
/// the real port only while such a fault is armed, so the usual path carries no fault check;
/// once the fault has spent its bytes (and any held bytes are out) `on_spent` tells the
/// injector to put the real port back.
class host_link final : public serial::host_port {
 public:
  /// `inner` is the real port (the UART); it must outlive the link.
  host_link(boost::asio::io_context& io, serial::host_port& inner);
  ~host_link() override;
  host_link(const host_link&) = delete;
  host_link& operator=(const host_link&) = delete;

  /// Arms a fault for the next `bytes` bytes the module sends (0: the next write alone; for
  /// `delay`, everything written until the delay ends). `pause` is the delay, or the gap
  /// between pieces of `piece` bytes for `split` (real time: the caller scales it). Replaces a
  /// fault still armed.
  void arm(host_fault f, std::uint64_t bytes, clock::duration pause, std::size_t piece);
  /// Whether a fault is armed or bytes are still held.
  bool busy() const { return armed_ || !held_.empty(); }
  /// Called once the armed fault is spent and nothing is held any more.
  void on_spent(std::function<void()> f) { on_spent_ = std::move(f); }
  /// Sends bytes to the host at once, past any fault (garbage, raw bytes, a brown-out line).
  void inject(std::string_view bytes) { inner_.write(bytes); }

  void write(std::string_view bytes) override;
  std::size_t queued() const override { return held_.size() + inner_.queued(); }
  void when_drained(std::function<void()> ready) override;
  void pause_input() override { inner_.pause_input(); }
  void resume_input() override { inner_.resume_input(); }
  void set_baud(unsigned baud) override { inner_.set_baud(baud); }

 private:
  void release();     // delay: the time is up
  void next_piece();  // split: one piece out, then the gap
  void check_spent();

  boost::asio::io_context& io_;
  serial::host_port& inner_;
  boost::asio::steady_timer timer_;
  bool armed_ = false;
  host_fault fault_ = host_fault::delay;
  std::uint64_t budget_ = 0;  // bytes the fault still applies to (with `whole_write_`: unused)
  bool whole_write_ = false;  // the fault applies to the next write alone
  clock::duration pause_{};
  std::size_t piece_ = 1;
  bool timing_ = false;  // delay or split timer running
  std::string held_;
  std::vector<std::function<void()>> drain_waiters_;
  std::function<void()> on_spent_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::fault
