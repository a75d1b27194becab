#include "quecsim/ftp/client.hpp"

#include "quecsim/ftp/errors.hpp"

#include <boost/asio/post.hpp>

#include <charconv>

// The flow of one transfer (retrieve shown; store is the same with write/finish_upload):
//
//   TYPE ─▶ PASV ─▶ connect data ─┐                      ┌─▶ data eof ─┐
//        └▶ listen ─▶ PORT ───────┴▶ [REST] ─▶ RETR ─▶ 1xx + data up ─▶ on_open ─┤
//                                                                    └─▶ final 2xx ─┴▶ done
//
// The final reply and the end of the data may come in either order; the transfer ends when
// both have. An error reply or a data failure ends it at once.

namespace quecsim::ftp {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t data_chunk = std::size_t{16} * 1024;
}

client::client(asio::io_context& io, net::network& net, events::bus& bus, const quecsim::clock& clk,
               int module_id)
    : io_(io),
      net_(net),
      bus_(bus),
      clock_(clk),
      module_(module_id),
      reply_timer_(io),
      data_timer_(io) {}

client::~client() {
  if (ctrl_) ctrl_->close();
  if (data_) data_->close();
  if (listener_) listener_->close();
}

void client::publish(events::kind k, std::string_view text) const {
  if (!bus_.active()) return;
  bus_.publish(events::event{k, module_, "ftp", text});
}

// ---------------------------------------------------------------------------------------
// Operation bookkeeping

bool client::begin(done& d, bool needs_session) {
  if (op_running_) {
    asio::post(io_, [d = std::move(d)] { d({error::busy, 0}); });
    return false;
  }
  if (needs_session && state_ != state::ready) {
    // Nothing to send the command over: as the manual puts it, failed to send (-5).
    asio::post(io_, [d = std::move(d)] { d({error::network, 0}); });
    return false;
  }
  op_running_ = true;
  op_done_ = std::move(d);
  return true;
}

void client::finish(result r) {
  if (!op_running_) return;
  op_running_ = false;
  on_reply_ = nullptr;
  reply_timer_.cancel();
  drop_data();
  if (state_ == state::closing) state_ = state::closed;
  auto d = std::move(op_done_);
  op_done_ = nullptr;
  if (!d) return;
  asio::post(io_, [self = shared_from_this(), d = std::move(d), r, gen = gen_] {
    if (gen == self->gen_) d(r);
  });
}

void client::fail(int code) {
  if (state_ == state::closing) {
    // close() always ends closed and with 0, whatever the server did meanwhile.
    drop_control();
    return finish({0, 0});
  }
  // A timeout leaves the control connection out of step with the server (a late reply would
  // answer the next command); after -6 and -8 it is gone anyway. Dropping it now also keeps
  // its own failure from being reported a second time as unsolicited.
  if (code == error::timeout || code == error::control_closed || code == error::context_down)
    drop_control();
  finish({code, bytes_});
}

void client::drop_control() {
  if (ctrl_) ctrl_->close();
  ctrl_.reset();
  ctrl_out_.clear();
  ctrl_writing_ = false;
  parser_.reset();
  on_reply_ = nullptr;
  reply_timer_.cancel();
  type_ = 0;
  state_ = state::closed;
}

void client::drop_data() {
  if (data_) data_->close();
  data_.reset();
  if (listener_) listener_->close();
  listener_.reset();
  data_timer_.cancel();
  dir_ = direction::none;
  sink_ = nullptr;
  source_ = nullptr;
  prelim_ = data_connected_ = started_ = data_eof_ = cancelling_ = data_reading_ = false;
  shutting_down_ = false;
  final_.reset();
}

void client::notify_unsolicited(int code) {
  if (!unsolicited_) return;
  asio::post(io_, [self = shared_from_this(), code, gen = gen_] {
    if (gen == self->gen_ && self->unsolicited_) self->unsolicited_(code);
  });
}

void client::abort() {
  ++gen_;
  op_running_ = false;
  op_done_ = nullptr;
  drop_data();
  drop_control();
}

// ---------------------------------------------------------------------------------------
// Timers

