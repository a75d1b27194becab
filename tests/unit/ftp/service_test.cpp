// The QFTP state machine (ftp::service) on its own: a module in memory with its UART a string,
// the bundled server in process on loopback, a clock 1000 times fast. Each test walks the
// states AT+QFTPSTAT names and checks what each command answers in them (the state table of
// docs/ftp-service.md).

#include "quecsim/ftp/service.hpp"
#include "../../support/string_port.hpp"
#include "quecsim/ftp/states.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using quecsim::ftp::service_state;

fs::path fresh_root() {
  static int counter = 0;
  auto root = fs::temp_directory_path() / ("quecsim-service-test-" + std::to_string(::getpid()) +
                                           "-" + std::to_string(++counter));
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "f.txt") << "12345";
  return root;
}

// A module with the FTP service and its embedded server.
struct stack {
  stack() : root(fresh_root()), clk(0.001), mod(io, clk, bus, quecsim::module::options{}) {
    quecsim::module::add_basic_commands(mod);
    quecsim::module::add_context_commands(mod);
    quecsim::ftpd::config fc;
    fc.root = root;
    server = std::make_unique<quecsim::ftpd::server>(io, fc, clk);
    server->start();
    quecsim::net::network_config nc;
    nc.embedded = {"127.0.0.1", server->endpoint().port()};
    net = std::make_unique<quecsim::net::network>(io, mod.context(), clk, bus, 0, nc);
    ftp = std::make_unique<quecsim::ftp::service>(mod, *net);
    mod.attach(port);
    bus.subscribe([this](const quecsim::events::event& e) {
      if (e.what == quecsim::events::kind::state && e.source == "ftp") states.emplace_back(e.data);
    });
    mod.power_up();
    run_until([] { return false; }, 5ms);
    send("ATE0");
    REQUIRE(await("OK\r\n"));
    port.out.clear();
  }
  ~stack() {
    ftp.reset();
    server->stop();
    fs::remove_all(root);
  }

  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_one_for(5ms);
    }
    return done();
  }
  // Waits for `needle` in the host's bytes; every simulated timer is tiny here, the limit
  // only ends a hang.
  bool await(const std::string& needle, std::chrono::milliseconds limit = 5000ms) {
    return run_until([&] { return port.out.find(needle) != std::string::npos; }, limit);
  }
  void send(const std::string& line) { mod.receive(line + "\r"); }
  // Sends `line` and returns everything up to and including `until`.
  std::string exchange(const std::string& line, const std::string& until) {
    port.out.clear();
    send(line);
    REQUIRE(await(until));
    const auto end = port.out.find(until) + until.size();
    std::string got = port.out.substr(0, end);
    port.out.erase(0, end);
    return got;
  }
  std::string stat() { return exchange("AT+QFTPSTAT", "OK\r\n"); }

  fs::path root;
  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  quecsim::test::string_port port;
  quecsim::module::module mod;
  std::unique_ptr<quecsim::ftpd::server> server;
  std::unique_ptr<quecsim::net::network> net;
  std::unique_ptr<quecsim::ftp::service> ftp;
  std::vector<std::string> states;
};

void open(stack& s) {
  CHECK(s.exchange(R"(AT+QFTPOPEN="ftp.example.com",21)", "+QFTPOPEN:0\r\n") ==
        "\r\nOK\r\n\r\n+QFTPOPEN:0\r\n");
  CHECK(s.ftp->state() == service_state::opened);
}

}  // namespace

TEST_CASE("the FTP state names are AT+QFTPSTAT's, one per state", "[ftp][service]") {
  CHECK(quecsim::ftp::state_name(service_state::idle) == "IDLE");
  CHECK(quecsim::ftp::state_name(service_state::opening) == "OPENING");
  CHECK(quecsim::ftp::state_name(service_state::opened) == "OPENED");
  CHECK(quecsim::ftp::state_name(service_state::working) == "WORKING");
  CHECK(quecsim::ftp::state_name(service_state::transfer) == "TRANSFER");
  CHECK(quecsim::ftp::state_name(service_state::closing) == "CLOSING");
  CHECK(quecsim::ftp::state_name(service_state::closed) == "CLOSED");
}

TEST_CASE("in IDLE the session commands answer -1 and the account may be set", "[ftp][service]") {
  stack s;
  CHECK(s.stat() == "\r\n+QFTPSTAT: IDLE\r\n\r\nOK\r\n");
  CHECK(s.exchange("AT+QFTPCLOSE", "+QFTPCLOSE:-1\r\n") == "\r\nOK\r\n\r\n+QFTPCLOSE:-1\r\n");
  CHECK(s.exchange(R"(AT+QFTPPATH="/")", "+QFTPPATH:-1\r\n") == "\r\nOK\r\n\r\n+QFTPPATH:-1\r\n");
  CHECK(s.exchange(R"(AT+QFTPSIZE="f.txt")", "+QFTPSIZE:-1\r\n") ==
        "\r\nOK\r\n\r\n+QFTPSIZE:-1\r\n");
  CHECK(s.exchange(R"(AT+QFTPUSER="")", "OK\r\n") == "\r\nOK\r\n");
  CHECK(s.exchange(R"(AT+QFTPPASS="")", "OK\r\n") == "\r\nOK\r\n");
  CHECK(s.states.empty());
}

