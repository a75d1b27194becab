#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "quecsim/core/events.hpp"
#include "quecsim/fault/host_link.hpp"
#include "quecsim/fault/scenario.hpp"

namespace quecsim::ftp {
class service;
}
namespace quecsim::ftpd {
class server;
}
namespace quecsim::storage {
class store;
}
namespace quecsim::net {
class network;
}
namespace quecsim::module {
class module;
}
namespace quecsim::serial {
class host_port;
}

namespace quecsim::fault {

/// The seams a fault acts through: the same objects the module itself uses. Nothing in them
/// asks "is a fault active?"; the injector calls their ordinary fault-seam methods.
struct seams {
  module::module* module = nullptr;
  net::network* network = nullptr;
  ftp::service* ftp = nullptr;
  serial::host_port* port = nullptr;  ///< the real UART, where host-side faults stand in front
  ftpd::server* server = nullptr;     ///< the embedded server, or null
  storage::store* files = nullptr;    ///< the module's UFS/RAM/SD, or null
  /// The address this module's connections reach a server shared with other modules from:
  /// the server rules its scenarios add then act on its sessions only. Empty: on every one.
  std::string server_client;
};

/// The outcome of one scenario's expectations, checked at exit.
struct verdict {
  std::string scenario;
  std::vector<std::string> failures;  ///< empty when every expectation held
  bool passed() const { return failures.empty(); }
};

/// Watches a module's events and fires the loaded scenarios' events: each trigger is matched
/// against the event stream (never polled), and each action acts through `seams`. Every
/// action that takes effect is published as a `fault` event naming the scenario, the event,
/// the action and what it did. One per module, on the module's io_context.
class injector {
 public:
  /// Subscribes to `bus` for the module `module_id`. `seed` makes every random choice
  /// (probabilities, garbage bytes, jitter) repeatable.
  injector(boost::asio::io_context& io, const clock& clk, events::bus& bus, seams s,
           std::uint64_t seed, int module_id = 0);
  ~injector();
  injector(const injector&) = delete;
  injector& operator=(const injector&) = delete;

  /// Checks a scenario against the module (its triggers must be able to fire, server actions
  /// need the embedded server), then arms it. Throws scenario_error. A scenario of the same
  /// name is replaced.
  void load(scenario s);
  /// Disarms a scenario; false when none has that name.
  bool unload(const std::string& name);
  /// The names of the loaded scenarios, in load order.
  std::vector<std::string> loaded() const;

  /// Applies one action now (the live control socket); returns what it did. Throws
  /// scenario_error when the action cannot act here (a server action without the server).
  std::string apply(const action& a, const std::string& origin = "control");

  /// Records a control client's `load` or `unload` in the transcript (an info record of
  /// source "control" holding the request), so that a replay sends it again at that point.
  void record_request(const nlohmann::json& request);

  /// Faults that took effect so far.
  std::uint64_t faults_fired() const { return fired_; }
  /// The state of each machine as last seen (ftp, pdp, uart, module).
  const std::map<std::string, std::string>& states() const { return states_; }

  /// Checks every loaded scenario's expectations against what happened; `server_root` is
  /// where expected server files are looked for.
  std::vector<verdict> check(const std::filesystem::path& server_root) const;

 private:
  struct armed_event;
  struct loaded_scenario;

  void on_event(const events::event& e);
  void match(trigger_kind kind, const std::function<bool(armed_event&)>& test);
  void fire(loaded_scenario& s, armed_event& e);
  // Runs the event's actions: all of them, or only the arming ones (true) or the others.
  void run_actions(loaded_scenario& s, const armed_event& e,
                   std::optional<bool> arming = std::nullopt);
  // Performs one action; server rules it adds are recorded in `rules` (the scenario's, so that
  // unloading the scenario removes them) when given.
  std::string act(const action& a, std::vector<std::uint64_t>* rules = nullptr);
  void arm_time(const std::shared_ptr<loaded_scenario>& s, armed_event& e);
  void validate(const scenario& s) const;
  void publish(const std::string& scenario, const std::string& event, const action& a,
               const std::string& did);
  void host_fault_armed();
  void after(std::chrono::milliseconds simulated, std::function<void()> f);

  boost::asio::io_context& io_;
  const clock& clock_;
  events::bus& bus_;
  seams seams_;
  int module_;
  std::mt19937_64 rng_;
  std::vector<std::shared_ptr<loaded_scenario>> scenarios_;
  std::map<std::string, std::string> states_;
  std::vector<std::string> line_commands_;     // the commands of the line awaiting its result
  std::uint64_t data_down_ = 0, data_up_ = 0;  // bytes of the current data connection
  std::uint64_t uart_down_ = 0, uart_up_ = 0;  // UART bytes since CONNECT
  std::uint64_t connect_skip_ = 0;             // CONNECT's own bytes still to pass on the UART
  // Data-mode bytes still on their way to the host when data mode ended (a host-side split or
  // delay holds them): they count as UART bytes since CONNECT when they arrive.
  std::uint64_t data_tail_ = 0;
  std::uint64_t fired_ = 0;
  std::unique_ptr<host_link> link_;
  std::vector<std::string> seen_lines_;  // lines the host saw that an expectation waits for
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::fault
