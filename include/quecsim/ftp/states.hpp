#pragma once
// The FTP service's states and the names AT+QFTPSTAT prints for them: one definition, which
// the service, the scenarios' state triggers and the docs refer to.

#include <array>
#include <cstddef>
#include <string_view>

namespace quecsim::ftp {

/// The FTP service's states, as AT+QFTPSTAT names them.
enum class service_state { idle, opening, opened, working, transfer, closing, closed };

/// The names AT+QFTPSTAT prints, in the order of `service_state`.
inline constexpr std::array<std::string_view, 7> state_names = {
    "IDLE", "OPENING", "OPENED", "WORKING", "TRANSFER", "CLOSING", "CLOSED"};

/// The name AT+QFTPSTAT prints for a state.
constexpr std::string_view state_name(service_state s) {
  return state_names[static_cast<std::size_t>(s)];
}

}  // namespace quecsim::ftp
