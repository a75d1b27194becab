// The socket algorithm without sockets: each event in turn, and what it asks for.

#include "quecsim/tcpip/socket.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace {

using namespace quecsim::tcpip;
using kind = step::kind;
using clk = std::chrono::steady_clock;

std::vector<kind> kinds(const steps& s) {
  std::vector<kind> out;
  for (const auto& st : s) out.push_back(st.what);
  return out;
}

socket_op connected(socket_limits limits = {}) {
  socket_op s(limits);
  s.open(protocol::tcp, "example.org", 80, clk::now());
  s.on_connected("192.0.2.1", 80);
  return s;
}

}  // namespace

TEST_CASE("opening asks for a connect and a connect reports CONNECT OK") {
  socket_op s;
  const auto now = clk::now();
  CHECK(kinds(s.open(protocol::tcp, "example.org", 80, now)) == std::vector{kind::connect});
  CHECK(s.state() == socket_state::connecting);
  REQUIRE(s.deadline());
  CHECK(*s.deadline() == now + std::chrono::milliseconds(75000));
  CHECK(kinds(s.on_connected("192.0.2.1", 80)) == std::vector{kind::opened});
  CHECK(s.state() == socket_state::connected);
  CHECK_FALSE(s.deadline());
  CHECK(s.remote_ip() == "192.0.2.1");
}

TEST_CASE("opening an open socket asks for nothing") {
  auto s = connected();
  CHECK(s.open(protocol::tcp, "other", 1, clk::now()).empty());
  CHECK(s.host() == "example.org");
}

TEST_CASE("a refused connect closes and reports CONNECT FAIL, then the socket opens again") {
  socket_op s;
  s.open(protocol::tcp, "h", 1, clk::now());
  CHECK(kinds(s.on_connect_failed()) == std::vector{kind::close, kind::open_failed});
  CHECK(s.state() == socket_state::closed);
  CHECK(kinds(s.open(protocol::tcp, "h", 1, clk::now())) == std::vector{kind::connect});
}

TEST_CASE("a connect past its deadline fails; before it nothing happens") {
  socket_op s;
  const auto now = clk::now();
  s.open(protocol::tcp, "h", 1, now);
  CHECK(s.on_time(now + std::chrono::seconds(74)).empty());
  CHECK(kinds(s.on_time(now + std::chrono::seconds(75))) ==
        std::vector{kind::close, kind::open_failed});
  CHECK(s.on_time(now + std::chrono::seconds(76)).empty());
}

TEST_CASE("sending writes the bytes and counts them until the link takes them") {
  auto s = connected();
  steps out;
  CHECK(s.send("hello", out) == send_outcome::ok);
  REQUIRE(out.size() == 1);
  CHECK(out[0].what == kind::write);
  CHECK(out[0].bytes == "hello");
  CHECK(s.sent() == 5);
  CHECK(s.acked() == 0);
  s.on_written(5);
  CHECK(s.acked() == 5);
}

TEST_CASE("a send that does not fit the send window is SEND FAIL and writes nothing") {
  socket_limits l;
  l.send_window = 10;
  auto s = connected(l);
  steps out;
  CHECK(s.send("12345678", out) == send_outcome::ok);
  out.clear();
  CHECK(s.send("abc", out) == send_outcome::fail);
  CHECK(out.empty());
  s.on_written(8);
  CHECK(s.send("abc", out) == send_outcome::ok);
}

TEST_CASE("sending without a connection is refused") {
  socket_op s;
  steps out;
  CHECK(s.send("x", out) == send_outcome::not_connected);
  s.open(protocol::tcp, "h", 1, clk::now());
  CHECK(s.send("x", out) == send_outcome::not_connected);
  CHECK(out.empty());
}

TEST_CASE("QINDI=0 pushes data as it arrives") {
  auto s = connected();
  const auto out = s.on_data("abc", receive_mode::push);
  REQUIRE(out.size() == 1);
  CHECK(out[0].what == kind::push);
  CHECK(out[0].bytes == "abc");
  CHECK(s.buffered() == 0);
}

