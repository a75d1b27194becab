// quecsim: a simulated Quectel GSM module on a pty. This file parses the command line and
// wires the layers together; the behaviour lives in the quecsim::core library.

#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string_view>
#include <system_error>
#include <vector>

#include "control_backend.hpp"
#include "ctl.hpp"
#include "quecsim/control/server.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/core/transcript.hpp"
#include "quecsim/fault/injector.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/serial/open_watch.hpp"
#include "quecsim/serial/pty.hpp"
#include "quecsim/serial/uart.hpp"
#include "quecsim/storage/file_commands.hpp"
#include "quecsim/storage/store.hpp"
#include "replay.hpp"
#include "report.hpp"

namespace {

// Exit codes, as the README documents them.
constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;
constexpr int exit_expectations = 3;

struct cli_options {
  std::string link;
  std::string control;
  bool ready_json = false;
  std::string transcript;
  unsigned baud = 115200;
  std::string model = "M95";
  bool no_power_up_lines = false;
  bool power_up_at_start = false;
  std::optional<unsigned> boot_delay_ms;
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
  // Fault injection.
  std::vector<std::string> scenarios;
  bool autobaud = false;
  std::optional<std::uint64_t> seed;
  std::string state_dir;  // empty: beside the FTP root
};

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

// Files a scenario places on the embedded server, random ones from the seed.
void place_server_files(const std::vector<quecsim::fault::scenario>& scenarios,
                        const std::filesystem::path& root, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (const auto& s : scenarios) {
    for (const auto& f : s.files) {
      const auto path = root / f.path;
      std::filesystem::create_directories(path.parent_path());
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      if (f.text) {
        out << *f.text;
      } else {
        std::string block(std::size_t{1} << 16, '\0');
        for (std::uint64_t left = f.size; left > 0;) {
          for (auto& c : block) c = static_cast<char>(rng() & 0xff);
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
          out.write(block.data(), static_cast<std::streamsize>(n));
          left -= n;
        }
      }
      if (!out) throw std::runtime_error(s.source + ": cannot write server file " + path.string());
    }
  }
}

// Passwords never reach the transcript, not even inside a scenario's server users.
void mask_passwords(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if (key == "password" && value.is_string()) {
        value = "****";
      } else {
        mask_passwords(value);
      }
    }
  } else if (j.is_array()) {
    for (auto& value : j) mask_passwords(value);
  }
}

// The transcript's first record: what `quecsim replay` needs to rebuild the same module,
// scenarios and profile file included, so a transcript replays without the files.
nlohmann::json config_record(const cli_options& o, std::uint64_t seed) {
  const auto read_json = [](const std::string& file) {
    std::ifstream in(file);
    auto doc = nlohmann::json::parse(in, nullptr, false);
    return doc.is_discarded() ? nlohmann::json() : doc;
  };
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
      {"boot_delay_ms", o.boot_delay_ms ? nlohmann::json(*o.boot_delay_ms) : nlohmann::json()},
      {"seed", seed},
      {"embedded_ftp", !o.no_embedded_ftp},
      {"resolve", o.resolve},
      {"hosts", o.hosts},
      {"scenarios", nlohmann::json::array()}};
  if (o.model.find('/') != std::string::npos ||
      (o.model.size() > 5 && o.model.substr(o.model.size() - 5) == ".json")) {
    c["model_profile"] = read_json(o.model);
  }
  for (const auto& file : o.scenarios) {
    auto doc = read_json(file);
    mask_passwords(doc);
    c["scenarios"].push_back(doc);
  }
  return c;
}

}  // namespace

