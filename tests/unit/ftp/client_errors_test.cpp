// The FTP client's failures: DNS, refused connects, timeouts, a scripted server that
// misbehaves, and abort. The scripted server runs on the test's own io_context.

#include "rig.hpp"

#include "quecsim/ftp/errors.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

using namespace quecsim;
using namespace quecsim::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// A one-connection FTP server whose every answer a test writes: `respond` maps a command
/// line to the reply bytes (empty: stay silent). PASV opens `data` for the test to use.
class script_server {
 public:
  using responder = std::function<std::string(const std::string& line)>;
  script_server(asio::io_context& io, std::string greeting, responder r)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        data_acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        greeting_(std::move(greeting)),
        respond_(std::move(r)) {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec) return;
      ctrl_ = std::make_shared<tcp::socket>(std::move(s));
      if (!greeting_.empty()) asio::write(*ctrl_, asio::buffer(greeting_));
      read();
    });
    data_acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (!ec) data = std::make_shared<tcp::socket>(std::move(s));
    });
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string pasv_reply() const {
    const unsigned p = data_acceptor_.local_endpoint().port();
    return "227 Entering Passive Mode (127,0,0,1," + std::to_string(p / 256) + "," +
           std::to_string(p % 256) + ")\r\n";
  }
  void send(const std::string& bytes) {
    if (ctrl_) asio::write(*ctrl_, asio::buffer(bytes));
  }
  void close_control() {
    if (ctrl_) ctrl_->close();
  }
  std::vector<std::string> lines;
  std::shared_ptr<tcp::socket> data;

 private:
  void read() {
    asio::async_read_until(*ctrl_, buf_, '\n', [this](error_code ec, std::size_t n) {
      if (ec) return;
      std::string line(asio::buffers_begin(buf_.data()),
                       asio::buffers_begin(buf_.data()) + static_cast<std::ptrdiff_t>(n));
      buf_.consume(n);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      lines.push_back(line);
      const std::string out = line == "PASV" ? pasv_reply() : respond_(line);
      if (!out.empty()) asio::write(*ctrl_, asio::buffer(out));
      read();
    });
  }
  tcp::acceptor acceptor_;
  tcp::acceptor data_acceptor_;
  std::string greeting_;
  responder respond_;
  std::shared_ptr<tcp::socket> ctrl_;
  asio::streambuf buf_;
};

/// Logs anyone in; answers TYPE; everything else per `rest`.
script_server::responder login_then(std::function<std::string(const std::string&)> rest) {
  return [rest](const std::string& l) -> std::string {
    if (l.rfind("USER", 0) == 0) return "331 pass please\r\n";
    if (l.rfind("PASS", 0) == 0) return "230 in\r\n";
    if (l.rfind("TYPE", 0) == 0) return "200 ok\r\n";
    return rest(l);
  };
}

}  // namespace

TEST_CASE("client open reports an unknown host in map mode as -4", "[ftp][errors]") {
  net::network_config cfg;
  cfg.mode = net::host_mode::map;
  rig r(1, cfg);
  CHECK(r.open().code == -4);
  CHECK_FALSE(r.client->is_open());
}

TEST_CASE("client open reports a refused connection as -5", "[ftp][errors]") {
  const refusing_port refused;
  rig r(refused.port());
  CHECK(r.open().code == -5);
}

TEST_CASE("client open with the packet context down reports -5", "[ftp][errors]") {
  const refusing_port refused;
  rig r(refused.port());
  r.ctx.deactivate(net::deact_reason::host);
  CHECK(r.open().code == -5);
}

