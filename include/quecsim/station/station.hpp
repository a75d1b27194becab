#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/fault/injector.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/serial/endpoint.hpp"
#include "quecsim/storage/limits.hpp"

namespace quecsim {
class transcript;
}
namespace quecsim::serial {
class pty;
class uart;
class open_watch;
class close_watch;
class endpoint;
}  // namespace quecsim::serial
namespace quecsim::module {
class module;
class file_commands;
}  // namespace quecsim::module
namespace quecsim::net {
class network;
}
namespace quecsim::storage {
class store;
}
namespace quecsim::ftp {
class service;
}
namespace quecsim::tcpip {
class service;
}
namespace quecsim::ftpd {
class server;
}
namespace quecsim::control {
class server;
}

namespace quecsim::station {

class control_backend;

/// A station refused its options: a flag's value that makes no sense (an unknown model name,
/// a malformed --host, --resolve embedded without the server). The message names the flag.
class station_usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Everything a station is built from; the command line of `quecsim` maps onto it flag by flag
/// (the names in the comments). Scenario settings are merged in before, by the caller.
struct station_options {
  std::string link;        ///< --link: a symlink made to the pty (removed at the end)
  std::string control;     ///< --control: the control socket; empty: the link + ".ctl", if any
  std::string transcript;  ///< --transcript: a JSON Lines file of every event; empty: none
  /// The transcript's first record (source "config"): what `quecsim replay` needs to rebuild
  /// the same module. Empty: none.
  std::string transcript_config;
  unsigned baud = 115200;     ///< --baud: UART pacing in bits/s (0: no pacing)
  std::string model = "M95";  ///< --model: a profile name or a profile file
  /// Folders searched for a model name's profile before the standard ones (the installed
  /// package's share/quecsim/profiles, for a program that is not quecsim itself).
  std::vector<std::filesystem::path> profile_dirs;
  bool power_up_lines = true;      ///< false: --no-power-up-lines
  bool power_up_at_start = false;  ///< --power-up-at-start instead of at the first open
  /// --realistic-boot: switched on at the host's first open, deaf and silent for the boot
  /// delay, as a real module the firmware powers. False (the default): answering from the
  /// start, the power-up lines sent the boot delay after the first open or before the
  /// answer to the host's first bytes, whichever comes first.
  bool realistic_boot = false;
  std::optional<unsigned> boot_delay_ms;  ///< --boot-delay; unset: the profile's
  std::string imei;                       ///< --imei; empty: the profile's
  bool autobaud = false;                  ///< --autobaud: AT+IPR=0 at power-up
  std::string ftp_root = "quecsim-ftp";   ///< --ftp-root of the embedded server
  std::uint16_t ftp_port = 0;             ///< --ftp-port of the embedded server (0: any)
  std::uint16_t tcpip_port = 0;           ///< --tcpip-port of the module's TCP server (0: any)
  bool embedded_ftp = true;               ///< false: --no-embedded-ftp
  std::vector<std::string> ftp_users;     ///< --ftp-user NAME:PASS entries
  std::string ftp_faults;                 ///< --ftp-faults rule file; empty: none
  std::vector<std::string> hosts;         ///< --host NAME=ADDR:PORT entries
  std::string resolve;                    ///< --resolve; empty: embedded, or map without server
  double latency_ms = 300;                ///< --latency: round trip in simulated ms
  std::uint64_t bandwidth = 0;            ///< --bandwidth in bytes per simulated s (0: no limit)
  std::uint64_t seed = 1;                 ///< --seed of the scenarios' random choices
  std::string state_dir;                  ///< --state-dir; empty: quecsim-state beside the FTP root
  /// A transcript shared with other stations (`quecsim --modules N` writes one file, the
  /// records told apart by their "module"); null: `transcript`, a file of this station's own.
  quecsim::transcript* shared_transcript = nullptr;
  /// The loopback address this module's connections to a loopback server come from, and its
  /// server rules act on (empty: 127.0.0.1, rules on every session). Modules sharing one
  /// server each take their own.
  std::string source_address;
  /// Runs on the io_context once a host has opened the pty and then closed every descriptor
  /// it opened (--exit-on-close); unset: closing the pty is nothing special.
  std::function<void()> on_host_closed;
  /// Where the host meets the UART: quecsim's own pty (the default), or --device,
  /// --attach-pty, --tcp-listen, --tcp-connect. With an endpoint a host closing the port is the
  /// connection closing or the line hanging up.
  serial::endpoint_options endpoint;
};

/// One simulated module with everything around it: the pty (and its link), the module and
/// its commands, the network, the storage, the FTP service, the control socket, the UART, the
/// fault injector, and optionally the embedded FTP server; answering from the start (or, with
/// `realistic_boot`, powered on at the host's first open). Lives on a caller's io_context and
/// clock, which outlive it; several stations may share one io_context and one embedded server.
class station {
 public:
  /// Builds and starts the station (listening sockets are open when it returns). `server`:
  /// an embedded server owned by the caller and shared with other stations (the caller
  /// built it from `server_config`); null with `embedded_ftp`: the station starts its own.
  /// `module_id` tells the modules of one process apart in events. Throws
  /// station_usage_error for a bad option, fault::scenario_error for a scenario the module
  /// cannot run, std::exception for anything else the system refuses.
  station(boost::asio::io_context& io, const clock& clk, station_options opts,
          const std::vector<fault::scenario>& scenarios, ftpd::server* server = nullptr,
          int module_id = 0);
  ~station();
  station(const station&) = delete;
  station& operator=(const station&) = delete;

