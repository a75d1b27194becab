#include <cstdio>
#include <string>

#include "quecsim/module/module.hpp"

namespace quecsim::module {
namespace {

using at::cme;
using at::in_quotes;
using at::param;
using inv_ptr = std::shared_ptr<at::invocation>;

// Runs `then` after a simulated delay, unless the module restarts or goes away meanwhile.
void after(module& m, std::chrono::milliseconds delay, const inv_ptr& inv,
           std::function<void()> then) {
  auto timer = std::make_shared<boost::asio::steady_timer>(m.io(), m.time().scaled(delay));
  timer->async_wait([timer, inv, then = std::move(then)](const boost::system::error_code& ec) {
    if (!ec) then();
  });
}

}  // namespace

void activate_context(module& m) {
  auto& ctx = m.context();
  ctx.registered = true;
  ctx.activate("10." + std::to_string(7 + m.config().id) + ".33.100");
  m.publish_state("pdp", "active");
}

std::string context_state(const module& m) {
  const auto& ctx = m.context();
  if (ctx.active()) return ctx.address_shown ? "IP STATUS" : "IP GPRSACT";
  if (ctx.activating) return "IP CONFIG";
  if (ctx.lost) return "PDP DEACT";
  if (ctx.registered) return "IP START";
  return "IP INITIAL";
}

void add_context_commands(module& m) {
  auto& t = m.commands();
  auto& ctx = m.context();

  // A context torn down by the network shows as +PDP DEACT; one the host closes does not.
  ctx.on_down([&m](net::deact_reason why) {
    m.publish_state("pdp", "inactive");
    if (why == net::deact_reason::network) m.urc("+PDP DEACT");
  });

  {
    at::command_spec s;
    s.name = "+QIFGCNT";
    s.params = {param::integer(0, 1)};
    s.test = at::reply({"+QIFGCNT: (0,1)"});
    s.read = [&ctx](const inv_ptr& inv) {
      const auto& c = ctx.config();
      inv->info("+QIFGCNT: " + std::to_string(ctx.foreground) + "," + std::to_string(c.mode) + "," +
                in_quotes(c.apn) + "," + in_quotes(c.user) + "," + in_quotes(c.password));
      inv->ok();
    };
    s.write = [&ctx](const inv_ptr& inv) {
      ctx.foreground = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QICSGP";
    s.params = {param::integer(0, 1), param::string(100, true), param::string(30, true),
                param::string(30, true)};
    s.test = at::reply({"+QICSGP: (0-1),\"APN\",\"USER\",\"PWD\""});
    s.read = [&ctx](const inv_ptr& inv) {
      const auto& c = ctx.config();
      inv->info("+QICSGP: " + std::to_string(c.mode) + "," + in_quotes(c.apn) + "," +
                in_quotes(c.user) + "," + in_quotes(c.password));
      inv->ok();
    };
    // Taken even while the context is active: they apply at its next activation, as drivers
    // that set the APN again after AT+QFTPCLOSE expect.
    s.write = [&ctx](const inv_ptr& inv) {
      const auto& a = inv->args();
      auto& c = ctx.config();
      c.mode = static_cast<int>(a[0].number);
      if (!a[1].omitted()) c.apn = a[1].text;
      c.user = a[2].omitted() ? "" : a[2].text;
      c.password = a[3].omitted() ? "" : a[3].text;
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIREGAPP";
    s.params = {param::string(100), param::string(30, true), param::string(30, true)};
    s.test = at::reply({"+QIREGAPP: \"APN\",\"USER\",\"PWD\""});
    s.read = [&ctx](const inv_ptr& inv) {
      const auto& c = ctx.config();
      inv->info("+QIREGAPP: " + in_quotes(c.apn) + "," + in_quotes(c.user) + "," +
                in_quotes(c.password));
      inv->ok();
    };
    auto reg = [&ctx](const inv_ptr& inv) {
      if (ctx.active() || ctx.registered) return inv->error(cme::operation_not_allowed);
      const auto& a = inv->args();
      if (!a.empty()) {
        auto& c = ctx.config();
        c.apn = a[0].text;
        c.user = a[1].omitted() ? "" : a[1].text;
        c.password = a[2].omitted() ? "" : a[2].text;
      }
      ctx.registered = true;
      inv->ok();
    };
    s.exec = reg;
    s.write = reg;
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIACT";
    s.test = at::reply({});
    s.exec = [&m, &ctx](const inv_ptr& inv) {
      if (ctx.active() || ctx.activating) return inv->error(cme::operation_not_allowed);
      // No packet registration, no context: the network cannot give one.
      if (!m.cellular().data_service()) return inv->error(cme::no_network_service);
      ctx.activating = true;
      ctx.lost = false;
      after(m, m.config().times.activate, inv, [&m, &ctx, inv] {
        ctx.activating = false;
        if (!m.cellular().data_service()) return inv->error(cme::no_network_service);
        // A network that refuses the context answers only after the activation attempt.
        if (ctx.refused()) return inv->error(cme::operation_not_allowed);
        activate_context(m);
        inv->ok();
      });
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIDEACT";
    s.test = at::reply({});
    s.exec = [&m, &ctx](const inv_ptr& inv) {
      after(m, m.config().times.deactivate, inv, [&ctx, inv] {
        ctx.deactivate(net::deact_reason::host);
        ctx.registered = false;
        ctx.lost = false;
        inv->final_text("DEACT OK");
      });
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QILOCIP";
    s.test = at::reply({});
    s.exec = [&ctx](const inv_ptr& inv) {
      if (!ctx.active()) return inv->error(cme::operation_not_allowed);
      // The address is the whole answer: no OK follows it.
      inv->info(ctx.local_ip());
      ctx.address_shown = true;
      inv->done_without_result();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISTAT";
    s.test = at::reply({});
    s.exec = [&m](const inv_ptr& inv) {
      // The module answers OK first, then the state line.
      inv->after_final("STATE: " + context_state(m));
      inv->ok();
    };
    t.add(std::move(s));
  }
  auto setting = [&m, &t](const std::string& name, const std::string& range, int settings::*field,
                          std::int64_t max) {
    at::command_spec s;
    s.name = name;
    s.params = {param::integer(0, max)};
    const std::string prefix = name + ": ";
    s.test = at::reply({prefix + range});
    s.read = [&m, prefix, field](const inv_ptr& inv) {
      inv->info(prefix + std::to_string(m.current().*field));
      inv->ok();
    };
    s.write = [&m, field](const inv_ptr& inv) {
      m.current().*field = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  };
  setting("+QIDNSIP", "(0,1)", &settings::qidnsip, 1);
  setting("+QIMUX", "(0,1)", &settings::qimux, 1);
  setting("+QIMODE", "(0,1)", &settings::qimode, 1);
  setting("+QINDI", "(0-2)", &settings::qindi, 2);
  setting("+QIHEAD", "(0,1)", &settings::qihead, 1);
  setting("+QIURC", "(0,1)", &settings::qiurc, 1);
  setting("+QISHOWRA", "(0,1)", &settings::qishowra, 1);
  setting("+QISHOWPT", "(0,1)", &settings::qishowpt, 1);
  setting("+QISHOWLA", "(0,1)", &settings::qishowla, 1);
  setting("+QIPROMPT", "(0-2)", &settings::qiprompt, 2);
  setting("+QISDE", "(0,1)", &settings::qisde, 1);
  {
    at::command_spec s;
    s.name = "+QIDNSCFG";
    s.params = {param::string(15), param::string(15, true)};
    s.test = at::reply({});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("PrimaryDns: " + m.current().dns_primary +
                "\r\nSecondaryDns: " + m.current().dns_secondary);
      inv->ok();
    };
    s.write = [&m](const inv_ptr& inv) {
      const auto& a = inv->args();
      auto dotted = [](const std::string& text) {
        unsigned b[4] = {};
        int used = 0;
        return std::sscanf(text.c_str(), "%3u.%3u.%3u.%3u%n", &b[0], &b[1], &b[2], &b[3], &used) ==
                   4 &&
               static_cast<std::size_t>(used) == text.size() && b[0] < 256 && b[1] < 256 &&
               b[2] < 256 && b[3] < 256;
      };
      if (!dotted(a[0].text) || (!a[1].omitted() && !dotted(a[1].text))) {
        return inv->error(cme::incorrect_parameters);
      }
      m.current().dns_primary = a[0].text;
      if (!a[1].omitted()) m.current().dns_secondary = a[1].text;
      inv->ok();
    };
    t.add(std::move(s));
  }
}

}  // namespace quecsim::module