void client::arm_reply_timer(clock::duration d) {
  reply_timer_.expires_after(clock_.scaled(d));
  reply_timer_.async_wait([self = shared_from_this(), ctrl = ctrl_](error_code ec) {
    if (ec || ctrl != self->ctrl_ || !self->op_running_) return;
    self->publish(events::kind::info, "reply timeout");
    self->fail(error::timeout);
  });
}

void client::arm_data_timer(clock::duration d) {
  data_timer_.expires_after(clock_.scaled(d));
  data_timer_.async_wait([self = shared_from_this(), ctrl = ctrl_](error_code ec) {
    if (ec || ctrl != self->ctrl_ || !self->op_running_) return;
    self->publish(events::kind::info, "data timeout");
    self->fail(error::timeout);
  });
}

// ---------------------------------------------------------------------------------------
// Control connection

void client::send(const std::string& line) {
  if (line.rfind("PASS ", 0) == 0)
    publish(events::kind::ftp_tx, "PASS ****");
  else
    publish(events::kind::ftp_tx, line);
  ctrl_out_.push_back(line + "\r\n");
  do_ctrl_write();
}

void client::do_ctrl_write() {
  if (ctrl_writing_ || ctrl_out_.empty() || !ctrl_) return;
  ctrl_writing_ = true;
  ctrl_->async_write(asio::buffer(ctrl_out_.front()),
                     [self = shared_from_this(), ctrl = ctrl_](error_code ec, std::size_t) {
                       if (ctrl != self->ctrl_) return;
                       self->on_ctrl_write(ec);
                     });
}

void client::on_ctrl_write(error_code ec) {
  ctrl_writing_ = false;
  // A failed write shows up on the read side too, which reports it once.
  if (ec) return;
  ctrl_out_.pop_front();
  do_ctrl_write();
}

void client::expect(reply_handler h, bool timed) {
  on_reply_ = std::move(h);
  if (timed)
    arm_reply_timer(timeouts_.reply);
  else
    reply_timer_.cancel();
}

void client::command(const std::string& line, reply_handler h) {
  send(line);
  expect(std::move(h));
}

void client::do_ctrl_read() {
  if (!ctrl_) return;
  ctrl_->async_read_some(asio::buffer(ctrl_buf_),
                         [self = shared_from_this(), ctrl = ctrl_](error_code ec, std::size_t n) {
                           if (ctrl != self->ctrl_) return;
                           self->on_ctrl_read(ec, n);
                         });
}

void client::on_ctrl_read(error_code ec, std::size_t n) {
  if (ec) return on_ctrl_error(ec);
  const auto ctrl = ctrl_;
  parser_.feed(std::string_view(ctrl_buf_.data(), n));
  while (auto r = parser_.next()) {
    for (const auto& line : r->lines) publish(events::kind::ftp_rx, line);
    handle_reply(*r);
    if (ctrl != ctrl_) return;  // the handler dropped the connection
  }
  do_ctrl_read();
}

void client::on_ctrl_error(error_code ec) {
  const int code = from_network(ec, false);
  publish(events::kind::info, "control connection: " + ec.message());
  const bool was_ready = state_ == state::ready;
  const bool closing = state_ == state::closing;
  drop_control();
  if (op_running_) {
    // The server closing after QUIT is what close() asked for.
    if (closing) return finish({0, 0});
    return finish({code, bytes_});
  }
  if (was_ready) notify_unsolicited(code);
}

void client::handle_reply(const reply& r) {
  if (on_reply_) {
    auto h = std::move(on_reply_);
    on_reply_ = nullptr;
    reply_timer_.cancel();
    h(r);
    return;
  }
  if (r.code == 421) {
    if (op_running_) return fail(from_reply(r.code));
    return notify_unsolicited(from_reply(r.code));
  }
  publish(events::kind::warning, "unexpected reply ignored");
}

// ---------------------------------------------------------------------------------------
// Open and login

void client::open(open_options options, done d) {
  if (state_ != state::closed && !op_running_) {
    // Already open: the FTP service is busy with a session.
    asio::post(io_, [d = std::move(d)] { d({error::busy, 0}); });
    return;
  }
  if (!begin(d, false)) return;
  open_ = std::move(options);
  bytes_ = 0;
  state_ = state::connecting;
  parser_.reset();
  type_ = 0;
  // The role goes with the connect, so connect faults aimed at the control connection apply.
  ctrl_ = net_.connect(
      open_.host, open_.port,
      [self = shared_from_this(), gen = gen_](error_code ec) {
        if (gen != self->gen_) return;
        self->on_connected(ec);
      },
      "ftp-control");
  arm_reply_timer(timeouts_.connect);
}

