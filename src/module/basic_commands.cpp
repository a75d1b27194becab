#include <array>
#include <string>

#include "quecsim/module/module.hpp"
#include "quecsim/serial/uart_rates.hpp"

namespace quecsim::module {
namespace {

using at::cme;
using at::param;
using inv_ptr = std::shared_ptr<at::invocation>;

// The number of a basic command (ATE1 → 1, ATE → 0); -1 when it has too many digits.
int basic_number(const at::command& c) {
  if (c.args.empty()) return 0;
  if (c.args.size() > 3) return -1;
  return std::stoi(c.args);
}

// A basic command taking 0 or 1 that sets a switch.
at::handler switch_command(std::function<void(bool)> set) {
  return [set = std::move(set)](const inv_ptr& inv) {
    const int n = basic_number(inv->cmd());
    if (n != 0 && n != 1) return inv->error(cme::incorrect_parameters);
    set(n == 1);
    inv->ok();
  };
}

std::string three_digits(int v) {
  std::string s = std::to_string(v);
  while (s.size() < 3) s.insert(s.begin(), '0');
  return s;
}

// An S-register: read answers its value in three digits, write sets it within [0, max].
void add_register(module& m, int number, int max, const std::function<int&()>& reg) {
  at::command_spec s;
  s.name = "S" + std::to_string(number);
  s.test = at::reply({"S" + std::to_string(number) + ": (0-" + std::to_string(max) + ")"});
  s.read = [reg](const inv_ptr& inv) {
    inv->info(three_digits(reg()));
    inv->ok();
  };
  s.write = [reg, max](const inv_ptr& inv) {
    const std::string& a = inv->cmd().args;
    if (a.empty() || a.size() > 3 || std::stoi(a) > max)
      return inv->error(cme::incorrect_parameters);
    reg() = std::stoi(a);
    inv->ok();
  };
  m.commands().add(std::move(s));
}

// A basic command: only the execute form, with its digits as the argument.
void add_basic(module& m, const std::string& name, at::handler exec) {
  at::command_spec s;
  s.name = name;
  s.exec = std::move(exec);
  m.commands().add(std::move(s));
}

// A command whose exec form answers one line and whose test form answers OK.
void add_identity(module& m, const std::string& name, std::string text) {
  at::command_spec s;
  s.name = name;
  s.exec = at::reply({std::move(text)});
  s.test = at::reply({});
  m.commands().add(std::move(s));
}

// AT+CREG / AT+CGREG: the reporting mode, and the registration the radio reports.
void add_registration(module& m, const std::string& name, int settings::*mode,
                      reg_status (radio::*status)() const) {
  at::command_spec s;
  s.name = name;
  s.params = {param::integer(0, 2, true)};
  const std::string prefix = name + ": ";
  s.test = at::reply({prefix + "(0-2)"});
  s.read = [&m, mode, status, prefix](const inv_ptr& inv) {
    const int n = m.current().*mode;
    const reg_status stat = (m.cellular().*status)();
    std::string line = prefix + std::to_string(n) + "," + std::to_string(static_cast<int>(stat));
    // Location and cell are known only while registered.
    if (n == 2 && (stat == reg_status::home || stat == reg_status::roaming)) {
      line += ",\"" + m.config().model.lac + "\",\"" + m.config().model.cell + "\"";
    }
    inv->info(line);
    inv->ok();
  };
  s.write = [&m, mode](const inv_ptr& inv) {
    const auto& a = inv->args();
    m.current().*mode = a[0].omitted() ? 0 : static_cast<int>(a[0].number);
    inv->ok();
  };
  m.commands().add(std::move(s));
}

}  // namespace

void add_basic_commands(module& m) {
  auto& t = m.commands();
  const profile& p = m.config().model;

  add_basic(m, "E", switch_command([&m](bool on) { m.line().echo = on; }));
  add_basic(m, "V", switch_command([&m](bool on) { m.current().verbose = on; }));
  add_basic(m, "Q", switch_command([&m](bool on) { m.current().quiet = on; }));
  const at::handler defaults = [&m](const inv_ptr& inv) {
    if (basic_number(inv->cmd()) != 0) return inv->error(cme::incorrect_parameters);
    m.restore_defaults();
    inv->ok();
  };
  add_basic(m, "Z", [&m](const inv_ptr& inv) {
    if (basic_number(inv->cmd()) != 0) return inv->error(cme::incorrect_parameters);
    m.restore_saved();
    inv->ok();
  });
  add_basic(m, "&F", defaults);
  add_basic(m, "I", [&m](const inv_ptr& inv) {
    if (basic_number(inv->cmd()) != 0) return inv->error(cme::incorrect_parameters);
    const profile& prof = m.config().model;
    inv->info(prof.manufacturer + "\r\n" + prof.model_name + "\r\nRevision: " + prof.revision);
    inv->ok();
  });

  add_register(m, 0, 255, [&m]() -> int& { return m.current().s0; });
  // S3/S4/S5 live in the line discipline as chars, the one place that uses them.
  auto char_register = [&m](char at::line_settings::*field) {
    return [&m, field](const inv_ptr& inv) {
      const auto& c = inv->cmd();
      if (c.kind == at::form::read) {
        inv->info(three_digits(static_cast<unsigned char>(m.line().*field)));
        return inv->ok();
      }
      if (c.args.empty() || c.args.size() > 3 || std::stoi(c.args) > 127) {
        return inv->error(cme::incorrect_parameters);
      }
      m.line().*field = static_cast<char>(std::stoi(c.args));
      inv->ok();
    };
  };
  for (const auto& [number, field] :
       {std::pair{3, &at::line_settings::s3}, std::pair{4, &at::line_settings::s4},
        std::pair{5, &at::line_settings::s5}}) {
    at::command_spec s;
    s.name = "S" + std::to_string(number);
    s.test = at::reply({"S" + std::to_string(number) + ": (0-127)"});
    s.read = char_register(field);
    s.write = char_register(field);
    t.add(std::move(s));
  }
  add_register(m, 7, 255, [&m]() -> int& { return m.current().s7; });
  add_register(m, 8, 255, [&m]() -> int& { return m.current().s8; });
  add_register(m, 10, 254, [&m]() -> int& { return m.current().s10; });
  add_register(m, 12, 255, [&m]() -> int& { return m.current().s12; });

  add_identity(m, "+GMI", p.manufacturer);
  add_identity(m, "+CGMI", p.manufacturer);
  add_identity(m, "+GMM", p.model_name);
  add_identity(m, "+CGMM", p.model_name);
  add_identity(m, "+GMR", "Revision: " + p.revision);
  add_identity(m, "+CGMR", "Revision: " + p.revision);
  add_identity(m, "+GSN", p.imei);
  add_identity(m, "+CGSN", p.imei);

  {
    at::command_spec s;
    s.name = "+CMEE";
    s.params = {param::integer(0, 2, true)};
    s.test = at::reply({"+CMEE: (0-2)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+CMEE: " + std::to_string(m.current().cmee));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args()[0];
      m.current().cmee = a.omitted() ? 0 : static_cast<int>(a.number);
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+IPR";
    s.params = {param::integer(0, 115200)};
    s.test = at::reply({"+IPR: " + serial::ipr_rate_list() + ",()"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+IPR: " + std::to_string(m.current().ipr));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto rate = static_cast<int>(inv->args()[0].number);
      if (!serial::ipr_rate(rate)) return inv->error(cme::incorrect_parameters);
      // OK still goes out at the old rate, as on a real UART; the new rate applies after it.
      inv->ok();
      m.current().ipr = rate;
      if (rate != 0) m.port().set_baud(static_cast<unsigned>(rate));
      m.publish_state("uart", "baud " + std::to_string(rate));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+IFC";
    s.params = {param::integer(0, 2), param::integer(0, 2, true)};
    s.test = at::reply({"+IFC: (0,2),(0,2)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+IFC: " + std::to_string(m.current().ifc_rx) + "," +
                std::to_string(m.current().ifc_tx));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      const int rx = static_cast<int>(a[0].number);
      const int tx = a[1].omitted() ? rx : static_cast<int>(a[1].number);
      if (rx == 1 || tx == 1) return inv->error(cme::incorrect_parameters);
      m.current().ifc_rx = rx;
      m.current().ifc_tx = tx;
      // A pty has no RTS/CTS lines: the simulator paces instead, and records the host's choice.
      m.publish_state("flow_control", rx == 2 && tx == 2 ? "rts/cts" : "none");
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+CFUN";
    s.params = {param::integer(0, 4), param::integer(0, 1, true)};
    s.test = at::reply({"+CFUN: (0,1,4),(0,1)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+CFUN: " + std::to_string(m.current().cfun));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      const int fun = static_cast<int>(a[0].number);
      const bool reset = !a[1].omitted() && a[1].number == 1;
      if (fun == 2 || fun == 3) return inv->error(cme::incorrect_parameters);
      if (fun != 1) m.context().deactivate(net::deact_reason::host);
      m.current().cfun = fun;
      inv->ok();
      m.cellular().refresh();
      if (reset) {
        // The OK leaves first; the restart follows once the line is done.
        boost::asio::post(m.io(), [&m] { m.restart(); });
      }
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+CPIN";
    s.params = {param::string(8), param::string(8, true)};
    s.test = at::reply({});
    s.read = [&m](const inv_ptr& inv) {
      switch (m.cellular().sim()) {
        case sim_status::ready:
          inv->info("+CPIN: READY");
          break;
        case sim_status::pin:
          inv->info("+CPIN: SIM PIN");
          break;
        case sim_status::puk:
          inv->info("+CPIN: SIM PUK");
          break;
        case sim_status::removed:
          return inv->error(cme::sim_not_inserted);
      }
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      radio& r = m.cellular();
      if (r.sim() == sim_status::removed) return inv->error(cme::sim_not_inserted);
      // Nothing to unlock: a real module refuses the PIN then.
      if (r.sim() == sim_status::ready) return inv->error(cme::operation_not_allowed);
      if (r.sim() == sim_status::puk && a[1].omitted()) return inv->error(cme::sim_puk_required);
      if (!r.unlock(a[0].text, a[1].omitted() ? std::string() : a[1].text)) {
        return inv->error(cme::incorrect_password);
      }
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+CSQ";
    s.test = at::reply({"+CSQ: (0-31,99),(0-7,99)"});
    s.exec = [&m](const inv_ptr& inv) {
      inv->info("+CSQ: " + std::to_string(m.cellular().rssi()) + "," +
                std::to_string(m.cellular().ber()));
      inv->ok();
    };
    t.add(std::move(s));
  }
  add_registration(m, "+CREG", &settings::creg, &radio::cs);
  add_registration(m, "+CGREG", &settings::cgreg, &radio::ps);
  {
    at::command_spec s;
    s.name = "+CGATT";
    s.params = {param::integer(0, 1)};
    s.test = at::reply({"+CGATT: (0,1)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info(std::string("+CGATT: ") + (m.current().attached ? "1" : "0"));
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const bool attach = inv->args()[0].number == 1;
      // Attaching needs a network that takes it.
      if (attach && (m.current().cfun != 1 || m.cellular().sim() != sim_status::ready ||
                     (m.cellular().network_ps() != reg_status::home &&
                      m.cellular().network_ps() != reg_status::roaming))) {
        return inv->error(cme::no_network_service);
      }
      m.current().attached = attach;
      if (!attach) m.context().deactivate(net::deact_reason::host);
      inv->ok();
      m.cellular().refresh();
    };
    t.add(std::move(s));
  }
}

}  // namespace quecsim::module
