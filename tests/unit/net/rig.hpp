#pragma once
// A module's network on a fast clock, and a loopback peer for it to reach, for the network's
// tests.

#include "../../support/servers.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/net/network.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace quecsim::test {

/// A loopback peer that accepts connections and keeps them, for the network to reach.
struct peer {
  explicit peer(boost::asio::io_context& io)
      : acceptor(io,
                 boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
  }
  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      sockets.push_back(std::make_shared<boost::asio::ip::tcp::socket>(std::move(s)));
      accept();
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  boost::asio::ip::tcp::acceptor acceptor;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets;
};

/// One module's network with an active packet context; `notes` collects every event text.
struct net_rig {
  explicit net_rig(net::network_config cfg = {}, double scale = 0.01) : clk(scale) {
    ctx.activate("10.0.0.2");
    bus.subscribe([this](const events::event& e) { notes.emplace_back(e.data); });
    network = std::make_unique<net::network>(io, ctx, clk, bus, 0, std::move(cfg));
  }
  /// Connects (as `role`) and waits for the outcome.
  std::pair<boost::system::error_code, std::shared_ptr<net::connection>> connect(
      const std::string& host, std::uint16_t port, const std::string& role = "") {
    std::optional<boost::system::error_code> result;
    auto c = network->connect(
        host, port, [&](boost::system::error_code ec) { result = ec; }, role);
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    return {*result, c};
  }
  boost::asio::io_context io;
  quecsim::clock clk;
  events::bus bus;
  net::packet_context ctx;
  std::unique_ptr<net::network> network;
  std::vector<std::string> notes;
};

}  // namespace quecsim::test
