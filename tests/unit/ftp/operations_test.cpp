// The FTP client's operations without sockets (Boost.MySQL's loop): each operation's exchange
// is scripted (what is fed, what the operation must answer), run once whole, then run again
// failed at every step in turn with each failure that can happen there: an error reply, the
// server's 421, a timeout, the control connection closed by the peer, the packet context
// going down, the data connection refused or reset. Every run must end with the code the
// manual's chapter 3 gives that failure (as the client has always answered it), with the
// operation finished and the control connection dropped where the code says it is gone.

#include "quecsim/ftp/operations.hpp"
#include "quecsim/ftp/commands.hpp"
#include "quecsim/ftp/errors.hpp"
#include "quecsim/net/network.hpp"

#include <boost/asio/error.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace quecsim;
using ftp::op_event;
using ftp::op_step;
using ev = op_event::kind;
namespace error = ftp::error;
using step_kind = op_step::kind;

namespace {

ftp::reply parse_reply(const std::string& line) {
  ftp::reply_parser p;
  p.feed(line + "\r\n");
  auto r = p.next();
  REQUIRE(r);
  return *r;
}

op_event reply_event(const std::string& line) {
  op_event e;
  e.what = ev::reply;
  e.r = parse_reply(line);
  return e;
}

op_event plain(ev what, boost::system::error_code ec = {}) {
  op_event e;
  e.what = what;
  e.ec = ec;
  return e;
}

boost::system::error_code eof() {
  return boost::asio::error::eof;
}
boost::system::error_code reset() {
  return net::make_error_code(net::errc::connection_reset);
}
boost::system::error_code context_down() {
  return net::make_error_code(net::errc::context_down);
}
boost::system::error_code refused() {
  return net::make_error_code(net::errc::connect_failed);
}
boost::system::error_code no_such_host() {
  return net::make_error_code(net::errc::dns_failed);
}

// What the operation must answer to one event.
struct answer {
  step_kind what = step_kind::wait;
  std::string line;  // send
  std::uint16_t port = 0;
  ftp::result res;  // done
};

// One point of an exchange: the event fed there and the answer due.
struct point {
  op_event in;
  answer out;
};

// A failure injected in place of a point's event, and the code it must end the operation with.
struct failure {
  std::string name;
  op_event in;
  int code = 0;
};

using factory = std::function<std::unique_ptr<ftp::operation>(ftp::session&)>;

// The happy path of one operation, written as the exchange reads:
//   script(make).expect_send("USER x").reply("331 ...").expect_send("PASS y")...
class script {
 public:
  script(std::string name, factory make, ftp::session s = {})
      : name_(std::move(name)), make_(std::move(make)), session_(s) {
    points_.push_back({plain(ev::start), {}});
  }

  /// The answer due to the last event fed.
  script& expect_send(std::string line) {
    points_.back().out = {step_kind::send, std::move(line), 0, {}};
    return *this;
  }
  script& expect_connect(std::uint16_t port) {
    points_.back().out = {step_kind::connect, "", port, {}};
    return *this;
  }
  script& expect_connect_data(std::uint16_t port) {
    points_.back().out = {step_kind::connect_data, "", port, {}};
    return *this;
  }
  script& expect_listen() {
    points_.back().out = {step_kind::listen, "", 0, {}};
    return *this;
  }
  script& expect_start_data() {
    points_.back().out = {step_kind::start_data, "", 0, {}};
    return *this;
  }
  script& expect_wait() {
    points_.back().out = {step_kind::wait, "", 0, {}};
    return *this;
  }
  script& expect_done(int code, std::uint64_t value = 0) {
    points_.back().out = {step_kind::done, "", 0, {code, value}};
    return *this;
  }

  /// The next event fed.
  script& reply(const std::string& line) { return feed(reply_event(line)); }
  script& connected() { return feed(plain(ev::connected)); }
  script& accepted() { return feed(plain(ev::accepted)); }
  script& data_end() { return feed(plain(ev::data_end)); }
  script& listened(std::string address, std::uint16_t port) {
    op_event e = plain(ev::listened);
    e.address = std::move(address);
    e.port = port;
    return feed(e);
  }
  script& moved(std::uint64_t n) {
    op_event e = plain(ev::data_moved);
    e.bytes = n;
    return feed(e);
  }

  /// Whether data is flowing after point `i` (the transfer's data phase).
  bool data_phase(std::size_t i) const {
    for (std::size_t k = 0; k < i; ++k)
      if (points_[k].out.what == step_kind::start_data) return true;
    return false;
  }

