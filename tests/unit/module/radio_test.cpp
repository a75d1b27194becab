#include "quecsim/module/radio.hpp"
#include "../../support/string_port.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "quecsim/module/module.hpp"

using namespace std::chrono_literals;
namespace qm = quecsim::module;

namespace {

using quecsim::test::string_port;

struct rig {
  explicit rig(qm::profile p = {}) : clk(0.001), mod(io, clk, bus, make(std::move(p))) {
    qm::add_basic_commands(mod);
    qm::add_general_commands(mod);
    qm::add_context_commands(mod);
    mod.attach(port);
    mod.power_up();
    settle();
    port.take();
    exchange("ATE0\r");
  }
  static qm::options make(qm::profile p) {
    qm::options o;
    o.model = std::move(p);
    return o;
  }
  void settle() {
    io.restart();
    io.run_for(100ms);
  }
  std::string exchange(std::string_view bytes) {
    mod.receive(bytes);
    settle();
    return port.take();
  }
  std::string pending() {
    settle();
    return port.take();
  }

  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::module mod;
};

}  // namespace

TEST_CASE("registration lost and regained reports +CREG and +CGREG as enabled") {
  rig r;
  r.exchange("AT+CREG=1;+CGREG=2\r");
  r.mod.cellular().set_registration(qm::reg_status::searching);
  CHECK(r.pending() == "\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n");
  CHECK(r.exchange("AT+CREG?;+CGREG?\r") == "\r\n+CREG: 1,2\r\n\r\n+CGREG: 2,2\r\n\r\nOK\r\n");
  r.mod.cellular().set_registration(qm::reg_status::roaming);
  CHECK(r.pending() == "\r\n+CREG: 5\r\n\r\n+CGREG: 5,\"1A2B\",\"3C4D\"\r\n");
  // No change, no line.
  r.mod.cellular().set_registration(qm::reg_status::roaming);
  CHECK(r.pending().empty());
}

TEST_CASE("with reporting off a registration change sends nothing") {
  rig r;
  r.mod.cellular().set_registration(qm::reg_status::denied);
  CHECK(r.pending().empty());
  CHECK(r.exchange("AT+CREG?\r") == "\r\n+CREG: 0,3\r\n\r\nOK\r\n");
}

TEST_CASE("losing packet registration takes an active context down with +PDP DEACT") {
  rig r;
  CHECK(r.exchange("AT+QIACT\r") == "\r\nOK\r\n");
  r.mod.cellular().set_ps_registration(qm::reg_status::searching);
  CHECK(r.pending() == "\r\n+PDP DEACT\r\n");
  CHECK(r.exchange("AT+QISTAT\r") == "\r\nOK\r\n\r\nSTATE: PDP DEACT\r\n");
  CHECK(r.exchange("AT+QIACT\r") == "\r\nERROR\r\n");
  r.mod.cellular().set_ps_registration(qm::reg_status::home);
  CHECK(r.exchange("AT+QIACT\r") == "\r\nOK\r\n");
  CHECK(r.exchange("AT+QISTAT\r") == "\r\nOK\r\n\r\nSTATE: IP GPRSACT\r\n");
}

