#pragma once
// A module's worth of parts for client tests: io_context, a fast clock, bus, packet context
// (active), network and client, plus sinks and sources that record what moved.

#include "../../support/servers.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/ftp/client.hpp"
#include "quecsim/net/network.hpp"

#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quecsim::test {

/// Collects a download; optionally calls `ready` late (a slow UART) or acts on a chunk.
class string_sink : public ftp::download_sink {
 public:
  explicit string_sink(boost::asio::io_context& io) : io_(io) {}
  void on_open() override { opened = true; }
  void on_data(const char* p, std::size_t n, std::function<void()> ready) override {
    data.append(p, n);
    ++chunks;
    if (on_chunk) on_chunk();
    if (delay.count() == 0) return ready();
    auto t = std::make_shared<boost::asio::steady_timer>(io_, delay);
    t->async_wait([t, ready](boost::system::error_code) { ready(); });
  }
  bool opened = false;
  std::string data;
  std::size_t chunks = 0;
  std::chrono::microseconds delay{0};  ///< how long the "UART" takes per chunk
  std::function<void()> on_chunk;

 private:
  boost::asio::io_context& io_;
};

/// Pushes `data` in chunks through client::write, then finishes the upload.
class string_source : public ftp::upload_source {
 public:
  string_source(ftp::client& c, std::string bytes, std::size_t chunk = 4096)
      : data(std::move(bytes)), client_(c), chunk_(chunk) {}
  void on_open() override {
    opened = true;
    push();
  }
  bool opened = false;
  std::string data;
  std::size_t sent = 0;
  std::size_t stop_after = static_cast<std::size_t>(-1);  ///< cancel once this much is sent
  std::function<void()> on_chunk;

 private:
  void push() {
    if (sent >= stop_after) return client_.cancel_transfer();
    if (sent >= data.size()) return client_.finish_upload();
    const std::size_t n = std::min(chunk_, data.size() - sent);
    client_.write(data.data() + sent, n, [this, n](int code) {
      if (code != 0) return;
      sent += n;
      if (on_chunk) on_chunk();
      push();
    });
  }
  ftp::client& client_;
  std::size_t chunk_;
};

/// One module's network and FTP client on a clock scaled 100x.
struct rig {
  explicit rig(std::uint16_t port, net::network_config cfg = {}, double scale = 0.01) : clk(scale) {
    cfg.embedded.port = port;
    ctx.activate("10.0.0.2");
    bus.subscribe([this](const events::event& e) {
      if (e.what == events::kind::ftp_tx) tx.emplace_back(e.data);
      if (e.what == events::kind::ftp_rx) rx.emplace_back(e.data);
      if (e.what == events::kind::data_bytes) data_events++;
    });
    network = std::make_unique<net::network>(io, ctx, clk, bus, 0, std::move(cfg));
    client = std::make_shared<ftp::client>(io, *network, bus, clk, 0);
    client->on_unsolicited([this](int code) { unsolicited.push_back(code); });
  }
  ~rig() { client->abort(); }

  /// Runs one operation to its end.
  template <class Start>
  ftp::result wait(Start start, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::optional<ftp::result> r;
    start([&r](ftp::result x) { r = x; });
    REQUIRE(run_until(
        io, [&] { return r.has_value(); }, limit));
    return *r;
  }

  ftp::result open(const std::string& user = "", const std::string& password = "") {
    return wait([&](ftp::client::done d) {
      client->open({"ftp.example.com", 21, user, password}, std::move(d));
    });
  }

  boost::asio::io_context io;
  quecsim::clock clk;
  events::bus bus;
  net::packet_context ctx;
  std::unique_ptr<net::network> network;
  std::shared_ptr<ftp::client> client;
  std::vector<std::string> tx, rx;
  std::vector<int> unsolicited;
  int data_events = 0;
};

}  // namespace quecsim::test
