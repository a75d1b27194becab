#include "quecsim/module/radio.hpp"

#include "quecsim/module/module.hpp"

namespace quecsim::module {
namespace {

bool registered(reg_status s) {
  return s == reg_status::home || s == reg_status::roaming;
}

sim_status parse_sim(const std::string& s) {
  if (s == "pin") return sim_status::pin;
  if (s == "puk") return sim_status::puk;
  if (s == "removed") return sim_status::removed;
  return sim_status::ready;
}

}  // namespace

radio::radio(module& m) : m_(m) {
  reset();
}

void radio::reset() {
  const profile& p = m_.config().model;
  cs_ = reg_status::home;
  ps_ = reg_status::home;
  rssi_ = p.rssi;
  ber_ = p.ber;
  sim_ = parse_sim(p.sim_state);
  pin_ = p.pin;
  battery_percent_ = p.battery_percent;
  battery_mv_ = p.battery_millivolts;
  reported_cs_ = cs();
  reported_ps_ = ps();
}

reg_status radio::cs() const {
  // AT+COPS=2 deregisters by the host's choice.
  if (m_.current().cfun != 1 || sim_ != sim_status::ready || m_.current().cops_mode == 2) {
    return reg_status::not_registered;
  }
  return cs_;
}

reg_status radio::ps() const {
  const settings& st = m_.current();
  if (st.cfun != 1 || sim_ != sim_status::ready || st.cops_mode == 2 || !st.attached) {
    return reg_status::not_registered;
  }
  return ps_;
}

int radio::rssi() const {
  // No radio, no measurement.
  return m_.current().cfun == 1 ? rssi_ : 99;
}

int radio::ber() const {
  return m_.current().cfun == 1 ? ber_ : 99;
}

bool radio::data_service() const {
  return registered(ps());
}

void radio::set_registration(reg_status s) {
  cs_ = s;
  ps_ = s;
  refresh();
}

void radio::set_cs_registration(reg_status s) {
  cs_ = s;
  refresh();
}

void radio::set_ps_registration(reg_status s) {
  ps_ = s;
  refresh();
}

void radio::set_signal(int rssi, int ber) {
  rssi_ = rssi;
  ber_ = ber;
  m_.publish_state("radio", "csq " + std::to_string(rssi) + "," + std::to_string(ber));
}

void radio::set_battery(int percent, int millivolts) {
  battery_percent_ = percent;
  battery_mv_ = millivolts;
}

void radio::set_sim(sim_status s) {
  if (s == sim_) return;
  const sim_status before = sim_;
  sim_ = s;
  const settings& st = m_.current();
  if (s == sim_status::removed) {
    m_.urc("+CPIN: NOT READY");
    if (st.qsimstat == 1) m_.urc("+QSIMSTAT: 1,0");
  } else {
    if (before == sim_status::removed && st.qsimstat == 1) m_.urc("+QSIMSTAT: 1,1");
    if (s == sim_status::ready) {
      m_.urc("+CPIN: READY");
      m_.urc("Call Ready");
      m_.urc("SMS Ready");
    } else {
      m_.urc(s == sim_status::pin ? "+CPIN: SIM PIN" : "+CPIN: SIM PUK");
    }
  }
  m_.publish_state("sim", s == sim_status::ready ? "ready"
                          : s == sim_status::pin ? "pin"
                          : s == sim_status::puk ? "puk"
                                                 : "removed");
  refresh();
}

bool radio::unlock(const std::string& code, const std::string& new_pin) {
  if (sim_ == sim_status::pin && code == pin_) {
    set_sim(sim_status::ready);
    return true;
  }
  if (sim_ == sim_status::puk && code == m_.config().model.puk && !new_pin.empty()) {
    pin_ = new_pin;
    set_sim(sim_status::ready);
    return true;
  }
  return false;
}

void radio::report(const char* prefix, int mode, reg_status now) {
  if (mode == 0) return;
  std::string line = std::string(prefix) + std::to_string(static_cast<int>(now));
  if (mode == 2 && registered(now)) {
    const profile& p = m_.config().model;
    line += ",\"" + p.lac + "\",\"" + p.cell + "\"";
  }
  m_.urc(line);
}

void radio::refresh() {
  const reg_status cs_now = cs();
  const reg_status ps_now = ps();
  if (cs_now != reported_cs_) {
    reported_cs_ = cs_now;
    m_.publish_state("creg", std::to_string(static_cast<int>(cs_now)));
    report("+CREG: ", m_.current().creg, cs_now);
  }
  if (ps_now != reported_ps_) {
    reported_ps_ = ps_now;
    m_.publish_state("cgreg", std::to_string(static_cast<int>(ps_now)));
    report("+CGREG: ", m_.current().cgreg, ps_now);
  }
  // Without packet registration the network tears the context down (+PDP DEACT).
  if (!registered(ps_now) && m_.context().active()) {
    m_.context().deactivate(net::deact_reason::network);
  }
}

}  // namespace quecsim::module
