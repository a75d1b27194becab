#include "quecsim/core/events.hpp"

namespace quecsim::events {

std::string_view name(kind k) {
  switch (k) {
    case kind::uart_rx:
      return "rx";
    case kind::uart_tx:
      return "tx";
    case kind::state:
      return "state";
    case kind::warning:
      return "warning";
    case kind::ftp_tx:
      return "ftp_tx";
    case kind::ftp_rx:
      return "ftp_rx";
    case kind::data_bytes:
      return "data";
    case kind::fault:
      return "fault";
    case kind::info:
      return "info";
    case kind::command:
      return "command";
    case kind::response:
      return "response";
    case kind::result:
      return "result";
  }
  return "unknown";
}

}  // namespace quecsim::events
