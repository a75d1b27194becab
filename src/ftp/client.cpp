#include "quecsim/ftp/client.hpp"

#include "quecsim/ftp/commands.hpp"
#include "quecsim/ftp/errors.hpp"

#include <boost/asio/post.hpp>

// The driver of the operations of operations.hpp: it runs what an operation asks (a line to
// send, a connect, a listen, the data to move, a deadline) over `net` and the clock, and
// feeds back what happened. What is sent, when, and which code ends an operation is decided
// there, not here.

namespace quecsim::ftp {

namespace asio = boost::asio;
using boost::system::error_code;
using ev = op_event::kind;

namespace {
constexpr std::size_t data_chunk = std::size_t{16} * 1024;

op_event event_of(ev what, error_code ec = {}) {
  op_event e;
  e.what = what;
  e.ec = ec;
  return e;
}
}  // namespace

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
  if (op_) {
    asio::post(io_, [d = std::move(d)] { d({error::busy, 0}); });
    return false;
  }
  if (needs_session && state_ != state::ready) {
    // Nothing to send the command over: as the manual puts it, failed to send (-5).
    asio::post(io_, [d = std::move(d)] { d({error::network, 0}); });
    return false;
  }
  op_done_ = std::move(d);
  return true;
}

void client::run(std::unique_ptr<operation> op) {
  ++op_seq_;
  op_ = std::move(op);
  feed(event_of(ev::start));
}

void client::feed(const op_event& e) {
  if (!op_) return;
  perform(op_->resume(e));
}

void client::perform(const op_step& s) {
  if (s.what == op_step::kind::done) {
    if (s.drop_control) drop_control();
    if (s.logged_in) state_ = state::ready;
    return finish(s.res);
  }
  if (s.ignored) publish(events::kind::warning, "unexpected reply ignored");
  set_deadline(reply_timer_, s.reply_timer, false);
  set_deadline(data_timer_, s.data_timer, true);
  switch (s.what) {
    case op_step::kind::connect:
      return connect_control(s.host, s.port);
    case op_step::kind::send:
      return send(s.line);
    case op_step::kind::connect_data:
      return connect_data(s.port);
    case op_step::kind::listen:
      return listen();
    case op_step::kind::start_data:
      return start_data();
    case op_step::kind::wait:
    case op_step::kind::done:
      return;
  }
}

void client::set_deadline(asio::steady_timer& t, deadline d, bool data) {
  clock::duration after{};
  switch (d) {
    case deadline::keep:
      return;
    case deadline::cancel:
      t.cancel();
      return;
    case deadline::connect:
      after = timeouts_.connect;
      break;
    case deadline::reply:
      after = timeouts_.reply;
      break;
    case deadline::data:
      after = timeouts_.data;
      break;
  }
  t.expires_after(clock_.scaled(after));
  t.async_wait([self = shared_from_this(), seq = op_seq_, data](error_code ec) {
    if (ec || seq != self->op_seq_ || !self->op_) return;
    self->publish(events::kind::info, data ? "data timeout" : "reply timeout");
    self->feed(event_of(ev::timeout));
  });
}

void client::finish(result r) {
  if (!op_) return;
  op_.reset();
  transfer_ = nullptr;
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

void client::drop_control() {
  if (ctrl_) ctrl_->close();
  ctrl_.reset();
  ctrl_out_.clear();
  ctrl_writing_ = false;
  parser_.reset();
  reply_timer_.cancel();
  session_ = {};
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
  data_reading_ = shutting_down_ = false;
}

void client::notify_unsolicited(int code) {
  if (!unsolicited_) return;
  asio::post(io_, [self = shared_from_this(), code, gen = gen_] {
    if (gen == self->gen_ && self->unsolicited_) self->unsolicited_(code);
  });
}

void client::abort() {
  ++gen_;
  op_.reset();
  transfer_ = nullptr;
  op_done_ = nullptr;
  drop_data();
  drop_control();
}

// ---------------------------------------------------------------------------------------
// Control connection

void client::connect_control(const std::string& host, std::uint16_t port) {
  // The role goes with the connect, so connect faults aimed at the control connection apply.
  ctrl_ = net_.connect(
      host, port,
      [self = shared_from_this(), gen = gen_](error_code ec) {
        if (gen != self->gen_) return;
        self->on_connected(ec);
      },
      "ftp-control");
}

void client::on_connected(error_code ec) {
  if (state_ != state::connecting) return;
  if (!ec) do_ctrl_read();
  feed(event_of(ev::connected, ec));
}

void client::send(const std::string& line) {
  publish(events::kind::ftp_tx, commands::is_pass(line) ? "PASS ****" : line);
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
    if (ctrl != ctrl_) return;  // the operation dropped the connection
  }
  do_ctrl_read();
}