  /// The embedded server's configuration for `opts` and the scenarios (their users and
  /// rules included), with the root created and the scenarios' server files placed in it.
  static ftpd::config server_config(const station_options& opts,
                                    const std::vector<fault::scenario>& scenarios);

  /// The pty's slave path the host opens (/dev/pts/N); empty with another endpoint.
  const std::string& pty_path() const;
  /// Where the host meets the UART, in words: the pty's path, or the endpoint's name.
  std::string uart_name() const;
  /// The endpoint's description ({"kind": "pty", "path"} for the pty): the ready line's and
  /// the control socket's "endpoint".
  nlohmann::json endpoint_json() const;
  /// The module's TCP server: where it is reached (the ready line), with `live` also its state
  /// (the control socket's state).
  nlohmann::json tcpip_json(bool live) const;
  /// The --link symlink, or empty.
  const std::string& link() const { return opts_.link; }
  /// The control socket's path, or empty when there is none.
  const std::string& control_path() const { return control_path_; }
  /// Where the embedded server listens; unset without one.
  std::optional<boost::asio::ip::tcp::endpoint> ftp_endpoint() const;
  /// The folder the embedded server serves; empty without one.
  std::filesystem::path ftp_root() const;
  /// The folder of the module's storage (UFS, RAM, SD).
  const std::filesystem::path& state_dir() const { return state_dir_; }
  /// The model the module runs (the profile's name).
  const std::string& model() const;
  /// The module itself.
  quecsim::module::module& module() { return *module_; }
  /// The fault injector; null when there is nothing to inject (no scenario, no control).
  fault::injector* injector() { return faults_.get(); }
  /// The station's event bus (the transcript and the control socket listen to it).
  events::bus& bus() { return bus_; }

  /// Answers one control request as the control socket would (ops state, apply, load,
  /// unload): the reply's fields with "ok", or {"ok":false,"error":...}. On the io thread.
  nlohmann::json request(const nlohmann::json& req);

  /// Stops what listens for new work: the embedded server the station owns (a shared one is
  /// its owner's to stop). The caller then stops the io_context.
  void stop();

  /// Checks the scenarios' expectations (none without an injector); each verdict is also
  /// published on the bus, so the transcript records it.
  std::vector<fault::verdict> check();
  /// One verdict as a line: "scenario NAME: expectations held" or "...: FAILED; why; ...".
  static std::string describe(const fault::verdict& v);

  /// The ready line's object: pty, link, pid, control, model, ftp {address, port, root},
  /// state_dir (null where there is none), and with an endpoint other than the pty, endpoint.
  nlohmann::json ready_json() const;

 private:
  // The pieces of construction, in order (each fits on a screen).
  void open_transcript(const clock& clk);
  void open_host_side(boost::asio::io_context& io);
  storage::limits make_module(boost::asio::io_context& io, const clock& clk);
  void start_server(boost::asio::io_context& io, const clock& clk, ftpd::server* server,
                    const std::vector<fault::scenario>& scenarios);
  void make_network(boost::asio::io_context& io, const clock& clk);
  void make_services(const storage::limits& limits);
  void open_control(boost::asio::io_context& io, const clock& clk);
  void attach_host(boost::asio::io_context& io);
  void make_injector(boost::asio::io_context& io, const clock& clk,
                     const std::vector<fault::scenario>& scenarios);
  void power_up(boost::asio::io_context& io);
  // Whether the host meets quecsim's own pty (else an endpoint), and the UART it meets.
  bool own_pty() const;
  serial::host_port& host() const;

  // The host opened the pty (inotify) or, `spoke`, sent its first bytes.
  void host_opened(bool spoke);
  // --state-dir made absolute, or quecsim-state beside the FTP root.
  std::filesystem::path resolve_state_dir() const;

  station_options opts_;
  int id_;
  std::string control_path_;
  std::filesystem::path state_dir_;
  bool host_seen_ = false;
  // Declared in the order they are built; destroyed in reverse.
  events::bus bus_;
  std::unique_ptr<transcript> record_;
  std::unique_ptr<serial::pty> pty_;
  std::unique_ptr<quecsim::module::module> module_;
  std::unique_ptr<ftpd::server> own_server_;
  ftpd::server* server_ = nullptr;
  std::unique_ptr<net::network> net_;
  std::unique_ptr<storage::store> files_;
  std::unique_ptr<module::file_commands> file_commands_;
  std::unique_ptr<ftp::service> ftp_;
  std::unique_ptr<tcpip::service> tcpip_;
  std::unique_ptr<control_backend> control_backend_;
  std::unique_ptr<control::server> control_;
  std::unique_ptr<serial::uart> port_;
  std::unique_ptr<serial::endpoint> endpoint_;  // instead of the pty and port_
  std::unique_ptr<fault::injector> faults_;
  std::unique_ptr<serial::open_watch> first_open_;
  std::unique_ptr<serial::close_watch> last_close_;
};

}  // namespace quecsim::station
