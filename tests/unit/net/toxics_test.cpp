// The network's fault seams in toxiproxy's vocabulary (latency, bandwidth, slicer, limit_data,
// timeout), connect faults and inject_eof, against real loopback sockets.

#include "quecsim/net/network.hpp"
#include "rig.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <functional>

using namespace quecsim;
using namespace quecsim::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

net::network_config no_latency() {
  net::network_config cfg;
  cfg.round_trip = {};
  return cfg;
}

/// A network without link latency and a peer it connects to.
struct link_rig {
  explicit link_rig(double scale = 0.01) : r(no_latency(), scale), p(r.io) {
    r.network->config().embedded = {"127.0.0.1", p.port()};
  }
  /// Opens a connection of `role`; returns it with the peer's end of it.
  std::pair<std::shared_ptr<net::connection>, std::shared_ptr<tcp::socket>> open(
      const std::string& role = "") {
    const std::size_t before = p.sockets.size();
    auto [ec, c] = r.connect("x", 21, role);
    REQUIRE_FALSE(ec);
    REQUIRE(run_until(r.io, [&] { return p.sockets.size() > before; }));
    return {c, p.sockets.back()};
  }
  net_rig r;
  peer p;
};

struct read_result {
  std::string bytes;
  error_code ec;                   ///< what ended the reading (none: `want` bytes arrived)
  std::vector<std::size_t> sizes;  ///< the size of every read
};

/// Reads from the module's side until an error (eof included) or `want` bytes.
read_result module_read(net_rig& r, net::connection& c, std::size_t want = SIZE_MAX) {
  read_result out;
  bool done = false;
  auto buf = std::make_shared<std::array<char, 65536>>();
  std::function<void()> next = [&] {
    c.async_read_some(asio::buffer(*buf), [&, buf](error_code ec, std::size_t n) {
      if (ec) {
        out.ec = ec;
        done = true;
        return;
      }
      out.bytes.append(buf->data(), n);
      out.sizes.push_back(n);
      if (out.bytes.size() >= want) {
        done = true;
        return;
      }
      next();
    });
  };
  next();
  REQUIRE(run_until(r.io, [&] { return done; }));
  return out;
}

/// Reads from the peer's side until an error (eof included) or `want` bytes.
read_result peer_read(net_rig& r, tcp::socket& s, std::size_t want = SIZE_MAX) {
  read_result out;
  bool done = false;
  auto buf = std::make_shared<std::array<char, 65536>>();
  std::function<void()> next = [&] {
    s.async_read_some(asio::buffer(*buf), [&, buf](error_code ec, std::size_t n) {
      if (ec) {
        out.ec = ec;
        done = true;
        return;
      }
      out.bytes.append(buf->data(), n);
      out.sizes.push_back(n);
      if (out.bytes.size() >= want) {
        done = true;
        return;
      }
      next();
    });
  };
  next();
  REQUIRE(run_until(r.io, [&] { return done; }));
  return out;
}

/// Writes `bytes` through the module's side and waits for the completion.
error_code module_write(net_rig& r, net::connection& c, const std::string& bytes) {
  std::optional<error_code> result;
  c.async_write(asio::buffer(bytes), [&](error_code ec, std::size_t) { result = ec; });
  REQUIRE(run_until(r.io, [&] { return result.has_value(); }));
  return *result;
}

/// Runs the io_context for `d` of real time: for checking that nothing happens.
void idle(net_rig& r, std::chrono::milliseconds d) {
  run_until(
      r.io, [] { return false; }, d);
}

bool has_note(const net_rig& r, const std::string& text) {
  return std::find(r.notes.begin(), r.notes.end(), text) != r.notes.end();
}

net::toxic limit(net::stream dir, std::uint64_t bytes, bool reset, std::string role = "") {
  net::toxic t;
  t.type = net::toxic_type::limit_data;
  t.direction = dir;
  t.bytes = bytes;
  t.reset = reset;
  t.role = std::move(role);
  return t;
}

const error_code reset_ec = net::make_error_code(net::errc::connection_reset);

}  // namespace