void client::on_ctrl_error(error_code ec) {
  const int code = from_network(ec, false);
  publish(events::kind::info, "control connection: " + ec.message());
  const bool was_ready = state_ == state::ready;
  drop_control();
  if (op_) return feed(event_of(ev::control_error, ec));
  if (was_ready) notify_unsolicited(code);
}

void client::handle_reply(const reply& r) {
  if (op_) {
    op_event e = event_of(ev::reply);
    e.r = r;
    return feed(e);
  }
  if (r.code == 421) return notify_unsolicited(from_reply(r.code));
  publish(events::kind::warning, "unexpected reply ignored");
}

// ---------------------------------------------------------------------------------------
// Operations

void client::open(open_options options, done d) {
  if (state_ != state::closed && !op_) {
    // Already open: the FTP service is busy with a session.
    asio::post(io_, [d = std::move(d)] { d({error::busy, 0}); });
    return;
  }
  if (!begin(d, false)) return;
  state_ = state::connecting;
  parser_.reset();
  session_ = {};
  run(std::make_unique<open_op>(std::move(options)));
}

void client::cwd(std::string path, done d) {
  if (begin(d, true)) run(std::make_unique<command_op>(commands::cwd(path)));
}
void client::remove(std::string name, done d) {
  if (begin(d, true)) run(std::make_unique<command_op>(commands::dele(name)));
}
void client::make_dir(std::string path, done d) {
  if (begin(d, true)) run(std::make_unique<command_op>(commands::mkd(path)));
}
void client::remove_dir(std::string path, done d) {
  if (begin(d, true)) run(std::make_unique<command_op>(commands::rmd(path)));
}
void client::rename(std::string from, std::string to, done d) {
  if (begin(d, true))
    run(std::make_unique<command_op>(commands::rnfr(from), 350, commands::rnto(to)));
}
void client::size(std::string name, done d) {
  if (begin(d, true)) run(std::make_unique<size_op>(std::move(name), session_));
}