TEST_CASE("signal quality follows the radio and reads 99,99 with the radio off") {
  rig r;
  r.mod.cellular().set_signal(7, 3);
  CHECK(r.exchange("AT+CSQ\r") == "\r\n+CSQ: 7,3\r\n\r\nOK\r\n");
  r.exchange("AT+CFUN=4\r");
  CHECK(r.exchange("AT+CSQ\r") == "\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
}

TEST_CASE("a removed SIM reports NOT READY, refuses SIM commands and deregisters") {
  rig r;
  r.exchange("AT+CREG=1;+QSIMSTAT=1\r");
  r.mod.cellular().set_sim(qm::sim_status::removed);
  CHECK(r.pending() == "\r\n+CPIN: NOT READY\r\n\r\n+QSIMSTAT: 1,0\r\n\r\n+CREG: 0\r\n");
  CHECK(r.exchange("AT+CPIN?\r") == "\r\nERROR\r\n");
  r.exchange("AT+CMEE=2\r");
  CHECK(r.exchange("AT+CIMI\r") == "\r\n+CME ERROR: SIM not inserted\r\n");
  CHECK(r.exchange("AT+QSIMSTAT?\r") == "\r\n+QSIMSTAT: 1,0\r\n\r\nOK\r\n");
  r.mod.cellular().set_sim(qm::sim_status::ready);
  CHECK(r.pending() ==
        "\r\n+QSIMSTAT: 1,1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"
        "\r\n+CREG: 1\r\n");
}

TEST_CASE("a PIN-locked SIM from the profile unlocks with AT+CPIN") {
  qm::profile p;
  p.sim_state = "pin";
  rig r(p);
  r.exchange("AT+CMEE=1\r");
  CHECK(r.exchange("AT+CPIN?\r") == "\r\n+CPIN: SIM PIN\r\n\r\nOK\r\n");
  CHECK(r.exchange("AT+CIMI\r") == "\r\n+CME ERROR: 11\r\n");
  CHECK(r.exchange("AT+CPIN=\"0000\"\r") == "\r\n+CME ERROR: 16\r\n");
  CHECK(r.exchange("AT+CPIN=\"1234\"\r") ==
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
  CHECK(r.exchange("AT+CIMI\r") == "\r\n460001234567890\r\n\r\nOK\r\n");
  CHECK(r.exchange("AT+CPIN=\"1234\"\r") == "\r\n+CME ERROR: 3\r\n");
}

TEST_CASE("a PUK-locked SIM needs the PUK and a new PIN") {
  rig r;
  r.mod.cellular().set_sim(qm::sim_status::puk);
  r.pending();
  r.exchange("AT+CMEE=1\r");
  CHECK(r.exchange("AT+CPIN=\"1234\"\r") == "\r\n+CME ERROR: 12\r\n");
  CHECK(r.exchange("AT+CPIN=\"12345678\",\"4321\"\r") ==
        "\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
}

TEST_CASE("power-up lines follow the SIM state of the profile") {
  qm::profile p;
  p.sim_state = "pin";
  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::options o;
  o.model = p;
  qm::module mod(io, clk, bus, o);
  mod.attach(port);
  mod.power_up();
  CHECK(port.out == "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: SIM PIN\r\n");
}

TEST_CASE("power_on stays silent for the boot delay, then sends the power-up lines") {
  boost::asio::io_context io;
  quecsim::clock clk(0.01);  // 3 s of boot delay = 30 ms
  quecsim::events::bus bus;
  string_port port;
  qm::module mod(io, clk, bus, {});
  qm::add_basic_commands(mod);
  mod.attach(port);
  mod.power_on();
  mod.receive("AT\r");  // heard by nobody: the module is still booting
  io.run_for(15ms);
  CHECK(port.out.empty());
  io.run_for(100ms);
  CHECK(port.out ==
        "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
  // A second power_on (the host reopening its port) does not power-cycle it.
  port.out.clear();
  mod.power_on();
  io.restart();
  io.run_for(100ms);
  CHECK(port.out.empty());
}

TEST_CASE("AT+QPOWD=1 says NORMAL POWER DOWN, then the module hears and says nothing") {
  rig r;
  CHECK(r.exchange("AT+QPOWD=1\r") == "\r\nNORMAL POWER DOWN\r\n");
  CHECK_FALSE(r.mod.switched_on());
  CHECK(r.exchange("AT\r").empty());
  r.mod.urc("+TEST");
  CHECK(r.pending().empty());
  r.mod.power_on();
  CHECK(r.pending() ==
        "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n");
  CHECK(r.exchange("AT\r") == "AT\r\r\nOK\r\n");
}
