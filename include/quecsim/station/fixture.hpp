#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

// Where the installed package keeps the model profiles; its CMake package defines this for the
// code that links it, so a fixture finds them wherever the prefix was installed.
#ifndef QUECSIM_FIXTURE_PROFILE_DIR
#define QUECSIM_FIXTURE_PROFILE_DIR ""
#endif

namespace quecsim::station {

/// What a fixture starts. Every path left empty is a fresh folder of the fixture's own run
/// folder (under the system's temporary folder), removed with the fixture.
struct fixture_options {
  std::string model = "M95";         ///< a profile name (M10, M95, M33) or a profile file
  double time_scale = 1.0;           ///< multiplies every simulated duration, e.g. 0.01
  bool embedded_ftp = true;          ///< start the bundled FTP server in-process on 127.0.0.1
  std::filesystem::path ftp_root;    ///< the folder the embedded server serves
  std::filesystem::path state_dir;   ///< the module's storage (UFS, RAM, SD)
  std::filesystem::path transcript;  ///< a JSON Lines transcript; empty: none
  std::vector<std::filesystem::path> scenarios;  ///< fault scenarios loaded at start
  bool power_up_lines = true;      ///< RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready
  bool power_up_at_start = false;  ///< boot at once instead of at the host's first open
  /// Switched on at the host's first open, deaf and silent for the boot delay (--realistic-boot);
  /// false: answering from the start, the power-up lines waiting for the host.
  bool realistic_boot = false;
  std::optional<unsigned> boot_delay_ms;  ///< silence before the power-up lines; unset: profile's
  unsigned baud = 115200;                 ///< UART pacing in bits/s (0: none)
  double latency_ms = 300;                ///< network round trip in simulated ms
  std::uint64_t seed = 1;                 ///< seed of the scenarios' random choices
  /// Folder searched first for a model name's profile.
  std::filesystem::path profile_dir = QUECSIM_FIXTURE_PROFILE_DIR;
};

/// Where the embedded FTP server listens.
struct ftp_address {
  std::string address;
  std::uint16_t port = 0;
};

class fixture;

/// The fixture's live control: the control socket's ops (state, apply, load, unload), called
/// from any thread and carried out on the module's own thread.
class fixture_control {
 public:
  /// Sends one request object (e.g. {"op":"state"}) and returns the reply object, with "ok"
  /// false and "error" when it was refused.
  nlohmann::json request(const nlohmann::json& req);
  /// Applies one fault action now (a scenario action, e.g. {"action":"pdp_deact"}); returns
  /// what it did. Throws std::runtime_error with the reason when it is refused.
  std::string apply(const nlohmann::json& action);
  /// The control socket's state reply (module, FTP service, counters, scenarios).
  nlohmann::json state();
  /// The control socket's path, for clients in other processes (quecsim ctl, Python).
  std::string path() const;

 private:
  friend class fixture;
  explicit fixture_control(fixture& owner) : owner_(owner) {}
  fixture& owner_;
};

/// A simulated module in-process for a test: starts a station (the module on its pty, with the
/// embedded FTP server unless turned off, and a control socket) on its own thread and
/// io_context; the destructor stops it and joins the thread.
///
///     quecsim::fixture_options o;
///     o.time_scale = 0.01;
///     quecsim::fixture sim(o);
///     int fd = ::open(sim.pty_path().c_str(), O_RDWR | O_NOCTTY);  // powers the module up
///     sim.control().apply({{"action", "urc"}, {"text", "+QTEST: 1"}});
class fixture {
 public:
  /// Starts the module. Throws std::exception naming what was refused (a bad model, a
  /// scenario file and its JSON pointer, a folder that cannot be made).
  explicit fixture(fixture_options opts = {});
  /// Stops the module and the server, joins the thread, removes the run folder.
  ~fixture();
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  /// The pty's slave path the host opens (/dev/pts/N); the first open powers the module up.
  const std::string& pty_path() const;
  /// Where the embedded FTP server listens; throws std::logic_error without one.
  ftp_address ftp_endpoint() const;
  /// The folder the embedded server serves (put the files a test downloads here).
  const std::filesystem::path& ftp_root() const;
  /// The module's storage folder.
  const std::filesystem::path& state_dir() const;
  /// The model the module runs.
  const std::string& model() const;
  /// The live control handle.
  fixture_control& control() { return control_; }
  /// Checks the scenarios' expectations: one line per scenario ("scenario NAME: expectations
  /// held" or "...: FAILED; why"), and whether all held.
  bool check(std::vector<std::string>* lines = nullptr);

 private:
  friend class fixture_control;
  struct impl;
  std::unique_ptr<impl> impl_;
  fixture_control control_{*this};
};

}  // namespace quecsim::station
