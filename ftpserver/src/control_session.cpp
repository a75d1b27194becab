#include "control_session.hpp"

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace quecsim::ftpd {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t transfer_buffer = std::size_t{256} * 1024;

std::string address_of(const asio::ip::tcp::socket& s, bool local) {
  error_code ec;
  auto ep = local ? s.local_endpoint(ec) : s.remote_endpoint(ec);
  if (ec) return {};
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

}  // namespace

control_session::control_session(tcp::socket socket, std::shared_ptr<server_state> state,
                                 std::shared_ptr<session_record> record)
    : socket_(std::move(socket)),
      state_(std::move(state)),
      record_(std::move(record)),
      peer_address_(address_of(socket_, false)),
      core_(session_context{state_->cfg, *state_->root, state_->faults, state_->locks,
                            peer_address_, address_of(socket_, true)}),
      delay_timer_(socket_.get_executor()),
      idle_timer_(socket_.get_executor()),
      login_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      passive_timer_(socket_.get_executor()),
      data_timer_(socket_.get_executor()),
      pace_timer_(socket_.get_executor()) {}

void control_session::run() {
  // Replies are small and come in pairs (150 then 226): no Nagle wait between them.
  error_code nd;
  socket_.set_option(tcp::no_delay(true), nd);
  // The observer keeps records and feeds the server's observer; it must not outlive us, and
  // the core is a member, so a raw capture is safe.
  core_.set_observer([this](record_kind k, std::string_view text) {
    auto keep = [this](std::vector<std::string>& lines, std::string_view line) {
      if (lines.size() < state_->cfg.kept_lines)
        lines.emplace_back(line);
      else
        ++record_->dropped;
    };
    switch (k) {
      case record_kind::command:
        keep(record_->commands, text);
        if (text.size() > 5 && text[4] == ' ' && (text[0] | 0x20) == 'u' &&
            (text[1] | 0x20) == 's' && (text[2] | 0x20) == 'e' && (text[3] | 0x20) == 'r')
          record_->user = std::string(text.substr(5));
        break;
      case record_kind::reply:
        keep(record_->replies, text);
        break;
      case record_kind::fault:
        keep(record_->faults, text);
        break;
    }
    if (state_->observer) state_->observer(record_event{record_->id, k, text});
  });
  push_back(core_.start());
  // Unlike the idle time, the login time is not restarted by commands: a client that never
  // logs in cannot hold its connection by sending NOOPs or wrong passwords.
  login_timer_.expires_after(state_->scaled(state_->cfg.timeouts.login));
  login_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->stopped_) return;
    self->push_back(self->core_.login_timeout());
    self->pump();
  });
  rules_changed();
  pump();
}

void control_session::stop() {
  if (stopped_) return;
  stopped_ = true;
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  delay_timer_.cancel();
  idle_timer_.cancel();
  login_timer_.cancel();
  write_timer_.cancel();
  for (auto& t : close_timers_) t.cancel();
  ++xfer_gen_;
  xfer_.reset();
  close_data();
  record_->open = false;
  state_->session_ended(shared_from_this(), peer_address_);
}

void control_session::rules_changed() {
  if (stopped_) return;
  for (auto& [id, after] : core_.new_close_timers()) {
    auto& t = close_timers_.emplace_back(socket_.get_executor());
    t.expires_after(state_->scaled(after));
    t.async_wait([self = shared_from_this(), id = id](const error_code& ec) {
      if (ec || self->stopped_) return;
      self->push_back(self->core_.close_timer_fired(id));
      self->pump();
    });
  }
  if (!core_.busy()) arm_idle();
}

// ----------------------------------------------------------------------------- control reads

