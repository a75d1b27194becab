#include "control_backend.hpp"

#include <cstdlib>
#include <string>
#include <string_view>

namespace quecsim::sim {

using nlohmann::json;

namespace {

bool starts_with(std::string_view line, std::string_view word) {
  return line.size() >= word.size() && line.substr(0, word.size()) == word &&
         (line.size() == word.size() || line[word.size()] == ' ');
}

}  // namespace

control_backend::control_backend(module::module& m, ftp::service& ftp, events::bus& bus)
    : module_(m), ftp_(ftp) {
  bus.subscribe([this](const events::event& e) { count(e); });
}

void control_backend::count(const events::event& e) {
  switch (e.what) {
    case events::kind::uart_rx:
      uart_rx_ += e.data.size();
      if (module_.in_data_mode()) {
        at_state_ = 0;
        break;
      }
      // Command lines as the module's line discipline finds them: AT...<S3 or LF>, or A/.
      for (const char c : e.data) {
        if (at_state_ == 0) {
          if (c == 'A' || c == 'a') at_state_ = 1;
        } else if (at_state_ == 1) {
          if (c == 'T' || c == 't') {
            at_state_ = 2;
          } else if (c == '/') {
            ++at_lines_;
            at_state_ = 0;
          } else if (c != 'A' && c != 'a') {
            at_state_ = 0;
          }
        } else if (c == module_.line().s3 || c == module_.line().s4) {
          ++at_lines_;
          at_state_ = 0;
        }
      }
      break;
    case events::kind::uart_tx:
      uart_tx_ += e.data.size();
      break;
    case events::kind::ftp_tx:
      ++ftp_tx_;
      // data_bytes events carry no direction: the last transfer command gives it.
      if (starts_with(e.data, "STOR") || starts_with(e.data, "APPE")) {
        uploading_ = true;
      } else if (starts_with(e.data, "RETR") || starts_with(e.data, "LIST") ||
                 starts_with(e.data, "NLST")) {
        uploading_ = false;
      }
      break;
    case events::kind::ftp_rx:
      ++ftp_rx_;
      break;
    case events::kind::data_bytes:
      (uploading_ ? data_out_ : data_in_) +=
          std::strtoull(std::string(e.data).c_str(), nullptr, 10);
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
  if (op == "state") return state();
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

}  // namespace quecsim::sim