TEST_CASE("QINDI=1 notifies once until the buffer is emptied") {
  auto s = connected();
  CHECK(kinds(s.on_data("abc", receive_mode::notify)) == std::vector{kind::notify});
  CHECK(s.on_data("def", receive_mode::notify).empty());
  steps out;
  auto r = s.read(4, false, out);
  CHECK(r.bytes == "abcd");
  CHECK(s.on_data("g", receive_mode::notify).empty());  // not emptied yet
  r = s.read(100, false, out);
  CHECK(r.bytes == "efg");
  CHECK_FALSE(r.error);
  r = s.read(100, false, out);
  CHECK(r.bytes.empty());
  CHECK_FALSE(r.error);
  CHECK(kinds(s.on_data("h", receive_mode::notify)) == std::vector{kind::notify});
}

TEST_CASE("QINDI=2 notifies every packet with its sizes and reads one packet at a time") {
  auto s = connected();
  auto out = s.on_data(std::string(1332, 'a'), receive_mode::per_packet);
  REQUIRE(out.size() == 1);
  CHECK(out[0].packets == 1);
  CHECK(out[0].last == 1332);
  CHECK(out[0].total == 1332);
  out = s.on_data(std::string(1359, 'b'), receive_mode::per_packet);
  REQUIRE(out.size() == 1);
  CHECK(out[0].packets == 2);
  CHECK(out[0].last == 1359);
  CHECK(out[0].total == 2691);
  steps more;
  CHECK(s.read(1500, true, more).bytes == std::string(1332, 'a'));
  CHECK(s.read(1500, true, more).bytes == std::string(1359, 'b'));
}

TEST_CASE("a full receive buffer pauses reading and a read resumes it") {
  socket_limits l;
  l.receive_buffer = 8;
  auto s = connected(l);
  CHECK(kinds(s.on_data("12345678", receive_mode::notify)) ==
        std::vector{kind::notify, kind::pause_reading});
  steps out;
  s.read(3, false, out);
  CHECK(kinds(out) == std::vector{kind::resume_reading});
}

TEST_CASE("a UDP datagram that does not fit the buffer is dropped") {
  socket_limits l;
  l.receive_buffer = 8;
  socket_op s(l);
  s.open(protocol::udp, "h", 1, clk::now());
  s.on_connected("192.0.2.1", 7);
  s.on_data("123456", receive_mode::notify);
  CHECK(s.on_data("789", receive_mode::notify).empty());
  CHECK(s.dropped() == 1);
  CHECK(s.buffered() == 6);
}

TEST_CASE("the peer closing reports CLOSED; buffered data is still read, then ERROR") {
  auto s = connected();
  s.on_data("abc", receive_mode::notify);
  CHECK(kinds(s.on_peer_closed()) == std::vector{kind::close, kind::peer_closed});
  CHECK(s.state() == socket_state::closed);
  steps out;
  auto r = s.read(10, false, out);
  CHECK(r.bytes == "abc");
  r = s.read(10, false, out);
  CHECK(r.error);
}

TEST_CASE("closing ends the connection once; a second close has nothing to close") {
  auto s = connected();
  steps out;
  CHECK(s.close(out));
  CHECK(kinds(out) == std::vector{kind::close});
  out.clear();
  CHECK_FALSE(s.close(out));
  CHECK(out.empty());
  CHECK(s.state() == socket_state::closed);
}

TEST_CASE("the context going down drops the connection without a CLOSED line") {
  auto s = connected();
  CHECK(kinds(s.on_context_down()) == std::vector{kind::close});
  CHECK(s.state() == socket_state::idle);
  socket_op idle;
  CHECK(idle.on_context_down().empty());
}

