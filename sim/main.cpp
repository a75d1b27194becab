// quecsim: a simulated Quectel GSM module on a pty. This file parses the command line and runs
// one station (quecsim::station::station wires the layers together) until a signal ends it.

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

#include "campaign/campaign.hpp"
#include "ctl/ctl.hpp"
#include "fleet.hpp"
#include "options.hpp"
#include "quecsim/cli/unknown_flags.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/station/station.hpp"
#include "replay/replay.hpp"
#include "report/report.hpp"
#include "support/exit_codes.hpp"
#include "verdict_sheet.hpp"

namespace {

namespace exit_code = quecsim::sim::support::exit_code;
using quecsim::sim::apply_scenario_settings;
using quecsim::sim::cli_options;
using quecsim::sim::name_default_folders;
using quecsim::sim::station_options;

// `--modules N` (N > 1): N stations on one io_context, module i built from the command line
// and the scenarios that target it.
// Module i's options: the command line's, with the scenarios that target it (into
// `scenarios[i]`), its own paths ({n} expanded, or a folder per module under the state
// folder), seed, source address and endpoint.
std::vector<quecsim::station::station_options> fleet_modules(
    const CLI::App& app, const cli_options& o, const std::vector<quecsim::fault::scenario>& all,
    std::vector<std::vector<quecsim::fault::scenario>>& scenarios) {
  // Paths of one module: {n} in a pattern, or a folder per module under the state folder.
  std::string state_base = o.state_dir;
  if (state_base.empty()) {
    // As one module's: quecsim-state beside the FTP root.
    auto root = std::filesystem::absolute(o.ftp_root).lexically_normal();
    if (!root.has_filename()) root = root.parent_path();  // "dir/" names dir
    state_base = (root.parent_path() / "quecsim-state").string();
  }
  const bool shared_transcript = o.transcript.find("{n}") == std::string::npos;
  std::vector<quecsim::station::station_options> modules;
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
    so.endpoint = quecsim::sim::module_endpoint(so.endpoint, i);
    modules.push_back(std::move(so));
  }
  return modules;
}

int run_fleet(const CLI::App& app, cli_options o, std::vector<quecsim::fault::scenario> all) {
  const bool shared_transcript = o.transcript.find("{n}") == std::string::npos;
  std::vector<std::vector<quecsim::fault::scenario>> scenarios(o.modules);
  auto modules = fleet_modules(app, o, all, scenarios);
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
      return exit_code::usage;
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
    quecsim::sim::verdict_sheet sheet;
    fleet->check(std::cerr, sheet);
    if (!o.verdict_json.empty()) sheet.write(o.verdict_json);
    return sheet.all_held() ? exit_code::ok : exit_code::expectations;
  } catch (const std::invalid_argument& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_code::runtime;
  }
}

// The scenarios of the command line, read before anything starts and checked against the
// flags: false (with the message on stderr) for a usage error.
bool read_scenarios(const cli_options& o, std::vector<quecsim::fault::scenario>& scenarios) {
  // A malformed scenario is a usage error (exit 2).
  try {
    for (const auto& file : o.scenarios) scenarios.push_back(quecsim::fault::load_scenario(file));
  } catch (const quecsim::fault::scenario_error& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return false;
  }
  try {
    for (const auto& s : scenarios) quecsim::fault::check_targets(s, o.modules);
    if (o.modules > 1) quecsim::sim::check_fleet(o.modules, o.link, o.control);
    // A bad endpoint value is a usage error before anything starts, for every module.
    const auto endpoint = quecsim::sim::endpoint_options(o);
    if (o.modules > 1) quecsim::sim::module_endpoint(endpoint, o.modules - 1);
    if (o.modules > 1 && o.exit_on_close) {
      throw quecsim::sim::fleet_usage_error(
          "--exit-on-close: one module's host closing its pty does not end a fleet of "
          "--modules " +
          std::to_string(o.modules) + "; SIGTERM ends it");
    }
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return false;
  }
  return true;
}

// What a started module prints on stdout: the ready line, or two lines for a person.
void announce(const quecsim::station::station& station, const cli_options& o) {
  if (o.ready_json) {
    std::cout << station.ready_json().dump() << std::endl;
  } else {
    std::cout << "quecsim: " << station.model() << " on " << station.uart_name();
    if (!o.link.empty()) std::cout << " (link " << o.link << ")";
    if (!station.control_path().empty()) {
      std::cout << "; control socket " << station.control_path();
    }
    std::cout << std::endl;
    if (const auto ftp = station.ftp_endpoint()) {
      std::cout << "quecsim: embedded FTP server on 127.0.0.1:" << ftp->port() << " serving "
                << station.ftp_root().string() << "; every host name AT+QFTPOPEN gives goes to it"
                << std::endl;
    }
  }
}

// One module until a signal (or, with --exit-on-close, the host's last close) ends it.
int run_one(const CLI::App& app, cli_options o,
            const std::vector<quecsim::fault::scenario>& scenarios) {
  apply_scenario_settings(scenarios, app, o);
  const std::uint64_t seed = o.seed.value_or(1);

  try {
    ::signal(SIGPIPE, SIG_IGN);
    boost::asio::io_context io;
    quecsim::clock clk(o.time_scale);
    std::unique_ptr<quecsim::station::station> station;
    // SIGINT, SIGTERM and, with --exit-on-close, the host's last close end the run alike.
    auto shut_down = [&io, &station] {
      station->stop();
      io.stop();
    };
    auto so = station_options(o, seed);
    if (o.exit_on_close) so.on_host_closed = shut_down;
    try {
      station = std::make_unique<quecsim::station::station>(io, clk, std::move(so), scenarios);
    } catch (const quecsim::fault::scenario_error& e) {
      std::cerr << "quecsim: " << e.what() << '\n';
      return exit_code::usage;
    }

    name_default_folders(app, o);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&shut_down](const boost::system::error_code& ec, int) {
      if (!ec) shut_down();
    });

    announce(*station, o);
    io.run();
    // A scenario's expectations decide the exit code, so a campaign can read it.
    quecsim::sim::verdict_sheet sheet;
    for (const auto& v : station->check()) {
      std::cerr << "quecsim: " << quecsim::station::station::describe(v) << '\n';
      sheet.add(v);
    }
    if (!o.verdict_json.empty()) sheet.write(o.verdict_json);
    return sheet.all_held() ? exit_code::ok : exit_code::expectations;
  } catch (const std::invalid_argument& e) {
    // Flag values that only make sense once combined (--model, --host, --resolve).
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_code::runtime;
  }
}

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
  quecsim::sim::add_flags(app, o);
  try {
    quecsim::cli::refuse_unknown_flags(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  }

  std::vector<quecsim::fault::scenario> scenarios;
  if (!read_scenarios(o, scenarios)) return exit_code::usage;
  if (o.modules > 1) return run_fleet(app, o, std::move(scenarios));
  return run_one(app, std::move(o), scenarios);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "ctl") return quecsim::sim::ctl::run(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "campaign")
    return quecsim::sim::campaign::run(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "report") {
    return quecsim::sim::report::run(argc, argv);
  }
  if (argc > 1 && std::string_view(argv[1]) == "replay") {
    return quecsim::sim::replay::run(argc, argv);
  }
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Only the command-line setup itself can get here; run() reports everything else.
    std::cerr << "quecsim: " << e.what() << '\n';
    return exit_code::runtime;
  }
}
