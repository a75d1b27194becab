// The socket service's commands and AT+QISEND's data discipline fed arbitrary bytes: a module
// (M95 profile) with the TCP/IP service over a network whose connects reach an echo peer in the
// same process. Before the input the harness opens socket 0 (in multiple connection mode when
// the first byte says so), so every AT+QISEND form meets a live connection: fixed length,
// Ctrl-Z, ESC, the 1460-byte limit, the pushed and buffered echo. Input: one settings byte
// (bit 0: AT+QIMUX=1; bits 1-2: AT+QINDI), then chunks, each a length byte and that many bytes
// the host sends, the module run a little after each. Invariants beyond no crash: the module
// answers the opening as the fact sheet says, and after the input, once an ESC and the bytes a
// fixed-length send still waits for have gone, it answers AT with OK (it stays usable).
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "../support/string_port.hpp"
#include "check.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/module/profile.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/tcpip/service.hpp"

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
namespace qm = quecsim::module;

// The peer: every connection's bytes written back (a request/response server in its
// simplest form), so pushed and buffered data both happen.
class echo_peer {
 public:
  explicit echo_peer(asio::io_context& io)
      : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct link {
    explicit link(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    char buffer[2048];
  };
  void accept() {
    auto l = std::make_shared<link>(io_);
    acceptor_.async_accept(l->socket, [this, l](boost::system::error_code ec) {
      if (ec) return;
      echo(l);
      accept();
    });
  }
  static void echo(const std::shared_ptr<link>& l) {
    l->socket.async_read_some(asio::buffer(l->buffer),
                              [l](boost::system::error_code ec, std::size_t n) {
                                if (ec) return;
                                asio::async_write(l->socket, asio::buffer(l->buffer, n),
                                                  [l](boost::system::error_code e, std::size_t) {
                                                    if (!e) echo(l);
                                                  });
                              });
  }
  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

// Runs the io_context until `done` or about `limit` of real time has passed.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(5));
  }
  return done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool mux = (data[0] & 1) != 0;
  const int qindi = (data[0] >> 1) % 3;
  asio::io_context io;
  // A fast clock: the connect timer (75 s) and the data pacing fall within the run's bounds.
  quecsim::clock clk(0.001);
  quecsim::events::bus bus;
  quecsim::test::string_port host;
  qm::options o;
  o.model = qm::profile::find("M95");
  qm::module mod(io, clk, bus, o);
  qm::add_basic_commands(mod);
  qm::add_general_commands(mod);
  qm::add_context_commands(mod);
  echo_peer peer(io);
  quecsim::net::network_config cfg;
  cfg.mode = quecsim::net::host_mode::map;
  cfg.round_trip = {};
  // The name the seeds open: whatever port they give, it reaches the peer.
  cfg.hosts["peer"] = {"127.0.0.1", peer.port()};
  cfg.hosts["127.0.0.1"] = {"127.0.0.1", peer.port()};
  quecsim::net::network net(io, mod.context(), clk, bus, 0, cfg);
  quecsim::tcpip::service tcpip(mod, net);
  mod.attach(host);
  mod.power_up();

  const auto answered = [&](std::string_view text) {
    return run_until(
        io, [&] { return host.out.find(text) != std::string::npos; },
        std::chrono::milliseconds(2000));
  };
  mod.receive("ATE0\r");
  FUZZ_CHECK(answered("OK\r\n"));
  const std::string prefix = mux ? "0, " : "";
  mod.receive(std::string(mux ? "AT+QIMUX=1\r" : "AT+QIMUX=0\r") +
              "AT+QINDI=" + std::to_string(qindi) + "\r");
  FUZZ_CHECK(answered("OK\r\n\r\nOK\r\n"));
  host.out.clear();
  mod.receive(std::string("AT+QIOPEN=") + (mux ? "0," : "") + "\"TCP\",\"peer\",1\r");
  FUZZ_CHECK(answered(prefix + "CONNECT OK\r\n"));
  host.out.clear();

  // The input, chunk by chunk.
  std::size_t at = 1;
  while (at < size) {
    const std::size_t n = std::min<std::size_t>(data[at], size - at - 1);
    mod.receive(std::string_view(reinterpret_cast<const char*>(data) + at + 1, n));
    at += 1 + n;
    run_until(
        io, [] { return false; }, std::chrono::milliseconds(1));
    host.out.clear();
  }

  // Still usable: an ESC ends a Ctrl-Z send, bytes end a fixed-length one (transparent mode,
  // which the input may have entered, is left alone: there AT is data).
  mod.receive("\x1b");
  for (int i = 0; i < 1461 && mod.in_data_mode(); ++i) {
    if (mod.current().qimode != 0) return 0;
    mod.receive("x");
  }
  if (mod.in_data_mode()) return 0;
  // Only where the input left the module able to say OK: result codes on and in words, CR
  // ending lines, and no power-down, function change or sleep asked for.
  const auto& c = mod.current();
  std::string typed(reinterpret_cast<const char*>(data), size);
  for (auto& ch : typed) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const bool can_answer =
      c.verbose && !c.quiet && mod.line().s3 == '\r' && typed.find("POWD") == std::string::npos &&
      typed.find("CFUN") == std::string::npos && typed.find("QSCLK") == std::string::npos;
  host.out.clear();
  mod.receive("\rAT\r");
  // Whatever command still runs (an open waiting for its result) ends first, within the bound.
  if (can_answer) FUZZ_CHECK(answered("OK\r\n"));
  return 0;
}
