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
    s.write = [&ctx](const inv_ptr& inv) {
      if (ctx.active()) return inv->error(cme::operation_not_allowed);
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
      if (ctx.active() || m.current().cfun != 1 || !m.current().attached) {
        return inv->error(cme::operation_not_allowed);
      }
      after(m, m.config().times.activate, inv, [&m, &ctx, inv] {
        // A network that refuses the context answers only after the activation attempt.
        if (ctx.refused()) return inv->error(cme::operation_not_allowed);
        ctx.registered = true;
        ctx.activate("10." + std::to_string(7 + m.config().id) + ".33.100");
        m.publish_state("pdp", "active");
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
      inv->done_without_result();
    };
    t.add(std::move(s));
  }
}

}  // namespace quecsim::module
