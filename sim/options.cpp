#include "options.hpp"

#include <cmath>
#include <cstdlib>
#include <iostream>

#include "fleet.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/serial/uart_rates.hpp"

namespace quecsim::sim {

namespace {

// Where the module's files, sockets and verdicts go.
void add_run_flags(CLI::App& app, cli_options& o) {
  app.add_option("--link", o.link, "Make PATH a symlink to the pty (removed on exit)");
  app.add_option("--control", o.control,
                 "Control socket PATH (JSON Lines, mode 0600; default: the --link path + .ctl)");
  app.add_flag("--ready-json", o.ready_json,
               "Print one JSON line (pty, link, pid) on stdout once ready, and nothing else");
  app.add_option("--transcript", o.transcript, "Write a JSON Lines transcript to FILE");
  app.add_option("--verdict-json", o.verdict_json,
                 "At exit, write the scenarios' verdicts to FILE as JSON (what held, what not)");
}

// The module itself: its model, its UART rate, how it powers up, its clock.
void add_module_flags(CLI::App& app, cli_options& o) {
  app.add_option("--baud", o.baud, "UART rate in bits/s, 10 bits a byte; 0 for no pacing")
      ->check(CLI::IsMember(serial::line_rates()));
  app.add_option("--model", o.model,
                 "Module model: a profile name (M10, M95, M33) or a profile file (NAME.json)");
  app.add_flag("--autobaud", o.autobaud,
               "Power up with AT+IPR=0: no RDY, nothing sent before the host's first AT");
  app.add_flag("--no-power-up-lines", o.no_power_up_lines,
               "Do not send RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready");
  app.add_flag("--power-up-at-start", o.power_up_at_start,
               "Start the boot delay at start instead of at the host's first open of the pty");
  app.add_flag("--realistic-boot", o.realistic_boot,
               "Boot as a real module the firmware switches on: powered at the host's first "
               "open, deaf and silent for the boot delay (bytes sent meanwhile are lost)");
  app.add_flag("--exit-on-close", o.exit_on_close,
               "Exit (as on SIGTERM) once the host has opened the pty and closed it again");
  app.add_option("--boot-delay", o.boot_delay_ms,
                 "Simulated ms from the host's first open to the power-up lines (sooner when "
                 "the host speaks first; with --realistic-boot: deaf meanwhile); default: the "
                 "profile's")
      ->check(CLI::Range(0U, 60000U));
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
}

// The embedded FTP server and the network behind the module.
void add_network_flags(CLI::App& app, cli_options& o) {
  app.add_option("--ftp-root", o.ftp_root,
                 "Folder the embedded FTP server serves (created when missing)");
  app.add_option("--ftp-port", o.ftp_port, "Port of the embedded FTP server on 127.0.0.1 (0: any)");
  app.add_option("--tcpip-port", o.tcpip_port,
                 "Loopback port the module's TCP server (AT+QISERVER) is reached on (0: any)");
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
}

// Fault scenarios, storage and the number of modules.
void add_fault_flags(CLI::App& app, cli_options& o) {
  app.add_option("--scenario", o.scenarios,
                 "Fault scenario (JSON) to load; repeatable, the files combine")
      ->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed,
                 "Seed of every random choice of the scenarios (default: the first scenario's "
                 "seed, else 1)");
  app.add_option("--state-dir", o.state_dir,
                 "Folder of the module's storage: UFS (kept across runs), RAM, SD card "
                 "(default: quecsim-state beside the FTP root)");
  app.add_option("--modules", o.modules,
                 "Run N modules in this process on one event loop, sharing the embedded FTP "
                 "server; --link, --control and --transcript then take {n}, the module's number")
      ->check(CLI::Range(1, most_modules));
}

// Instead of the pty: the ways firmware meets the module (docs/attach.md).
void add_endpoint_flags(CLI::App& app, cli_options& o) {
  auto* device =
      app.add_option("--device", o.device,
                     "Serve an existing serial device PATH (a USB-UART adapter wired to an MCU) "
                     "instead of a pty: line from --baud/--data-bits/--parity/--stop-bits, "
                     "following AT+IPR and AT+IFC");
  auto* attach = app.add_option("--attach-pty", o.attach_pty,
                                "Serve a pty PATH someone else created (an emulator's UART, "
                                "e.g. Zephyr native_sim's) instead of a pty of quecsim's own");
  auto* listen = app.add_option("--tcp-listen", o.tcp_listen,
                                "Serve the UART on TCP [ADDR:]PORT (ADDR default 127.0.0.1; "
                                "PORT 0: any, told in the ready line), one host at a time");
  auto* connect = app.add_option("--tcp-connect", o.tcp_connect,
                                 "Serve the UART as a TCP client of HOST:PORT (e.g. Renode's "
                                 "server-socket terminal), connecting again after a drop");
  device->excludes(attach)->excludes(listen)->excludes(connect);
  attach->excludes(listen)->excludes(connect);
  listen->excludes(connect);
  app.add_option("--data-bits", o.data_bits, "--device: data bits, 5 to 8 (default 8)")
      ->check(CLI::Range(5U, 8U))
      ->needs(device);
  app.add_option("--parity", o.parity, "--device: parity N, E or O (default N)")
      ->check(CLI::IsMember({'N', 'E', 'O'}))
      ->needs(device);
  app.add_option("--stop-bits", o.stop_bits, "--device: stop bits, 1 or 2 (default 1)")
      ->check(CLI::IsMember({1U, 2U}))
      ->needs(device);
}

}  // namespace