  const std::string& name() const { return name_; }
  const std::vector<point>& points() const { return points_; }
  std::unique_ptr<ftp::operation> make(ftp::session& s) const { return make_(s); }
  ftp::session initial_session() const { return session_; }

 private:
  script& feed(op_event e) {
    points_.push_back({std::move(e), {}});
    return *this;
  }

  std::string name_;
  factory make_;
  ftp::session session_;
  std::vector<point> points_;
};

void check_answer(const op_step& got, const answer& want, const std::string& where) {
  INFO(where);
  REQUIRE(got.what == want.what);
  if (want.what == step_kind::send) CHECK(got.line == want.line);
  if (want.what == step_kind::connect || want.what == step_kind::connect_data)
    CHECK(got.port == want.port);
  if (want.what == step_kind::done) {
    CHECK(got.res.code == want.res.code);
    CHECK(got.res.value == want.res.value);
  }
}

// Runs the whole exchange; returns the result.
void run_whole(const script& sc) {
  ftp::session s = sc.initial_session();
  auto op = sc.make(s);
  const auto& pts = sc.points();
  for (std::size_t i = 0; i < pts.size(); ++i) {
    check_answer(op->resume(pts[i].in), pts[i].out, sc.name() + " step " + std::to_string(i));
  }
  CHECK(op->finished());
}

// The failures that can replace the event at point `i`, with the code each must give.
std::vector<failure> failures_at(const script& sc, std::size_t i, bool always_zero) {
  const op_event& in = sc.points()[i].in;
  const bool control_up =
      !(in.what == ev::connected && i == 1 && sc.points()[0].out.what == step_kind::connect);
  std::vector<failure> out;
  out.push_back({"timeout", plain(ev::timeout), error::timeout});
  if (control_up) {
    out.push_back({"server closes the control connection", plain(ev::control_error, eof()),
                   error::control_closed});
    out.push_back({"packet context goes down", plain(ev::control_error, context_down()),
                   error::context_down});
    out.push_back({"421 instead", reply_event("421 Service not available"), -421});
  }
  if (in.what == ev::reply) {
    out.push_back({"550 instead", reply_event("550 Refused"), -550});
    out.push_back({"451 instead", reply_event("451 Local error"), -450});
    out.push_back({"530 instead", reply_event("530 Not logged in"), -530});
  }
  if (in.what == ev::connected && !control_up) {
    out.push_back({"connect refused", plain(ev::connected, refused()), error::network});
    out.push_back({"host unknown", plain(ev::connected, no_such_host()), error::dns});
  } else if (in.what == ev::connected) {
    out.push_back({"data connect refused", plain(ev::connected, refused()), -425});
    out.push_back({"context down on data connect", plain(ev::connected, context_down()),
                   error::context_down});
  }
  if (in.what == ev::listened) {
    op_event e = plain(ev::listened, context_down());
    out.push_back({"listen fails", e, error::context_down});
  }
  if (in.what == ev::accepted)
    out.push_back({"accept fails", plain(ev::accepted, reset()), error::data_closed});
  if (sc.data_phase(i) && (in.what == ev::data_moved || in.what == ev::data_end))
    out.push_back({"data connection reset", plain(ev::data_error, reset()), error::data_closed});
  if (always_zero)
    for (auto& f : out) f.code = 0;
  return out;
}

// The MySQL loop: for every point after the start, replay up to it, inject each failure
// there, and check the ending. A download whose data is still flowing when an error reply
// comes delivers the data first: the ending comes with the data's end.
void fail_every_step(const script& sc, bool always_zero = false) {
  run_whole(sc);
  const auto& pts = sc.points();
  std::size_t failure_cases = 0;
  for (std::size_t i = 1; i < pts.size(); ++i) {
    for (const auto& f : failures_at(sc, i, always_zero)) {
      ++failure_cases;
      const std::string where = sc.name() + ": " + f.name + " at step " + std::to_string(i) +
                                " of " + std::to_string(pts.size() - 1);
      INFO(where);
      ftp::session s = sc.initial_session();
      auto op = sc.make(s);
      for (std::size_t k = 0; k < i; ++k) op->resume(pts[k].in);
      REQUIRE_FALSE(op->finished());
      op_step got = op->resume(f.in);
      if (!op->finished()) {
        // Only a download's error reply waits, for the data it overtook.
        CHECK(f.in.what == ev::reply);
        CHECK(sc.data_phase(i));
        got = op->resume(plain(ev::data_end));
      }
      REQUIRE(op->finished());
      REQUIRE(got.what == step_kind::done);
      CHECK(got.res.code == f.code);
      CHECK_FALSE(op->awaiting_reply());
      if (f.in.what == ev::timeout || f.in.what == ev::control_error) CHECK(got.drop_control);
      // Finished stays finished: later events change nothing.
      const op_step again = op->resume(reply_event("226 late"));
      CHECK(again.what == step_kind::done);
      CHECK(again.res.code == got.res.code);
    }
  }
  // How much was failed, for whoever reads the test's output.
  WARN(sc.name() << ": " << pts.size() - 1 << " steps, " << failure_cases << " failure cases");
  CHECK(failure_cases >= 3 * (pts.size() - 1));
}

// A stray reply where none is awaited is ignored: the exchange then goes on to success.
void stray_replies_ignored(const script& sc) {
  const auto& pts = sc.points();
  for (std::size_t i = 1; i < pts.size(); ++i) {
    ftp::session s = sc.initial_session();
    auto op = sc.make(s);
    for (std::size_t k = 0; k < i; ++k) op->resume(pts[k].in);
    if (op->awaiting_reply()) continue;
    INFO(sc.name() + ": stray reply at step " + std::to_string(i));
    const op_step got = op->resume(reply_event("200 stray"));
    CHECK(got.what == step_kind::wait);
    CHECK(got.ignored);
    for (std::size_t k = i; k < pts.size(); ++k)
      check_answer(op->resume(pts[k].in), pts[k].out, "after the stray reply");
  }
}

factory open_as(std::string user, std::string password) {
  return [user, password](ftp::session&) {
    ftp::open_options o;
    o.host = "ftp.example.com";
    o.port = 2121;
    o.user = user;
    o.password = password;
    return std::make_unique<ftp::open_op>(o);
  };
}

factory transfer(std::string verb, ftp::transfer_options o, bool download) {
  return [verb, o, download](ftp::session& s) {
    return std::make_unique<ftp::transfer_op>(verb, "f.bin", o, download, s);
  };
}

ftp::transfer_options passive(std::uint64_t offset = 0, bool binary = true) {
  ftp::transfer_options o;
  o.offset = offset;
  o.binary = binary;
  return o;
}
ftp::transfer_options active(std::uint64_t offset = 0, bool binary = true) {
  ftp::transfer_options o = passive(offset, binary);
  o.passive = false;
  return o;
}

// clang-format off
script login_script() {
  return std::move(script("open with USER and PASS", open_as("joe", "secret"))
      .expect_connect(2121)
      .connected().expect_wait()
      .reply("120 Ready in 1 minute").expect_wait()
      .reply("220 Welcome").expect_send("USER joe")
      .reply("331 Password required").expect_send("PASS secret")
      .reply("230 Logged in").expect_done(0));
}

script passive_download(std::uint64_t offset) {
  script sc("RETR over PASV" + std::string(offset ? " with REST" : ""),
            transfer("RETR", passive(offset), true));
  sc.expect_send("TYPE I")
      .reply("200 Type set to I").expect_send("PASV")
      .reply("227 Entering Passive Mode (127,0,0,1,195,80)").expect_connect_data(50000);
  if (offset) {
    sc.connected().expect_send("REST " + std::to_string(offset))
        .reply("350 Restarting").expect_send("RETR f.bin");
  } else {
    sc.connected().expect_send("RETR f.bin");
  }
  sc.reply("150 Opening BINARY mode data connection").expect_start_data()
      .moved(16384).expect_wait()
      .moved(100).expect_wait()
      .data_end().expect_wait()
      .reply("226 Transfer complete").expect_done(0, 16484);
  return sc;
}
// clang-format on

}  // namespace

