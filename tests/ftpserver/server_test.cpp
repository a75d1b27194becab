// The server embedded as the simulator embeds it: one io_context, driven through the API.
#include "quecsim/ftpd/server.hpp"

#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using namespace quecsim::ftpd;

namespace {

fs::path fresh_root() {
  static std::atomic<int> n{0};
  auto p = fs::temp_directory_path() /
           ("quecsim-ftpd-api-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// The server on its io_context in a background thread; the test talks to it with a blocking
// client and reaches the server only by posting to its thread.
struct running_server {
  fs::path root = fresh_root();
  asio::io_context io;
  std::unique_ptr<server> srv;
  std::thread thread;

  explicit running_server(config cfg = {}, const quecsim::clock* clk = nullptr) {
    cfg.root = root;
    srv = clk ? std::make_unique<server>(io, cfg, *clk) : std::make_unique<server>(io, cfg);
    srv->start();
    thread = std::thread([this] { io.run(); });
  }
  ~running_server() {
    if (thread.joinable()) {
      call([this] {
        srv->stop();
        return 0;
      });
      thread.join();
    }
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  template <class F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }
};

struct client {
  asio::io_context io;
  tcp::socket s{io};
  asio::streambuf buf;
  explicit client(tcp::endpoint ep) {
    s.connect(ep);
    REQUIRE(line() == "220 quecsim-ftpd ready.");
  }
  std::string line() {
    boost::system::error_code ec;
    asio::read_until(s, buf, "\r\n", ec);
    if (ec) return "<" + ec.message() + ">";
    std::istream in(&buf);
    std::string l;
    std::getline(in, l);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    return l;
  }
  std::string cmd(const std::string& c) {
    asio::write(s, asio::buffer(c + "\r\n"));
    return line();
  }
  void login() {
    REQUIRE(cmd("USER u") == "331 Username ok, send password.");
    REQUIRE(cmd("PASS p") == "230 Login successful.");
  }
};

}  // namespace

TEST_CASE("api: the embedded server listens on loopback port 0 and stop() lets run() return") {
  asio::io_context io;
  config cfg;
  cfg.root = fresh_root();
  server srv(io, cfg);
  srv.start();
  auto ep = srv.endpoint();
  REQUIRE(ep.address().to_string() == "127.0.0.1");
  REQUIRE(ep.port() != 0);
  std::thread t([&] { io.run(); });
  client c(ep);
  c.login();
  asio::post(io, [&] { srv.stop(); });
  t.join();                          // returns although a session was open
  REQUIRE(c.line().front() == '<');  // the session was closed
  fs::remove_all(cfg.root);
}

TEST_CASE("api: a fault rule added at run time acts on an open session until cleared") {
  running_server rs;
  client c(rs.srv->endpoint());
  c.login();
  fault_rule r;
  r.action = fault_action::reply;
  r.command = "NOOP";
  r.text = "421-Going down.\r\n421 Bye.\r\n";
  auto id = rs.call([&] { return rs.srv->add_fault(r); });
  REQUIRE(c.cmd("NOOP") == "421-Going down.");
  REQUIRE(c.line() == "421 Bye.");
  REQUIRE(rs.call([&] { return rs.srv->faults().entries().size(); }) == 1);
  REQUIRE(rs.call([&] { return rs.srv->remove_fault(id); }));
  REQUIRE(c.cmd("NOOP") == "200 NOOP command successful.");
  rs.call([&] { return rs.srv->add_fault(r); });
  rs.call([&] {
    rs.srv->clear_faults();
    return 0;
  });
  REQUIRE(c.cmd("NOOP") == "200 NOOP command successful.");
}

TEST_CASE("api: a timed close rule added at run time closes a session already open") {
  running_server rs;
  client c(rs.srv->endpoint());
  fault_rule r;
  r.action = fault_action::close_control;
  r.after = std::chrono::milliseconds(50);
  rs.call([&] { return rs.srv->add_fault(r); });
  REQUIRE(c.line() == "<End of file>");
}

TEST_CASE("api: records list each session's commands, replies and faults") {
  running_server rs;
  {
    client c(rs.srv->endpoint());
    c.login();
    REQUIRE(c.cmd("SYST") == "215 UNIX Type: L8");
    REQUIRE(c.cmd("QUIT") == "221 Goodbye.");
    REQUIRE(c.line() == "<End of file>");
  }
  auto recs = rs.call([&] { return rs.srv->records(); });
  REQUIRE(recs.size() == 1);
  REQUIRE(recs[0].id == 1);
  REQUIRE(recs[0].user == "u");
  REQUIRE(recs[0].commands == std::vector<std::string>{"USER u", "PASS ****", "SYST", "QUIT"});
  REQUIRE(recs[0].replies.front() == "220 quecsim-ftpd ready.");
  REQUIRE(recs[0].replies.back() == "221 Goodbye.");
  REQUIRE(recs[0].faults.empty());
  REQUIRE_FALSE(recs[0].open);
  REQUIRE(rs.call([&] { return rs.srv->session_count(); }) == 0);
  rs.call([&] {
    rs.srv->clear_records();
    return 0;
  });
  REQUIRE(rs.call([&] { return rs.srv->records().size(); }) == 0);
}

TEST_CASE("api: the shared clock's scale shortens the idle timeout") {
  quecsim::clock clk(0.001);
  config cfg;
  cfg.timeouts.control_idle = std::chrono::seconds(60);
  running_server rs(cfg, &clk);
  client c(rs.srv->endpoint());
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(c.line() == "421 Control connection timed out.");
  REQUIRE(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("api: start() refuses a missing root and a public address without users") {
  asio::io_context io;
  config cfg;
  cfg.root = "/nonexistent/quecsim";
  server a(io, cfg);
  REQUIRE_THROWS_AS(a.start(), config_error);
  cfg.root = fs::temp_directory_path();
  cfg.address = "0.0.0.0";
  server b(io, cfg);
  REQUIRE_THROWS_WITH(b.start(),
                      "--address: binding 0.0.0.0 (not loopback) requires --user or --users-file");
}