TEST_CASE("every event at every step leaves the socket able to open again") {
  // Fail the exchange open → connected → send → data → read at each step in turn.
  for (int fail_at = 0; fail_at < 5; ++fail_at) {
    for (int how = 0; how < 3; ++how) {
      socket_op s;
      steps out;
      auto fail = [&] {
        if (how == 0) s.on_peer_closed();
        if (how == 1) s.on_context_down();
        if (how == 2) s.close(out);
      };
      s.open(protocol::tcp, "h", 1, clk::now());
      if (fail_at == 0) {
        fail();
      } else {
        s.on_connected("192.0.2.1", 1);
        if (fail_at == 1) fail();
        if (fail_at >= 2) s.send("x", out);
        if (fail_at == 2) fail();
        if (fail_at >= 3) s.on_data("y", receive_mode::notify);
        if (fail_at == 3) fail();
        if (fail_at >= 4) s.read(1, false, out);
        if (fail_at == 4) fail();
      }
      INFO("fail_at " << fail_at << " how " << how);
      CHECK(s.state() != socket_state::connected);
      CHECK(s.state() != socket_state::connecting);
      CHECK(kinds(s.open(protocol::tcp, "h", 1, clk::now())) == std::vector{kind::connect});
    }
  }
}

// ---- the module's server (AT+QILPORT, AT+QISERVER) ------------------------------------------

namespace {

using lstep = listener_step;

listener_op listening(int max_clients) {
  listener_op l;
  l.set_port(protocol::tcp, 5000);
  l.start(max_clients);
  l.on_listening();
  return l;
}

}  // namespace

TEST_CASE("the server listens in two steps: listen, then SERVER OK") {
  listener_op l;
  CHECK(l.port() == 0);
  CHECK(l.set_port(protocol::tcp, 5000));
  CHECK(l.port() == 5000);
  CHECK(l.start(3) == listener_steps{lstep::listen});
  CHECK(l.state() == listener_state::starting);
  CHECK(l.max_clients() == 3);
  CHECK(l.on_listening() == listener_steps{lstep::server_ok});
  CHECK(l.state() == listener_state::listening);
  // A second listening report changes nothing.
  CHECK(l.on_listening().empty());
}

TEST_CASE("a running server refuses a second start and a new port") {
  auto l = listening(1);
  CHECK(l.start(1).empty());
  CHECK_FALSE(l.set_port(protocol::udp, 6000));
  CHECK(l.port() == 5000);
  CHECK(l.transport() == protocol::tcp);
  listener_op starting;
  starting.start(1);
  CHECK(starting.start(1).empty());
  CHECK_FALSE(starting.set_port(protocol::tcp, 1));
}

TEST_CASE("a start without room for a client is refused") {
  listener_op l;
  CHECK(l.start(0).empty());
  CHECK(l.state() == listener_state::idle);
}

TEST_CASE("a listen that fails while starting reports CONNECT FAIL and the server starts again") {
  listener_op l;
  l.start(1);
  CHECK(l.on_listen_failed() == listener_steps{lstep::stop, lstep::server_failed});
  CHECK(l.state() == listener_state::idle);
  CHECK(l.start(1) == listener_steps{lstep::listen});
}

TEST_CASE("a listening socket that fails later ends the server without a line") {
  auto l = listening(2);
  CHECK(l.on_listen_failed() == listener_steps{lstep::stop});
  CHECK(l.state() == listener_state::idle);
  CHECK(l.on_listen_failed().empty());
}

TEST_CASE("clients get the lowest free socket until the limit, then are turned away") {
  auto l = listening(2);
  CHECK(l.admit({false, false, false}, 0) == 0);
  CHECK(l.admit({true, false, false}, 1) == 1);
  CHECK(l.admit({true, true, false}, 2) == std::nullopt);  // the limit
  CHECK(l.admit({true, true, true}, 1) == std::nullopt);   // no free socket
  // A client leaving makes room again.
  CHECK(l.admit({true, false, true}, 1) == 1);
}

TEST_CASE("no client is admitted before SERVER OK or after the server ended") {
  listener_op l;
  CHECK(l.admit({false}, 0) == std::nullopt);
  l.start(1);
  CHECK(l.admit({false}, 0) == std::nullopt);
  l.on_listening();
  CHECK(l.admit({false}, 0) == 0);
  listener_steps out;
  CHECK(l.stop(out));
  CHECK(out == listener_steps{lstep::stop});
  CHECK(l.admit({false}, 0) == std::nullopt);
}