TEST_CASE("open logs in with USER and PASS and fails at every step with its code",
          "[ftp][operations]") {
  fail_every_step(login_script());
  stray_replies_ignored(login_script());
}

TEST_CASE("open logs in anonymously when USER alone is enough", "[ftp][operations]") {
  // clang-format off
  fail_every_step(script("anonymous open", open_as("", ""))
      .expect_connect(2121)
      .connected().expect_wait()
      .reply("220 Welcome").expect_send("USER anonymous")
      .reply("230 Logged in").expect_done(0));
  run_whole(script("anonymous open with PASS", open_as("", ""))
      .expect_connect(2121)
      .connected().expect_wait()
      .reply("220 Welcome").expect_send("USER anonymous")
      .reply("331 Any password").expect_send("PASS quecsim@")
      .reply("230 Logged in").expect_done(0));
  // clang-format on
}

TEST_CASE("open answers an account request (332) with -532 and drops the connection",
          "[ftp][operations]") {
  for (const char* at : {"USER", "PASS"}) {
    ftp::session s;
    auto op = open_as("joe", "secret")(s);
    op->resume(plain(ev::start));
    op->resume(plain(ev::connected));
    op->resume(reply_event("220 Welcome"));
    op_step got;
    if (std::string(at) == "PASS") op->resume(reply_event("331 Password required"));
    got = op->resume(reply_event("332 Need account for login"));
    REQUIRE(got.what == step_kind::done);
    CHECK(got.res.code == -532);
    CHECK(got.drop_control);
    CHECK_FALSE(got.logged_in);
  }
}

