#include "quecsim/serial/uart.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <memory>

namespace quecsim::serial {
namespace {

// Output the module holds before a producer (an FTP download) is told to wait.
constexpr std::size_t drain_low_water = std::size_t{16} * 1024;
// The largest write handed to the pty at once without pacing.
constexpr std::size_t unpaced_chunk = std::size_t{64} * 1024;
// With pacing, bytes move in slices of about this much line time, so the rate is smooth.
constexpr auto pace_slice = std::chrono::milliseconds(10);

// Output buffer capacity an idle module keeps.
constexpr std::size_t idle_capacity = 4096;
// The largest read taken from the pty at once.
constexpr std::size_t read_chunk = std::size_t{64} * 1024;

// Where every uart of a thread reads into. A read is consumed (published and handed to the
// module, which copies what it keeps) before its handler returns, and one thread runs one
// handler at a time, so a thousand idle modules share these 64 KiB instead of owning 64 MiB.
char* read_buffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[read_chunk]);
  return buffer.get();
}

}  // namespace

uart::uart(boost::asio::io_context& io, int master_fd, events::bus& bus, int module_id,
           unsigned baud)
    : io_(io),
      fd_(io, master_fd),
      bus_(bus),
      module_id_(module_id),
      baud_(baud),
      read_pace_(io),
      write_pace_(io) {
  // Direct writes (write()) take what fits and never wait; reads already expect EAGAIN.
  boost::system::error_code ignored;
  fd_.non_blocking(true, ignored);
}

uart::~uart() {
  *alive_ = false;
  // The descriptor is the pty's: stop watching it without closing it.
  boost::system::error_code ignored;
  fd_.cancel(ignored);
  (void)fd_.release();
}

clock::duration uart::line_time(std::size_t bytes) const {
  if (baud_ == 0) return clock::duration::zero();
  return std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) * 10.0 / baud_));
}

void uart::start(receiver on_bytes) {
  on_bytes_ = std::move(on_bytes);
  do_read();
}

void uart::do_read() {
  if (reading_ || paused_) return;
  reading_ = true;
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
                   if (alive.expired()) return;
                   on_readable(ec);
                 });
}

void uart::on_readable(const boost::system::error_code& ec) {
  reading_ = false;
  if (ec == boost::asio::error::operation_aborted) return;
  if (paused_) return;  // paused while the wait was pending: resume_input() reads again
  std::size_t want = read_chunk;
  if (baud_ != 0) want = std::clamp<std::size_t>(baud_ / 10 / 100, 1, read_chunk);
  char* const buffer = read_buffer();
  const ssize_t got = ec ? -1 : ::read(fd_.native_handle(), buffer, want);
  if (got < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    return do_read();
  }
  if (got <= 0 && on_end_) return on_end_();
  if (got <= 0) return retry_read();
  const auto n = static_cast<std::size_t>(got);
  const std::string_view bytes(buffer, n);
  if (bus_.active()) bus_.publish({events::kind::uart_rx, module_id_, "uart", bytes});
  if (on_bytes_) on_bytes_(bytes);
  if (baud_ == 0) return do_read();
  read_pace_.expires_after(line_time(n));
  read_pace_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto e) {
    if (!e && !alive.expired()) do_read();
  });
}

void uart::retry_read() {
  // The slave is held open by the pty itself, so errors here are transient (EIO while the
  // kernel tears down a closing host's session); retry shortly rather than die.
  reading_ = true;
  read_pace_.expires_after(std::chrono::milliseconds(20));
  read_pace_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto e) {
    if (alive.expired()) return;
    reading_ = false;
    if (!e) do_read();
  });
}

void uart::resume_input() {
  if (!paused_) return;
  paused_ = false;
  do_read();
}

void uart::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (!writing_ && baud_ == 0 && out_.size() == out_pos_) {
    // An idle line at full speed: the pty takes what fits now, and nothing runs after it (an
    // answer's round trip is this write; the host shares the CPU with what follows it).
    const ssize_t got = ::write(fd_.native_handle(), bytes.data(), bytes.size());
    if (got > 0) {
      const auto n = static_cast<std::size_t>(got);
      if (bus_.active()) {
        // Recorded where an asynchronous write's completion would record it, so the
        // transcript keeps its order (the state change that follows a CONNECT comes first).
        boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_),
                                sent = std::string(bytes.substr(0, n))] {
          if (!alive.expired()) bus_.publish({events::kind::uart_tx, module_id_, "uart", sent});
        });
      }
      bytes.remove_prefix(n);
      if (bytes.empty()) return;
    }
    // What did not fit (or an error) goes the asynchronous way, which reports and retries.
  }
  // Only the bytes not yet handed to the descriptor live here, so growing or compacting this
  // buffer never moves memory an asynchronous write is reading.
  if (out_pos_ > 0 && out_pos_ >= out_.size() / 2) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
  out_.append(bytes);
  if (!writing_) do_write();
}

void uart::do_write() {
  if (out_.size() == out_pos_) {
    writing_ = false;
    out_pos_ = 0;
    // A download leaves these sized for its bursts; an idle module gives the memory back.
    if (out_.capacity() > idle_capacity) {
      std::string().swap(out_);
      std::string().swap(in_flight_);
    } else {
      out_.clear();
    }
    notify_drained();
    return;
  }
  writing_ = true;
  std::size_t n = std::min(out_.size() - out_pos_, unpaced_chunk);
  if (baud_ != 0) {
    const auto per_slice = std::max<std::size_t>(1, baud_ / 10 * pace_slice.count() / 1000);
    n = std::min(n, per_slice);
  }
  in_flight_.assign(out_, out_pos_, n);
  out_pos_ += n;
  boost::asio::async_write(fd_, boost::asio::buffer(in_flight_),
                           [this, alive = std::weak_ptr<bool>(alive_)](auto ec, std::size_t w) {
                             if (alive.expired()) return;
                             on_write(ec, w);
                           });
}

void uart::on_write(const boost::system::error_code& ec, std::size_t n) {
  if (ec) {
    writing_ = false;
    in_flight_.clear();
    return;
  }
  if (bus_.active()) {
    bus_.publish(
        {events::kind::uart_tx, module_id_, "uart", std::string_view(in_flight_.data(), n)});
  }
  in_flight_.clear();
  if (queued() <= drain_low_water) notify_drained();
  if (baud_ == 0) return do_write();
  const auto now = clock::now();
  line_free_ = std::max(line_free_, now) + line_time(n);
  if (line_free_ <= now) return do_write();
  write_pace_.expires_at(line_free_);
  write_pace_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto e) {
    if (!e && !alive.expired()) do_write();
  });
}

void uart::when_drained(std::function<void()> ready) {
  if (queued() <= drain_low_water) {
    boost::asio::post(io_, std::move(ready));
    return;
  }
  drain_waiters_.push_back(std::move(ready));
}

void uart::notify_drained() {
  if (drain_waiters_.empty()) return;
  auto waiters = std::move(drain_waiters_);
  drain_waiters_.clear();
  for (auto& w : waiters) boost::asio::post(io_, std::move(w));
}

}  // namespace quecsim::serial