void client::on_connected(error_code ec) {
  if (state_ != state::connecting) return;
  if (ec) {
    drop_control();
    return finish({from_network(ec, false), 0});
  }
  do_ctrl_read();
  expect([this](const reply& r) { on_greeting(r); });
}

void client::on_greeting(const reply& r) {
  // A 120 ("ready in nnn minutes") precedes the 220: wait on through preliminary replies.
  if (r.kind() == 1) return expect([this](const reply& r2) { on_greeting(r2); });
  if (r.kind() != 2) {
    drop_control();
    return finish({from_reply(r.code), 0});
  }
  login();
}

void client::login() {
  const bool anonymous = open_.user.empty();
  const std::string user = anonymous ? "anonymous" : open_.user;
  const std::string pass = anonymous && open_.password.empty() ? "quecsim@" : open_.password;
  auto logged_in = [this](const reply& r) {
    if (r.kind() == 2) {
      state_ = state::ready;
      return finish({0, 0});
    }
    const int code = r.code == 332 ? -532 : from_reply(r.code);
    drop_control();
    finish({code, 0});
  };
  command("USER " + user, [this, pass, logged_in](const reply& r) {
    if (r.code == 331) return command("PASS " + pass, logged_in);
    logged_in(r);
  });
}

// ---------------------------------------------------------------------------------------
// Simple commands

void client::simple(const std::string& line, done d) {
  if (!begin(d, true)) return;
  bytes_ = 0;
  command(line, [this](const reply& r) { finish({r.kind() == 2 ? 0 : from_reply(r.code), 0}); });
}

void client::cwd(std::string path, done d) {
  simple("CWD " + std::move(path), std::move(d));
}
void client::remove(std::string name, done d) {
  simple("DELE " + std::move(name), std::move(d));
}
void client::make_dir(std::string path, done d) {
  simple("MKD " + std::move(path), std::move(d));
}
void client::remove_dir(std::string path, done d) {
  simple("RMD " + std::move(path), std::move(d));
}

void client::rename(std::string from, std::string to, done d) {
  if (!begin(d, true)) return;
  bytes_ = 0;
  command("RNFR " + std::move(from), [this, to = std::move(to)](const reply& r) {
    if (r.code != 350) return finish({from_reply(r.code), 0});
    command("RNTO " + to, [this](const reply& r2) {
      finish({r2.kind() == 2 ? 0 : from_reply(r2.code), 0});
    });
  });
}

void client::ensure_type(char type, const std::function<void()>& next) {
  if (type_ == type) return next();
  command(std::string("TYPE ") + type, [this, type, next](const reply& r) {
    if (r.kind() != 2) return finish({from_reply(r.code), 0});
    type_ = type;
    next();
  });
}

void client::size(std::string name, done d) {
  if (!begin(d, true)) return;
  bytes_ = 0;
  ensure_type('I', [this, name = std::move(name)] {
    command("SIZE " + name, [this](const reply& r) {
      if (r.code != 213) return finish({from_reply(r.code), 0});
      const std::string text = r.text();
      std::uint64_t value = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || p == text.data()) return finish({error::unknown, 0});
      finish({0, value});
    });
  });
}

// ---------------------------------------------------------------------------------------
// Transfers

void client::retrieve(std::string name, transfer_options options, download_sink& sink, done d) {
  if (!begin(d, true)) return;
  dir_ = direction::download;
  sink_ = &sink;
  start_transfer("RETR", std::move(name), options);
}

void client::store(std::string name, transfer_options options, upload_source& source, done d) {
  if (!begin(d, true)) return;
  dir_ = direction::upload;
  source_ = &source;
  start_transfer("STOR", std::move(name), options);
}