void control_session::do_read() {
  if (reading_ || stopped_ || !core_.wants_input()) return;
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(read_buf_),
      [self = shared_from_this()](const error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void control_session::on_read(const error_code& ec, std::size_t n) {
  reading_ = false;
  if (stopped_) return;
  if (ec == asio::error::eof && !core_.busy()) {
    // The client sent its last bytes: answer what it sent, then close.
    peer_eof_ = true;
    return pump();
  }
  if (ec) return stop();  // reset, or gone during a transfer
  core_.feed(std::string_view(read_buf_.data(), n));
  pump();
}

// ----------------------------------------------------------------------------- the action queue

void control_session::push_front(std::vector<action> acts) {
  for (auto it = acts.rbegin(); it != acts.rend(); ++it) queued_actions_.push_front(std::move(*it));
}

void control_session::push_back(std::vector<action> acts) {
  for (auto& a : acts) queued_actions_.push_back(std::move(a));
}

void control_session::pump() {
  // Each turn either carries out one queued action or takes one command line off the core;
  // both are finite (the core holds a bounded number of lines).
  while (!stopped_ && !waiting_) {
    if (queued_actions_.empty()) {
      auto acts = core_.step();
      if (acts.empty()) break;
      if (!core_.busy()) arm_idle();  // a command came: the idle time restarts
      push_back(std::move(acts));
      continue;
    }
    action a = std::move(queued_actions_.front());
    queued_actions_.pop_front();
    execute(a);
  }
  if (stopped_) return;
  if (peer_eof_) {
    if (core_.busy()) return stop();
    if (!waiting_ && queued_actions_.empty() && !core_.has_pending() && !close_after_write_) {
      close_after_write_ = true;
      if (!writing_ && write_queue_.empty()) close_control();
    }
    return;
  }
  do_read();
}

void control_session::execute(action& a) {
  switch (a.what) {
    case action::kind::reply:
      send(std::move(a.text));
      break;
    case action::kind::delay:
      waiting_ = true;
      delay_timer_.expires_after(state_->scaled(a.after));
      delay_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->stopped_) return;
        self->waiting_ = false;
        self->pump();
      });
      break;
    case action::kind::open_passive:
      open_passive();
      break;
    case action::kind::set_active:
      close_data();
      {
        error_code ec;
        auto addr = asio::ip::make_address(a.host, ec);
        if (!ec) active_target_ = tcp::endpoint(addr, a.port);
      }
      break;
    case action::kind::close_data:
      close_data();
      break;
    case action::kind::start_transfer:
      start_transfer(std::move(a.xfer));
      break;
    case action::kind::abort_transfer:
      ++xfer_gen_;
      xfer_.reset();
      close_data();
      break;
    case action::kind::close_control:
      close_after_write_ = true;
      queued_actions_.clear();
      if (!writing_ && write_queue_.empty()) close_control();
      break;
  }
}

// ----------------------------------------------------------------------------- control writes

void control_session::send(std::string text) {
  if (close_after_write_) return;
  write_queue_.push_back(std::move(text));
  if (!writing_) do_write();
}

void control_session::do_write() {
  if (stopped_) return;
  if (write_queue_.empty()) {
    if (close_after_write_) close_control();
    return;
  }
  writing_ = true;
  auto latency = core_.control_shape().second;
  if (in_flight_.empty()) {
    in_flight_ = std::move(write_queue_.front());
    write_queue_.pop_front();
    if (latency.count() > 0) {
      // Latency: the reply leaves this much later.
      write_timer_.expires_after(state_->scaled(latency));
      write_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->stopped_) return;
        self->do_write_now();
      });
      return;
    }
  }
  do_write_now();
}

void control_session::do_write_now() {
  auto shape = core_.control_shape();
  if (shape.first > 0) {
    // Bandwidth: slices of a tenth of a second's worth, each leaving when the bytes before it
    // have had their time. A quiet line starts a new window (no burst credit).
    auto now = std::chrono::steady_clock::now();
    auto due = shape_start_ + std::chrono::microseconds(shape_bytes_ * 1000000 / shape.first);
    if (shape_bytes_ == 0 || due < now) {
      shape_start_ = now;
      shape_bytes_ = 0;
      due = now;
    }
    if (due > now) {
      write_timer_.expires_at(due);
      write_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (ec || self->stopped_) return;
        self->do_write_slice();
      });
      return;
    }
  }
  do_write_slice();
}

void control_session::do_write_slice() {
  auto bps = core_.control_shape().first;
  std::size_t n = in_flight_.size();
  if (bps > 0) n = std::min<std::size_t>(n, std::max<std::uint64_t>(1, bps / 10));
  shape_bytes_ += n;
  asio::async_write(socket_, asio::buffer(in_flight_.data(), n),
                    [self = shared_from_this()](const error_code& ec, std::size_t sent) {
                      self->on_write(ec, sent);
                    });
}

void control_session::on_write(const error_code& ec, std::size_t n) {
  if (stopped_) return;
  if (ec) return stop();
  in_flight_.erase(0, n);
  if (!in_flight_.empty()) return do_write_now();
  writing_ = false;
  if (!write_queue_.empty()) return do_write();
  if (close_after_write_) close_control();
}

