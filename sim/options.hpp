#pragma once

// The `quecsim` command line: its flags, and what they make (a station's options, the
// transcript's configuration record).

#include <CLI/CLI.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "quecsim/fault/scenario.hpp"
#include "quecsim/serial/endpoint.hpp"
#include "quecsim/station/station.hpp"

namespace quecsim::sim {

/// Every flag of `quecsim` (docs/flags.md), as parsed.
struct cli_options {
  std::string link;
  std::string control;
  bool ready_json = false;
  std::string transcript;
  std::string verdict_json;
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
  std::uint16_t tcpip_port = 0;
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
  // Where the host meets the UART instead of quecsim's own pty.
  std::string device;
  std::string attach_pty;
  std::string tcp_listen;
  std::string tcp_connect;
  unsigned data_bits = 8;
  char parity = 'N';
  unsigned stop_bits = 1;
};

/// Declares every flag on `app`, each parsed into `o`.
void add_flags(CLI::App& app, cli_options& o);

/// The endpoint the flags name (quecsim's own pty without one). Throws std::invalid_argument.
serial::endpoint_options endpoint_options(const cli_options& o);

/// Scenario settings fill in what the command line left at its default: the command line wins.
void apply_scenario_settings(const std::vector<fault::scenario>& scenarios, const CLI::App& app,
                             cli_options& o);

/// The transcript's first record: what `quecsim replay` needs to rebuild the same module,
/// scenarios and profile file included, so a transcript replays without the files.
nlohmann::json config_record(const cli_options& o, std::uint64_t seed);

/// The station's options: the command line without what only the command line has.
station::station_options station_options(const cli_options& o, std::uint64_t seed);

/// Names on stderr the folders a run writes in the current folder unless a flag says where.
void name_default_folders(const CLI::App& app, const cli_options& o);

}  // namespace quecsim::sim
