#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

#include "quecsim/module/module.hpp"

namespace quecsim::module {
namespace {

using at::cme;
using at::in_quotes;
using at::param;
using inv_ptr = std::shared_ptr<at::invocation>;

// A command with only an execute form answering one line, and a test form answering OK.
void add_identity(module& m, const std::string& name, std::function<std::string()> text,
                  std::function<cme(module&)> refusal = {}) {
  at::command_spec s;
  s.name = name;
  s.exec = [&m, text = std::move(text), refusal = std::move(refusal)](const inv_ptr& inv) {
    if (refusal) {
      const cme code = refusal(m);
      if (code != cme::unknown) return inv->error(code);
    }
    inv->info(text());
    inv->ok();
  };
  s.test = at::reply({});
  m.commands().add(std::move(s));
}

// A setting with test, read and write forms: `+NAME: <n>`, written within `range`.
void add_setting(module& m, const std::string& name, const std::string& range, int settings::*field,
                 std::int64_t min, std::int64_t max, std::function<bool(int)> allowed = {}) {
  at::command_spec s;
  s.name = name;
  s.params = {param::integer(min, max)};
  const std::string prefix = name + ": ";
  s.test = at::reply({prefix + range});
  s.read = [&m, prefix, field](const inv_ptr& inv) {
    inv->info(prefix + std::to_string(m.current().*field));
    inv->ok();
  };
  s.write = [&m, field, allowed = std::move(allowed)](const inv_ptr& inv) {
    const int n = static_cast<int>(inv->args()[0].number);
    if (allowed && !allowed(n)) return inv->error(cme::incorrect_parameters);
    m.current().*field = n;
    inv->ok();
  };
  m.commands().add(std::move(s));
}

// A refusal for commands that need the SIM's contents.
cme sim_refusal(module& m) {
  switch (m.cellular().sim()) {
    case sim_status::ready:
      return cme::unknown;
    case sim_status::pin:
      return cme::sim_pin_required;
    case sim_status::puk:
      return cme::sim_puk_required;
    case sim_status::removed:
      return cme::sim_not_inserted;
  }
  return cme::unknown;
}

// A string in the character set AT+CSCS selected (27.007 5.5): UCS2 as four hex digits a
// character, HEX as two a byte; the others carry ASCII text unchanged.
std::string in_charset(const std::string& cs, const std::string& text) {
  if (cs == "UCS2" || cs == "HEX") {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
      if (cs == "UCS2") out += "00";
      out += digits[c >> 4];
      out += digits[c & 15];
    }
    return out;
  }
  return text;
}

// ---- the real-time clock ------------------------------------------------------------------

// Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned mo, unsigned d) {
  y -= mo <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& mo, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  mo = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (mo <= 2 ? 1 : 0));
}

// The module's RTC: local time in seconds since 1970, set at a moment of the process clock.
// It keeps running across AT+CFUN=1,1 (the RTC is not reset by a restart).
struct rtc {
  std::int64_t seconds = days_from_civil(2004, 1, 1) * 86400;  // the RTC's power-on value
  int zone = 0;                                                // quarters of an hour
  clock::time_point set_at = clock::now();

  std::int64_t now() const {
    return seconds +
           std::chrono::duration_cast<std::chrono::seconds>(clock::now() - set_at).count();
  }

  std::string text() const {
    const std::int64_t t = now();
    std::int64_t days = t / 86400;
    std::int64_t rest = t % 86400;
    if (rest < 0) {
      rest += 86400;
      --days;
    }
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    civil_from_days(days, y, mo, d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02d/%02u/%02u,%02d:%02d:%02d%c%02d", y % 100, mo, d,
                  static_cast<int>(rest / 3600), static_cast<int>(rest / 60 % 60),
                  static_cast<int>(rest % 60), zone < 0 ? '-' : '+', zone < 0 ? -zone : zone);
    return buf;
  }