TEST_CASE("closing the server: stop while starting or listening; nothing to close is false") {
  listener_op idle;
  listener_steps out;
  CHECK_FALSE(idle.stop(out));
  CHECK(out.empty());
  listener_op starting;
  starting.start(1);
  CHECK(starting.stop(out));
  CHECK(out == listener_steps{lstep::stop});
  // The listening report of a stopped start is stale: no SERVER OK.
  CHECK(starting.on_listening().empty());
}

TEST_CASE("the context going down ends the server silently; a restart forgets the port") {
  auto l = listening(1);
  CHECK(l.on_context_down() == listener_steps{lstep::stop});
  CHECK(l.state() == listener_state::idle);
  CHECK(l.on_context_down().empty());
  CHECK(l.port() == 5000);  // AT+QILPORT's setting outlives the context
  l.reset();
  CHECK(l.port() == 0);
}

TEST_CASE("an accepted client is a connected socket in the server role") {
  socket_op s;
  CHECK(kinds(s.accept("192.0.2.9", 40000)) == std::vector{kind::accepted});
  CHECK(s.state() == socket_state::connected);
  CHECK(s.server_side());
  CHECK(s.remote_ip() == "192.0.2.9");
  CHECK(s.remote_port() == 40000);
  CHECK(s.transport() == protocol::tcp);
  // Data both ways, as for a client socket.
  steps out;
  CHECK(s.send("hello", out) == send_outcome::ok);
  CHECK(kinds(out) == std::vector{kind::write});
  CHECK(kinds(s.on_data("abc", receive_mode::notify)) == std::vector{kind::notify});
  steps r;
  CHECK(s.read(10, false, r).bytes == "abc");
}

TEST_CASE("an accepted client that leaves reports CLOSED; the socket takes the next client") {
  socket_op s;
  s.accept("192.0.2.9", 40000);
  CHECK(kinds(s.on_peer_closed()) == std::vector{kind::close, kind::peer_closed});
  CHECK(s.state() == socket_state::closed);
  CHECK(kinds(s.accept("192.0.2.10", 40001)) == std::vector{kind::accepted});
  CHECK(s.remote_ip() == "192.0.2.10");
}

TEST_CASE("a socket in use takes no client; a reset forgets the server role") {
  auto s = connected();
  CHECK(s.accept("192.0.2.9", 40000).empty());
  CHECK_FALSE(s.server_side());
  socket_op t;
  t.accept("192.0.2.9", 40000);
  steps out;
  CHECK(t.close(out));
  CHECK(kinds(out) == std::vector{kind::close});
  CHECK(t.accept("192.0.2.9", 40000).size() == 1);
  t.on_context_down();
  CHECK(t.state() == socket_state::idle);
  CHECK_FALSE(t.server_side());
}

namespace {

// Every failure the network, the context or the host can cause, and what it makes the socket
// tell the host, by the state it lands in.
enum class failure { refused, deadline, peer_closed, context_down, host_close, window_full };

const char* name_of(failure f) {
  switch (f) {
    case failure::refused:
      return "refused";
    case failure::deadline:
      return "deadline";
    case failure::peer_closed:
      return "peer closed or reset";
    case failure::context_down:
      return "context down";
    case failure::host_close:
      return "host close";
    case failure::window_full:
      break;
  }
  return "send window full";
}

// The steps of one exchange, in order: open, the connect's result, a send, the link taking
// it, data arriving, the host reading it, the host closing.
constexpr int exchange_steps = 7;

// Runs the exchange of `p` up to (not including) step `at`.
void run_to(socket_op& s, protocol p, int at, clk::time_point t0) {
  steps out;
  if (at > 0) REQUIRE(kinds(s.open(p, "h", 1, t0)) == std::vector{kind::connect});
  if (at > 1) REQUIRE(kinds(s.on_connected("192.0.2.1", 1)) == std::vector{kind::opened});
  if (at > 2) REQUIRE(s.send("abc", out) == send_outcome::ok);
  if (at > 3) s.on_written(3);
  if (at > 4) s.on_data("xyz", receive_mode::notify);
  if (at > 5) REQUIRE(s.read(1500, false, out).bytes == "xyz");
  if (at > 6) REQUIRE(s.close(out));
}

}  // namespace