TEST_CASE("a successful open reports the session logged in", "[ftp][operations]") {
  ftp::session s;
  auto op = open_as("joe", "secret")(s);
  const auto script = login_script();  // kept: points() refers into it
  op_step last;
  for (const auto& p : script.points()) last = op->resume(p.in);
  CHECK(last.logged_in);
  CHECK_FALSE(last.drop_control);
}

TEST_CASE("CWD, DELE, MKD and RMD succeed on 2xx and fail at every step with their code",
          "[ftp][operations]") {
  for (const std::string& line : {ftp::commands::cwd("/pub"), ftp::commands::dele("a.txt"),
                                  ftp::commands::mkd("new"), ftp::commands::rmd("old")}) {
    // clang-format off
    fail_every_step(script(line, [line](ftp::session&) {
                      return std::make_unique<ftp::command_op>(line); })
        .expect_send(line)
        .reply("250 Okay").expect_done(0));
    // clang-format on
  }
}

TEST_CASE("RNFR then RNTO renames and fails at every step with its code", "[ftp][operations]") {
  const auto make = [](ftp::session&) {
    return std::make_unique<ftp::command_op>(ftp::commands::rnfr("a"), 350,
                                             ftp::commands::rnto("b"));
  };
  // clang-format off
  fail_every_step(script("rename", make)
      .expect_send("RNFR a")
      .reply("350 Ready for RNTO").expect_send("RNTO b")
      .reply("250 Renamed").expect_done(0));
  // A 2xx where 350 was due is not a rename either.
  run_whole(script("rename answered 250 early", make)
      .expect_send("RNFR a")
      .reply("250 Huh").expect_done(-1));
  // clang-format on
}

TEST_CASE("SIZE sets TYPE I first, once, and fails at every step with its code",
          "[ftp][operations]") {
  const auto make = [](ftp::session& s) { return std::make_unique<ftp::size_op>("f.bin", s); };
  // clang-format off
  fail_every_step(script("size", make)
      .expect_send("TYPE I")
      .reply("200 Type set to I").expect_send("SIZE f.bin")
      .reply("213 12345").expect_done(0, 12345));
  ftp::session binary;
  binary.type = 'I';
  fail_every_step(script("size in TYPE I already", make, binary)
      .expect_send("SIZE f.bin")
      .reply("213 7").expect_done(0, 7));
  run_whole(script("size answered without a number", make, binary)
      .expect_send("SIZE f.bin")
      .reply("213 many").expect_done(-1));
  // clang-format on
}

TEST_CASE("a passive download, with and without REST, fails at every step with its code",
          "[ftp][operations]") {
  fail_every_step(passive_download(0));
  fail_every_step(passive_download(4096));
  stray_replies_ignored(passive_download(4096));
}

TEST_CASE("a download's final reply may come before the data ends", "[ftp][operations]") {
  // clang-format off
  fail_every_step(script("RETR, 226 first", transfer("RETR", passive(), true))
      .expect_send("TYPE I")
      .reply("200 ok").expect_send("PASV")
      .reply("227 Entering Passive Mode (127,0,0,1,4,1)").expect_connect_data(1025)
      .connected().expect_send("RETR f.bin")
      .reply("150 Here it comes").expect_start_data()
      .moved(10).expect_wait()
      .reply("226 Done").expect_wait()
      .data_end().expect_done(0, 10));
  // An error reply overtaking the data: the data is delivered, then the error is reported.
  run_whole(script("RETR, 426 overtakes the data", transfer("RETR", passive(), true))
      .expect_send("TYPE I")
      .reply("200 ok").expect_send("PASV")
      .reply("227 Entering Passive Mode (127,0,0,1,4,1)").expect_connect_data(1025)
      .connected().expect_send("RETR f.bin")
      .reply("150 Here it comes").expect_start_data()
      .reply("426 Connection closed; transfer aborted").expect_wait()
      .moved(3).expect_wait()
      .data_end().expect_done(-426, 3));
  // clang-format on
}

