#pragma once

#include <string>

namespace quecsim::module {

class module;

/// Registration status as +CREG/+CGREG report it (3GPP TS 27.007 7.2).
enum class reg_status : int {
  not_registered = 0,  ///< not registered, not searching
  home = 1,            ///< registered, home network
  searching = 2,       ///< not registered, searching
  denied = 3,          ///< registration denied
  unknown = 4,
  roaming = 5,  ///< registered, roaming
};

/// The SIM as the module sees it.
enum class sim_status {
  ready,    ///< +CPIN: READY
  pin,      ///< +CPIN: SIM PIN: AT+CPIN="<pin>" unlocks it
  puk,      ///< +CPIN: SIM PUK: AT+CPIN="<puk>","<new pin>" unlocks it
  removed,  ///< no SIM: +CME ERROR: 10 (SIM not inserted)
};

/// The network side of one module: registration, signal, SIM and battery. Fault scenarios
/// drive it; the commands (AT+CREG, AT+CSQ, AT+CPIN, AT+COPS, ...) report it. A change
/// sends the unsolicited lines the host enabled (+CREG/+CGREG with AT+CREG=1/2,
/// +QSIMSTAT with AT+QSIMSTAT=1, +CPIN), and losing packet registration takes an active
/// packet context down as the network does (+PDP DEACT; an FTP command in flight ends -8).
class radio {
 public:
  explicit radio(module& m);

  /// Circuit and packet registration together, as coverage loss and return change them.
  void set_registration(reg_status s);
  /// Circuit-switched registration alone (+CREG).
  void set_cs_registration(reg_status s);
  /// Packet-switched registration alone (+CGREG).
  void set_ps_registration(reg_status s);
  /// Signal quality as AT+CSQ reports it: rssi 0-31 or 99, ber 0-7 or 99.
  void set_signal(int rssi, int ber);
  /// Inserts, removes or locks the SIM.
  void set_sim(sim_status s);
  /// Battery as AT+CBC reports it.
  void set_battery(int percent, int millivolts);

  /// What the network says, before the module's own state (AT+CFUN, SIM) is applied.
  reg_status network_cs() const { return cs_; }
  reg_status network_ps() const { return ps_; }
  /// What +CREG / +CGREG report now: not registered while the radio is off (AT+CFUN=0/4),
  /// the SIM is not ready or (packet) the module is detached.
  reg_status cs() const;
  reg_status ps() const;
  int rssi() const;
  int ber() const;
  sim_status sim() const { return sim_; }
  int battery_percent() const { return battery_percent_; }
  int battery_millivolts() const { return battery_mv_; }
  /// Whether a packet context can come up now (AT+QIACT, AT+QFTPOPEN): full functionality,
  /// attached, SIM ready, packet registration home or roaming.
  bool data_service() const;

  /// Unlocks the SIM with AT+CPIN's arguments; false when the code is wrong.
  bool unlock(const std::string& code, const std::string& new_pin);

  /// Sends the unsolicited lines for whatever changed since the last report (after
  /// AT+CFUN, AT+CGATT, a restart), and takes the packet context down when packet
  /// registration is lost.
  void refresh();
  /// Back to the profile's power-up state (a restart); reports nothing.
  void reset();

 private:
  void report(const char* prefix, int mode, reg_status now);

  module& m_;
  reg_status cs_ = reg_status::home;
  reg_status ps_ = reg_status::home;
  int rssi_ = 20;
  int ber_ = 0;
  sim_status sim_ = sim_status::ready;
  int battery_percent_ = 85;
  int battery_mv_ = 4012;
  std::string pin_;
  reg_status reported_cs_ = reg_status::home;
  reg_status reported_ps_ = reg_status::home;
};

}  // namespace quecsim::module