TEST_CASE("each socket operation failed at every step tells the host its line and reopens") {
  const auto t0 = clk::now();
  int cells = 0;
  for (const auto p : {protocol::tcp, protocol::udp}) {
    for (int at = 0; at <= exchange_steps; ++at) {
      for (const auto f : {failure::refused, failure::deadline, failure::peer_closed,
                           failure::context_down, failure::host_close, failure::window_full}) {
        INFO(name(p) << " failed before step " << at << " by " << name_of(f));
        socket_limits limits;
        limits.send_window = 8;
        socket_op s(limits);
        run_to(s, p, at, t0);
        const auto before = s.state();
        const bool buffered = s.buffered() > 0;
        steps out;
        std::vector<kind> got;
        switch (f) {
          case failure::refused:
            got = kinds(s.on_connect_failed());
            break;
          case failure::deadline:
            CHECK(s.on_time(t0 + limits.connect_timeout - std::chrono::milliseconds(1)).empty());
            got = kinds(s.on_time(t0 + limits.connect_timeout));
            break;
          case failure::peer_closed:
            got = kinds(s.on_peer_closed());
            break;
          case failure::context_down:
            got = kinds(s.on_context_down());
            break;
          case failure::host_close:
            CHECK(s.close(out) ==
                  (before == socket_state::connecting || before == socket_state::connected));
            got = kinds(out);
            break;
          case failure::window_full: {
            // More than the window: SEND FAIL, nothing written, nothing else changes.
            const auto outcome = s.send("0123456789", out);
            CHECK(outcome == (before == socket_state::connected ? send_outcome::fail
                                                                : send_outcome::not_connected));
            CHECK(out.empty());
            CHECK(s.state() == before);
            break;
          }
        }
        // The host's line: CONNECT FAIL while connecting, CLOSED from the peer while
        // connected, nothing for the context (the module's +PDP DEACT says it) or the host's
        // own close (CLOSE OK is the command's answer).
        std::vector<kind> want;
        const bool connecting = before == socket_state::connecting;
        const bool connected = before == socket_state::connected;
        switch (f) {
          case failure::refused:
          case failure::deadline:
            if (connecting) want = {kind::close, kind::open_failed};
            break;
          case failure::peer_closed:
            if (connecting) want = {kind::close, kind::open_failed};
            if (connected) want = {kind::close, kind::peer_closed};
            break;
          case failure::context_down:
          case failure::host_close:
            if (connecting || connected) want = {kind::close};
            break;
          case failure::window_full:
            break;
        }
        CHECK(got == want);
        // A failure that does not apply in this state (a refusal once connected, a full
        // window before a connection) changes nothing.
        if (f == failure::context_down) {
          CHECK(s.state() == socket_state::idle);  // the context's loss: IP INITIAL
        } else if (want.empty()) {
          CHECK(s.state() == before);
        }
        if (!want.empty()) {
          CHECK(s.state() != socket_state::connected);
          CHECK(s.state() != socket_state::connecting);
          // Nothing more is sent; data the peer sent before it closed is still read, once.
          steps more;
          CHECK(s.send("x", more) == send_outcome::not_connected);
          const auto r = s.read(1500, false, more);
          if (buffered && f == failure::peer_closed) {
            CHECK(r.bytes == "xyz");
            CHECK(s.read(1500, false, more).error);
          } else {
            CHECK(r.bytes.empty());
            CHECK(r.error);
          }
          CHECK(more.empty());
        }
        // Usable: it opens again and carries bytes.
        if (s.state() == socket_state::connected || s.state() == socket_state::connecting) {
          REQUIRE(s.close(out));
        }
        CHECK(kinds(s.open(p, "h", 1, t0)) == std::vector{kind::connect});
        CHECK(kinds(s.on_connected("192.0.2.1", 1)) == std::vector{kind::opened});
        CHECK(s.sent() == 0);
        steps again;
        CHECK(s.send("ok", again) == send_outcome::ok);
        CHECK(kinds(again) == std::vector{kind::write});
        ++cells;
      }
    }
  }
  WARN("socket fail-every-step covered " << cells << " (protocol, step, failure) cells");
  CHECK(cells == 2 * (exchange_steps + 1) * 6);
}
