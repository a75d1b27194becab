// quecsim: a simulated Quectel GSM module on a pty. This file parses the command line and runs
// one station (quecsim::station wires the layers together) until a signal ends it.

#include <signal.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "campaign.hpp"
#include "ctl.hpp"
#include "fleet.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/serial/uart_rates.hpp"
#include "quecsim/station/station.hpp"
#include "replay.hpp"
#include "report.hpp"
#include "unknown_flags.hpp"

namespace {

// Exit codes, as docs/flags.md documents them.
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
  bool realistic_boot = false;
  bool exit_on_close = false;
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
  int modules = 1;
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
quecsim::station_options station_options(const cli_options& o, std::uint64_t seed) {
  quecsim::station_options so;
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
  so.embedded_ftp = !o.no_embedded_ftp;
  so.ftp_users = o.ftp_users;
  so.ftp_faults = o.ftp_faults;
  so.hosts = o.hosts;
  so.resolve = o.resolve;
  so.latency_ms = o.latency_ms;
  so.bandwidth = o.bandwidth;
  so.seed = seed;
  so.state_dir = o.state_dir;
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

// `--modules N` (N > 1): N stations on one io_context, module i built from the command line
// and the scenarios that target it.
int run_fleet(const CLI::App& app, cli_options o, std::vector<quecsim::fault::scenario> all) {
  // Paths of one module: {n} in a pattern, or a folder per module under the state folder.
  std::string state_base = o.state_dir;
  if (state_base.empty()) {
    // As one module's: quecsim-state beside the FTP root.
    auto root = std::filesystem::absolute(o.ftp_root).lexically_normal();
    if (!root.has_filename()) root = root.parent_path();  // "dir/" names dir
    state_base = (root.parent_path() / "quecsim-state").string();
  }
  const bool shared_transcript = o.transcript.find("{n}") == std::string::npos;
  std::vector<quecsim::station_options> modules;
  std::vector<std::vector<quecsim::fault::scenario>> scenarios(o.modules);
  for (int i = 0; i < o.modules; ++i) {
    cli_options mine = o;
    for (const auto& s : all)
      if (s.targets(i)) scenarios[i].push_back(s);
    apply_scenario_settings(scenarios[i], app, mine);
    // Each module draws its own random choices: module n from the seed plus n.
    auto so = station_options(mine, mine.seed.value_or(1) + static_cast<std::uint64_t>(i));
    if (!so.transcript_config.empty()) {
      // Module i's own configuration, as a single module would record it: the scenarios that
      // act on it, without their "modules" (a replay rebuilds it alone, as module 0).
      auto c = nlohmann::json::parse(so.transcript_config);
      auto docs = nlohmann::json::array();
      for (std::size_t k = 0; k < all.size() && k < c["scenarios"].size(); ++k) {
        if (!all[k].targets(i)) continue;
        auto doc = c["scenarios"][k];
        if (doc.is_object()) doc.erase("modules");
        docs.push_back(std::move(doc));
      }
      c["scenarios"] = std::move(docs);
      so.transcript_config = c.dump();
    }
    so.link = quecsim::sim::expand(o.link, i);
    so.control = quecsim::sim::expand(o.control, i);
    so.transcript = shared_transcript ? std::string() : quecsim::sim::expand(o.transcript, i);
    so.state_dir = state_base.find("{n}") != std::string::npos
                       ? quecsim::sim::expand(state_base, i)
                       : (std::filesystem::path(state_base) / std::to_string(i)).string();
    so.source_address = quecsim::sim::module_address(i);
    modules.push_back(std::move(so));
  }
  // One clock for all: a scenario's time scale is the process's.
  apply_scenario_settings(all, app, o);
  try {
    ::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    quecsim::clock clk(o.time_scale);
    std::unique_ptr<quecsim::sim::fleet> fleet;
    try {
      fleet =
          std::make_unique<quecsim::sim::fleet>(io, clk, std::move(modules), std::move(scenarios),
                                                all, shared_transcript ? o.transcript : "");
    } catch (const quecsim::fault::scenario_error& e) {
      std::cerr << "quecsim: " << e.what() << '\n';
      return exit_usage;
    }
    name_default_folders(app, o);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io, &fleet](const boost::system::error_code& ec, int) {
      if (ec) return;
      fleet->stop();
      io.stop();
    });
    if (o.ready_json) {
      std::cout << fleet->ready_json().dump() << std::endl;
    } else {
      fleet->describe(std::cout);
    }
    io.run();
    return fleet->check(std::cerr) ? exit_ok : exit_expectations;
  } catch (const std::invalid_argument& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_runtime;
  }
}

}  // namespace