TEST_CASE("latency toxics delay the direction they name", "[net][toxics]") {
  link_rig l(0.1);  // 1000 simulated ms: 100 ms real
  auto [c, s] = l.open();
  net::toxic t;
  t.type = net::toxic_type::latency;
  t.latency = 1000ms;

  t.direction = net::stream::upstream;
  auto up = l.r.network->add_toxic(t);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(module_write(l.r, *c, "ping"));
  CHECK(peer_read(l.r, *s, 4).bytes == "ping");
  CHECK(std::chrono::steady_clock::now() - t0 >= 95ms);
  CHECK(l.r.network->remove_toxic(up));

  t.direction = net::stream::downstream;
  l.r.network->add_toxic(t);
  t0 = std::chrono::steady_clock::now();
  asio::write(*s, asio::buffer("pong", 4));
  CHECK(module_read(l.r, *c, 4).bytes == "pong");
  CHECK(std::chrono::steady_clock::now() - t0 >= 95ms);
  CHECK(has_note(l.r, "toxic latency on every connection downstream: 1000 ms"));
}

TEST_CASE("latency jitter repeats with the same seed and differs with another", "[net][toxics]") {
  auto draws = [](std::uint64_t seed) {
    link_rig l;
    l.r.network->seed(seed);
    std::vector<std::int64_t> out;
    l.r.network->on_toxic_choice([&](net::toxic_type type, std::int64_t v) {
      if (type == net::toxic_type::latency) out.push_back(v);
    });
    net::toxic t;
    t.type = net::toxic_type::latency;
    t.direction = net::stream::upstream;
    t.latency = 100ms;
    t.jitter = 50ms;
    l.r.network->add_toxic(t);
    auto [c, s] = l.open();
    for (int i = 0; i < 8; ++i) REQUIRE_FALSE(module_write(l.r, *c, "j"));
    CHECK(peer_read(l.r, *s, 8).bytes == "jjjjjjjj");
    return out;
  };
  const auto a = draws(42);
  const auto b = draws(42);
  const auto other = draws(43);
  REQUIRE(a.size() == 8);  // one choice per chunk
  CHECK(a == b);
  CHECK(a != other);
  for (auto v : a) {
    CHECK(v >= std::chrono::nanoseconds(50ms).count());
    CHECK(v <= std::chrono::nanoseconds(150ms).count());
  }
}

TEST_CASE("bandwidth toxics pace the direction they name", "[net][toxics]") {
  link_rig l(0.1);
  auto [c, s] = l.open();
  net::toxic t;
  t.type = net::toxic_type::bandwidth;
  t.rate = 10000;  // bytes per simulated second: 100000 B/s real at scale 0.1
  const std::string payload = pattern(10000);

  t.direction = net::stream::downstream;
  auto down = l.r.network->add_toxic(t);
  auto t0 = std::chrono::steady_clock::now();
  asio::write(*s, asio::buffer(payload));
  CHECK(module_read(l.r, *c, payload.size()).bytes == payload);
  // 10000 bytes at 100000 B/s: 100 ms, less the first slice that goes at once.
  CHECK(std::chrono::steady_clock::now() - t0 >= 80ms);
  l.r.network->remove_toxic(down);

  t.direction = net::stream::upstream;
  l.r.network->add_toxic(t);
  t0 = std::chrono::steady_clock::now();
  REQUIRE_FALSE(module_write(l.r, *c, payload));
  CHECK(peer_read(l.r, *s, payload.size()).bytes == payload);
  CHECK(std::chrono::steady_clock::now() - t0 >= 80ms);
}

TEST_CASE("toxics act only on connections of their role", "[net][toxics]") {
  link_rig l(1.0);
  auto [data, data_peer] = l.open("ftp-data");
  net::toxic t;
  t.type = net::toxic_type::bandwidth;
  t.role = "ftp-data";
  t.rate = 1;  // a byte a second: the payload would take far longer than any wait
  l.r.network->add_toxic(t);
  auto [ctrl, ctrl_peer] = l.open("ftp-control");
  const std::string payload = pattern(20000);
  asio::write(*ctrl_peer, asio::buffer(payload));
  CHECK(module_read(l.r, *ctrl, payload.size()).bytes == payload);
  REQUIRE_FALSE(module_write(l.r, *ctrl, payload));
  CHECK(peer_read(l.r, *ctrl_peer, payload.size()).bytes == payload);

  // The data connection, open before the toxic, and a later one both take it.
  auto [data2, data2_peer] = l.open("ftp-data");
  for (auto* c : {data.get(), data2.get()}) {
    bool read = false;
    std::array<char, 64> buf{};
    c->async_read_some(asio::buffer(buf), [&](error_code, std::size_t) { read = true; });
    (c == data.get() ? data_peer : data2_peer)->write_some(asio::buffer(std::string(64, 'd')));
    CHECK(run_until(l.r.io, [&] { return read; }));  // the first slice goes at once
    read = false;
    c->async_read_some(asio::buffer(buf), [&](error_code, std::size_t) { read = true; });
    idle(l.r, 50ms);
    CHECK_FALSE(read);  // the rest waits on the 1 B/s pace
    c->close();
    run_until(l.r.io, [&] { return read; });
  }
}