TEST_CASE("client open times out with -9 when the connect never completes", "[ftp][errors]") {
  rig r(1);
  tcp::acceptor listening(r.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  r.network->config().embedded.port = listening.local_endpoint().port();
  r.client->set_timeouts(
      {std::chrono::seconds(2), std::chrono::seconds(2), std::chrono::seconds(2)});
  r.network->blackhole(true);
  CHECK(r.open().code == -9);
  r.network->blackhole(false);
}

TEST_CASE("client open times out with -9 when the server never greets", "[ftp][errors]") {
  rig r(1);
  script_server s(r.io, "", [](const std::string&) { return std::string(); });
  r.network->config().embedded.port = s.port();
  r.client->set_timeouts(
      {std::chrono::seconds(2), std::chrono::seconds(2), std::chrono::seconds(2)});
  CHECK(r.open().code == -9);
  CHECK_FALSE(r.client->is_open());
}

TEST_CASE("client waits through a 120 and a multi-line greeting", "[ftp][errors]") {
  rig r(1);
  script_server s(r.io, "120 soon\r\n220-Welcome\r\n220-to the\r\n220 server\r\n",
                  login_then([](const std::string&) { return std::string("500 ?\r\n"); }));
  r.network->config().embedded.port = s.port();
  CHECK(r.open("u", "p").code == 0);
  CHECK(s.lines == std::vector<std::string>{"USER u", "PASS p"});
}

TEST_CASE("client open maps a 421 greeting and a 332 account request", "[ftp][errors]") {
  {
    rig r(1);
    script_server s(r.io, "421 too many users\r\n",
                    [](const std::string&) { return std::string(); });
    r.network->config().embedded.port = s.port();
    CHECK(r.open().code == -421);
  }
  {
    rig r(1);
    script_server s(r.io, "220 hi\r\n", [](const std::string& l) {
      return std::string(l.rfind("USER", 0) == 0 ? "331 pass\r\n" : "332 account?\r\n");
    });
    r.network->config().embedded.port = s.port();
    CHECK(r.open("u", "p").code == -532);
  }
}

TEST_CASE("client maps command replies and times out a silent reply with -9", "[ftp][errors]") {
  rig r(1);
  script_server s(r.io, "220 hi\r\n", login_then([](const std::string& l) -> std::string {
                    if (l.rfind("CWD a", 0) == 0) return "250 ok\r\n";
                    if (l.rfind("CWD b", 0) == 0) return "421 going away\r\n";
                    if (l.rfind("SIZE big", 0) == 0) return "213 4294967296000\r\n";
                    if (l.rfind("SIZE odd", 0) == 0) return "213 lots\r\n";
                    if (l.rfind("DELE", 0) == 0) return "garbage\r\n450 busy\r\n";
                    if (l.rfind("MKD", 0) == 0) return "553 bad name\r\n";
                    if (l.rfind("RNFR", 0) == 0) return "350 ok\r\n";
                    if (l.rfind("RNTO", 0) == 0) return "552 no room\r\n";
                    return "";  // silence
                  }));
  r.network->config().embedded.port = s.port();
  r.client->set_timeouts(
      {std::chrono::seconds(4), std::chrono::seconds(4), std::chrono::seconds(4)});
  REQUIRE(r.open().code == 0);
  auto& c = *r.client;
  CHECK(r.wait([&](auto d) { c.cwd("a", std::move(d)); }).code == 0);
  auto big = r.wait([&](auto d) { c.size("big", std::move(d)); });
  CHECK(big.code == 0);
  CHECK(big.value == 4294967296000ull);
  CHECK(r.wait([&](auto d) { c.size("odd", std::move(d)); }).code == -1);
  CHECK(r.wait([&](auto d) { c.remove("x", std::move(d)); }).code == -450);
  CHECK(r.wait([&](auto d) { c.make_dir("x", std::move(d)); }).code == -553);
  CHECK(r.wait([&](auto d) { c.rename("x", "y", std::move(d)); }).code == -552);
  CHECK(r.wait([&](auto d) { c.cwd("b", std::move(d)); }).code == -421);
  CHECK(r.wait([&](auto d) { c.remove_dir("silent", std::move(d)); }).code == -9);
  CHECK_FALSE(c.is_open());
  CHECK(r.wait([&](auto d) { c.cwd("a", std::move(d)); }).code == -5);  // nothing open
}

TEST_CASE("client reports a reset data connection as -7", "[ftp][errors]") {
  rig r(1);
  script_server* sp = nullptr;
  script_server s(r.io, "220 hi\r\n", login_then([&](const std::string& l) -> std::string {
                    if (l.rfind("RETR", 0) == 0) {
                      // Send some data, then reset the data connection.
                      asio::write(*sp->data, asio::buffer(std::string(1000, 'd')));
                      sp->data->set_option(asio::socket_base::linger(true, 0));
                      sp->data->close();
                      return "150 here it comes\r\n";
                    }
                    return "";
                  }));
  sp = &s;
  r.network->config().embedded.port = s.port();
  REQUIRE(r.open().code == 0);
  string_sink sink(r.io);
  auto res = r.wait([&](auto d) { r.client->retrieve("f", {}, sink, std::move(d)); });
  CHECK(res.code == -7);
  CHECK(r.client->is_open());  // the control connection survives a data failure
}

TEST_CASE("client times out a stalled transfer with -9", "[ftp][errors]") {
  rig r(1);
  script_server s(r.io, "220 hi\r\n", login_then([&](const std::string& l) -> std::string {
                    if (l.rfind("RETR", 0) == 0) return "150 here it comes (never)\r\n";
                    return "";
                  }));
  r.network->config().embedded.port = s.port();
  r.client->set_timeouts(
      {std::chrono::seconds(2), std::chrono::seconds(2), std::chrono::seconds(3)});
  REQUIRE(r.open().code == 0);
  string_sink sink(r.io);
  auto res = r.wait([&](auto d) { r.client->retrieve("f", {}, sink, std::move(d)); });
  CHECK(res.code == -9);
  CHECK(sink.opened);
}

TEST_CASE("client reports the server closing mid-command as -6", "[ftp][errors]") {
  rig r(1);
  script_server* sp = nullptr;
  script_server s(r.io, "220 hi\r\n", login_then([&](const std::string&) -> std::string {
                    sp->close_control();
                    return "";
                  }));
  sp = &s;
  r.network->config().embedded.port = s.port();
  REQUIRE(r.open().code == 0);
  CHECK(r.wait([&](auto d) { r.client->cwd("x", std::move(d)); }).code == -6);
  CHECK(r.unsolicited.empty());
}

TEST_CASE("client abort drops everything without callbacks", "[ftp][errors]") {
  rig r(1);
  script_server s(r.io, "220 hi\r\n", login_then([](const std::string&) { return ""; }));
  r.network->config().embedded.port = s.port();
  REQUIRE(r.open().code == 0);
  bool called = false;
  r.client->cwd("x", [&](ftp::result) { called = true; });
  r.client->abort();
  run_until(
      r.io, [] { return false; }, std::chrono::milliseconds(50));
  CHECK_FALSE(called);
  CHECK_FALSE(r.client->is_open());
  CHECK(r.unsolicited.empty());
}

TEST_CASE("client close with nothing open completes with 0", "[ftp][errors]") {
  rig r(1);
  CHECK(r.wait([&](auto d) { r.client->close(std::move(d)); }).code == 0);
}