TEST_CASE("an active upload (PORT) fails at every step with its code", "[ftp][operations]") {
  // clang-format off
  const auto upload = [](std::uint64_t offset) {
    script sc("STOR over PORT" + std::string(offset ? " with REST" : ""),
              transfer("STOR", active(offset, false), false));
    sc.expect_send("TYPE A")
        .reply("200 Type set to A").expect_listen()
        .listened("127.0.0.1", 40000).expect_send("PORT 127,0,0,1,156,64")
        .reply("200 PORT command successful");
    if (offset) {
      sc.expect_send("REST " + std::to_string(offset))
          .reply("350 Restarting");
    }
    sc.expect_send("STOR f.bin")
        .reply("150 Ok to send data").expect_wait()
        .accepted().expect_start_data()
        .moved(512).expect_wait()
        .data_end().expect_wait()
        .reply("226 Transfer complete").expect_done(0, 512);
    return sc;
  };
  fail_every_step(upload(0));
  fail_every_step(upload(100));
  stray_replies_ignored(upload(0));
  // clang-format on
}

TEST_CASE("an active download whose connection is accepted before the 1xx", "[ftp][operations]") {
  ftp::session ascii;
  ascii.type = 'I';
  // clang-format off
  fail_every_step(script("RETR over PORT, early accept", transfer("RETR", active(), true), ascii)
      .expect_listen()
      .listened("10.0.0.2", 21).expect_send("PORT 10,0,0,2,0,21")
      .accepted().expect_wait()
      .reply("200 PORT ok").expect_send("RETR f.bin")
      .reply("150 Opening").expect_start_data()
      .data_end().expect_wait()
      .reply("226 Done").expect_done(0, 0));
  // clang-format on
}

TEST_CASE("a transfer refuses what is not a transfer", "[ftp][operations]") {
  ftp::session binary;
  binary.type = 'I';
  // clang-format off
  run_whole(script("RETR answered 226 without 150", transfer("RETR", passive(), true), binary)
      .expect_send("PASV")
      .reply("227 =127,0,0,1,0,20").expect_connect_data(20)
      .connected().expect_send("RETR f.bin")
      .reply("226 Nothing").expect_done(-1));
  run_whole(script("PASV without an address", transfer("RETR", passive(), true), binary)
      .expect_send("PASV")
      .reply("227 Entering Passive Mode").expect_done(-1));
  run_whole(script("listening on IPv6 cannot be said with PORT", transfer("STOR", active(), false),
                   binary)
      .expect_listen()
      .listened("::1", 2000).expect_done(-5));
  ftp::session v6;
  v6.type = 'I';
  v6.v6 = true;
  run_whole(script("EPSV over IPv6", transfer("RETR", passive(), true), v6)
      .expect_send("EPSV")
      .reply("229 Entering Extended Passive Mode (|||6446|)").expect_connect_data(6446)
      .connected().expect_send("RETR f.bin")
      .reply("150 Go").expect_start_data()
      .data_end().expect_wait()
      .reply("226 Done").expect_done(0));
  // clang-format on
}

TEST_CASE("the host's cancel ends a download with the server's verdict", "[ftp][operations]") {
  ftp::session binary;
  binary.type = 'I';
  auto op = transfer("RETR", passive(), true)(binary);
  op->resume(plain(ev::start));
  op->resume(reply_event("227 (127,0,0,1,0,20)"));
  op->resume(plain(ev::connected));
  REQUIRE(op->resume(reply_event("150 Go")).what == step_kind::start_data);
  op_event m = plain(ev::data_moved);
  m.bytes = 7;
  op->resume(m);
  const op_step s = op->resume(plain(ev::cancel));
  CHECK(s.what == step_kind::wait);
  CHECK(s.reply_timer == ftp::deadline::reply);
  // The server, seeing its data connection dropped, refuses: -426 with the bytes delivered.
  const op_step end = op->resume(reply_event("426 Connection closed"));
  REQUIRE(end.what == step_kind::done);
  CHECK(end.res.code == -426);
  CHECK(end.res.value == 7);
}

TEST_CASE("close sends QUIT and ends with 0 whatever happens", "[ftp][operations]") {
  // clang-format off
  fail_every_step(script("close", [](ftp::session&) { return std::make_unique<ftp::close_op>(); })
      .expect_send("QUIT")
      .reply("221 Goodbye").expect_done(0), true);
  // clang-format on
}
