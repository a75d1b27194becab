// quecsim: a simulated Quectel GSM module on a pty. This file parses the command line and
// wires the layers together; the behaviour lives in the quecsim::core library.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/core/transcript.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/serial/pty.hpp"
#include "quecsim/serial/uart.hpp"

namespace {

// Exit codes, as the README documents them.
constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

struct cli_options {
  std::string link;
  bool ready_json = false;
  std::string transcript;
  unsigned baud = 115200;
  std::string model = "M95";
  bool no_power_up_lines = false;
  double time_scale = 1.0;
  std::string imei;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quecsim: a simulated Quectel GSM module (M10/M95/M33) on a pty", "quecsim"};
  cli_options o;
  app.add_option("--link", o.link, "Make PATH a symlink to the pty (removed on exit)");
  app.add_flag("--ready-json", o.ready_json,
               "Print one JSON line (pty, link, pid) on stdout once ready, and nothing else");
  app.add_option("--transcript", o.transcript, "Write a JSON Lines transcript to FILE");
  app.add_option("--baud", o.baud, "UART rate in bits/s, 10 bits a byte; 0 for no pacing")
      ->check(CLI::IsMember({0U, 300U, 600U, 1200U, 2400U, 4800U, 9600U, 14400U, 19200U, 28800U,
                             38400U, 57600U, 115200U, 230400U, 460800U, 921600U}));
  app.add_option("--model", o.model, "Module model: M10, M95 or M33")
      ->check(CLI::IsMember({"M10", "M95", "M33"}));
  app.add_flag("--no-power-up-lines", o.no_power_up_lines,
               "Do not send RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready");
  app.add_option("--time-scale", o.time_scale,
                 "Multiply every simulated duration (timeouts, latency) by X, e.g. 0.01")
      ->check(CLI::Validator(
          [](std::string& s) {
            // CLI::PositiveNumber let "nan" through and described "0" with a 300-digit range.
            char* end = nullptr;
            const double x = std::strtod(s.c_str(), &end);
            return end != s.c_str() && *end == '\0' && std::isfinite(x) && x > 0.0
                       ? std::string()
                       : std::string("must be a number greater than 0, got '" + s + "'");
          },
          "X > 0"));
  app.add_option("--imei", o.imei, "IMEI that AT+CGSN answers (15 digits)")
      ->check(CLI::Validator(
          [](std::string& s) {
            return s.size() == 15 && s.find_first_not_of("0123456789") == std::string::npos
                       ? std::string()
                       : std::string("must be 15 digits");
          },
          "15 digits"));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }

  try {
    ::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    quecsim::clock clk(o.time_scale);
    quecsim::events::bus bus;
    std::optional<quecsim::transcript> record;
    if (!o.transcript.empty()) {
      record.emplace(o.transcript, clk);
      record->attach(bus);
    }

    quecsim::serial::pty pty;
    if (!o.link.empty()) pty.make_link(o.link);

    quecsim::module::options mo;
    mo.model = quecsim::module::profile::named(o.model);
    if (!o.imei.empty()) mo.model.imei = o.imei;
    mo.power_up_lines = !o.no_power_up_lines;
    // --baud 0 turns pacing off; the module still reports the default fixed rate.
    mo.baud = o.baud == 0 ? 115200 : o.baud;
    quecsim::module::module mod(io, clk, bus, mo);
    quecsim::module::add_basic_commands(mod);
    quecsim::module::add_context_commands(mod);

    quecsim::serial::uart port(io, pty.master(), bus, mo.id, o.baud);
    mod.attach(port);
    port.start([&mod](std::string_view bytes) { mod.receive(bytes); });
    mod.power_up();

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](const boost::system::error_code& ec, int) {
      if (!ec) io.stop();
    });

    if (o.ready_json) {
      nlohmann::json ready{{"pty", pty.path()},
                           {"link", o.link.empty() ? nlohmann::json() : nlohmann::json(o.link)},
                           {"pid", ::getpid()},
                           {"model", o.model}};
      std::cout << ready.dump() << std::endl;
    } else {
      std::cout << "quecsim: " << o.model << " on " << pty.path();
      if (!o.link.empty()) std::cout << " (link " << o.link << ")";
      std::cout << std::endl;
    }
    io.run();
    return exit_ok;
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_runtime;
  }
}