void add_flags(CLI::App& app, cli_options& o) {
  add_run_flags(app, o);
  add_module_flags(app, o);
  add_network_flags(app, o);
  add_fault_flags(app, o);
  add_endpoint_flags(app, o);
}

// The endpoint the flags name (quecsim's own pty without one). Throws std::invalid_argument.
serial::endpoint_options endpoint_options(const cli_options& o) {
  quecsim::serial::endpoint_options e;
  using kind = quecsim::serial::endpoint_options::kind;
  if (!o.tcp_listen.empty()) e = quecsim::serial::parse_tcp_listen(o.tcp_listen);
  if (!o.tcp_connect.empty()) e = quecsim::serial::parse_tcp_connect(o.tcp_connect);
  if (!o.device.empty()) e.type = kind::device, e.path = o.device;
  if (!o.attach_pty.empty()) e.type = kind::attach_pty, e.path = o.attach_pty;
  e.data_bits = o.data_bits;
  e.parity = o.parity;
  e.stop_bits = o.stop_bits;
  return e;
}

// Scenario settings fill in what the command line left at its default: the command line wins.
void apply_scenario_settings(const std::vector<quecsim::fault::scenario>& scenarios,
                             const CLI::App& app, cli_options& o) {
  for (const auto& s : scenarios) {
    const auto& m = s.module;
    if (m.model && app.count("--model") == 0) o.model = *m.model;
    if (m.baud && app.count("--baud") == 0) o.baud = *m.baud;
    if (m.latency_ms && app.count("--latency") == 0) o.latency_ms = *m.latency_ms;
    if (m.bandwidth && app.count("--bandwidth") == 0) o.bandwidth = *m.bandwidth;
    if (m.time_scale && app.count("--time-scale") == 0) o.time_scale = *m.time_scale;
    if (m.autobaud && app.count("--autobaud") == 0) o.autobaud = *m.autobaud;
    if (s.seed && !o.seed) o.seed = s.seed;
  }
}

// The transcript's first record: what `quecsim replay` needs to rebuild the same module,
// scenarios and profile file included, so a transcript replays without the files.
nlohmann::json config_record(const cli_options& o, std::uint64_t seed) {
  nlohmann::json c{
      {"format", 1},
      {"model", o.model},
      {"imei", o.imei},
      {"baud", o.baud},
      {"autobaud", o.autobaud},
      {"time_scale", o.time_scale},
      {"latency_ms", o.latency_ms},
      {"bandwidth", o.bandwidth},
      {"power_up_lines", !o.no_power_up_lines},
      {"power_up_at_start", o.power_up_at_start},
      {"realistic_boot", o.realistic_boot},
      {"boot_delay_ms", o.boot_delay_ms ? nlohmann::json(*o.boot_delay_ms) : nlohmann::json()},
      {"seed", seed},
      {"embedded_ftp", !o.no_embedded_ftp},
      {"resolve", o.resolve},
      {"hosts", o.hosts},
      {"scenarios", nlohmann::json::array()}};
  if (o.model.find('/') != std::string::npos ||
      (o.model.size() > 5 && o.model.substr(o.model.size() - 5) == ".json")) {
    c["model_profile"] = quecsim::fault::read_json_or_null(o.model);
  }
  for (const auto& file : o.scenarios) {
    auto doc = quecsim::fault::read_json_or_null(file);
    // Passwords never reach the transcript, not even inside a scenario's server users.
    quecsim::fault::mask_passwords(doc);
    c["scenarios"].push_back(doc);
  }
  return c;
}

// The station's options: the command line without what only the command line has.
station::station_options station_options(const cli_options& o, std::uint64_t seed) {
  quecsim::station::station_options so;
  so.link = o.link;
  so.control = o.control;
  so.transcript = o.transcript;
  if (!o.transcript.empty()) so.transcript_config = config_record(o, seed).dump();
  so.baud = o.baud;
  so.model = o.model;
  so.power_up_lines = !o.no_power_up_lines;
  so.power_up_at_start = o.power_up_at_start;
  so.realistic_boot = o.realistic_boot;
  so.boot_delay_ms = o.boot_delay_ms;
  so.imei = o.imei;
  so.autobaud = o.autobaud;
  so.ftp_root = o.ftp_root;
  so.ftp_port = o.ftp_port;
  so.tcpip_port = o.tcpip_port;
  so.embedded_ftp = !o.no_embedded_ftp;
  so.ftp_users = o.ftp_users;
  so.ftp_faults = o.ftp_faults;
  so.hosts = o.hosts;
  so.resolve = o.resolve;
  so.latency_ms = o.latency_ms;
  so.bandwidth = o.bandwidth;
  so.seed = seed;
  so.state_dir = o.state_dir;
  so.endpoint = endpoint_options(o);
  return so;
}

// Folders a run writes in the current folder unless a flag says where: named on stderr at
// start, so a user knows what a plain run leaves behind.
void name_default_folders(const CLI::App& app, const cli_options& o) {
  const bool ftp_root_default = app.count("--ftp-root") == 0;
  if (ftp_root_default && !o.no_embedded_ftp) {
    std::cerr << "quecsim: the embedded FTP server serves ./" << o.ftp_root
              << " (created when missing; --ftp-root DIR to choose)\n";
  }
  if (app.count("--state-dir") == 0 && ftp_root_default) {
    std::cerr << "quecsim: the module's storage is ./quecsim-state (UFS kept across runs; "
                 "--state-dir DIR to choose)\n";
  }
}

}  // namespace quecsim::sim
