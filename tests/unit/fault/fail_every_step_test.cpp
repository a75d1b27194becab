// Fail every step (Boost.MySQL's loop): each QFTP command's exchange is run once to record its
// steps (the connect, each control command and reply, each data chunk), then run again failed
// at each step in turn with each fault that applies there. Every run must end with the fault's
// code (or, when the fault lands after the command's last reply, with success and the
// unsolicited error), within the command's timers, and leave the module usable: AT+QFTPCLOSE,
// a fresh AT+QFTPOPEN and a GET work afterwards.

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../../support/string_port.hpp"
#include "quecsim/fault/injector.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

using quecsim::test::string_port;

// One step of an exchange, as the fault trigger that fires exactly there.
struct step {
  std::string what;  // for messages: "ftp_command RETR #1", "bytes down 16384"
  json when;
  int every = 1;
  bool data = false;  // a data connection is open at this step
};

// A whole module with its embedded server, in process, on a clock 1000 times fast.
struct stack {
  explicit stack(const fs::path& root) : clk(0.001), mod(io, clk, bus, quecsim::module::options{}) {
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
    quecsim::fault::seams s;
    s.module = &mod;
    s.network = net.get();
    s.ftp = ftp.get();
    s.port = &port;
    s.server = server.get();
    injector = std::make_unique<quecsim::fault::injector>(io, clk, bus, s, 1);
    mod.power_up();
    run_until([] { return false; }, 5ms);
    port.out.clear();
    send("ATE0");
    REQUIRE(await("OK\r\n"));
  }
  ~stack() {
    injector.reset();
    server->stop();
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
  // Waits for `needle` in the host's bytes (real time: every simulated timer is tiny here).
  bool await(const std::string& needle, std::chrono::milliseconds limit = 3000ms) {
    return run_until([&] { return port.out.find(needle) != std::string::npos; }, limit);
  }
  void send(const std::string& line) { mod.receive(line + "\r"); }

  // The result line `+QFTP<name>:<n>` of the command now running, or nullopt on a hang.
  std::optional<long long> result(const std::string& name) {
    const std::string head = "\r\n+QFTP" + name + ":";
    std::optional<long long> code;
    run_until(
        [&] {
          auto at = port.out.rfind(head);
          if (at == std::string::npos) return false;
          auto end = port.out.find("\r\n", at + head.size());
          if (end == std::string::npos) return false;
          code = std::stoll(port.out.substr(at + head.size(), end - at - head.size()));
          return true;
        },
        3000ms);
    return code;
  }

  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  quecsim::module::module mod;
  std::unique_ptr<quecsim::ftpd::server> server;
  std::unique_ptr<quecsim::net::network> net;
  std::unique_ptr<quecsim::ftp::service> ftp;
  std::unique_ptr<quecsim::fault::injector> injector;
};

// One command under test: its AT line, the result line's name, what the host sends after
// CONNECT (PUT), and the files the server must hold first.
struct command {
  std::string line;
  std::string name;
  std::string upload;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

fs::path fresh_root() {
  static int counter = 0;
  auto root = fs::temp_directory_path() / ("quecsim-fail-every-step-" + std::to_string(::getpid()) +
                                           "-" + std::to_string(++counter));
  fs::remove_all(root);
  fs::create_directories(root / "d");
  std::ofstream(root / "f") << "12345";
  std::ofstream(root / "probe.txt") << "probe";
  std::ofstream(root / "big.bin", std::ios::binary) << pattern(48 * 1024);
  return root;
}

void open_session(stack& s) {
  s.send(R"(AT+QFTPOPEN="ftp.example.com",21)");
  REQUIRE(s.result("OPEN") == 0);
}

// Runs `c` once (the session opened first unless it is the open itself) and records its steps.
std::vector<step> record(const command& c) {
  const auto root = fresh_root();
  std::vector<step> steps;
  {
    stack s(root);
    if (c.name != "OPEN") open_session(s);
    std::map<std::string, int> seen;
    std::uint64_t down = 0;
    std::uint64_t up = 0;
    bool data_open = false;
    s.bus.subscribe([&](const quecsim::events::event& e) {
      using quecsim::events::kind;
      if (e.what == kind::ftp_tx) {
        const std::string verb(e.data.substr(0, e.data.find(' ')));
        const int n = ++seen["tx " + verb];
        steps.push_back({"ftp_command " + verb + " #" + std::to_string(n),
                         {{"ftp_command", verb}},
                         n,
                         data_open});
        if (verb == "RETR" || verb == "STOR") data_open = true;
      } else if (e.what == kind::ftp_rx && (e.data.size() == 3 || e.data[3] == ' ')) {
        const int code = std::stoi(std::string(e.data.substr(0, 3)));
        const int n = ++seen["rx " + std::to_string(code)];
        if (code == 226) data_open = false;
        steps.push_back({"ftp_reply " + std::to_string(code) + " #" + std::to_string(n),
                         {{"ftp_reply", code}},
                         n,
                         data_open});
      } else if (e.what == kind::data_bytes) {
        const auto& moved = std::get<quecsim::events::bytes_moved>(e.detail);
        const bool is_up = moved.up;
        auto& total = is_up ? up : down;
        // Fire at the first byte of this chunk: the step is "the chunk moves".
        const auto at = total + 1;
        total += moved.count;
        steps.push_back({std::string("bytes ") + (is_up ? "up " : "down ") + std::to_string(at),
                         {{"bytes", at}, {"direction", is_up ? "up" : "down"}},
                         1,
                         true});
      }
    });
    s.send(c.line);
    if (!c.upload.empty()) {
      REQUIRE(s.await("CONNECT\r\n"));
      s.mod.receive(c.upload);
    }
    REQUIRE(s.result(c.name).value_or(-1) >= 0);
  }
  fs::remove_all(root);
  return steps;
}

struct fault {
  const char* name;
  json action;
  std::set<long long> codes;  // what the command may end with
  long long idle_code = 0;    // +QFTPERROR:<n> when it lands after the last reply (0: none)
  bool data_only = false;
};

}  // namespace

TEST_CASE(
    "Every QFTP command failed at every step of its exchange ends with its code and leaves "
    "the module usable",
    "[fault][slow]") {
  const std::string body = pattern(20000);
  const std::vector<command> commands = {
      {R"(AT+QFTPOPEN="ftp.example.com",21)", "OPEN", ""},
      {R"(AT+QFTPPATH="/d")", "PATH", ""},
      {R"(AT+QFTPSIZE="f")", "SIZE", ""},
      {R"(AT+QFTPDELETE="f")", "DELETE", ""},
      {R"(AT+QFTPMKDIR="e")", "MKDIR", ""},
      {R"(AT+QFTPRMDIR="d")", "RMDIR", ""},
      {R"(AT+QFTPRENAME="f","g")", "RENAME", ""},
      {R"(AT+QFTPGET="big.bin")", "GET", ""},
      {R"(AT+QFTPPUT="up.bin",20000)", "PUT", body},
  };
  const std::vector<fault> faults = {
      // The server drops a transfer whose control connection is gone: the module may notice
      // the data connection's end (-7) before the control's (-6), as on a real link.
      {"control reset", {{"action", "close_control"}, {"mode", "reset"}}, {-6, -7}, -6},
      {"control closed", {{"action", "close_control"}, {"mode", "close"}}, {-6, -7}, -6},
      {"packet context down", {{"action", "pdp_deact"}}, {-8}, -8},
      {"link stall", {{"action", "stall"}, {"duration_ms", 200000}}, {-9}},
      {"data reset", {{"action", "close_data"}, {"mode", "reset"}}, {-7}, 0, true},
  };

  std::size_t cells = 0;
  for (const auto& c : commands) {
    const auto steps = record(c);
    REQUIRE_FALSE(steps.empty());
    for (const auto& st : steps) {
      for (const auto& f : faults) {
        if (f.data_only && !st.data) continue;
        INFO(c.line << " failed at " << st.what << " by " << f.name);
        const auto root = fresh_root();
        {
          stack s(root);
          if (c.name != "OPEN") open_session(s);
          json doc = {{"name", "cell"}, {"description", "one cell"}};
          doc["events"] = json::array(
              {{{"when", st.when}, {"every", st.every}, {"do", json::array({f.action})}}});
          s.injector->load(quecsim::fault::parse_scenario(doc, "cell"));
          s.port.out.clear();
          s.send(c.line);
          if (!c.upload.empty() && s.await("CONNECT\r\n", 1000ms)) s.mod.receive(c.upload);
          const auto code = s.result(c.name);
          REQUIRE(code.has_value());  // nothing hangs past the command's timers
          if (*code >= 0) {
            // The fault landed after the command's last reply: the session (or the context)
            // then ends unasked, except a stall, which nobody notices while idle.
            if (f.idle_code != 0) {
              CHECK(s.await("+QFTPERROR:" + std::to_string(f.idle_code)));
            }
          } else {
            INFO("result " << *code);
            CHECK(f.codes.count(*code) == 1);
          }
          // Usable afterwards.
          s.injector->unload("cell");
          s.net->blackhole(false);
          s.port.out.clear();
          s.send("AT+QFTPCLOSE");
          // A failed open leaves the service IDLE, where AT+QFTPCLOSE answers -1.
          CHECK(s.result("CLOSE") == (c.name == "OPEN" && (!code || *code < 0) ? -1 : 0));
          open_session(s);
          s.port.out.clear();
          s.send(R"(AT+QFTPGET="probe.txt")");
          CHECK(s.result("GET") == 5);
          CHECK(s.port.out.find("CONNECT\r\nprobe\r\n+QFTPGET:5\r\n") != std::string::npos);
        }
        fs::remove_all(root);
        ++cells;
      }
    }
  }
  WARN("fail-every-step covered " << cells << " (command, step, fault) cells");
  CHECK(cells > 100);
}

TEST_CASE("Connect faults at AT+QFTPOPEN's connect step end with -4, -5 and -9", "[fault]") {
  const std::vector<std::pair<json, long long>> cases = {
      {{{"action", "dns_fail"}}, -4},
      {{{"action", "connect_refuse"}}, -5},
      {{{"action", "connect_timeout"}}, -9},
  };
  for (const auto& [action, expected] : cases) {
    INFO(action.dump());
    const auto root = fresh_root();
    {
      stack s(root);
      s.injector->apply(quecsim::fault::parse_action(action, "test", "/"));
      s.send(R"(AT+QFTPOPEN="ftp.example.com",21)");
      CHECK(s.result("OPEN") == expected);
      s.port.out.clear();
      open_session(s);  // only the next connect failed
    }
    fs::remove_all(root);
  }
}

TEST_CASE("reset_connections ends an idle session with -6 and leaves the packet context up",
          "[fault]") {
  const auto root = fresh_root();
  {
    stack s(root);
    open_session(s);
    REQUIRE(s.mod.context().active());
    const auto reset = json{{"action", "reset_connections"}};
    CHECK(s.injector->apply(quecsim::fault::parse_action(reset, "test", "/")) ==
          "every connection reset; the packet context stays up");
    CHECK(s.await("+QFTPERROR:-6\r\n"));
    CHECK(s.net->open_connections() == 0);
    CHECK(s.mod.context().active());
    // With nothing open it does nothing, and says why.
    CHECK_THROWS_WITH(s.injector->apply(quecsim::fault::parse_action(reset, "test", "/")),
                      "no open connection");
  }
  fs::remove_all(root);
}