TEST_CASE("slicer toxics cut data into pieces and keep every byte", "[net][toxics]") {
  link_rig l;
  std::vector<std::int64_t> sizes;
  l.r.network->on_toxic_choice([&](net::toxic_type type, std::int64_t v) {
    if (type == net::toxic_type::slicer) sizes.push_back(v);
  });
  net::toxic t;
  t.type = net::toxic_type::slicer;
  t.average_size = 100;
  t.size_variation = 30;
  t.delay = 1ms;
  l.r.network->add_toxic(t);
  auto [c, s] = l.open();
  const std::string payload = pattern(3000);

  asio::write(*s, asio::buffer(payload));
  auto got = module_read(l.r, *c, payload.size());
  CHECK(got.bytes == payload);
  CHECK(got.sizes.size() >= payload.size() / 130);
  for (auto n : got.sizes) CHECK(n <= 130);

  sizes.clear();
  REQUIRE_FALSE(module_write(l.r, *c, payload));
  CHECK(peer_read(l.r, *s, payload.size()).bytes == payload);
  CHECK(sizes.size() >= payload.size() / 130);
  for (auto n : sizes) {
    CHECK(n >= 70);
    CHECK(n <= 130);
  }
}

TEST_CASE("limit_data downstream with reset delivers exactly the limit, then a reset",
          "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open("ftp-data");
  l.r.network->add_toxic(limit(net::stream::downstream, 1024, true, "ftp-data"));
  CHECK(has_note(l.r, "toxic limit_data on ftp-data downstream: 1024 bytes then reset"));
  const std::string payload = pattern(5000);
  asio::write(*s, asio::buffer(payload));
  auto got = module_read(l.r, *c);
  CHECK(got.bytes == payload.substr(0, 1024));
  CHECK(got.ec == reset_ec);
  CHECK_FALSE(c->is_open());
  CHECK(module_write(l.r, *c, "late") == reset_ec);
  CHECK(peer_read(l.r, *s).ec);  // the server's side was closed
}

TEST_CASE("limit_data downstream without reset delivers exactly the limit, then EOF",
          "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open();
  l.r.network->add_toxic(limit(net::stream::downstream, 1000, false));
  // Arriving in two pieces: the limit falls inside the second.
  asio::write(*s, asio::buffer(pattern(600)));
  auto first = module_read(l.r, *c, 600);
  CHECK(first.bytes == pattern(600));
  asio::write(*s, asio::buffer(pattern(600, 9)));
  auto got = module_read(l.r, *c);
  CHECK(got.bytes == pattern(600, 9).substr(0, 400));
  CHECK(got.ec == asio::error::eof);
  CHECK(module_write(l.r, *c, "late") == asio::error::broken_pipe);
  CHECK(peer_read(l.r, *s).ec);
  CHECK(
      has_note(l.r, "toxic limit_data on every connection downstream: 1000 bytes passed, closing"));
}

TEST_CASE("limit_data upstream with reset passes exactly the limit, then resets", "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open();
  l.r.network->add_toxic(limit(net::stream::upstream, 2000, true));
  const std::string a = pattern(1000), b = pattern(1000, 3), x = pattern(1000, 5);
  CHECK_FALSE(module_write(l.r, *c, a));
  CHECK_FALSE(module_write(l.r, *c, b));  // reaches the limit exactly: all of it passes
  CHECK(module_write(l.r, *c, x) == reset_ec);
  auto far = peer_read(l.r, *s);
  CHECK(far.bytes == a + b);
  CHECK(far.ec);
  CHECK_FALSE(c->is_open());
  CHECK(module_read(l.r, *c).ec == reset_ec);
}