namespace {

int run(int argc, char** argv) {
  CLI::App app{"quecsim: a simulated Quectel GSM module (M10/M95/M33) on a pty", "quecsim"};
  cli_options o;
  app.add_option("--link", o.link, "Make PATH a symlink to the pty (removed on exit)");
  app.add_option("--control", o.control,
                 "Control socket PATH (JSON Lines, mode 0600; default: the --link path + .ctl)");
  app.add_flag("--ready-json", o.ready_json,
               "Print one JSON line (pty, link, pid) on stdout once ready, and nothing else");
  app.add_option("--transcript", o.transcript, "Write a JSON Lines transcript to FILE");
  app.add_option("--baud", o.baud, "UART rate in bits/s, 10 bits a byte; 0 for no pacing")
      ->check(CLI::IsMember({0U, 300U, 600U, 1200U, 2400U, 4800U, 9600U, 14400U, 19200U, 28800U,
                             38400U, 57600U, 115200U, 230400U, 460800U, 921600U}));
  app.add_option("--model", o.model,
                 "Module model: a profile name (M10, M95, M33) or a profile file (NAME.json)");
  app.add_flag("--autobaud", o.autobaud,
               "Power up with AT+IPR=0: no RDY, nothing sent before the host's first AT");
  app.add_flag("--no-power-up-lines", o.no_power_up_lines,
               "Do not send RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready");
  app.add_flag("--power-up-at-start", o.power_up_at_start,
               "Power the module on at start instead of when the host first opens the pty");
  app.add_option("--boot-delay", o.boot_delay_ms,
                 "Silence after power-on before the power-up lines, in simulated ms "
                 "(default: the profile's)")
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
  app.add_option("--scenario", o.scenarios,
                 "Fault scenario (JSON) to load; repeatable, the files combine")
      ->check(CLI::ExistingFile);
  app.add_option("--seed", o.seed,
                 "Seed of every random choice of the scenarios (default: the first scenario's "
                 "seed, else 1)");
  app.add_option("--state-dir", o.state_dir,
                 "Folder of the module's storage: UFS (kept across runs), RAM, SD card "
                 "(default: quecsim-state beside the FTP root)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_usage;
  }

  // Scenarios are read before anything starts: a malformed one is a usage error (exit 2).
  std::vector<quecsim::fault::scenario> scenarios;
  try {
    for (const auto& file : o.scenarios) scenarios.push_back(quecsim::fault::load_scenario(file));
  } catch (const quecsim::fault::scenario_error& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_usage;
  }
  apply_scenario_settings(scenarios, app, o);
  const std::uint64_t seed = o.seed.value_or(1);

  try {
    ::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    quecsim::clock clk(o.time_scale);
    quecsim::events::bus bus;
    std::optional<quecsim::transcript> record;
    if (!o.transcript.empty()) {
      record.emplace(o.transcript, clk);
      record->attach(bus);
      bus.publish({quecsim::events::kind::info, 0, "config", config_record(o, seed).dump()});
    }

    quecsim::serial::pty pty;
    if (!o.link.empty()) pty.make_link(o.link);

    quecsim::module::options mo;
    try {
      mo.model = quecsim::module::profile::find(o.model);
    } catch (const quecsim::module::profile_error& e) {
      // A model name nobody knows is a bad command line; a broken profile file is a file
      // refused (its message names the file and the JSON pointer).
      const bool file = o.model.find('/') != std::string::npos ||
                        (o.model.size() > 5 && o.model.substr(o.model.size() - 5) == ".json");
      std::cerr << "quecsim: --model " << o.model << ": " << e.what() << '\n';
      return file ? exit_runtime : exit_usage;
    }
    if (o.boot_delay_ms) mo.model.boot_delay = std::chrono::milliseconds(*o.boot_delay_ms);
    if (!o.imei.empty()) mo.model.imei = o.imei;
    mo.power_up_lines = !o.no_power_up_lines;
    // --baud 0 turns pacing off; the module still reports the default fixed rate.
    mo.baud = o.autobaud ? 0 : o.baud == 0 ? 115200 : o.baud;
    quecsim::module::module mod(io, clk, bus, mo);
    quecsim::module::add_basic_commands(mod);
    quecsim::module::add_general_commands(mod);
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
      for (const auto& s : scenarios) {
        fc.users.insert(fc.users.end(), s.users.begin(), s.users.end());
      }
      place_server_files(scenarios, fc.root, seed);
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
    try {
      quecsim::module::apply_command_table(mod);
    } catch (const quecsim::module::profile_error& e) {
      std::cerr << "quecsim: --model " << o.model << ": " << e.what() << '\n';
      return exit_runtime;
    }

    // The live control socket, by default beside the link.
    const std::string control_path =
        !o.control.empty() ? o.control : (o.link.empty() ? std::string() : o.link + ".ctl");
    std::optional<quecsim::sim::control_backend> control_backend;
    std::optional<quecsim::control::server> control;
    if (!control_path.empty()) {
      control_backend.emplace(mod, ftp, bus);
      control.emplace(io, control_path, bus, *control_backend, &clk);
    }

    quecsim::serial::uart port(io, pty.master(), bus, mo.id, o.baud);
    mod.attach(port);

    // The injector exists only when there is something to inject (a scenario, or a control
    // socket that may bring one): without it nothing listens for faults at all.
    std::unique_ptr<quecsim::fault::injector> faults;
    if (!scenarios.empty() || control) {
      quecsim::fault::seams seams;
      seams.module = &mod;
      seams.network = &net;
      seams.ftp = &ftp;
      seams.port = &port;
      seams.server = ftpd.get();
      seams.files = &files;
      faults = std::make_unique<quecsim::fault::injector>(io, clk, bus, seams, seed, mo.id);
      try {
        for (auto& s : scenarios) {
          // The injector names an action that needs the server by its pointer; users, files,
          // server rules and expected server files are the scenario's as a whole.
          faults->load(s);
          if (s.needs_embedded_server() && !ftpd) {
            throw quecsim::fault::scenario_error(
                s.source +
                ": the scenario acts through the embedded FTP server (its users, files, rules "
                "or expected server files), which --no-embedded-ftp turns off");
          }
        }
      } catch (const quecsim::fault::scenario_error& e) {
        std::cerr << "quecsim: " << e.what() << '\n';
        return exit_usage;
      }
      if (control_backend) {
        control_backend->faults = [&faults](const nlohmann::json& request) {
          return quecsim::sim::fault_request(*faults, request);
        };
        control_backend->fault_state = [&faults] {
          return nlohmann::json{{"scenarios", faults->loaded()},
                                {"faults_fired", faults->faults_fired()}};
        };
      }
    }

    // A host opens its port before it powers the module: the module boots at the first open
    // (closing and reopening does not power-cycle it), unless asked to boot at once. Bytes
    // from the host prove an open too, whichever of the two events is handled first.
    bool host_seen = o.power_up_at_start;
    auto host_opened = [&mod, &host_seen] {
      if (host_seen) return;
      host_seen = true;
      mod.power_on();
    };
    port.start([&mod, &host_opened](std::string_view bytes) {
      host_opened();
      mod.receive(bytes);
    });
    std::unique_ptr<quecsim::serial::open_watch> first_open;
    if (o.power_up_at_start) {
      mod.power_on();
    } else {
      try {
        first_open = std::make_unique<quecsim::serial::open_watch>(io, pty.path(), host_opened);
      } catch (const std::system_error& e) {
        // Without inotify the open cannot be seen: power up at start, as before a host opens.
        std::cerr << "quecsim: " << e.what() << "; powering up at start\n";
        host_opened();
      }
    }

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
                           {"control", control ? nlohmann::json(control_path) : nlohmann::json()},
                           {"model", mo.model.model},
                           {"ftp", ftpd ? nlohmann::json{{"address", "127.0.0.1"},
                                                         {"port", ftpd->endpoint().port()},
                                                         {"root", ftpd->cfg().root.string()}}
                                        : nlohmann::json()},
                           {"state_dir", state_dir.lexically_normal().string()}};
      std::cout << ready.dump() << std::endl;
    } else {
      std::cout << "quecsim: " << mo.model.model << " on " << pty.path();
      if (!o.link.empty()) std::cout << " (link " << o.link << ")";
      if (control) std::cout << "; control socket " << control_path;
      std::cout << std::endl;
      if (ftpd) {
        std::cout << "quecsim: embedded FTP server on 127.0.0.1:" << ftpd->endpoint().port()
                  << " serving " << ftpd->cfg().root.string()
                  << "; every host name AT+QFTPOPEN gives goes to it" << std::endl;
      }
    }
    io.run();
    if (faults) {
      // A scenario's expectations decide the exit code, so a campaign can read it.
      bool all_held = true;
      const auto root = ftpd ? ftpd->cfg().root : std::filesystem::path(o.ftp_root);
      for (const auto& v : faults->check(root)) {
        std::string line =
            "scenario " + v.scenario + ": " + (v.passed() ? "expectations held" : "FAILED");
        for (const auto& f : v.failures) line += "; " + f;
        bus.publish({quecsim::events::kind::info, mo.id, "fault", line});
        std::cerr << "quecsim: " << line << '\n';
        all_held = all_held && v.passed();
      }
      if (!all_held) return exit_expectations;
    }
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
  if (argc > 1 && std::string_view(argv[1]) == "ctl") return quecsim::sim::run_ctl(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "report") {
    return quecsim::sim::run_report(argc, argv);
  }
  if (argc > 1 && std::string_view(argv[1]) == "replay") {
    return quecsim::sim::run_replay(argc, argv);
  }
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Only the command-line setup itself can get here; run() reports everything else.
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_runtime;
  }
}
