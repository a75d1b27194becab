#include "quecsim/station/control_backend.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace quecsim::station {

using nlohmann::json;

control_backend::control_backend(module::module& m, ftp::service& ftp, events::bus& bus)
    : module_(m), ftp_(ftp) {
  bus.subscribe([this](const events::event& e) { count(e); });
}

void control_backend::count(const events::event& e) {
  switch (e.what) {
    case events::kind::uart_rx:
      uart_rx_ += e.data.size();
      break;
    case events::kind::uart_tx:
      uart_tx_ += e.data.size();
      break;
    case events::kind::result:
      // One final result per command line, whatever it held: the lines the host sent.
      ++at_lines_;
      break;
    case events::kind::ftp_tx:
      ++ftp_tx_;
      break;
    case events::kind::ftp_rx:
      ++ftp_rx_;
      break;
    case events::kind::data_bytes:
      if (const auto* moved = std::get_if<events::bytes_moved>(&e.detail)) {
        (moved->up ? data_out_ : data_in_) += moved->count;
      }
      break;
    case events::kind::fault:
      ++faults_;
      break;
    default:
      break;
  }
}

json control_backend::handle(const json& request) {
  const std::string& op = request.at("op").get_ref<const std::string&>();
  if (op == "state") {
    auto s = state();
    if (fault_state) s.update(fault_state());
    if (endpoint_state) s["endpoint"] = endpoint_state();
    if (tcpip_state) s["tcpip"] = {{"server", tcpip_state()}};
    return s;
  }
  if (op == "apply" || op == "load" || op == "unload") {
    if (!faults) throw control::request_error("no fault injector in this build");
    return faults(request);
  }
  throw control::request_error("unknown op '" + op +
                               "' (ops: ping, subscribe, unsubscribe, state, apply, load, unload)");
}

json control_backend::state() const {
  const auto& ctx = module_.context();
  return {{"model", module_.config().model.model},
          {"ftp", {{"state", std::string(ftp::state_name(ftp_.state()))}}},
          {"pdp",
           {{"active", ctx.active()},
            {"local_ip", ctx.active() ? json(ctx.local_ip()) : json(nullptr)}}},
          {"uart", {{"mode", module_.in_data_mode() ? "data" : "command"}}},
          {"counters",
           {{"uart_rx_bytes", uart_rx_},
            {"uart_tx_bytes", uart_tx_},
            {"at_lines", at_lines_},
            {"ftp_tx_lines", ftp_tx_},
            {"ftp_rx_lines", ftp_rx_},
            {"data_rx_bytes", data_in_},
            {"data_tx_bytes", data_out_},
            {"faults", faults_}}}};
}

json fault_request(fault::injector& faults, const json& request) {
  const std::string& op = request.at("op").get_ref<const std::string&>();
  try {
    if (op == "apply") {
      if (!request.contains("action")) {
        throw control::request_error("apply needs \"action\": an action object");
      }
      const auto a = fault::parse_action(request["action"], "request", "/action");
      return {{"did", faults.apply(a)}};
    }
    if (op == "load") {
      fault::scenario s;
      const bool named = request.contains("file") && request["file"].is_string();
      if (request.contains("scenario")) {
        // The client read the file (its own working folder); the path only names the source.
        s = fault::parse_scenario(request["scenario"],
                                  named ? request["file"].get<std::string>() : "request /scenario");
      } else if (named) {
        s = fault::load_scenario(request["file"].get<std::string>());
      } else {
        throw control::request_error(
            "load needs \"scenario\": a scenario object, or \"file\": a scenario file's path");
      }
      // What a running module cannot take any more: settings and accounts are read at start.
      if (s.module.model || s.module.baud || s.module.latency_ms || s.module.bandwidth ||
          s.module.time_scale || s.module.autobaud || !s.users.empty() || !s.files.empty()) {
        throw control::request_error(
            s.source +
            ": module settings, server users and server files take effect at start "
            "only: load this scenario with --scenario");
      }
      // The scenario as loaded goes to the transcript, so a replay loads it again there.
      json document =
          request.contains("scenario") ? request["scenario"] : fault::read_json_or_null(s.source);
      faults.load(s);
      fault::mask_passwords(document);
      faults.record_request({{"op", "load"}, {"name", s.name}, {"scenario", document}});
      return {{"loaded", s.name}};
    }
    if (op == "unload") {
      if (!request.contains("name") || !request["name"].is_string()) {
        throw control::request_error("unload needs \"name\": a loaded scenario's name");
      }
      const std::string name = request["name"].get<std::string>();
      if (!faults.unload(name)) throw control::request_error("no scenario named " + name);
      faults.record_request({{"op", "unload"}, {"name", name}});
      return {{"unloaded", name}};
    }
  } catch (const fault::scenario_error& e) {
    throw control::request_error(e.what());
  }
  throw control::request_error("unknown op '" + op + "'");
}

}  // namespace quecsim::station
