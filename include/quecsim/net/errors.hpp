#pragma once
// The network layer's own error codes.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace quecsim::net {

/// Failures the network layer reports in its own words, so the FTP layer can tell a DNS
/// failure (-4) from a refused connect (-5), a torn-down context (-8) and a timeout (-9).
enum class errc {
  dns_failed = 1,    ///< the host name did not resolve (or is unknown to the host map)
  connect_failed,    ///< the TCP connect failed (refused, unreachable, ...)
  context_inactive,  ///< a connect was asked for while the packet context is down
  context_down,      ///< the packet context went down under an open connection
  connection_reset,  ///< the fault seam reset the connection (looks like the peer dropped it)
  timed_out,         ///< a deadline passed (used by callers that time out through the network)
};

/// The error category of `errc`.
const boost::system::error_category& category();

/// Makes an `error_code` of the network category.
boost::system::error_code make_error_code(errc e);

}  // namespace quecsim::net

namespace boost::system {
template <>
struct is_error_code_enum<quecsim::net::errc> : std::true_type {};
}  // namespace boost::system
