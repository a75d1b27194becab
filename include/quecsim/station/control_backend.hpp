#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>

#include "quecsim/control/server.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/fault/injector.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/module/module.hpp"

namespace quecsim::station {

/// The quecsim process's answers on its control socket: op `state` from the module, its FTP
/// service and counters kept from the event bus; ops `apply`, `load` and `unload` go to the
/// fault injector's hook.
class control_backend final : public control::backend {
 public:
  /// The fault injector's entry: gets each apply/load/unload request, returns the reply's
  /// fields or throws control::request_error.
  using fault_hook = std::function<nlohmann::json(const nlohmann::json& request)>;

  /// Starts counting the events of `bus` now.
  control_backend(module::module& m, ftp::service& ftp, events::bus& bus);

  nlohmann::json handle(const nlohmann::json& request) override;

  /// Where apply, load and unload go; unset, they are answered with an error.
  fault_hook faults;
  /// Fields the fault injector adds to `state` (loaded scenarios, faults fired).
  std::function<nlohmann::json()> fault_state;
  /// Where the host meets the UART, the state's "endpoint" (serial::endpoint::describe).
  std::function<nlohmann::json()> endpoint_state;
  /// The module's TCP server, the state's "tcpip"."server" (address, port, state, clients).
  std::function<nlohmann::json()> tcpip_state;

 private:
  void count(const events::event& e);
  nlohmann::json state() const;

  module::module& module_;
  ftp::service& ftp_;
  // Counters from the event bus.
  std::uint64_t uart_rx_ = 0;
  std::uint64_t uart_tx_ = 0;
  std::uint64_t at_lines_ = 0;
  std::uint64_t ftp_tx_ = 0;
  std::uint64_t ftp_rx_ = 0;
  std::uint64_t data_in_ = 0;   // downloads (RETR, LIST, NLST)
  std::uint64_t data_out_ = 0;  // uploads (STOR, APPE)
  std::uint64_t faults_ = 0;
};

/// Carries out a control request for the fault injector: `apply` ({"action": {...}}),
/// `load` ({"scenario": {...}} or {"file": "path"}) and `unload` ({"name": "..."}).
/// Throws control::request_error with the reason (a scenario_error's file and pointer).
nlohmann::json fault_request(fault::injector& faults, const nlohmann::json& request);

}  // namespace quecsim::station
