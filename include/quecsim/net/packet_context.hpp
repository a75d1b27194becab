#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace quecsim::net {

/// Why a packet data context went down.
enum class deact_reason {
  host,     ///< the host asked (AT+QIDEACT, AT+CGATT=0, AT+CFUN)
  network,  ///< the network tore it down (a fault): the host sees `+PDP DEACT`
};

/// The module's packet data (GPRS) context: what AT+QICSGP configures, AT+QIACT brings up and
/// AT+QIDEACT tears down. The FTP service and the network layer read it; faults change it.
class packet_context {
 public:
  using down_listener = std::function<void(deact_reason)>;

  /// Context settings, as AT+QICSGP sets them.
  struct settings {
    int mode = 1;  ///< 0 CSD, 1 GPRS
    std::string apn = "CMNET";
    std::string user;
    std::string password;
  };

  settings& config() { return settings_; }
  const settings& config() const { return settings_; }

  /// Foreground context id set by AT+QIFGCNT.
  int foreground = 0;
  /// Whether AT+QIREGAPP has registered the TCP/IP application.
  bool registered = false;
  /// AT+QIACT is bringing the context up (AT+QISTAT: IP CONFIG).
  bool activating = false;
  /// AT+QILOCIP has shown the address (AT+QISTAT: IP STATUS).
  bool address_shown = false;
  /// The network tore the context down and the host has not reset it (AT+QISTAT: PDP DEACT).
  bool lost = false;

  bool active() const { return active_; }
  /// The address the network gave the context; empty while inactive.
  const std::string& local_ip() const { return local_ip_; }

  /// Marks the context up with the given local address.
  void activate(std::string local_ip) {
    active_ = true;
    local_ip_ = std::move(local_ip);
  }

  /// Marks the context down and tells every listener why.
  void deactivate(deact_reason why) {
    if (!active_) return;
    active_ = false;
    registered = false;
    address_shown = false;
    lost = why == deact_reason::network;
    local_ip_.clear();
    // Listeners may subscribe further listeners while being told; iterate over a copy.
    auto listeners = listeners_;
    for (auto& l : listeners) l(why);
  }

  /// Back to power-up settings (AT+CFUN restart); an active context goes down first.
  void reset() {
    deactivate(deact_reason::host);
    settings_ = settings{};
    foreground = 0;
    registered = false;
    activating = false;
    lost = false;
  }

  /// Fault seam: the network refuses to bring the context up until `until` (the past: it
  /// accepts again; time_point::max(): until told otherwise).
  void refuse_until(std::chrono::steady_clock::time_point until) { refused_until_ = until; }
  /// Whether an activation asked for now is refused by the network.
  bool refused() const { return std::chrono::steady_clock::now() < refused_until_; }

  /// Calls `l` every time the context goes down.
  void on_down(down_listener l) { listeners_.push_back(std::move(l)); }

 private:
  settings settings_;
  bool active_ = false;
  std::string local_ip_;
  std::vector<down_listener> listeners_;
  std::chrono::steady_clock::time_point refused_until_{};
};

}  // namespace quecsim::net
