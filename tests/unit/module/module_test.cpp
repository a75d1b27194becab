#include "quecsim/module/module.hpp"
#include "../../support/string_port.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <thread>

using namespace std::chrono_literals;
namespace qm = quecsim::module;

namespace {

using quecsim::test::string_port;

struct fixture {
  fixture() : clk(0.001), mod(io, clk, bus, make_options()) {
    qm::add_basic_commands(mod);
    qm::add_context_commands(mod);
    mod.attach(port);
    mod.power_up();
    settle();
    port.take();
  }
  static qm::options make_options() {
    qm::options o;
    o.power_up_lines = true;
    return o;
  }
  // Runs the io_context until nothing is left to do (every timer is scaled to near zero).
  void settle() {
    io.restart();
    io.run_for(200ms);
  }
  std::string exchange(std::string_view bytes) {
    mod.receive(bytes);
    settle();
    return port.take();
  }

  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::module mod;
};

// A data-mode handler that takes at most `capacity` bytes, then reports full.
class collector : public qm::data_mode_handler {
 public:
  std::size_t on_host_data(std::string_view bytes) override {
    const std::size_t n = std::min(bytes.size(), capacity - data.size());
    data.append(bytes.substr(0, n));
    return n;
  }
  void on_escape() override { escaped = true; }
  std::string data;
  std::size_t capacity = 1 << 20;
  bool escaped = false;
};

}  // namespace

TEST_CASE("power-up lines are framed as unsolicited lines") {
  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::module mod(io, clk, bus, {});
  mod.attach(port);
  mod.power_up();
  CHECK(port.out ==
        "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
}

TEST_CASE("a concatenated line stops at the first error") {
  fixture f;
  CHECK(f.exchange("ATE0\r") == "ATE0\r\r\nOK\r\n");
  CHECK(f.exchange("AT+CSQ;+NOPE;+CGATT?\r") == "\r\n+CSQ: 20,0\r\n\r\nERROR\r\n");
}

TEST_CASE("unsolicited lines wait until the running command's final result") {
  fixture f;
  f.exchange("ATE0\r");
  f.mod.receive("AT+QIACT\r");  // answers after a (scaled) delay
  f.mod.urc("+TEST: 1");
  CHECK(f.port.out.empty());
  f.settle();
  CHECK(f.port.take() == "\r\nOK\r\n\r\n+TEST: 1\r\n");
}

TEST_CASE("a command line sent while another runs waits its turn") {
  fixture f;
  f.exchange("ATE0\r");
  CHECK(f.exchange("AT+QIACT\rAT+QILOCIP\r") == "\r\nOK\r\n\r\n10.7.33.100\r\n");
}

TEST_CASE("a network-side deactivation reports +PDP DEACT") {
  fixture f;
  f.exchange("ATE0\r");
  f.exchange("AT+QIACT\r");
  f.mod.context().deactivate(quecsim::net::deact_reason::network);
  f.settle();
  CHECK(f.port.take() == "\r\n+PDP DEACT\r\n");
  CHECK(f.exchange("AT+QILOCIP\r") == "\r\nERROR\r\n");
}

TEST_CASE("data mode takes only what the handler accepts; the rest is read as commands") {
  fixture f;
  f.exchange("ATE0\r");
  collector c;
  c.capacity = 5;
  f.mod.enter_data_mode(c);
  CHECK(f.port.take() == "\r\nCONNECT\r\n");
  f.mod.receive("hello");
  f.mod.receive("AT\r");
  f.settle();
  CHECK(c.data == "hello");
  f.mod.leave_data_mode();
  f.settle();
  CHECK(f.port.take() == "\r\nOK\r\n");
}

TEST_CASE("+++ after a guard time of silence escapes data mode") {
  fixture f;
  f.exchange("ATE0\r");
  f.mod.current().s12 = 1;  // 20 ms (scaled by 0.001)
  collector c;
  f.mod.enter_data_mode(c);
  f.mod.receive("abc");
  f.settle();
  // The guard time is silence itself, so here the test has to let time pass.
  std::this_thread::sleep_for(2ms);
  f.mod.receive("+++");
  f.settle();
  CHECK(c.escaped);
  CHECK(c.data == "abc");
}

TEST_CASE("+++ inside the data stream is data") {
  fixture f;
  f.exchange("ATE0\r");
  collector c;
  f.mod.enter_data_mode(c);
  f.mod.receive("a+++b");
  f.settle();
  CHECK_FALSE(c.escaped);
  CHECK(c.data == "a+++b");
}

TEST_CASE("AT+CFUN=1,1 answers OK, restarts and repeats the power-up lines") {
  fixture f;
  f.exchange("ATE0\r");
  CHECK(f.exchange("AT+CFUN=1,1\r") ==
        "\r\nOK\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS "
        "Ready\r\n");
  // Echo is back on after the restart.
  CHECK(f.exchange("AT\r") == "AT\r\r\nOK\r\n");
}

TEST_CASE("with autobaud the power-up lines wait for the host's first AT, and RDY is not sent") {
  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::options o;
  o.baud = 0;
  qm::module mod(io, clk, bus, o);
  qm::add_basic_commands(mod);
  mod.attach(port);
  mod.power_up();
  CHECK(port.out.empty());
  mod.receive("AT\r");
  io.run_for(50ms);
  CHECK(port.out ==
        "AT\r\r\nOK\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
}