namespace {

// What `quecsim --help` ends with: the subcommands, one line each.
constexpr const char* subcommands =
    "\nSubcommands (each has its own --help, e.g. quecsim campaign --help):\n"
    "  quecsim ctl       a running module's control socket: its state, faults now, its events\n"
    "  quecsim campaign  a host program against every scenario of a library, JUnit/JSON reports\n"
    "  quecsim report    a transcript as one self-contained HTML page\n"
    "  quecsim replay    a transcript's host side played against a fresh module, answers "
    "compared\n";

int run(int argc, char** argv) {
  CLI::App app{"quecsim: a simulated Quectel GSM module (M10/M95/M33) on a pty", "quecsim"};
  app.footer(subcommands);
  cli_options o;
  app.add_option("--link", o.link, "Make PATH a symlink to the pty (removed on exit)");
  app.add_option("--control", o.control,
                 "Control socket PATH (JSON Lines, mode 0600; default: the --link path + .ctl)");
  app.add_flag("--ready-json", o.ready_json,
               "Print one JSON line (pty, link, pid) on stdout once ready, and nothing else");
  app.add_option("--transcript", o.transcript, "Write a JSON Lines transcript to FILE");
  app.add_option("--baud", o.baud, "UART rate in bits/s, 10 bits a byte; 0 for no pacing")
      ->check(CLI::IsMember(quecsim::serial::line_rates()));
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
  app.add_option("--modules", o.modules,
                 "Run N modules in this process on one event loop, sharing the embedded FTP "
                 "server; --link, --control and --transcript then take {n}, the module's number")
      ->check(CLI::Range(1, quecsim::sim::most_modules));
  try {
    quecsim::cli::refuse_unknown_flags(app, argc, argv);
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
  try {
    for (const auto& s : scenarios) quecsim::fault::check_targets(s, o.modules);
    if (o.modules > 1) quecsim::sim::check_fleet(o.modules, o.link, o.control);
    if (o.modules > 1 && o.exit_on_close) {
      throw quecsim::sim::fleet_usage_error(
          "--exit-on-close: one module's host closing its pty does not end a fleet of "
          "--modules " +
          std::to_string(o.modules) + "; SIGTERM ends it");
    }
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_usage;
  }
  if (o.modules > 1) return run_fleet(app, o, std::move(scenarios));
  apply_scenario_settings(scenarios, app, o);
  const std::uint64_t seed = o.seed.value_or(1);

  try {
    ::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    quecsim::clock clk(o.time_scale);
    std::unique_ptr<quecsim::station> station;
    // SIGINT, SIGTERM and, with --exit-on-close, the host's last close end the run alike.
    auto shut_down = [&io, &station] {
      station->stop();
      io.stop();
    };
    auto so = station_options(o, seed);
    if (o.exit_on_close) so.on_host_closed = shut_down;
    try {
      station = std::make_unique<quecsim::station>(io, clk, std::move(so), scenarios);
    } catch (const quecsim::fault::scenario_error& e) {
      std::cerr << "quecsim: " << e.what() << '\n';
      return exit_usage;
    }

    name_default_folders(app, o);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&shut_down](const boost::system::error_code& ec, int) {
      if (!ec) shut_down();
    });

    if (o.ready_json) {
      std::cout << station->ready_json().dump() << std::endl;
    } else {
      std::cout << "quecsim: " << station->model() << " on " << station->pty_path();
      if (!o.link.empty()) std::cout << " (link " << o.link << ")";
      if (!station->control_path().empty()) {
        std::cout << "; control socket " << station->control_path();
      }
      std::cout << std::endl;
      if (const auto ftp = station->ftp_endpoint()) {
        std::cout << "quecsim: embedded FTP server on 127.0.0.1:" << ftp->port() << " serving "
                  << station->ftp_root().string()
                  << "; every host name AT+QFTPOPEN gives goes to it" << std::endl;
      }
    }
    io.run();
    // A scenario's expectations decide the exit code, so a campaign can read it.
    bool all_held = true;
    for (const auto& v : station->check()) {
      std::cerr << "quecsim: " << quecsim::station::describe(v) << '\n';
      all_held = all_held && v.passed();
    }
    return all_held ? exit_ok : exit_expectations;
  } catch (const std::invalid_argument& e) {
    // Flag values that only make sense once combined (--model, --host, --resolve).
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
  if (argc > 1 && std::string_view(argv[1]) == "campaign")
    return quecsim::sim::run_campaign(argc, argv);
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
