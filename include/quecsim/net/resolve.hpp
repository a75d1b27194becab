#pragma once
// Name resolution of a module's network: where a host name given to a connect goes (the
// host map, the embedded server, an IP literal, or the system resolver).

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace quecsim::net {

/// How host names given to `network::connect` find their server.
enum class host_mode {
  embedded,  ///< every name and IP literal goes to `network_config::embedded` (the default)
  map,       ///< only `network_config::hosts` entries and IP literals; other names fail (-4)
  system,    ///< the system resolver, after `hosts` entries
};

/// Parses "embedded", "map" or "system"; throws std::invalid_argument otherwise.
host_mode parse_host_mode(const std::string& text);

/// Where a name points: an address literal (or name for system mode) and a port.
struct host_target {
  std::string address;  ///< IP literal (in system mode also a name to resolve)
  std::uint16_t port = 21;
};

/// Parses "NAME=ADDR:PORT" (as `--host` takes it) into a name and a target; throws
/// std::invalid_argument with the reason when malformed.
std::pair<std::string, host_target> parse_host_entry(const std::string& text);

/// What a host name comes to before any lookup: an endpoint, a name for the system
/// resolver, or nothing (the name is unknown).
struct resolution {
  /// Which of the three.
  enum class kind { endpoint, lookup, unknown };
  kind what = kind::unknown;
  boost::asio::ip::tcp::endpoint endpoint;  ///< endpoint: where to connect
  host_target target;                       ///< lookup: the name and port to resolve
};

/// Resolves `host:port` without I/O: the `hosts` entries first (case-insensitively), then in
/// embedded mode everything to `embedded`, otherwise IP literals as they are; names left are
/// for the system resolver in system mode and unknown in map mode.
resolution resolve(const std::string& host, std::uint16_t port, host_mode mode,
                   const host_target& embedded, const std::map<std::string, host_target>& hosts);

}  // namespace quecsim::net
