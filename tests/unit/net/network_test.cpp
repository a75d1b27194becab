// The module's network: host map, link model, fault seams and the packet context, against
// real loopback sockets.

#include "quecsim/net/network.hpp"
#include "rig.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

using namespace quecsim;
using namespace quecsim::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

TEST_CASE("host entries parse as NAME=ADDR:PORT and bad ones say why", "[net]") {
  auto [name, target] = net::parse_host_entry("FTP.Example.com=127.0.0.1:2121");
  CHECK(name == "ftp.example.com");
  CHECK(target.address == "127.0.0.1");
  CHECK(target.port == 2121);
  auto v6 = net::parse_host_entry("h=[::1]:21");
  CHECK(v6.second.address == "::1");
  for (const char* bad : {"", "noequals", "=1.2.3.4:21", "h=1.2.3.4", "h=1.2.3.4:", "h=:21",
                          "h=1.2.3.4:0", "h=1.2.3.4:65536", "h=1.2.3.4:2x", "h=1.2.3.4:999999"})
    CHECK_THROWS_AS(net::parse_host_entry(bad), std::invalid_argument);
  CHECK(net::parse_host_mode("embedded") == net::host_mode::embedded);
  CHECK(net::parse_host_mode("map") == net::host_mode::map);
  CHECK(net::parse_host_mode("system") == net::host_mode::system);
  CHECK_THROWS_AS(net::parse_host_mode("dns"), std::invalid_argument);
}

TEST_CASE("embedded mode routes every name and IP literal to the embedded server", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  for (const char* host : {"ftp.production.example", "203.0.113.9", "localhost"}) {
    auto [ec, c] = r.connect(host, 21);
    CHECK_FALSE(ec);
    CHECK(c->is_open());
    CHECK(c->remote_endpoint().port() == p.port());
  }
}

TEST_CASE("map mode uses entries and IP literals, and unknown names fail as DNS", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().mode = net::host_mode::map;
  r.network->config().hosts["ftp.example.com"] = {"127.0.0.1", p.port()};
  auto [ec1, c1] = r.connect("FTP.EXAMPLE.COM", 21);
  CHECK_FALSE(ec1);
  auto [ec2, c2] = r.connect("127.0.0.1", p.port());
  CHECK_FALSE(ec2);
  auto [ec3, c3] = r.connect("unknown.example.com", 21);
  CHECK(ec3 == net::make_error_code(net::errc::dns_failed));
  CHECK_FALSE(c3->is_open());
}

TEST_CASE("system mode resolves names through the system resolver", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().mode = net::host_mode::system;
  auto [ec, c] = r.connect("localhost", p.port());
  // localhost may resolve to ::1 first; the network tries each address in turn.
  CHECK_FALSE(ec);
  r.network->config().hosts["named"] = {"127.0.0.1", p.port()};
  auto [ec2, c2] = r.connect("named", 1);
  CHECK_FALSE(ec2);
}

TEST_CASE("a refused connect fails as connect_failed", "[net]") {
  net_rig r;
  const refusing_port refused;
  r.network->config().embedded = {"127.0.0.1", refused.port()};
  auto [ec, c] = r.connect("ftp.example.com", 21);
  CHECK(ec == net::make_error_code(net::errc::connect_failed));
}

TEST_CASE("connects are refused while the packet context is inactive", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  r.ctx.deactivate(net::deact_reason::host);
  auto [ec, c] = r.connect("x", 21);
  CHECK(ec == net::make_error_code(net::errc::context_inactive));
  error_code lec;
  CHECK_FALSE(r.network->listen(lec));
  CHECK(lec == net::make_error_code(net::errc::context_inactive));
}

TEST_CASE("the packet context going down fails every connection and listener", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  auto [ec, c] = r.connect("x", 21);
  REQUIRE_FALSE(ec);
  error_code lec;
  auto l = r.network->listen(lec);
  REQUIRE(l);
  CHECK(l->local_endpoint().address().to_string() == "127.0.0.1");
  CHECK(l->local_endpoint().port() != 0);
  std::optional<error_code> read_ec, accept_ec;
  std::array<char, 16> buf{};
  c->async_read_some(asio::buffer(buf), [&](error_code e, std::size_t) { read_ec = e; });
  l->async_accept([&](error_code e, std::shared_ptr<net::connection>) { accept_ec = e; });
  CHECK(r.network->open_connections() == 1);
  r.ctx.deactivate(net::deact_reason::network);
  REQUIRE(run_until(r.io, [&] { return read_ec && accept_ec; }));
  CHECK(*read_ec == net::make_error_code(net::errc::context_down));
  CHECK(*accept_ec == net::make_error_code(net::errc::context_down));
  CHECK(r.network->open_connections() == 0);
}

TEST_CASE("reset_all fails open connections as a reset", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  auto [ec, c] = r.connect("x", 21);
  REQUIRE_FALSE(ec);
  std::optional<error_code> read_ec;
  std::array<char, 16> buf{};
  c->async_read_some(asio::buffer(buf), [&](error_code e, std::size_t) { read_ec = e; });
  r.network->reset_all();
  REQUIRE(run_until(r.io, [&] { return read_ec.has_value(); }));
  CHECK(*read_ec == net::make_error_code(net::errc::connection_reset));
}