TEST_CASE("limit_data upstream without reset sends FIN after exactly the limit", "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open();
  l.r.network->add_toxic(limit(net::stream::upstream, 1500, false));
  const std::string a = pattern(1000), b = pattern(1000, 3);
  CHECK_FALSE(module_write(l.r, *c, a));
  CHECK(module_write(l.r, *c, b) == asio::error::broken_pipe);  // crosses the limit
  auto far = peer_read(l.r, *s);
  CHECK(far.bytes == a + b.substr(0, 500));
  CHECK(far.ec == asio::error::eof);
  CHECK(module_write(l.r, *c, "more") == asio::error::broken_pipe);
  // Only the module's sending side ended: the server can still answer.
  asio::write(*s, asio::buffer("bye", 3));
  CHECK(module_read(l.r, *c, 3).bytes == "bye");
}

TEST_CASE("limit_data on both directions counts each on its own", "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open();
  l.r.network->add_toxic(limit(net::stream::both, 10, false));
  CHECK_FALSE(module_write(l.r, *c, "0123456"));
  asio::write(*s, asio::buffer("abcdefg", 7));
  CHECK(module_read(l.r, *c, 7).bytes == "abcdefg");
  CHECK(peer_read(l.r, *s, 7).bytes == "0123456");
  CHECK(module_write(l.r, *c, "789xyz") == asio::error::broken_pipe);
  auto far = peer_read(l.r, *s);
  CHECK(far.bytes == "789");
  CHECK(far.ec == asio::error::eof);
}

TEST_CASE("a timeout toxic stops bytes until removed", "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open();
  net::toxic t;
  t.type = net::toxic_type::timeout;
  t.direction = net::stream::downstream;
  auto id = l.r.network->add_toxic(t);
  CHECK(has_note(l.r, "toxic timeout on every connection downstream: stall"));

  std::string got;
  std::array<char, 16> buf{};
  c->async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t n) {
    got = ec ? "error" : std::string(buf.data(), n);
  });
  asio::write(*s, asio::buffer("held", 4));
  // Upstream is not held.
  REQUIRE_FALSE(module_write(l.r, *c, "up"));
  CHECK(peer_read(l.r, *s, 2).bytes == "up");
  idle(l.r, 50ms);
  CHECK(got.empty());
  CHECK(l.r.network->remove_toxic(id));
  CHECK_FALSE(l.r.network->remove_toxic(id));
  REQUIRE(run_until(l.r.io, [&] { return !got.empty(); }));
  CHECK(got == "held");

  t.direction = net::stream::upstream;
  id = l.r.network->add_toxic(t);
  REQUIRE_FALSE(module_write(l.r, *c, "out"));  // taken into the pipe, not sent
  bool arrived = false;
  std::array<char, 3> far{};
  asio::async_read(*s, asio::buffer(far), [&](error_code, std::size_t) { arrived = true; });
  idle(l.r, 50ms);
  CHECK_FALSE(arrived);
  l.r.network->clear_toxics();
  REQUIRE(run_until(l.r.io, [&] { return arrived; }));
  CHECK(std::string(far.data(), 3) == "out");
}

TEST_CASE("a timeout toxic with a duration resets the connection after it", "[net][toxics]") {
  link_rig l;
  auto [c, s] = l.open("ftp-control");
  net::toxic t;
  t.type = net::toxic_type::timeout;
  t.role = "ftp-control";
  t.timeout = 5s;  // 50 ms real at scale 0.01
  const auto t0 = std::chrono::steady_clock::now();
  l.r.network->add_toxic(t);
  asio::write(*s, asio::buffer("never", 5));
  auto got = module_read(l.r, *c);
  CHECK(got.bytes.empty());
  CHECK(got.ec == reset_ec);
  CHECK(std::chrono::steady_clock::now() - t0 >= 45ms);
  CHECK(has_note(l.r, "toxic timeout on ftp-control: connection reset"));
}

