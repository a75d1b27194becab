#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace quecsim::events {

/// What happened. The transcript records every kind; the fault injector watches them.
enum class kind {
  uart_rx,     ///< bytes the host sent to the module
  uart_tx,     ///< bytes the module sent to the host
  state,       ///< a state changed: `source` names the machine, `data` the new state
  warning,     ///< the host did something a real module tolerates but drivers should not do
  ftp_tx,      ///< a control line the module sent to its FTP server (password masked)
  ftp_rx,      ///< a control line the FTP server sent to the module
  data_bytes,  ///< bytes moved on an FTP data connection: a `bytes_moved` payload
  fault,       ///< an injected fault took effect (the injector's carry a `fault_fired`)
  info,        ///< anything else worth a line in the transcript
  command,     ///< an AT command about to run: `data` is "AT" + the command as the host wrote it
  response,    ///< a line the module sent outside data mode (information, result, unsolicited)
  result,      ///< the final result of a command line (OK, ERROR, +CME ERROR: ..., DEACT OK)
};

/// Whether the transcript records `k`: command, response and result repeat what the UART
/// bytes already show, for subscribers that want lines rather than bytes.
constexpr bool recorded(kind k) {
  return k != kind::command && k != kind::response && k != kind::result;
}

/// The stable name of a kind, as written in the transcript.
std::string_view name(kind k);

/// The payload of a `data_bytes` event: bytes moved on an FTP data connection.
struct bytes_moved {
  bool up = false;          ///< module → server (true) or server → module
  std::uint64_t count = 0;  ///< how many, in this chunk
};

/// The payload of the injector's `fault` events: an action that took effect.
struct fault_fired {
  std::string_view scenario;  ///< the scenario's name, or the origin of a live action
  std::string_view event;     ///< the event's name ("live" for a live action)
  std::string_view action;    ///< the action's name
  std::string_view did;       ///< what it did, or "nothing: " and why
  /// A live action's object (defaults filled in), so that a replay applies it again; null
  /// for a scenario's actions, which come back with the scenario.
  const nlohmann::json* params = nullptr;
};

/// What an event carries besides its text: nothing (the text is all), or a typed payload.
/// Subscribers read the payload; only the transcript (record_builder) renders it as text.
using payload = std::variant<std::monostate, bytes_moved, fault_fired>;

/// One event. The views are valid only during delivery.
struct event {
  kind what;
  int module = 0;           ///< which module of the process (0 for the first)
  std::string_view source;  ///< the layer or machine that published it ("uart", "ftp", ...)
  std::string_view data;    ///< bytes or text; for uart_* the raw bytes (empty with a payload)
  payload detail{};         ///< the typed payload of data_bytes and the injector's faults
};

/// Publishes events to subscribers in the order they subscribed. Single-threaded, like the
/// io_context that drives it.
class bus {
 public:
  using handler = std::function<void(const event&)>;

  /// Adds a subscriber for the life of the bus.
  void subscribe(handler h) { handlers_.push_back(std::move(h)); }

  /// Delivers `e` to every subscriber.
  void publish(const event& e) const {
    for (const auto& h : handlers_) h(e);
  }

  /// Whether anyone listens: lets hot paths skip building an event nobody reads.
  bool active() const { return !handlers_.empty(); }

 private:
  std::vector<handler> handlers_;
};

}  // namespace quecsim::events