TEST_CASE("data and connects take the configured latency", "[net]") {
  net::network_config cfg;
  cfg.round_trip = std::chrono::milliseconds(1000);  // 100 ms real at scale 0.1
  net_rig r(cfg, 0.1);
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  const auto t0 = std::chrono::steady_clock::now();
  auto [ec, c] = r.connect("x", 21);
  REQUIRE_FALSE(ec);
  const auto t1 = std::chrono::steady_clock::now();
  CHECK(t1 - t0 >= std::chrono::milliseconds(95));
  REQUIRE(run_until(r.io, [&] { return !p.sockets.empty(); }));

  // Module to peer: half the round trip.
  bool written = false;
  c->async_write(asio::buffer("ping", 4), [&](error_code, std::size_t) { written = true; });
  std::array<char, 4> got{};
  bool arrived = false;
  asio::async_read(*p.sockets[0], asio::buffer(got),
                   [&](error_code, std::size_t) { arrived = true; });
  REQUIRE(run_until(r.io, [&] { return arrived; }));
  CHECK(written);
  const auto t2 = std::chrono::steady_clock::now();
  CHECK(t2 - t1 >= std::chrono::milliseconds(45));

  // Peer to module: half the round trip again.
  asio::write(*p.sockets[0], asio::buffer("pong", 4));
  const auto t3 = std::chrono::steady_clock::now();
  std::size_t n = 0;
  c->async_read_some(asio::buffer(got), [&](error_code, std::size_t k) { n = k; });
  REQUIRE(run_until(r.io, [&] { return n > 0; }));
  CHECK(std::chrono::steady_clock::now() - t3 >= std::chrono::milliseconds(45));
  CHECK(std::string(got.data(), n) == std::string("pong").substr(0, n));
}

TEST_CASE("a bandwidth limit paces data", "[net]") {
  net::network_config cfg;
  cfg.round_trip = {};
  cfg.bandwidth = 10000;  // bytes per simulated second: 100000 B/s real at scale 0.1
  net_rig r(cfg, 0.1);
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  auto [ec, c] = r.connect("x", 21);
  REQUIRE_FALSE(ec);
  REQUIRE(run_until(r.io, [&] { return !p.sockets.empty(); }));
  const std::string payload(10000, 'b');
  const auto t0 = std::chrono::steady_clock::now();
  c->async_write(asio::buffer(payload), [](error_code, std::size_t) {});
  std::string got(payload.size(), '\0');
  bool arrived = false;
  asio::async_read(*p.sockets[0], asio::buffer(got),
                   [&](error_code, std::size_t) { arrived = true; });
  REQUIRE(run_until(r.io, [&] { return arrived; }));
  // 10000 bytes at 100000 B/s: 100 ms, less the first slice that goes at once.
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(80));
  CHECK(got == payload);
}

TEST_CASE("a blackhole stalls data until lifted, and a full pipe holds back writes", "[net]") {
  net::network_config cfg;
  cfg.round_trip = {};
  cfg.pipe_limit = 8192;
  net_rig r(cfg);
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  // Not a structured binding: C++17 lambdas cannot capture one (clang refuses it).
  const auto connected = r.connect("x", 21);
  const auto& c = connected.second;
  REQUIRE_FALSE(connected.first);
  REQUIRE(run_until(r.io, [&] { return !p.sockets.empty(); }));
  r.network->blackhole(true);
  CHECK(r.network->blackholed());
  // Writes complete while the pipe has room, then stop completing.
  const std::string chunk(4096, 'q');
  std::size_t completed = 0;
  std::function<void()> push = [&] {
    c->async_write(asio::buffer(chunk), [&](error_code e, std::size_t) {
      if (e) return;
      ++completed;
      push();
    });
  };
  push();
  std::string got(3 * 4096, '\0');
  bool arrived = false;
  asio::async_read(*p.sockets[0], asio::buffer(got),
                   [&](error_code, std::size_t) { arrived = true; });
  run_until(
      r.io, [] { return false; }, std::chrono::milliseconds(100));
  CHECK(completed == 2);
  CHECK_FALSE(arrived);
  r.network->blackhole(false);
  REQUIRE(run_until(r.io, [&] { return arrived; }));
  CHECK(got == std::string(3 * 4096, 'q'));
  c->close();
  run_until(
      r.io, [] { return false; }, std::chrono::milliseconds(20));
}

TEST_CASE("closing a connection mid-connect completes the connect as aborted", "[net]") {
  net_rig r;
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  r.network->blackhole(true);  // the connect parks
  std::optional<error_code> result;
  auto c = r.network->connect("x", 21, [&](error_code e) { result = e; });
  run_until(
      r.io, [] { return false; }, std::chrono::milliseconds(30));
  CHECK_FALSE(result);
  c->close();
  REQUIRE(run_until(r.io, [&] { return result.has_value(); }));
  CHECK(*result == asio::error::operation_aborted);
}

TEST_CASE("a connection's own link settings override the network's", "[net]") {
  net::network_config cfg;
  cfg.round_trip = std::chrono::seconds(100);  // 1 s real at scale 0.01: far too slow
  net_rig r(cfg);
  peer p(r.io);
  r.network->config().embedded = {"127.0.0.1", p.port()};
  r.network->set_round_trip({});  // connect at once...
  auto [ec, c] = r.connect("x", 21);
  REQUIRE_FALSE(ec);
  r.network->set_round_trip(std::chrono::seconds(100));  // ...then the link turns slow
  c->set_round_trip(clock::duration::zero());            // except for this connection
  c->set_role("ftp-data");
  REQUIRE(r.network->connections().size() == 1);
  CHECK(r.network->connections()[0]->role() == "ftp-data");
  REQUIRE(run_until(r.io, [&] { return !p.sockets.empty(); }));
  c->async_write(asio::buffer("fast", 4), [](error_code, std::size_t) {});
  std::array<char, 4> got{};
  bool arrived = false;
  asio::async_read(*p.sockets[0], asio::buffer(got),
                   [&](error_code, std::size_t) { arrived = true; });
  CHECK(run_until(
      r.io, [&] { return arrived; }, std::chrono::milliseconds(500)));
}