void client::close(done d) {
  if (op_) {
    if (state_ == state::closing) {
      // A close already runs; this one has nothing more to do.
      asio::post(io_, [d = std::move(d)] { d({0, 0}); });
      return;
    }
    const bool connecting = state_ == state::connecting;
    finish({error::unknown, bytes()});
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
  run(std::make_unique<close_op>());
}

// ---------------------------------------------------------------------------------------
// Transfers

void client::retrieve(std::string name, transfer_options options, download_sink& sink, done d) {
  if (!begin(d, true)) return;
  dir_ = direction::download;
  sink_ = &sink;
  transfer(commands::retr, std::move(name), options);
}

void client::store(std::string name, transfer_options options, upload_source& source, done d) {
  if (!begin(d, true)) return;
  dir_ = direction::upload;
  source_ = &source;
  transfer(commands::stor, std::move(name), options);
}

void client::transfer(std::string_view verb, std::string name, transfer_options options) {
  // PASV can only name IPv4 addresses; over IPv6 (system mode, "localhost") EPSV is asked.
  if (options.passive) session_.v6 = ctrl_->remote_endpoint().address().is_v6();
  auto op = std::make_unique<transfer_op>(std::string(verb), std::move(name), options,
                                          dir_ == direction::download, session_);
  transfer_ = op.get();
  run(std::move(op));
}

void client::connect_data(std::uint16_t port) {
  const auto peer = ctrl_->remote_endpoint().address();
  data_ = net_.connect(
      asio::ip::tcp::endpoint(peer, port),
      [self = shared_from_this(), seq = op_seq_](error_code ec) {
        if (!self->op_ || seq != self->op_seq_ || ec == asio::error::operation_aborted) return;
        self->feed(event_of(ev::connected, ec));
      },
      "ftp-data");
}

void client::listen() {
  op_event e = event_of(ev::listened);
  listener_ = net_.listen(e.ec);
  if (!e.ec) {
    const auto local = listener_->local_endpoint();
    e.address = local.address().to_string();
    e.port = local.port();
    auto l = listener_;
    l->async_accept(
        [self = shared_from_this(), l](error_code ec, std::shared_ptr<net::connection> c) {
          if (l != self->listener_ || !self->op_) {
            if (c) c->close();
            return;
          }
          self->listener_->close();
          self->listener_.reset();
          if (!ec) {
            self->data_ = std::move(c);
            self->data_->set_role("ftp-data");
          }
          self->feed(event_of(ev::accepted, ec));
        });
  }
  feed(e);
}

void client::start_data() {
  if (dir_ == direction::download) {
    data_buf_.resize(data_chunk);
    sink_->on_open();
    if (!op_) return;  // the sink gave up inside on_open
    do_data_read();
  } else {
    source_->on_open();
  }
}

void client::do_data_read() {
  // A second ready() is harmless.
  if (!data_ || !transfer_ || transfer_->data_ended() || data_reading_) return;
  data_reading_ = true;
  set_deadline(data_timer_, deadline::data, true);
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
    data_->close();
    return feed(event_of(ev::data_end));
  }
  if (ec) return feed(event_of(ev::data_error, ec));
  op_event moved = event_of(ev::data_moved);
  moved.bytes = n;
  feed(moved);
  if (bus_.active()) {
    bus_.publish({events::kind::data_bytes, module_, "ftp", {}, events::bytes_moved{false, n}});
  }
  // The sink decides when the next read happens: that is the backpressure.
  auto data = data_;
  sink_->on_data(data_buf_.data(), n, [self = shared_from_this(), data] {
    if (data != self->data_ || !self->op_) return;
    self->do_data_read();
  });
}

void client::write(const char* bytes, std::size_t n, written w) {
  if (!op_ || dir_ != direction::upload || !transfer_->started() || !data_ ||
      transfer_->data_ended() || shutting_down_) {
    asio::post(io_, [w = std::move(w)] { w(error::unknown); });
    return;
  }
  set_deadline(data_timer_, deadline::data, true);
  auto data = data_;
  data_->async_write(asio::buffer(bytes, n), [self = shared_from_this(), data, gen = gen_,
                                              w = std::move(w)](error_code ec, std::size_t moved) {
    if (gen != self->gen_) return;  // aborted: no callbacks
    if (data != self->data_ || !self->op_) return w(error::unknown);
    self->data_timer_.cancel();
    if (ec) {
      self->feed(event_of(ev::data_error, ec));
      return w(from_network(ec, true));
    }
    op_event e = event_of(ev::data_moved);
    e.bytes = moved;
    self->feed(e);
    if (self->bus_.active()) {
      self->bus_.publish(
          {events::kind::data_bytes, self->module_, "ftp", {}, events::bytes_moved{true, moved}});
    }
    w(0);
  });
}

void client::finish_upload() {
  if (!op_ || dir_ != direction::upload || !data_ || transfer_->data_ended() || shutting_down_)
    return;
  shutting_down_ = true;
  set_deadline(data_timer_, deadline::data, true);
  auto data = data_;
  data_->async_shutdown_send([self = shared_from_this(), data](error_code ec) {
    if (data != self->data_ || !self->op_) return;
    self->data_timer_.cancel();
    if (ec) return self->feed(event_of(ev::data_error, ec));
    self->data_->close();
    self->feed(event_of(ev::data_end));
  });
}

void client::cancel_transfer() {
  if (!op_ || dir_ == direction::none || !transfer_->started() || transfer_->cancelling()) return;
  if (dir_ == direction::upload) {
    // Bytes already taken were counted as sent: let them reach the server, then end the
    // file there (what +++ or the <time> limit of AT+QFTPPUT mean).
    feed(event_of(ev::cancel));
    return finish_upload();
  }
  // Forget the connection too, so its aborted read is not taken for a failure.
  if (data_) data_->close();
  data_.reset();
  feed(event_of(ev::cancel));
}

}  // namespace quecsim::ftp
