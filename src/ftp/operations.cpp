#include "quecsim/ftp/operations.hpp"

#include "quecsim/ftp/commands.hpp"
#include "quecsim/ftp/errors.hpp"

#include <charconv>

namespace quecsim::ftp {

using kind = op_event::kind;

// ---------------------------------------------------------------------------------------
// operation

op_step operation::resume(const op_event& e) {
  if (finished_) return last_;
  op_step s;
  if (e.what == kind::timeout) {
    s = fail(error::timeout);
  } else if (e.what == kind::control_error) {
    // The connection is gone already: whatever the operation was doing ends with it.
    s = done(always_succeeds() ? result{} : failed(from_network(e.ec, false)), true);
  } else if (e.what == kind::reply && !awaiting_) {
    // A reply nothing asked for: a 421 is the server leaving; anything else is ignored.
    if (e.r.code == 421) {
      s = fail(from_reply(e.r.code));
    } else {
      s.ignored = true;
    }
  } else if (e.what == kind::reply) {
    awaiting_ = false;
    s = on_event(e);
    // The reply came: its deadline ends unless the step asks for the next one.
    if (s.reply_timer == deadline::keep) s.reply_timer = deadline::cancel;
  } else {
    s = on_event(e);
  }
  if (s.what == op_step::kind::done) {
    finished_ = true;
    awaiting_ = false;
    last_ = s;
  }
  return s;
}

op_step operation::send(std::string line) {
  op_step s;
  s.what = op_step::kind::send;
  s.line = std::move(line);
  s.reply_timer = deadline::reply;
  awaiting_ = true;
  return s;
}

op_step operation::expect(bool timed) {
  op_step s;
  s.reply_timer = timed ? deadline::reply : deadline::cancel;
  awaiting_ = true;
  return s;
}

op_step operation::done(result r, bool drop) {
  op_step s;
  s.what = op_step::kind::done;
  s.res = r;
  s.drop_control = drop;
  s.reply_timer = deadline::cancel;
  s.data_timer = deadline::cancel;
  return s;
}

op_step operation::fail(int code) {
  if (always_succeeds()) return done({}, true);
  // A timeout leaves the control connection out of step with the server (a late reply would
  // answer the next command); after -6 and -8 it is gone anyway. Dropping it now also keeps
  // its own failure from being reported a second time as unsolicited.
  const bool drop =
      code == error::timeout || code == error::control_closed || code == error::context_down;
  return done(failed(code), drop);
}

// ---------------------------------------------------------------------------------------
// open_op

op_step open_op::on_event(const op_event& e) {
  switch (phase_) {
    case phase::start: {
      phase_ = phase::connecting;
      op_step s;
      s.what = op_step::kind::connect;
      s.host = options_.host;
      s.port = options_.port;
      s.reply_timer = deadline::connect;
      return s;
    }
    case phase::connecting:
      if (e.what != kind::connected) return {};
      if (e.ec) return done({from_network(e.ec, false), 0}, true);
      phase_ = phase::greeting;
      return expect();
    case phase::greeting:
      if (e.what != kind::reply) return {};
      // A 120 ("ready in nnn minutes") precedes the 220: wait on through preliminary replies.
      if (e.r.kind() == 1) return expect();
      if (e.r.kind() != 2) return done({from_reply(e.r.code), 0}, true);
      phase_ = phase::user;
      return send(commands::user(options_.user.empty() ? "anonymous" : options_.user));
    case phase::user:
      if (e.what != kind::reply) return {};
      if (e.r.code != 331) return logged_in(e.r);
      phase_ = phase::pass;
      return send(commands::pass(
          options_.user.empty() && options_.password.empty() ? "quecsim@" : options_.password));
    case phase::pass:
      if (e.what != kind::reply) return {};
      return logged_in(e.r);
  }
  return {};
}

op_step open_op::logged_in(const reply& r) {
  if (r.kind() == 2) {
    op_step s = done({0, 0});
    s.logged_in = true;
    return s;
  }
  return done({r.code == 332 ? -532 : from_reply(r.code), 0}, true);
}

// ---------------------------------------------------------------------------------------
// command_op

op_step command_op::on_event(const op_event& e) {
  if (sent_ == 0) {
    sent_ = 1;
    return send(first_);
  }
  if (e.what != kind::reply) return {};
  if (sent_ == 1 && !second_.empty()) {
    if (e.r.code != intermediate_) return done({from_reply(e.r.code), 0});
    sent_ = 2;
    return send(second_);
  }
  return done({e.r.kind() == 2 ? 0 : from_reply(e.r.code), 0});
}

// ---------------------------------------------------------------------------------------
// size_op

op_step size_op::on_event(const op_event& e) {
  switch (phase_) {
    case phase::start:
      if (session_.type == 'I') {
        phase_ = phase::size;
        return send(commands::size(name_));
      }
      phase_ = phase::type;
      return send(commands::type('I'));
    case phase::type:
      if (e.what != kind::reply) return {};
      if (e.r.kind() != 2) return done({from_reply(e.r.code), 0});
      session_.type = 'I';
      phase_ = phase::size;
      return send(commands::size(name_));
    case phase::size: {
      if (e.what != kind::reply) return {};
      if (e.r.code != 213) return done({from_reply(e.r.code), 0});
      const std::string text = e.r.text();
      std::uint64_t value = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc() || p == text.data()) return done({error::unknown, 0});
      return done({0, value});
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// transfer_op

op_step transfer_op::on_event(const op_event& e) {
  // Events that may come at any point once the data path is being set up.
  switch (e.what) {
    case kind::accepted:
      return on_accepted(e);
    case kind::data_moved:
      bytes_ += e.bytes;
      return {};
    case kind::data_end:
      data_end_ = true;
      return maybe_finish();
    case kind::data_error:
      return fail(from_network(e.ec, true));
    case kind::cancel:
      cancelling_ = true;
      // A download drops its data connection (the driver did); an upload is ended by the
      // driver closing its sending side, which comes back as data_end.
      if (!download_) return {};
      data_end_ = true;
      return maybe_finish();
    case kind::listened:
      return phase_ == phase::port ? on_listened(e) : op_step{};
    case kind::connected:
      return phase_ == phase::connecting ? on_data_connected(e) : op_step{};
    case kind::reply:
      return on_reply(e.r);
    default:
      return on_start();
  }
}

op_step transfer_op::on_start() {
  if (phase_ != phase::start) return {};
  const char type = options_.binary ? 'I' : 'A';
  if (session_.type == type) return after_type();
  phase_ = phase::type;
  return send(commands::type(type));
}

op_step transfer_op::on_reply(const reply& r) {
  switch (phase_) {
    case phase::type:
      if (r.kind() != 2) return done({from_reply(r.code), 0});
      session_.type = options_.binary ? 'I' : 'A';
      return after_type();
    case phase::pasv:
      return on_pasv(r);
    case phase::port:
      if (r.kind() != 2) return done({from_reply(r.code), 0});
      return after_data_mode();
    case phase::rest:
      if (r.code != 350) return done({from_reply(r.code), 0});
      phase_ = phase::verb;
      return send(commands::with_argument(verb_, name_));
    case phase::verb: {
      if (r.kind() != 1) {
        // A 2xx without a 1xx is not a transfer; anything else is the server's refusal.
        return done({r.kind() == 2 ? error::unknown : from_reply(r.code), 0});
      }
      prelim_ = true;
      phase_ = phase::transfer;
      op_step s = expect(false);
      if (!data_connected_) s.data_timer = deadline::connect;  // active: awaiting accept
      return maybe_start(s);
    }
    case phase::transfer:
      return on_final(r);
    default:
      return {};
  }
}

op_step transfer_op::on_pasv(const reply& r) {
  if (r.code != (session_.v6 ? 229 : 227)) return done({from_reply(r.code), 0});
  std::string address;
  unsigned port = 0;
  const bool parsed =
      session_.v6 ? parse_epsv(r.text(), port) : parse_pasv(r.text(), address, port);
  if (!parsed) return done({error::unknown, 0});
  // Connect to the control connection's peer, not the address in the reply: servers
  // behind NAT announce addresses the module cannot reach (curl does the same).
  phase_ = phase::connecting;
  op_step s;
  s.what = op_step::kind::connect_data;
  s.port = static_cast<std::uint16_t>(port);
  s.data_timer = deadline::connect;
  return s;
}

op_step transfer_op::on_listened(const op_event& e) {
  if (e.ec) return done({from_network(e.ec, false), 0});
  // Announce where the module listens (the network's listen address), not the control
  // connection's local address: only the former accepts. PORT can only name IPv4 addresses.
  if (e.address.empty() || e.address.find(':') != std::string::npos)
    return done({error::network, 0});
  listening_ = true;
  return send(commands::port(e.address, e.port));
}

op_step transfer_op::after_type() {
  if (options_.passive) {
    // PASV can only name IPv4 addresses; over IPv6 (system mode, "localhost") ask EPSV.
    phase_ = phase::pasv;
    return send(session_.v6 ? commands::epsv() : commands::pasv());
  }
  phase_ = phase::port;
  op_step s;
  s.what = op_step::kind::listen;
  return s;
}

op_step transfer_op::after_data_mode() {
  if (options_.offset == 0) {
    phase_ = phase::verb;
    return send(commands::with_argument(verb_, name_));
  }
  phase_ = phase::rest;
  return send(commands::rest(options_.offset));
}

op_step transfer_op::on_data_connected(const op_event& e) {
  if (e.ec) {
    // The module could not open the data connection: -425.
    return fail(from_network(e.ec, false) == error::context_down ? error::context_down : -425);
  }
  data_connected_ = true;
  op_step s = after_data_mode();
  s.data_timer = deadline::cancel;
  return s;
}

op_step transfer_op::on_accepted(const op_event& e) {
  if (!listening_ || data_connected_) return {};
  listening_ = false;
  if (e.ec) return fail(from_network(e.ec, true));
  data_connected_ = true;
  op_step s;
  s.data_timer = deadline::cancel;
  return maybe_start(s);
}

op_step transfer_op::maybe_start(op_step s) {
  if (!prelim_ || !data_connected_ || started_) return s;
  started_ = true;
  s.what = op_step::kind::start_data;
  return s;
}

op_step transfer_op::on_final(const reply& r) {
  if (r.kind() == 1) return expect(data_end_);  // a stray second preliminary reply
  if (r.kind() != 2 && !(download_ && data_connected_ && !data_end_ && !cancelling_)) {
    return fail(from_reply(r.code));
  }
  // A download's bytes may still be on their way when the reply overtakes them (a server that
  // drops the data connection sends 426 right after): what was sent is delivered first, and
  // the error reported once the data connection has ended.
  final_ = r;
  has_final_ = true;
  return maybe_finish();
}

op_step transfer_op::maybe_finish() {
  if (!data_end_) return {};
  if (has_final_) return done({final_.kind() == 2 ? 0 : from_reply(final_.code), bytes_});
  // The data ended; the server's verdict is due within a reply timeout.
  op_step s;
  if (awaiting_reply()) s.reply_timer = deadline::reply;
  return s;
}

// ---------------------------------------------------------------------------------------
// close_op

op_step close_op::on_event(const op_event& e) {
  if (e.what == kind::start) return send(commands::quit());
  if (e.what != kind::reply) return {};
  return done({0, 0}, true);
}

}  // namespace quecsim::ftp