TEST_CASE("count-limited toxics apply to that many new connections only", "[net][toxics]") {
  link_rig l;
  auto [old, old_peer] = l.open();
  l.r.network->add_toxic(limit(net::stream::downstream, 10, false, ""));  // every connection
  auto limited = limit(net::stream::downstream, 5, false, "");
  limited.count = 1;
  l.r.network->add_toxic(limited);
  auto by_role = limit(net::stream::downstream, 3, false, "ftp-data");
  by_role.count = 1;
  l.r.network->add_toxic(by_role);

  auto [first, first_peer] = l.open();
  auto [second, second_peer] = l.open();
  // An accepted data connection gets its role after it exists: it is new to the role then.
  second->set_role("ftp-data");
  auto [third, third_peer] = l.open("ftp-data");

  const std::string payload = pattern(100);
  for (auto& s : {old_peer, first_peer, second_peer, third_peer})
    asio::write(*s, asio::buffer(payload));
  CHECK(module_read(l.r, *old).bytes.size() == 10);
  CHECK(module_read(l.r, *first).bytes.size() == 5);
  CHECK(module_read(l.r, *second).bytes.size() == 3);
  CHECK(module_read(l.r, *third).bytes.size() == 10);
}

TEST_CASE("toxics reject settings that cannot act", "[net][toxics]") {
  link_rig l;
  net::toxic t;
  t.type = net::toxic_type::bandwidth;
  CHECK_THROWS_AS(l.r.network->add_toxic(t), std::invalid_argument);  // rate 0
  t.type = net::toxic_type::slicer;
  CHECK_THROWS_AS(l.r.network->add_toxic(t), std::invalid_argument);  // size 0
  t.average_size = 10;
  t.size_variation = 10;
  CHECK_THROWS_AS(l.r.network->add_toxic(t), std::invalid_argument);
  t.type = net::toxic_type::latency;
  t.latency = -1ms;
  CHECK_THROWS_AS(l.r.network->add_toxic(t), std::invalid_argument);
  t.latency = 1ms;
  t.count = -2;
  CHECK_THROWS_AS(l.r.network->add_toxic(t), std::invalid_argument);
  CHECK_THROWS_AS(l.r.network->fail_connects(net::connect_fault::refused, -2),
                  std::invalid_argument);
}

TEST_CASE("connect faults fail the next connects of their role", "[net][toxics]") {
  link_rig l;
  const auto refused = net::make_error_code(net::errc::connect_failed);
  const auto dns = net::make_error_code(net::errc::dns_failed);

  l.r.network->fail_connects(net::connect_fault::refused, 2);
  CHECK(l.r.connect("x", 21).first == refused);
  CHECK(l.r.connect("x", 21, "ftp-data").first == refused);
  CHECK_FALSE(l.r.connect("x", 21).first);
  CHECK(has_note(l.r, "connect fault refused for the next 2 connects of every connection"));

  l.r.network->fail_connects(net::connect_fault::dns_failure, 1, "ftp-control");
  CHECK_FALSE(l.r.connect("x", 21, "ftp-data").first);
  CHECK(l.r.connect("x", 21, "ftp-control").first == dns);
  CHECK_FALSE(l.r.connect("x", 21, "ftp-control").first);

  // Straight to an endpoint (a PASV data connection) too.
  l.r.network->fail_connects(net::connect_fault::refused, 1, "ftp-data");
  std::optional<error_code> ep_result;
  auto ep = l.r.network->connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), l.p.port()),
      [&](error_code ec) { ep_result = ec; }, "ftp-data");
  REQUIRE(run_until(l.r.io, [&] { return ep_result.has_value(); }));
  CHECK(*ep_result == refused);
}

TEST_CASE("a connect fault with a host name takes only connects and lookups of that name",
          "[net][toxics]") {
  link_rig l;
  const auto dns = net::make_error_code(net::errc::dns_failed);
  l.r.network->fail_connects(net::connect_fault::dns_failure, 2, "", "Broker.Example");
  CHECK(has_note(l.r,
                 "connect fault dns_failure for the next 2 connects of every connection to "
                 "Broker.Example"));
  CHECK_FALSE(l.r.connect("other.example", 21).first);
  CHECK_FALSE(l.r.network->lookup_fails("other.example"));
  CHECK(l.r.connect("broker.example", 21, "tcpip").first == dns);  // any case
  CHECK(l.r.network->lookup_fails("BROKER.EXAMPLE"));
  // Both spent.
  CHECK_FALSE(l.r.network->lookup_fails("broker.example"));
  CHECK_FALSE(l.r.connect("broker.example", 21).first);
  // A lookup takes only a dns_failure: a refusal queued first stays for the next connect.
  l.r.network->fail_connects(net::connect_fault::refused, 1);
  l.r.network->fail_connects(net::connect_fault::dns_failure, 1);
  CHECK(l.r.network->lookup_fails("any.example"));
  CHECK(l.r.connect("x", 21).first == net::make_error_code(net::errc::connect_failed));
}