void client::start_transfer(const std::string& verb, std::string name, transfer_options options) {
  bytes_ = 0;
  ensure_type(options.binary ? 'I' : 'A', [this, verb, name = std::move(name), options] {
    open_data_passive_ = options.passive;
    open_data([this, verb, name, options] {
      auto go = [this, verb, name] {
        command(verb + " " + name, [this](const reply& r) {
          if (r.kind() != 1) {
            // A 2xx without a 1xx is not a transfer; anything else is the server's refusal.
            return finish({r.kind() == 2 ? error::unknown : from_reply(r.code), 0});
          }
          prelim_ = true;
          expect([this](const reply& fin) { on_final_reply(fin); }, false);
          if (!data_connected_) arm_data_timer(timeouts_.connect);  // active: awaiting accept
          maybe_start();
        });
      };
      if (options.offset == 0) return go();
      command("REST " + std::to_string(options.offset), [this, go](const reply& r) {
        if (r.code != 350) return finish({from_reply(r.code), 0});
        go();
      });
    });
  });
}

void client::open_data(const std::function<void()>& next) {
  if (open_data_passive_) {
    // PASV can only name IPv4 addresses; over IPv6 (system mode, "localhost") ask EPSV.
    const bool v6 = ctrl_->remote_endpoint().address().is_v6();
    command(v6 ? "EPSV" : "PASV", [this, next, v6](const reply& r) {
      if (r.code != (v6 ? 229 : 227)) return finish({from_reply(r.code), 0});
      std::string address;
      unsigned port = 0;
      const bool parsed = v6 ? parse_epsv(r.text(), port) : parse_pasv(r.text(), address, port);
      if (!parsed) return finish({error::unknown, 0});
      // Connect to the control connection's peer, not the address in the reply: servers
      // behind NAT announce addresses the module cannot reach (curl does the same).
      const auto peer = ctrl_->remote_endpoint().address();
      arm_data_timer(timeouts_.connect);
      data_ = net_.connect(
          asio::ip::tcp::endpoint(peer, static_cast<std::uint16_t>(port)),
          [self = shared_from_this(), next](error_code ec) {
            if (!self->op_running_) return;
            if (ec) {
              if (ec == asio::error::operation_aborted) return;
              // The module could not open the data connection: -425.
              return self->fail(from_network(ec, false) == error::context_down ? error::context_down
                                                                               : -425);
            }
            self->data_timer_.cancel();
            self->data_connected_ = true;
            next();
          },
          "ftp-data");
    });
    return;
  }
  error_code ec;
  listener_ = net_.listen(ec);
  if (ec) return finish({from_network(ec, false), 0});
  // Announce where the module listens (the network's listen address), not the control
  // connection's local address: only the former accepts.
  const auto local = listener_->local_endpoint().address();
  if (!local.is_v4()) return finish({error::network, 0});
  auto l = listener_;
  l->async_accept(
      [self = shared_from_this(), l](error_code ec, std::shared_ptr<net::connection> c) {
        if (l != self->listener_ || !self->op_running_) {
          if (c) c->close();
          return;
        }
        self->listener_->close();
        self->listener_.reset();
        if (ec) return self->fail(from_network(ec, true));
        self->data_ = std::move(c);
        self->data_timer_.cancel();
        self->data_connected_ = true;
        self->data_->set_role("ftp-data");
        self->maybe_start();
      });
  command("PORT " + format_port(local.to_string(), listener_->local_endpoint().port()),
          [this, next](const reply& r) {
            if (r.kind() != 2) return finish({from_reply(r.code), 0});
            next();
          });
}

void client::maybe_start() {
  if (!prelim_ || !data_connected_ || started_) return;
  started_ = true;
  if (dir_ == direction::download) {
    data_buf_.resize(data_chunk);
    sink_->on_open();
    if (!op_running_) return;  // the sink gave up inside on_open
    do_data_read();
  } else {
    source_->on_open();
  }
}

void client::do_data_read() {
  if (!data_ || data_eof_ || data_reading_) return;  // a second ready() is harmless
  data_reading_ = true;
  arm_data_timer(timeouts_.data);
  data_->async_read_some(asio::buffer(data_buf_),
                         [self = shared_from_this(), data = data_](error_code ec, std::size_t n) {
                           if (data != self->data_) return;
                           self->on_data_read(ec, n);
                         });
}