TEST_CASE("open goes IDLE, OPENING, OPENED; a second open is busy; the account is fixed",
          "[ftp][service]") {
  stack s;
  open(s);
  CHECK(s.states == std::vector<std::string>{"OPENING", "OPENED"});
  CHECK(s.stat() == "\r\n+QFTPSTAT: OPENED\r\n\r\nOK\r\n");
  CHECK(s.exchange(R"(AT+QFTPOPEN="ftp.example.com",21)", "+QFTPOPEN:-3\r\n") ==
        "\r\nOK\r\n\r\n+QFTPOPEN:-3\r\n");
  CHECK(s.exchange(R"(AT+QFTPUSER="joe")", "ERROR\r\n").find("ERROR") != std::string::npos);
}

TEST_CASE("a command goes OPENED, WORKING, OPENED and answers its value", "[ftp][service]") {
  stack s;
  open(s);
  s.states.clear();
  CHECK(s.exchange(R"(AT+QFTPSIZE="f.txt")", "+QFTPSIZE:5\r\n") == "\r\nOK\r\n\r\n+QFTPSIZE:5\r\n");
  CHECK(s.states == std::vector<std::string>{"WORKING", "OPENED"});
  s.states.clear();
  CHECK(s.exchange(R"(AT+QFTPSIZE="missing")", "+QFTPSIZE:-550\r\n") ==
        "\r\nOK\r\n\r\n+QFTPSIZE:-550\r\n");
  CHECK(s.states == std::vector<std::string>{"WORKING", "OPENED"});
}

TEST_CASE("a GET goes through TRANSFER and back; QFTPLEN says what moved", "[ftp][service]") {
  stack s;
  open(s);
  s.states.clear();
  const std::string got = s.exchange(R"(AT+QFTPGET="f.txt")", "+QFTPGET:5\r\n");
  CHECK(got == "\r\nOK\r\n\r\nCONNECT\r\n12345\r\n+QFTPGET:5\r\n");
  REQUIRE_FALSE(s.states.empty());
  CHECK(s.states.front() == "WORKING");
  CHECK(std::find(s.states.begin(), s.states.end(), "TRANSFER") != s.states.end());
  CHECK(s.states.back() == "OPENED");
  CHECK(s.exchange("AT+QFTPLEN", "OK\r\n") == "\r\n+QFTPLEN: 5\r\n\r\nOK\r\n");
}

TEST_CASE("close goes CLOSING then IDLE, and the service opens again", "[ftp][service]") {
  stack s;
  open(s);
  s.states.clear();
  CHECK(s.exchange("AT+QFTPCLOSE", "+QFTPCLOSE:0\r\n") == "\r\nOK\r\n\r\n+QFTPCLOSE:0\r\n");
  CHECK(s.states == std::vector<std::string>{"CLOSING", "IDLE"});
  CHECK(s.stat() == "\r\n+QFTPSTAT: IDLE\r\n\r\nOK\r\n");
  open(s);
}

TEST_CASE("AT+QFTPCFG answers later, reads back and refuses unusable values", "[ftp][service]") {
  stack s;
  CHECK(s.exchange("AT+QFTPCFG=1,0", "+QFTPCFG:0\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:0\r\n");
  CHECK(s.exchange("AT+QFTPCFG=1", "+QFTPCFG:0\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:0\r\n");
  CHECK(s.exchange("AT+QFTPCFG=2,2", "+QFTPCFG:-10\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:-10\r\n");
  CHECK(s.exchange("AT+QFTPCFG=3,100", "+QFTPCFG:0\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:0\r\n");
  CHECK(s.exchange("AT+QFTPCFG=3", "+QFTPCFG:100\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:100\r\n");
  CHECK(s.exchange("AT+QFTPCFG=4", "\"\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:\"/COM/\"\r\n");
  CHECK(s.exchange(R"(AT+QFTPCFG=4,"/NOPE/")", "+QFTPCFG:-10\r\n") ==
        "\r\nOK\r\n\r\n+QFTPCFG:-10\r\n");
}

TEST_CASE("an active-mode GET runs over PORT", "[ftp][service]") {
  stack s;
  CHECK(s.exchange("AT+QFTPCFG=1,0", "+QFTPCFG:0\r\n") == "\r\nOK\r\n\r\n+QFTPCFG:0\r\n");
  open(s);
  std::vector<std::string> sent;
  s.bus.subscribe([&](const quecsim::events::event& e) {
    if (e.what == quecsim::events::kind::ftp_tx) sent.emplace_back(e.data.substr(0, 4));
  });
  CHECK(s.exchange(R"(AT+QFTPGET="f.txt")", "+QFTPGET:5\r\n").find("12345") != std::string::npos);
  CHECK(std::find(sent.begin(), sent.end(), "PORT") != sent.end());
  CHECK(std::find(sent.begin(), sent.end(), "PASV") == sent.end());
}