  // "yy/MM/dd,hh:mm:ss±zz"; false when malformed or out of range.
  bool set(const std::string& s) {
    int yy = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, z = 0;
    char sign = 0;
    int used = 0;
    if (s.size() != 20 ||
        std::sscanf(s.c_str(), "%2d/%2d/%2d,%2d:%2d:%2d%c%2d%n", &yy, &mo, &d, &h, &mi, &se, &sign,
                    &z, &used) != 8 ||
        used != 20 || (sign != '+' && sign != '-')) {
      return false;
    }
    static const std::array<int, 12> month_days = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int year = 2000 + yy;
    const bool leap = year % 4 == 0;  // 2000-2099
    if (mo < 1 || mo > 12 || d < 1 || d > month_days[static_cast<std::size_t>(mo - 1)] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || se > 59 || z > 48 ||
        (sign == '-' && z > 47)) {
      return false;
    }
    seconds = days_from_civil(year, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
              h * 3600 + mi * 60 + se;
    zone = sign == '-' ? -z : z;
    set_at = clock::now();
    return true;
  }
};

}  // namespace

void add_general_commands(module& m) {
  auto& t = m.commands();
  const profile& p = m.config().model;

  // ---- identification ----
  add_identity(m, "+QGSN", [&p] { return "+QGSN: " + p.imei; });
  add_identity(
      m, "+CIMI", [&p] { return p.imsi; }, sim_refusal);
  // The ICCID is on the card: readable while the SIM is locked, not when it is missing.
  add_identity(
      m, "+QCCID", [&p] { return p.iccid; },
      [](module& mod) {
        return mod.cellular().sim() == sim_status::removed ? cme::sim_not_inserted : cme::unknown;
      });

  // ---- settings ----
  {
    at::command_spec s;
    s.name = "&W";
    s.exec = [&m](const inv_ptr& inv) {
      if (!inv->cmd().args.empty() && inv->cmd().args != "0") {
        return inv->error(cme::incorrect_parameters);
      }
      m.save_settings();
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "&V";
    s.exec = [&m](const inv_ptr& inv) {
      if (!inv->cmd().args.empty() && inv->cmd().args != "0") {
        return inv->error(cme::incorrect_parameters);
      }
      const settings& st = m.current();
      const at::line_settings& l = m.line();
      auto n = [](int v) { return std::to_string(v); };
      inv->info(
          "ACTIVE PROFILE:\r\nE: " + n(l.echo ? 1 : 0) + "\r\nQ: " + n(st.quiet ? 1 : 0) +
          "\r\nV: " + n(st.verbose ? 1 : 0) + "\r\nS0: " + n(st.s0) + "\r\nS3: " +
          n(static_cast<unsigned char>(l.s3)) + "\r\nS4: " + n(static_cast<unsigned char>(l.s4)) +
          "\r\nS5: " + n(static_cast<unsigned char>(l.s5)) + "\r\nS7: " + n(st.s7) +
          "\r\nS8: " + n(st.s8) + "\r\nS10: " + n(st.s10) + "\r\nS12: " + n(st.s12) +
          "\r\n+CMEE: " + n(st.cmee) + "\r\n+IPR: " + n(st.ipr) + "\r\n+ICF: " + n(st.icf_format) +
          "," + n(st.icf_parity) + "\r\n+IFC: " + n(st.ifc_rx) + "," + n(st.ifc_tx) +
          "\r\n+CSCS: " + in_quotes(st.cscs) + "\r\n+CMGF: " + n(st.cmgf) +
          "\r\n+CREG: " + n(st.creg) + "\r\n+CGREG: " + n(st.cgreg) + "\r\n+QNITZ: " + n(st.qnitz) +
          "\r\n+CTZU: " + n(st.ctzu) + "\r\n+QSCLK: " + n(st.qsclk));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+ICF";
    s.params = {param::integer(1, 6), param::integer(0, 3, true)};
    s.test = at::reply({"+ICF: (1-6),(0-3)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+ICF: " + std::to_string(m.current().icf_format) + "," +
                std::to_string(m.current().icf_parity));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      m.current().icf_format = static_cast<int>(a[0].number);
      if (!a[1].omitted()) m.current().icf_parity = static_cast<int>(a[1].number);
      // A pty carries bytes, not frames: the choice is recorded, the bytes are unchanged.
      m.publish_state("uart", "frame " + std::to_string(m.current().icf_format) + "," +
                                  std::to_string(m.current().icf_parity));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    static const std::array<const char*, 6> sets = {"GSM",     "HEX",  "IRA",
                                                    "PCCP437", "UCS2", "8859-1"};
    at::command_spec s;
    s.name = "+CSCS";
    s.params = {param::string(8)};
    s.test = at::reply({"+CSCS: (\"GSM\",\"HEX\",\"IRA\",\"PCCP437\",\"UCS2\",\"8859-1\")"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+CSCS: " + in_quotes(m.current().cscs));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const std::string& want = inv->args()[0].text;
      if (std::none_of(sets.begin(), sets.end(), [&want](const char* n) { return want == n; })) {
        return inv->error(cme::incorrect_parameters);
      }
      m.current().cscs = want;
      inv->ok();
    };
    t.add(std::move(s));
  }
  add_setting(m, "+CMGF", "(0,1)", &settings::cmgf, 0, 1);
  // Call presentation switches that OpenCPU's RIL sets in its init list (no calls are made).
  for (const auto& [name, field] :
       {std::pair{"+CLIP", &settings::clip}, std::pair{"+COLP", &settings::colp}}) {
    at::command_spec s;
    s.name = name;
    s.params = {param::integer(0, 1)};
    const std::string prefix = std::string(name) + ": ";
    s.test = at::reply({prefix + "(0,1)"});
    // <m> 1: the service is provisioned.
    s.read = [&m, prefix, field = field](const inv_ptr& inv) {
      inv->info(prefix + std::to_string(m.current().*field) + ",1");
      inv->ok();
    };
    s.write = [&m, field = field](const inv_ptr& inv) {
      m.current().*field = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  }

  // ---- SIM ----
  {
    at::command_spec s;
    s.name = "+QSIMSTAT";
    s.params = {param::integer(0, 1)};
    s.test = at::reply({"+QSIMSTAT: (0,1)"});
    s.read = [&m](const inv_ptr& inv) {
      const bool inserted = m.cellular().sim() != sim_status::removed;
      inv->info("+QSIMSTAT: " + std::to_string(m.current().qsimstat) + "," +
                (inserted ? "1" : "0"));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      m.current().qsimstat = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  }

  // ---- network ----
  {
    at::command_spec s;
    s.name = "+COPS";
    s.params = {param::integer(0, 4), param::integer(0, 2, true), param::string(16, true)};
    s.test = [&m](const inv_ptr& inv) {
      const profile& prof = m.config().model;
      const std::string& cs = m.current().cscs;
      const reg_status st = m.cellular().cs();
      const bool current = st == reg_status::home || st == reg_status::roaming;
      inv->info("+COPS: (" + std::string(current ? "2" : "1") + "," +
                in_quotes(in_charset(cs, prof.operator_long)) + "," +
                in_quotes(in_charset(cs, prof.operator_short)) + "," +
                in_quotes(prof.operator_numeric) + "),,(0-4),(0-2)");
      inv->ok();
    };
    s.read = [&m](const inv_ptr& inv) {
      const settings& st = m.current();
      const reg_status reg = m.cellular().cs();
      std::string line = "+COPS: " + std::to_string(st.cops_mode == 3 ? 0 : st.cops_mode);
      if (reg == reg_status::home || reg == reg_status::roaming) {
        const profile& prof = m.config().model;
        const std::string& name = st.cops_format == 0   ? prof.operator_long
                                  : st.cops_format == 1 ? prof.operator_short
                                                        : prof.operator_numeric;
        line += "," + std::to_string(st.cops_format) + "," +
                in_quotes(st.cops_format == 2 ? name : in_charset(st.cscs, name));
      }
      inv->info(line);
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      const int mode = static_cast<int>(a[0].number);
      settings& st = m.current();
      const profile& prof = m.config().model;
      const int format = a[1].omitted() ? st.cops_format : static_cast<int>(a[1].number);
      if (mode == 1 || mode == 4) {
        // Manual selection: only the operator the network offers can be chosen.
        if (a[2].omitted()) return inv->error(cme::incorrect_parameters);
        const std::string& want = a[2].text;
        const std::string& have = format == 0   ? prof.operator_long
                                  : format == 1 ? prof.operator_short
                                                : prof.operator_numeric;
        if (want != have) {
          if (mode == 1) return inv->error(cme::no_network_service);
        }
      } else if (!a[2].omitted()) {
        return inv->error(cme::incorrect_parameters);
      }
      st.cops_format = format;
      if (mode != 3) st.cops_mode = mode;
      inv->ok();
      m.cellular().refresh();
    };
    t.add(std::move(s));
  }
  add_setting(m, "+QNITZ", "(0,1)", &settings::qnitz, 0, 1);
  add_setting(m, "+CTZU", "(0,1,3)", &settings::ctzu, 0, 3, [](int n) { return n != 2; });
  {
    auto clock_state = std::make_shared<rtc>();
    at::command_spec s;
    s.name = "+CCLK";
    s.params = {param::string(20)};
    s.test = at::reply({});
    s.read = [clock_state](const inv_ptr& inv) {
      inv->info("+CCLK: " + in_quotes(clock_state->text()));
      inv->ok();
    };
    s.write = [clock_state](const inv_ptr& inv) {
      if (!clock_state->set(inv->args()[0].text)) return inv->error(cme::incorrect_parameters);
      inv->ok();
    };
    t.add(std::move(s));
  }

  // ---- power ----
  {
    at::command_spec s;
    s.name = "+CBC";
    s.test = at::reply({"+CBC: (0-2),(1-100),(voltage)"});
    s.exec = [&m](const inv_ptr& inv) {
      inv->info("+CBC: 0," + std::to_string(m.cellular().battery_percent()) + "," +
                std::to_string(m.cellular().battery_millivolts()));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QPOWD";
    s.params = {param::integer(0, 1)};
    s.test = at::reply({"+QPOWD: (0,1)"});
    s.write = [&m](const inv_ptr& inv) {
      if (inv->args()[0].number == 1) {
        // A normal power-down says so instead of OK, then the module is silent.
        inv->info("NORMAL POWER DOWN");
        inv->done_without_result();
      } else {
        inv->ok();
      }
      boost::asio::post(m.io(), [&m] { m.power_down(); });
    };
    t.add(std::move(s));
  }
  add_setting(m, "+QSCLK", "(0-2)", &settings::qsclk, 0, 2);
}

void apply_command_table(module& m) {
  auto& t = m.commands();
  for (const auto& [name, entry] : m.config().model.commands) {
    if (!entry.supported) {
      t.remove(name);
      continue;
    }
    if (!entry.texts) {
      if (t.find(name) == nullptr) {
        throw profile_error("profile " + m.config().model.model + ": /commands/" + name +
                            ": marked supported, but quecsim does not implement it (give its "
                            "texts instead)");
      }
      continue;
    }
    at::command_spec s;
    s.name = name;
    const fixed_command& f = *entry.texts;
    if (f.test) s.test = at::reply(*f.test);
    if (f.read) s.read = at::reply(*f.read);
    if (f.write) s.write = at::reply(*f.write);
    if (f.exec) s.exec = at::reply(*f.exec);
    t.add(std::move(s));
  }
}

}  // namespace quecsim::module