void client::on_data_read(error_code ec, std::size_t n) {
  data_reading_ = false;
  data_timer_.cancel();
  if (ec == asio::error::eof) {
    data_eof_ = true;
    data_->close();
    return maybe_finish_transfer();
  }
  if (ec) return fail(from_network(ec, true));
  bytes_ += n;
  if (bus_.active()) {
    bus_.publish({events::kind::data_bytes, module_, "ftp", {}, events::bytes_moved{false, n}});
  }
  // The sink decides when the next read happens: that is the backpressure.
  auto data = data_;
  sink_->on_data(data_buf_.data(), n, [self = shared_from_this(), data] {
    if (data != self->data_ || !self->op_running_) return;
    self->do_data_read();
  });
}

void client::write(const char* bytes, std::size_t n, written w) {
  if (!op_running_ || dir_ != direction::upload || !started_ || !data_ || data_eof_ ||
      shutting_down_) {
    asio::post(io_, [w = std::move(w)] { w(error::unknown); });
    return;
  }
  arm_data_timer(timeouts_.data);
  auto data = data_;
  data_->async_write(asio::buffer(bytes, n), [self = shared_from_this(), data, gen = gen_,
                                              w = std::move(w)](error_code ec, std::size_t moved) {
    if (gen != self->gen_) return;  // aborted: no callbacks
    if (data != self->data_ || !self->op_running_) return w(error::unknown);
    self->data_timer_.cancel();
    if (ec) {
      const int code = from_network(ec, true);
      self->fail(code);
      return w(code);
    }
    self->bytes_ += moved;
    if (self->bus_.active()) {
      self->bus_.publish(
          {events::kind::data_bytes, self->module_, "ftp", {}, events::bytes_moved{true, moved}});
    }
    w(0);
  });
}

void client::finish_upload() {
  if (!op_running_ || dir_ != direction::upload || !data_ || data_eof_ || shutting_down_) return;
  shutting_down_ = true;
  arm_data_timer(timeouts_.data);
  auto data = data_;
  data_->async_shutdown_send([self = shared_from_this(), data](error_code ec) {
    if (data != self->data_ || !self->op_running_) return;
    self->data_timer_.cancel();
    if (ec) return self->fail(from_network(ec, true));
    self->data_eof_ = true;
    self->data_->close();
    self->maybe_finish_transfer();
  });
}

void client::cancel_transfer() {
  if (!op_running_ || dir_ == direction::none || !started_ || cancelling_) return;
  cancelling_ = true;
  if (dir_ == direction::upload) {
    // Bytes already taken were counted as sent: let them reach the server, then end the
    // file there (what +++ or the <time> limit of AT+QFTPPUT mean).
    return finish_upload();
  }
  // Forget the connection too, so its aborted read or write is not taken for a failure.
  if (data_) data_->close();
  data_.reset();
  data_eof_ = true;
  maybe_finish_transfer();
}

void client::on_final_reply(const reply& r) {
  if (r.kind() == 1) {  // a stray second preliminary reply: keep waiting
    return expect([this](const reply& fin) { on_final_reply(fin); }, data_eof_);
  }
  if (r.kind() != 2 && !(dir_ == direction::download && data_ && !data_eof_ && !cancelling_)) {
    return fail(from_reply(r.code));
  }
  // A download's bytes may still be on their way when the reply overtakes them (a server that
  // drops the data connection sends 426 right after): what was sent is delivered first, and
  // the error reported once the data connection has ended.
  final_ = r;
  maybe_finish_transfer();
}

void client::maybe_finish_transfer() {
  if (!data_eof_) return;
  if (final_) return finish({final_->kind() == 2 ? 0 : from_reply(final_->code), bytes_});
  // The data ended; the server's verdict is due within a reply timeout.
  if (on_reply_) arm_reply_timer(timeouts_.reply);
}

// ---------------------------------------------------------------------------------------
// Close

void client::close(done d) {
  if (op_running_) {
    if (state_ == state::closing) {
      // A close already runs; this one has nothing more to do.
      asio::post(io_, [d = std::move(d)] { d({0, 0}); });
      return;
    }
    const bool connecting = state_ == state::connecting;
    finish({error::unknown, bytes_});
    if (connecting) drop_control();
  }
  if (state_ != state::ready) {
    drop_control();
    asio::post(io_, [self = shared_from_this(), d = std::move(d), gen = gen_] {
      if (gen == self->gen_) d({0, 0});
    });
    return;
  }
  begin(d, false);
  state_ = state::closing;
  command("QUIT", [this](const reply&) {
    drop_control();
    finish({0, 0});
  });
}

}  // namespace quecsim::ftp