void control_session::close_control() {
  // Send FIN after the last reply so the client reads it before the end of the stream.
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  stop();
}

// ----------------------------------------------------------------------------- timers

void control_session::arm_idle() {
  if (stopped_ || close_after_write_) return;
  auto gen = ++idle_gen_;
  idle_timer_.expires_after(state_->scaled(core_.control_idle()));
  idle_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (ec || self->stopped_ || gen != self->idle_gen_ || self->core_.busy()) return;
    self->push_back(self->core_.idle_timeout());
    self->pump();
  });
}

void control_session::disarm_idle() {
  ++idle_gen_;
  idle_timer_.cancel();
}

// ----------------------------------------------------------------------------- data channel

void control_session::close_data() {
  ++data_gen_;
  error_code ec;
  if (acceptor_) acceptor_->close(ec);
  acceptor_.reset();
  if (data_) {
    data_->shutdown(tcp::socket::shutdown_both, ec);
    data_->close(ec);
  }
  data_.reset();
  data_ready_ = false;
  active_target_.reset();
  passive_timer_.cancel();
  data_timer_.cancel();
  pace_timer_.cancel();
}

void control_session::open_passive() {
  close_data();
  error_code ec;
  auto local = socket_.local_endpoint(ec);
  tcp::acceptor acc(socket_.get_executor());
  if (!ec) acc.open(local.protocol(), ec);
  if (!ec) acc.bind(tcp::endpoint(local.address(), 0), ec);
  if (!ec) acc.listen(1, ec);
  if (ec) return push_front(core_.passive_failed());
  auto port = acc.local_endpoint(ec).port();
  acceptor_.emplace(std::move(acc));
  foreign_rejects_ = 0;
  push_front(core_.passive_opened(port));
  auto gen = data_gen_;
  passive_timer_.expires_after(state_->scaled(state_->cfg.timeouts.passive_accept));
  passive_timer_.async_wait([self = shared_from_this(), gen](const error_code& e) {
    if (e || self->stopped_ || gen != self->data_gen_ || self->data_ready_) return;
    bool waiting_transfer = self->xfer_ != nullptr;
    self->close_data();
    if (waiting_transfer)
      self->finish_transfer(transfer_result::accept_timeout);
    else
      self->push_back(self->core_.passive_timeout());
    self->pump();
  });
  do_accept();
}

void control_session::do_accept() {
  auto gen = data_gen_;
  acceptor_->async_accept([self = shared_from_this(), gen](const error_code& ec, tcp::socket s) {
    if (self->stopped_ || gen != self->data_gen_) return;
    if (ec) return;  // the listener was closed; the passive timer reports if need be
    if (address_of(s, false) != self->peer_address_) {
      // Only the control connection's peer may connect (no third party hijacks the data).
      error_code ignored;
      s.close(ignored);
      if (++self->foreign_rejects_ < 8) self->do_accept();
      return;
    }
    error_code ignored;
    self->acceptor_->close(ignored);
    self->acceptor_.reset();
    self->passive_timer_.cancel();
    self->data_.emplace(std::move(s));
    self->data_ready_ = true;
    if (self->xfer_) self->data_connected();
  });
}

void control_session::start_transfer(std::shared_ptr<transfer> x) {
  disarm_idle();
  xfer_ = std::move(x);
  ++xfer_gen_;
  moved_ = 0;
  last_progress_ = 0;
  bytes_offset_ = 0;
  encoder_ = ascii_encoder{};
  decoder_ = ascii_decoder{};
  if (xfer_->fault == transfer::fault_kind::silence) {
    // 150 was sent; now nothing, until ABOR, QUIT or the client leaves.
    passive_timer_.cancel();
    return;
  }
  if (data_ready_) return data_connected();
  if (acceptor_) return;  // the accept handler starts it
  if (active_target_) {
    auto gen = data_gen_;
    data_.emplace(socket_.get_executor());
    data_->async_connect(*active_target_, [self = shared_from_this(), gen](const error_code& ec) {
      if (self->stopped_ || gen != self->data_gen_) return;
      self->passive_timer_.cancel();
      if (ec) {
        self->close_data();
        self->finish_transfer(transfer_result::connect_failed);
        return self->pump();
      }
      self->data_ready_ = true;
      self->data_connected();
    });
    // An unanswered connect gives up after the passive-accept time.
    passive_timer_.expires_after(state_->scaled(state_->cfg.timeouts.passive_accept));
    passive_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
      if (ec || self->stopped_ || gen != self->data_gen_ || self->data_ready_) return;
      self->close_data();
      self->finish_transfer(transfer_result::connect_failed);
      self->pump();
    });
    return;
  }
  finish_transfer(transfer_result::connect_failed);
}

