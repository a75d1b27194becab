#pragma once

#include <boost/asio/io_context.hpp>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/transcript.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/station/station.hpp"
#include "verdict_sheet.hpp"

namespace quecsim::sim {

/// A value of --modules, --link or --control that cannot work for a fleet; the message names
/// the flag (exit 2).
class fleet_usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The most modules one process may be asked for (the kernel's pty limit comes first).
constexpr int most_modules = 65536;

/// `pattern` with every "{n}" replaced by `n`.
std::string expand(const std::string& pattern, int n);

/// Checks what `--modules N` needs before anything starts: a path given to --link or --control
/// names each module's own ({n}), the kernel has N more ptys, and the descriptor limit holds
/// N modules (the soft limit is raised to the hard one first). Throws fleet_usage_error.
void check_fleet(int modules, const std::string& link, const std::string& control);

/// The loopback address module `n` of a fleet connects from: 127.1.<n / 256>.<n % 256>.
std::string module_address(int n);

/// Module `n`'s endpoint of a fleet: a fixed TCP port P becomes P + n (port 0 stays 0: each
/// its own), a device or foreign pty path takes {n}. Throws fleet_usage_error.
serial::endpoint_options module_endpoint(serial::endpoint_options e, int n);

/// Several stations on one io_context and one clock, sharing one embedded FTP server (when
/// there is one) and one transcript (unless each has its own file).
class fleet {
 public:
  /// Builds module i from `modules[i]` with the scenarios that target it, `scenarios[i]`.
  /// `all` are every scenario (their users and files go to the shared server); `transcript`
  /// names the shared transcript file (empty: none, or each module's own in its options).
  fleet(boost::asio::io_context& io, const clock& clk,
        std::vector<station::station_options> modules,
        std::vector<std::vector<fault::scenario>> scenarios,
        const std::vector<fault::scenario>& all, const std::string& transcript);
  ~fleet();
  fleet(const fleet&) = delete;
  fleet& operator=(const fleet&) = delete;

  /// The ready line: {"pid", "ftp": {address, port, root} or null, "modules": [{"module",
  /// "pty", "link", "control", "model", "state_dir"}, ...]}.
  nlohmann::json ready_json() const;
  /// The human-readable start lines: one per module, then the server's.
  void describe(std::ostream& out) const;
  /// Stops the shared server; the caller then stops the io_context.
  void stop();
  /// Checks every module's scenario expectations, writing one line per verdict to `err`
  /// ("module 3: scenario x: ...") and adding each to `sheet`.
  void check(std::ostream& err, verdict_sheet& sheet);

 private:
  std::unique_ptr<transcript> record_;
  std::unique_ptr<ftpd::server> server_;
  std::vector<std::unique_ptr<station::station>> stations_;
};

}  // namespace quecsim::sim