TEST_CASE("datagram faults take the next datagrams of their direction", "[net][toxics]") {
  link_rig l;
  using net::datagram_fault;
  using net::stream;
  CHECK_FALSE(l.r.network->take_datagram_fault(stream::upstream));
  l.r.network->fail_datagrams(datagram_fault::lose, 2, stream::upstream);
  CHECK(has_note(l.r, "datagram fault lose for the next 2 datagrams upstream"));
  l.r.network->fail_datagrams(datagram_fault::duplicate, 1, stream::both);
  CHECK(l.r.network->take_datagram_fault(stream::downstream) == datagram_fault::duplicate);
  CHECK_FALSE(l.r.network->take_datagram_fault(stream::downstream));
  CHECK(l.r.network->take_datagram_fault(stream::upstream) == datagram_fault::lose);
  CHECK(l.r.network->take_datagram_fault(stream::upstream) == datagram_fault::lose);
  CHECK_FALSE(l.r.network->take_datagram_fault(stream::upstream));
  l.r.network->fail_datagrams(datagram_fault::lose, -1, stream::downstream);
  for (int i = 0; i < 5; ++i) {
    CHECK(l.r.network->take_datagram_fault(stream::downstream) == datagram_fault::lose);
  }
  l.r.network->clear_connect_faults();
  CHECK_FALSE(l.r.network->take_datagram_fault(stream::downstream));
  CHECK_THROWS_AS(l.r.network->fail_datagrams(datagram_fault::lose, -2, stream::both),
                  std::invalid_argument);
}

TEST_CASE("unanswered connects never complete until closed or cleared", "[net][toxics]") {
  link_rig l;
  l.r.network->fail_connects(net::connect_fault::unanswered, -1);
  std::optional<error_code> a, b;
  auto ca = l.r.network->connect("x", 21, [&](error_code ec) { a = ec; });
  auto cb = l.r.network->connect("x", 21, [&](error_code ec) { b = ec; });
  idle(l.r, 50ms);
  CHECK_FALSE(a);
  CHECK_FALSE(b);
  CHECK(l.r.network->open_connections() == 2);
  ca->close();
  REQUIRE(run_until(l.r.io, [&] { return a.has_value(); }));
  CHECK(*a == asio::error::operation_aborted);
  CHECK_FALSE(b);
  cb->close();
  l.r.network->clear_connect_faults();
  CHECK_FALSE(l.r.connect("x", 21).first);
}

TEST_CASE("inject_eof delivers what is in flight, then EOF, and closes the server's side",
          "[net][toxics]") {
  link_rig l;
  // Not a structured binding: C++17 lambdas cannot capture one (clang refuses it).
  const auto opened = l.open("ftp-control");
  const auto& c = opened.first;
  asio::write(*opened.second, asio::buffer("abc", 3));
  std::array<char, 1> one{};
  std::string got;
  std::optional<error_code> end;
  std::function<void()> next = [&] {
    c->async_read_some(asio::buffer(one), [&](error_code ec, std::size_t n) {
      if (ec) {
        end = ec;
        return;
      }
      got.append(one.data(), n);
      if (got == "a") c->inject_eof();  // "bc" is already in the pipe
      next();
    });
  };
  next();
  REQUIRE(run_until(l.r.io, [&] { return end.has_value(); }));
  CHECK(got == "abc");
  CHECK(*end == asio::error::eof);
  CHECK(module_write(l.r, *c, "QUIT\r\n") == asio::error::broken_pipe);
  CHECK(peer_read(l.r, *opened.second).ec == asio::error::eof);
  CHECK(has_note(l.r, "eof injected on ftp-control"));
}