void control_session::data_connected() {
  if (!xfer_ || xfer_->fault == transfer::fault_kind::silence) return;
  xfer_start_ = std::chrono::steady_clock::now();
  if (buf_.size() != transfer_buffer) buf_.resize(transfer_buffer);
  arm_data_idle();
  if (xfer_->what == transfer::kind::receive_file)
    transfer_receive();
  else
    transfer_send();
}

void control_session::arm_data_idle() {
  auto gen = xfer_gen_;
  data_timer_.expires_after(state_->scaled(state_->cfg.timeouts.data_idle));
  data_timer_.async_wait([self = shared_from_this(), gen](const error_code& ec) {
    if (ec || self->stopped_ || gen != self->xfer_gen_ || !self->xfer_) return;
    if (self->moved_ != self->last_progress_) {
      self->last_progress_ = self->moved_;
      return self->arm_data_idle();
    }
    self->close_data();
    self->finish_transfer(transfer_result::data_timeout);
    self->pump();
  });
}

void control_session::pace(std::size_t n, std::function<void()> next) {
  auto& x = *xfer_;
  if (x.bytes_per_second == 0 && x.latency.count() == 0) return next();  // the common case
  auto due = std::chrono::steady_clock::now();
  (void)n;
  if (x.bytes_per_second > 0)
    due = xfer_start_ + std::chrono::microseconds(moved_ * 1000000 / x.bytes_per_second);
  if (x.latency.count() > 0)
    due = std::max(due, std::chrono::steady_clock::now() + state_->scaled(x.latency));
  if (due <= std::chrono::steady_clock::now()) return next();
  auto gen = xfer_gen_;
  pace_timer_.expires_at(due);
  pace_timer_.async_wait(
      [self = shared_from_this(), gen, next = std::move(next)](const error_code& ec) {
        if (ec || self->stopped_ || gen != self->xfer_gen_) return;
        next();
      });
}

