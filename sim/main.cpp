// quecsim: a simulated Quectel GSM module on a pty. This file parses the command line and
// wires the layers together; the behaviour lives in the quecsim::core library.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/core/transcript.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/serial/pty.hpp"
#include "quecsim/serial/uart.hpp"
#include "quecsim/storage/file_commands.hpp"
#include "quecsim/storage/store.hpp"

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
  // FTP and network.
  std::string ftp_root = "quecsim-ftp";
  std::uint16_t ftp_port = 0;
  bool no_embedded_ftp = false;
  std::vector<std::string> ftp_users;
  std::string ftp_faults;
  std::vector<std::string> hosts;
  std::string resolve;
  double latency_ms = 300;
  std::uint64_t bandwidth = 0;
  std::string state_dir;  // empty: beside the FTP root
};

}  // namespace

namespace {

int run(int argc, char** argv) {
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
  app.add_option("--ftp-root", o.ftp_root,
                 "Folder the embedded FTP server serves (created when missing)");
  app.add_option("--ftp-port", o.ftp_port, "Port of the embedded FTP server on 127.0.0.1 (0: any)");
  app.add_flag("--no-embedded-ftp", o.no_embedded_ftp,
               "Start no FTP server; host names resolve through --host or the system");
  app.add_option("--ftp-user", o.ftp_users,
                 "NAME:PASS account of the embedded server (repeatable; default: any login)");
  app.add_option("--ftp-faults", o.ftp_faults, "Fault rules (JSON) for the embedded FTP server")
      ->check(CLI::ExistingFile);
  app.add_option("--host", o.hosts,
                 "NAME=ADDR:PORT: where AT+QFTPOPEN's host name goes (repeatable)");
  app.add_option("--resolve", o.resolve,
                 "embedded (every name to the embedded server), map (only --host and IP "
                 "literals) or system (the system resolver after --host); default: embedded, "
                 "or map with --no-embedded-ftp")
      ->check(CLI::IsMember({"embedded", "map", "system"}));
  app.add_option("--latency", o.latency_ms,
                 "Network round trip in simulated milliseconds (GPRS-like by default; 0: none)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--bandwidth", o.bandwidth,
                 "Network bytes per simulated second each way (0: unlimited)");
  app.add_option("--state-dir", o.state_dir,
                 "Folder of the module's storage: UFS (kept across runs), RAM, SD card "
                 "(default: quecsim-state beside the FTP root)");
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

    // The embedded FTP server: every host name AT+QFTPOPEN names reaches it by default, so
    // firmware with a production host name works unchanged.
    std::unique_ptr<quecsim::ftpd::server> ftpd;
    if (!o.no_embedded_ftp) {
      quecsim::ftpd::config fc;
      std::filesystem::create_directories(o.ftp_root);
      fc.root = std::filesystem::canonical(o.ftp_root);
      fc.port = o.ftp_port;
      for (const auto& u : o.ftp_users) {
        fc.users.push_back(quecsim::ftpd::parse_user_spec(u, "--ftp-user"));
      }
      if (!o.ftp_faults.empty()) fc.faults = quecsim::ftpd::load_fault_file(o.ftp_faults);
      ftpd = std::make_unique<quecsim::ftpd::server>(io, fc, clk);
      ftpd->start();
    }

    quecsim::net::network_config nc;
    nc.mode = o.resolve.empty()
                  ? (ftpd ? quecsim::net::host_mode::embedded : quecsim::net::host_mode::map)
                  : quecsim::net::parse_host_mode(o.resolve);
    if (nc.mode == quecsim::net::host_mode::embedded && !ftpd) {
      throw std::invalid_argument("--resolve embedded needs the embedded FTP server");
    }
    if (ftpd) nc.embedded = {"127.0.0.1", ftpd->endpoint().port()};
    for (const auto& h : o.hosts) {
      try {
        nc.hosts.insert(quecsim::net::parse_host_entry(h));
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("--host " + h + ": " + e.what());
      }
    }
    nc.round_trip = std::chrono::duration_cast<quecsim::clock::duration>(
        std::chrono::duration<double, std::milli>(o.latency_ms));
    nc.bandwidth = o.bandwidth;
    quecsim::net::network net(io, mod.context(), clk, bus, mo.id, nc);
    // The module's storage: UFS, RAM and SD folders, shared by the file commands and the FTP
    // service's local positions.
    auto beside_ftp_root = [&o] {
      auto root = std::filesystem::absolute(o.ftp_root).lexically_normal();
      if (!root.has_filename()) root = root.parent_path();  // "dir/" names dir
      return root.parent_path() / "quecsim-state";
    };
    const std::filesystem::path state_dir =
        o.state_dir.empty() ? beside_ftp_root()
                            : std::filesystem::absolute(o.state_dir).lexically_normal();
    quecsim::storage::store files(state_dir, mo.model.storage);
    quecsim::storage::file_commands file_commands(mod, files);
    quecsim::ftp::service ftp(mod, net, &files);

    quecsim::serial::uart port(io, pty.master(), bus, mo.id, o.baud);
    mod.attach(port);
    port.start([&mod](std::string_view bytes) { mod.receive(bytes); });
    mod.power_up();

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io, &ftpd](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (ftpd) ftpd->stop();
      io.stop();
    });

    if (o.ready_json) {
      nlohmann::json ready{{"pty", pty.path()},
                           {"link", o.link.empty() ? nlohmann::json() : nlohmann::json(o.link)},
                           {"pid", ::getpid()},
                           {"model", o.model},
                           {"ftp", ftpd ? nlohmann::json{{"address", "127.0.0.1"},
                                                         {"port", ftpd->endpoint().port()},
                                                         {"root", ftpd->cfg().root.string()}}
                                        : nlohmann::json()},
                           {"state_dir", state_dir.lexically_normal().string()}};
      std::cout << ready.dump() << std::endl;
    } else {
      std::cout << "quecsim: " << o.model << " on " << pty.path();
      if (!o.link.empty()) std::cout << " (link " << o.link << ")";
      std::cout << std::endl;
      if (ftpd) {
        std::cout << "quecsim: embedded FTP server on 127.0.0.1:" << ftpd->endpoint().port()
                  << " serving " << ftpd->cfg().root.string()
                  << "; every host name AT+QFTPOPEN gives goes to it" << std::endl;
      }
    }
    io.run();
    return exit_ok;
  } catch (const std::invalid_argument& e) {
    // Flag values that only make sense once combined (--host, --resolve).
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_runtime;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Only the command-line setup itself can get here; run() reports everything else.
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_runtime;
  }
}
