#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/serial/host_port.hpp"

namespace quecsim::serial {

/// The module's UART over a pty master: moves bytes both ways, paced like a real line at the
/// configured baud rate (10 bits a byte: start, 8 data, stop), and publishes them as events.
class uart final : public serial::host_port {
 public:
  using receiver = std::function<void(std::string_view)>;

  /// Reads and writes `master_fd`, which stays the caller's: it must outlive the uart and is
  /// not closed by it. `baud` 0: no pacing.
  uart(boost::asio::io_context& io, int master_fd, events::bus& bus, int module_id, unsigned baud);
  ~uart() override;

  /// Starts reading; every received chunk goes to `on_bytes`.
  void start(receiver on_bytes);
  /// Makes the end of the descriptor's input (end of file, or a read error: a socket's peer
  /// gone, a device unplugged) final: `on_end` runs once and the uart reads no more. Unset, a
  /// pty's hangup is transient and reading is retried.
  void on_end(std::function<void()> on_end) { on_end_ = std::move(on_end); }

  void write(std::string_view bytes) override;
  std::size_t queued() const override { return out_.size() - out_pos_ + in_flight_.size(); }
  void when_drained(std::function<void()> ready) override;
  void pause_input() override { paused_ = true; }
  void resume_input() override;
  void set_baud(unsigned baud) override { baud_ = baud; }

 private:
  void do_read();
  void on_readable(const boost::system::error_code& ec);
  void retry_read();
  void do_write();
  void on_write(const boost::system::error_code& ec, std::size_t n);
  void notify_drained();
  clock::duration line_time(std::size_t bytes) const;

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor fd_;
  events::bus& bus_;
  int module_id_;
  unsigned baud_;
  receiver on_bytes_;
  std::function<void()> on_end_;

  // No read buffer of its own: a module waits for readability and then reads into a buffer
  // shared by the thread, so an idle module costs no buffer (see uart.cpp).
  bool reading_ = false;
  bool paused_ = false;
  boost::asio::steady_timer read_pace_;

  std::string out_;  // bytes waiting to be handed to the descriptor
  std::size_t out_pos_ = 0;
  std::string in_flight_;  // the bytes of the one write in progress
  bool writing_ = false;
  clock::time_point line_free_{};  // when the paced line has sent all it was given
  boost::asio::steady_timer write_pace_;
  std::vector<std::function<void()>> drain_waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::serial