void control_session::transfer_sendfile() {
  // Binary file, no shaping or drop: the kernel copies file to socket (as pyftpdlib does).
  // A bounded burst per turn keeps other sessions served, then wait until writable again.
  auto& x = *xfer_;
  error_code ec;
  if (!data_->non_blocking()) data_->non_blocking(true, ec);
  for (int burst = 0; burst < 16; ++burst) {
    auto n = ::sendfile(data_->native_handle(), x.file.get(), nullptr, transfer_buffer * 4);
    if (n > 0) {
      moved_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) {
      data_->shutdown(tcp::socket::shutdown_send, ec);
      close_data();
      finish_transfer(transfer_result::ok);
      return pump();
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    const bool peer = errno == EPIPE || errno == ECONNRESET;
    close_data();
    finish_transfer(peer ? transfer_result::peer_closed : transfer_result::local_error);
    return pump();
  }
  data_->async_wait(tcp::socket::wait_write,
                    [self = shared_from_this(), gen = xfer_gen_](const error_code& e) {
                      if (self->stopped_ || gen != self->xfer_gen_ || !self->data_) return;
                      if (e) {
                        self->close_data();
                        self->finish_transfer(transfer_result::peer_closed);
                        return self->pump();
                      }
                      self->transfer_sendfile();
                    });
}

void control_session::transfer_send() {
  auto& x = *xfer_;
  if (x.what == transfer::kind::send_file && !x.ascii && x.fault == transfer::fault_kind::none &&
      x.bytes_per_second == 0 && x.latency.count() == 0)
    return transfer_sendfile();
  // Fill `out_` with the next slice: file bytes or the listing, converted for TYPE A. With a
  // bandwidth limit a slice is about a tenth of a second's worth, so pacing stays smooth.
  std::size_t want = buf_.size();
  if (x.bytes_per_second > 0)
    want = std::min<std::size_t>(want, std::max<std::uint64_t>(1, x.bytes_per_second / 10));
  out_.clear();
  if (x.what == transfer::kind::send_bytes) {
    std::size_t n = std::min(want, x.bytes.size() - bytes_offset_);
    out_.assign(x.bytes, bytes_offset_, n);
    bytes_offset_ += n;
  } else {
    auto got = ::read(x.file.get(), buf_.data(), want);
    if (got < 0) {
      close_data();
      finish_transfer(transfer_result::local_error);
      return pump();
    }
    if (x.ascii)
      encoder_.encode(std::string_view(buf_.data(), static_cast<std::size_t>(got)), out_);
    else
      out_.assign(buf_.data(), static_cast<std::size_t>(got));
  }
  if (out_.empty()) {
    // All sent: a clean close tells the client the file ended.
    error_code ec;
    data_->shutdown(tcp::socket::shutdown_send, ec);
    close_data();
    finish_transfer(transfer_result::ok);
    return pump();
  }
  bool drop = false;
  if (x.fault == transfer::fault_kind::drop && moved_ + out_.size() >= x.drop_after) {
    out_.resize(x.drop_after - moved_);  // the rest of this slice is never sent
    drop = true;
  }
  auto write = [self = shared_from_this(), drop, gen = xfer_gen_] {
    if (gen != self->xfer_gen_ || !self->data_) return;
    asio::async_write(*self->data_, asio::buffer(self->out_),
                      [self, drop, gen](const error_code& ec, std::size_t n) {
                        if (self->stopped_ || gen != self->xfer_gen_) return;
                        self->moved_ += n;
                        if (ec) {
                          self->close_data();
                          self->finish_transfer(transfer_result::peer_closed);
                          return self->pump();
                        }
                        if (drop) {
                          self->close_data();
                          self->finish_transfer(transfer_result::dropped);
                          return self->pump();
                        }
                        self->transfer_send();
                      });
  };
  pace(out_.size(), std::move(write));
}

void control_session::transfer_receive() {
  auto& x = *xfer_;
  std::size_t want = buf_.size();
  if (x.bytes_per_second > 0)
    want = std::min<std::size_t>(want, std::max<std::uint64_t>(1, x.bytes_per_second / 10));
  if (x.fault == transfer::fault_kind::drop) {
    if (moved_ >= x.drop_after) {
      close_data();
      finish_transfer(transfer_result::dropped);
      return pump();
    }
    want = std::min<std::size_t>(want, x.drop_after - moved_);
  }
  auto read = [self = shared_from_this(), want, gen = xfer_gen_] {
    if (gen != self->xfer_gen_ || !self->data_) return;
    self->data_->async_read_some(
        asio::buffer(self->buf_.data(), want), [self, gen](const error_code& ec, std::size_t n) {
          if (self->stopped_ || gen != self->xfer_gen_) return;
          auto& xf = *self->xfer_;
          if (n > 0) {
            self->moved_ += n;
            std::string_view chunk(self->buf_.data(), n);
            std::string converted;
            if (xf.ascii) {
              self->decoder_.decode(chunk, converted);
              chunk = converted;
            }
            while (!chunk.empty()) {
              auto w = ::write(xf.file.get(), chunk.data(), chunk.size());
              if (w <= 0) {
                self->close_data();
                self->finish_transfer(transfer_result::local_error);
                return self->pump();
              }
              chunk.remove_prefix(static_cast<std::size_t>(w));
            }
          }
          if (ec == asio::error::eof) {
            if (xf.ascii) {
              std::string tail;
              self->decoder_.finish(tail);
              if (!tail.empty() && ::write(xf.file.get(), tail.data(), tail.size()) < 0) {
                self->close_data();
                self->finish_transfer(transfer_result::local_error);
                return self->pump();
              }
            }
            self->close_data();
            self->finish_transfer(transfer_result::ok);
            return self->pump();
          }
          if (ec) {
            self->close_data();
            self->finish_transfer(transfer_result::peer_closed);
            return self->pump();
          }
          self->transfer_receive();
        });
  };
  pace(0, std::move(read));
}

void control_session::finish_transfer(transfer_result r) {
  auto bytes = moved_;
  ++xfer_gen_;
  data_timer_.cancel();
  pace_timer_.cancel();
  xfer_.reset();  // closes the file, releases its lock
  push_back(core_.transfer_done(r, bytes));
  if (!core_.busy()) arm_idle();
}

}  // namespace quecsim::ftpd
