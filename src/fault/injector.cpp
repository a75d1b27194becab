#include "quecsim/fault/injector.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <utility>

#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/module/radio.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/storage/store.hpp"

namespace quecsim::fault {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

milliseconds ms(const json& params, const char* key) {
  return milliseconds(params.value(key, std::int64_t{0}));
}

std::string role_name(const std::string& role) {
  if (role == "control") return "ftp-control";
  if (role == "data") return "ftp-data";
  return "";
}

// The name of the command an AT prefix names: "AT+QFTPGET=..." -> "+QFTPGET".
std::string command_name(const std::string& prefix) {
  std::string body = prefix.substr(2);
  std::size_t end = 0;
  if (!body.empty() && (body[0] == '+' || body[0] == '&')) end = 1;
  while (end < body.size() && std::isalnum(static_cast<unsigned char>(body[end])) != 0) ++end;
  return body.substr(0, end);
}

std::string sha256_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(std::size_t{1} << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  std::ostringstream hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(digest[i]);
  }
  return hex.str();
}

}  // namespace

struct injector::armed_event {
  event spec;
  std::uint64_t matches = 0;
  std::int64_t fired = 0;
  bool bytes_done = false;  // a bytes trigger fired for the current transfer
  std::unique_ptr<boost::asio::steady_timer> timer;
};

struct injector::loaded_scenario {
  std::string name;
  expectations expect;
  std::vector<std::unique_ptr<armed_event>> events;
  std::vector<ftpd::fault_book::rule_id> server_rules;
  bool active = true;
};

injector::injector(boost::asio::io_context& io, const clock& clk, events::bus& bus, seams s,
                   std::uint64_t seed, int module_id)
    : io_(io), clock_(clk), bus_(bus), seams_(s), module_(module_id), rng_(seed) {
  states_ = {{"ftp", "IDLE"}, {"pdp", "inactive"}, {"uart", "command"}, {"module", "off"}};
  bus_.subscribe([this, alive = std::weak_ptr<bool>(alive_)](const events::event& e) {
    if (alive.expired() || e.module != module_) return;
    on_event(e);
  });
  if (seams_.network != nullptr) seams_.network->seed(seed);
}

injector::~injector() {
  *alive_ = false;
  if (link_ && seams_.module != nullptr && seams_.port != nullptr)
    seams_.module->attach(*seams_.port);
}

// ---- loading --------------------------------------------------------------------------------

void injector::validate(const scenario& s) const {
  for (const auto& e : s.events) {
    const auto& t = e.when;
    if ((t.kind == trigger_kind::command || t.kind == trigger_kind::final) && !t.text.empty() &&
        seams_.module != nullptr) {
      // A prefix must be able to match a command the module has: "AT+QFTP" matches many,
      // "AT+QFTPGTE" none, and an event that can never fire is a mistake worth stopping for.
      const std::string name = command_name(t.text);
      bool known = name.empty() || name == "+" || name == "&";
      for (const auto* c : seams_.module->commands().all()) {
        if (known) break;
        known = starts_with(c->name, name) || (name.size() > 1 && starts_with(name, c->name) &&
                                               std::isalpha(static_cast<unsigned char>(name[0])));
      }
      if (!known) {
        throw scenario_error(s.source + ": " + e.pointer +
                             "/when: no AT command of this module "
                             "starts with \"" +
                             name + "\", so the event could never fire");
      }
    }
    for (std::size_t i = 0; i < e.actions.size(); ++i) {
      if (needs_embedded_server(e.actions[i]) && seams_.server == nullptr) {
        throw scenario_error(s.source + ": " + e.actions[i].pointer + ": action \"" +
                             e.actions[i].name + "\" acts through the embedded FTP server, " +
                             "which is not running (--no-embedded-ftp)");
      }
    }
  }
}

void injector::load(scenario s) {
  validate(s);
  unload(s.name);
  auto ls = std::make_shared<loaded_scenario>();
  ls->name = s.name;
  ls->expect = s.expect;
  if (seams_.server != nullptr) {
    for (auto rule : s.server_faults) {
      if (rule.name.empty()) rule.name = s.name;
      if (rule.client.empty()) rule.client = seams_.server_client;
      ls->server_rules.push_back(seams_.server->add_fault(std::move(rule)));
    }
  }
  for (auto& e : s.events) {
    auto a = std::make_unique<armed_event>();
    a->spec = std::move(e);
    ls->events.push_back(std::move(a));
  }
  scenarios_.push_back(ls);
  for (auto& e : ls->events) {
    if (e->spec.when.kind == trigger_kind::time) arm_time(ls, *e);
  }
  bus_.publish({events::kind::info, module_, "fault", "scenario loaded: " + s.name});
}

bool injector::unload(const std::string& name) {
  auto it = std::find_if(scenarios_.begin(), scenarios_.end(),
                         [&](const auto& s) { return s->name == name; });
  if (it == scenarios_.end()) return false;
  auto& s = **it;
  s.active = false;
  for (auto& e : s.events)
    if (e->timer) e->timer->cancel();
  if (seams_.server != nullptr)
    for (auto id : s.server_rules) seams_.server->remove_fault(id);
  scenarios_.erase(it);
  bus_.publish({events::kind::info, module_, "fault", "scenario unloaded: " + name});
  return true;
}

void injector::record_request(const nlohmann::json& request) {
  bus_.publish({events::kind::info, module_, "control", request.dump()});
}

std::vector<std::string> injector::loaded() const {
  std::vector<std::string> out;
  for (const auto& s : scenarios_) out.push_back(s->name);
  return out;
}

void injector::arm_time(const std::shared_ptr<loaded_scenario>& s, armed_event& e) {
  if (!e.timer) e.timer = std::make_unique<boost::asio::steady_timer>(io_);
  const auto delay = e.matches == 0 ? e.spec.when.at : e.spec.when.period;
  e.timer->expires_after(clock_.scaled(delay));
  e.timer->async_wait([this, weak = std::weak_ptr<loaded_scenario>(s), ev = &e,
                       alive = std::weak_ptr<bool>(alive_)](auto ec) {
    auto ls = weak.lock();
    if (ec || alive.expired() || !ls || !ls->active) return;
    fire(*ls, *ev);
    const bool more = ev->spec.count < 0 || ev->fired < ev->spec.count;
    if (ev->spec.when.period.count() > 0 && more) arm_time(ls, *ev);
  });
}

// ---- matching -------------------------------------------------------------------------------

void injector::match(trigger_kind kind, const std::function<bool(armed_event&)>& test) {
  // Firing may unload or load scenarios (through actions posted later, never here), so the
  // list is stable during the loop.
  for (auto& s : scenarios_) {
    for (auto& e : s->events) {
      if (e->spec.when.kind != kind) continue;
      if (test(*e)) fire(*s, *e);
    }
  }
}

void injector::fire(loaded_scenario& s, armed_event& e) {
  if (e.spec.count >= 0 && e.fired >= e.spec.count) return;
  for (const auto& c : e.spec.conditions) {
    auto it = states_.find(c.machine);
    if (it == states_.end() || it->second != c.state) return;
  }
  ++e.matches;
  if (e.matches % e.spec.every != 0) return;
  if (e.spec.probability < 1.0) {
    std::uniform_real_distribution<double> chance(0.0, 1.0);
    if (chance(rng_) >= e.spec.probability) return;
  }
  ++e.fired;
  if (e.spec.after.count() == 0) {
    // Arming actions take effect inside the triggering event, so they reach what follows it
    // at once (the answer to the very command that matched).
    run_actions(s, e, true);
  }
  // The others run after the event has been handled everywhere, never inside the publishing
  // layer's call stack.
  const auto* ev = &e;
  std::weak_ptr<loaded_scenario> weak;
  for (auto& p : scenarios_)
    if (p.get() == &s) weak = p;
  const bool all = e.spec.after.count() != 0;
  after(e.spec.after, [this, ev, weak, all] {
    auto ls = weak.lock();
    if (!ls || !ls->active) return;
    run_actions(*ls, *ev, all ? std::nullopt : std::optional<bool>(false));
  });
}

void injector::after(milliseconds simulated, std::function<void()> f) {
  if (simulated.count() == 0) {
    boost::asio::post(io_, [alive = std::weak_ptr<bool>(alive_), f = std::move(f)] {
      if (!alive.expired()) f();
    });
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, clock_.scaled(simulated));
  timer->async_wait([timer, alive = std::weak_ptr<bool>(alive_), f = std::move(f)](auto ec) {
    if (!ec && !alive.expired()) f();
  });
}

void injector::on_event(const events::event& e) {
  using events::kind;
  switch (e.what) {
    case kind::command: {
      line_commands_.emplace_back(e.data);
      const std::string text = upper(e.data);
      match(trigger_kind::command, [&](armed_event& a) {
        const auto& t = a.spec.when;
        return t.pattern ? std::regex_search(text, *t.pattern) : starts_with(text, t.text);
      });
      break;
    }
    case kind::result: {
      auto commands = std::move(line_commands_);
      line_commands_.clear();
      match(trigger_kind::final, [&](armed_event& a) {
        return std::any_of(commands.begin(), commands.end(), [&](const std::string& c) {
          return starts_with(upper(c), a.spec.when.text);
        });
      });
      break;
    }
    case kind::response: {
      for (const auto& s : scenarios_) {
        for (const auto& l : s->expect.lines) {
          if (l == e.data &&
              std::find(seen_lines_.begin(), seen_lines_.end(), l) == seen_lines_.end()) {
            seen_lines_.push_back(l);
          }
        }
      }
      const std::string text(e.data);
      match(trigger_kind::response, [&](armed_event& a) {
        const auto& t = a.spec.when;
        return t.pattern ? std::regex_search(text, *t.pattern) : starts_with(text, t.text);
      });
      break;
    }
    case kind::state: {
      const std::string machine(e.source);
      if (states_.count(machine) == 0) break;  // baud, flow control: not a machine of ours
      const std::string before = std::exchange(states_[machine], std::string(e.data));
      // What the module wrote and the host has not received yet: the UART's queue, and the
      // bytes a host-side fault holds back.
      const std::uint64_t on_the_way = link_                    ? link_->queued()
                                       : seams_.port != nullptr ? seams_.port->queued()
                                                                : 0;
      if (machine == "uart" && e.data == "command" && before == "data") data_tail_ = on_the_way;
      if (machine == "uart" && e.data == "data") {
        uart_down_ = uart_up_ = 0;
        data_tail_ = 0;
        connect_skip_ = on_the_way;
        for (auto& s : scenarios_)
          for (auto& a : s->events)
            if (a->spec.when.kind == trigger_kind::bytes && a->spec.when.from_connect)
              a->bytes_done = false;
      }
      match(trigger_kind::state, [&](armed_event& a) {
        return a.spec.when.machine == machine && a.spec.when.state == e.data;
      });
      break;
    }
    case kind::ftp_tx: {
      const std::string verb = upper(e.data.substr(0, e.data.find(' ')));
      if (verb == "RETR" || verb == "STOR" || verb == "APPE" || verb == "LIST" || verb == "NLST") {
        data_down_ = data_up_ = 0;
        for (auto& s : scenarios_)
          for (auto& a : s->events)
            if (a->spec.when.kind == trigger_kind::bytes && !a->spec.when.from_connect)
              a->bytes_done = false;
      }
      match(trigger_kind::ftp_command, [&](armed_event& a) { return a.spec.when.text == verb; });
      break;
    }
    case kind::ftp_rx: {
      // The last line of a reply carries "NNN " (or is the bare code).
      if (e.data.size() < 3 || (e.data.size() > 3 && e.data[3] != ' ')) break;
      int code = 0;
      for (int i = 0; i < 3; ++i) {
        if (std::isdigit(static_cast<unsigned char>(e.data[i])) == 0) return;
        code = code * 10 + (e.data[i] - '0');
      }
      match(trigger_kind::ftp_reply,
            [&](armed_event& a) { return a.spec.when.reply_code == code; });
      break;
    }
    case kind::data_bytes: {
      // "down N" or "up N".
      const bool up = starts_with(e.data, "up ");
      const auto n =
          std::strtoull(std::string(e.data.substr(e.data.find(' ') + 1)).c_str(), nullptr, 10);
      auto& total = up ? data_up_ : data_down_;
      total += n;
      match(trigger_kind::bytes, [&](armed_event& a) {
        const auto& t = a.spec.when;
        if (t.from_connect || t.upstream != up || a.bytes_done || total < t.bytes) return false;
        a.bytes_done = true;
        return true;
      });
      break;
    }
    case kind::uart_tx:
    case kind::uart_rx: {
      const bool up = e.what == kind::uart_rx;
      std::uint64_t n = e.data.size();
      if (states_["uart"] != "data") {
        // After data mode only its own bytes, still arriving, count; then nothing.
        if (up || data_tail_ == 0) break;
        n = std::min<std::uint64_t>(n, data_tail_);
        data_tail_ -= n;
      }
      if (!up) {
        // CONNECT's own line is not counted, even when it is still held back.
        const auto skip = std::min<std::uint64_t>(n, connect_skip_);
        connect_skip_ -= skip;
        n -= skip;
      }
      auto& total = up ? uart_up_ : uart_down_;
      total += n;
      match(trigger_kind::bytes, [&](armed_event& a) {
        const auto& t = a.spec.when;
        if (!t.from_connect || t.upstream != up || a.bytes_done || total < t.bytes) return false;
        a.bytes_done = true;
        return true;
      });
      break;
    }
    default:
      break;
  }
}

// ---- acting ---------------------------------------------------------------------------------

void injector::publish(const std::string& scenario, const std::string& event, const action& a,
                       const std::string& did) {
  ++fired_;
  const json record{{"scenario", scenario}, {"event", event}, {"action", a.name}, {"did", did}};
  bus_.publish({events::kind::fault, module_, "fault", record.dump()});
}

void injector::run_actions(loaded_scenario& s, const armed_event& e, std::optional<bool> arming) {
  for (const auto& a : e.spec.actions) {
    if (arming && arms_only(a) != *arming) continue;
    try {
      // Server rules the scenario's actions add are its own: unloading it removes them, as it
      // removes the rules of its "server" block (a non-sticky rule counts per connection, so
      // left behind it would strike every later session).
      publish(s.name, e.spec.name, a, act(a, &s.server_rules));
    } catch (const std::exception& ex) {
      // A fault that cannot act now (no connection to cut) is worth a line, not a crash.
      publish(s.name, e.spec.name, a, std::string("nothing: ") + ex.what());
    }
  }
}

std::string injector::apply(const action& a, const std::string& origin) {
  if (needs_embedded_server(a) && seams_.server == nullptr) {
    throw scenario_error(origin + ": action \"" + a.name +
                         "\" acts through the embedded FTP server, which is not running");
  }
  const std::string did = act(a);
  // A live action's record carries the action itself, so a replay can apply it again at the
  // same point; a scenario's actions come back with the scenario.
  ++fired_;
  const json record{{"scenario", origin},
                    {"event", "live"},
                    {"action", a.name},
                    {"did", did},
                    {"params", a.params}};
  bus_.publish({events::kind::fault, module_, "fault", record.dump()});
  return did;
}

void injector::host_fault_armed() {
  if (!link_) {
    link_ = std::make_unique<host_link>(io_, *seams_.port);
    link_->on_spent([this] {
      // The real port again: the usual path carries no trace of the fault.
      seams_.module->attach(*seams_.port);
    });
  }
  seams_.module->attach(*link_);
}

std::string injector::act(const action& a, std::vector<std::uint64_t>* rules) {
  const json& p = a.params;
  auto& m = *seams_.module;
  auto& net = *seams_.network;
  const std::string& n = a.name;

  if (n == "idle_timeout") {
    ftpd::fault_rule r;
    r.action = ftpd::fault_action::idle_timeout;
    r.after = milliseconds(0);
    r.count = 1;
    r.sticky = true;
    r.name = "idle_timeout (scenario)";
    r.client = seams_.server_client;
    const auto id = seams_.server->add_fault(r);
    if (rules != nullptr) rules->push_back(id);
    return "server sends 421 and closes the control connection";
  }
  if (n == "server_reply" || n == "server_delay") {
    ftpd::fault_rule r;
    r.action = n == "server_reply" ? ftpd::fault_action::reply : ftpd::fault_action::delay;
    r.command = upper(p["command"].get<std::string>());
    r.argument = p.value("argument", std::string());
    r.count = p["count"].get<std::int64_t>();
    r.sticky = true;
    if (n == "server_reply") {
      std::string text;
      if (p["text"].is_string()) {
        text = p["text"].get<std::string>();
        if (text.size() < 2 || text.compare(text.size() - 2, 2, "\r\n") != 0) text += "\r\n";
      } else {
        for (const auto& l : p["text"]) text += l.get<std::string>() + "\r\n";
      }
      r.text = text;
    } else {
      r.after = ms(p, "delay_ms");
    }
    r.name = n + " " + r.command;
    r.client = seams_.server_client;
    const auto id = seams_.server->add_fault(r);
    if (rules != nullptr) rules->push_back(id);
    return n == "server_reply" ? "server answers " + r.command + " with " + r.text.substr(0, 3)
                               : "server delays its reply to " + r.command;
  }
  if (n == "server_fault") {
    auto r = ftpd::parse_fault_rule(p["rule"], "control", a.pointer + "/rule");
    if (r.client.empty()) r.client = seams_.server_client;
    const auto id = seams_.server->add_fault(r);
    if (rules != nullptr) rules->push_back(id);
    return std::string("server rule ") + std::string(ftpd::to_string(r.action));
  }
  if (n == "close_control" || n == "close_data") {
    const bool reset = p["mode"] == "reset";
    const std::string role = n == "close_control" ? "ftp-control" : "ftp-data";
    const auto after_bytes = p.value("after_bytes", std::uint64_t{0});
    if (n == "close_data" && after_bytes > 0) {
      net::toxic t;
      t.type = net::toxic_type::limit_data;
      t.role = role;
      const std::string d = p["direction"];
      t.direction = d == "up"     ? net::stream::upstream
                    : d == "down" ? net::stream::downstream
                                  : net::stream::both;
      t.bytes = after_bytes;
      t.reset = reset;
      t.count = 1;
      net.add_toxic(t);
      return "the next data connection ends after " + std::to_string(after_bytes) + " bytes (" +
             (reset ? "reset" : "orderly close") + ")";
    }
    std::size_t hit = 0;
    for (const auto& c : net.connections()) {
      if (c->role() != role) continue;
      if (reset) {
        c->fail(net::make_error_code(net::errc::connection_reset));
      } else {
        c->inject_eof();
      }
      ++hit;
    }
    if (hit == 0) throw scenario_error("no open " + role + " connection");
    return (reset ? "reset " : "closed ") + role + " connection";
  }
  if (n == "pdp_deact") {
    const auto refuse = ms(p, "refuse_ms");
    if (refuse.count() > 0) {
      m.context().refuse_until(clock::now() + clock_.scaled(refuse));
    }
    const bool was_active = m.context().active();
    m.context().deactivate(net::deact_reason::network);
    return std::string(was_active ? "packet context torn down" : "packet context already down") +
           (refuse.count() > 0 ? "; refused for " + std::to_string(refuse.count()) + " ms" : "");
  }
  if (n == "no_network") {
    const auto d = ms(p, "duration_ms");
    m.context().refuse_until(d.count() > 0 ? clock::now() + clock_.scaled(d)
                                           : clock::time_point::max());
    return d.count() > 0 ? "no network for " + std::to_string(d.count()) + " ms"
                         : "no network until network_back";
  }
  if (n == "network_back") {
    m.context().refuse_until({});
    return "network back";
  }
  if (n == "dns_fail" || n == "connect_refuse" || n == "connect_timeout") {
    const int count = static_cast<int>(p["count"].get<std::int64_t>());
    const auto kind = n == "dns_fail"         ? net::connect_fault::dns_failure
                      : n == "connect_refuse" ? net::connect_fault::refused
                                              : net::connect_fault::unanswered;
    const std::string role = n == "dns_fail" ? "" : role_name(p["role"]);
    net.fail_connects(kind, count, role);
    return "the next " + std::to_string(count) + " connect(s)" +
           (role.empty() ? "" : " of " + role) +
           (n == "dns_fail"         ? ": name lookup fails"
            : n == "connect_refuse" ? ": refused"
                                    : ": SYN unanswered");
  }
  if (n == "stall") {
    net.blackhole(true);
    const auto d = ms(p, "duration_ms");
    if (d.count() > 0) {
      after(d, [this] { seams_.network->blackhole(false); });
      return "link stalled for " + std::to_string(d.count()) + " ms";
    }
    return "link stalled until unstall";
  }
  if (n == "unstall") {
    net.blackhole(false);
    return "link flows again";
  }
  if (n == "toxic") {
    net::toxic t;
    const std::string type = p["type"];
    t.type = type == "latency"      ? net::toxic_type::latency
             : type == "bandwidth"  ? net::toxic_type::bandwidth
             : type == "slicer"     ? net::toxic_type::slicer
             : type == "limit_data" ? net::toxic_type::limit_data
                                    : net::toxic_type::timeout;
    t.role = role_name(p["role"]);
    const std::string s = p["stream"];
    t.direction = s == "upstream"     ? net::stream::upstream
                  : s == "downstream" ? net::stream::downstream
                                      : net::stream::both;
    t.latency = ms(p, "latency_ms");
    t.jitter = ms(p, "jitter_ms");
    t.rate = p.value("rate", std::uint64_t{0});
    t.average_size = p.value("average_size", std::size_t{0});
    t.size_variation = p.value("size_variation", std::size_t{0});
    t.delay = ms(p, "delay_ms");
    t.bytes = p.value("bytes", std::uint64_t{0});
    t.reset = p["reset"].get<bool>();
    t.timeout = ms(p, "timeout_ms");
    t.count = static_cast<int>(p.value("connections", std::int64_t{-1}));
    const auto id = net.add_toxic(t);
    const auto d = ms(p, "duration_ms");
    if (d.count() > 0) after(d, [this, id] { seams_.network->remove_toxic(id); });
    return "toxic " + type + " on " + (t.role.empty() ? std::string("every connection") : t.role) +
           " " + s + (d.count() > 0 ? " for " + std::to_string(d.count()) + " ms" : "");
  }
  if (n == "clear_toxics") {
    net.clear_toxics();
    return "toxics removed";
  }
  if (n == "host_delay" || n == "host_split" || n == "host_duplicate" || n == "host_drop") {
    const auto bytes = p.value("bytes", std::uint64_t{0});
    host_fault f = host_fault::drop;
    clock::duration pause{};
    std::size_t piece = 1;
    if (n == "host_delay") {
      f = host_fault::delay;
      pause = clock_.scaled(ms(p, "ms"));
    } else if (n == "host_split") {
      f = host_fault::split;
      pause = clock_.scaled(ms(p, "gap_ms"));
      piece = p["size"].get<std::size_t>();
    } else if (n == "host_duplicate") {
      f = host_fault::duplicate;
    }
    host_fault_armed();
    link_->arm(f, bytes, pause, piece);
    return n.substr(5) + " " +
           (bytes == 0 ? std::string("the next output")
                       : "the next " + std::to_string(bytes) + " bytes") +
           " to the host";
  }
  if (n == "host_garbage") {
    const auto length = p["length"].get<std::size_t>();
    std::string junk(length, '\0');
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& c : junk) c = static_cast<char>(byte(rng_));
    seams_.port->write(junk);
    return std::to_string(length) + " random bytes to the host";
  }
  if (n == "raw") {
    seams_.port->write(p["bytes"].get<std::string>());
    return "raw bytes to the host";
  }
  if (n == "urc") {
    m.urc(p["text"].get<std::string>());
    return "unsolicited line " + p["text"].get<std::string>();
  }
  if (n == "restart") {
    m.restart();
    return "module restarted (AT+CFUN=1,1)";
  }
  if (n == "brownout") {
    // The supply dips: the module says so, goes silent at once, and powers up again later.
    const std::string text = p["text"];
    seams_.port->write("\r\n" + text + "\r\n");
    bus_.publish({events::kind::response, module_, "module", text});
    m.restart(ms(p, "off_ms"));
    return "brown-out: " + text + ", off for " + std::to_string(ms(p, "off_ms").count()) + " ms";
  }
  if (n == "registration") {
    const std::string s = p["status"];
    const auto status = s == "home"             ? module::reg_status::home
                        : s == "roaming"        ? module::reg_status::roaming
                        : s == "searching"      ? module::reg_status::searching
                        : s == "denied"         ? module::reg_status::denied
                        : s == "not_registered" ? module::reg_status::not_registered
                                                : module::reg_status::unknown;
    const std::string domain = p["domain"];
    if (domain == "cs") {
      m.cellular().set_cs_registration(status);
    } else if (domain == "ps") {
      m.cellular().set_ps_registration(status);
    } else {
      m.cellular().set_registration(status);
    }
    return "registration " + s + " (" + domain + ")";
  }
  if (n == "signal") {
    m.cellular().set_signal(p["rssi"].get<int>(), p["ber"].get<int>());
    return "signal " + std::to_string(p["rssi"].get<int>()) + "," +
           std::to_string(p["ber"].get<int>());
  }
  if (n == "sim") {
    const std::string s = p["state"];
    m.cellular().set_sim(s == "ready" ? module::sim_status::ready
                         : s == "pin" ? module::sim_status::pin
                         : s == "puk" ? module::sim_status::puk
                                      : module::sim_status::removed);
    return "SIM " + s;
  }
  if (n == "delete_local" || n == "fill_storage") {
    if (seams_.files == nullptr) throw scenario_error("this module has no local storage");
    auto& files = *seams_.files;
    if (n == "delete_local") {
      // As a firmware's own cleanup (or a previous run) may have removed it.
      storage::file_ref f;
      const std::string name = p["name"];
      if (files.parse(name, f) != storage::errc::ok) {
        throw scenario_error("\"" + name + "\" is not a local file name of this module");
      }
      const auto e = files.remove(f.where, f.name);
      if (e != storage::errc::ok) throw scenario_error("cannot delete local file " + name);
      return "local file " + name + " deleted";
    }
    const std::string a = p["area"];
    const auto where = a == "ram"  ? storage::area::ram
                       : a == "sd" ? storage::area::sd
                                   : storage::area::ufs;
    if (!files.has(where)) throw scenario_error("this model has no " + a + " area");
    const auto leave = p["leave_bytes"].get<std::uint64_t>();
    const auto free = files.usage(where).free;
    if (free <= leave)
      return a + " already has no more than " + std::to_string(leave) + " bytes free";
    // Other data fills the area, as a firmware's logs do: one file of the free space.
    storage::file_ref filler{where, "quecsim-fill.bin"};
    const std::uint64_t size = free - leave;
    if (files.create(filler, where == storage::area::ram ? size : 0) != storage::errc::ok) {
      throw scenario_error("cannot fill " + a);
    }
    const std::string block(std::size_t{1} << 16, '\xff');
    for (std::uint64_t at = 0; at < size;) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - at));
      if (files.write(filler, at, std::string_view(block).substr(0, n)) != storage::errc::ok) {
        throw scenario_error("cannot fill " + a);
      }
      at += n;
    }
    return a + " filled: " + std::to_string(files.usage(where).free) + " bytes free";
  }
  if (n == "open_session") {
    if (seams_.ftp->state() != ftp::service_state::idle &&
        seams_.ftp->state() != ftp::service_state::closed) {
      throw scenario_error("the FTP service is not idle: a session is open or opening already");
    }
    seams_.ftp->open_in_background(p["host"], static_cast<std::uint16_t>(p["port"].get<int>()),
                                   p["user"], p["password"]);
    return "FTP session opened behind the host's back (a previous run's)";
  }
  throw scenario_error("action \"" + n + "\" is not known here");
}

// ---- expectations ---------------------------------------------------------------------------

std::vector<verdict> injector::check(const std::filesystem::path& server_root) const {
  std::vector<verdict> out;
  for (const auto& s : scenarios_) {
    if (s->expect.empty()) continue;
    verdict v;
    v.scenario = s->name;
    for (const auto& l : s->expect.lines) {
      if (std::find(seen_lines_.begin(), seen_lines_.end(), l) == seen_lines_.end()) {
        v.failures.push_back("the host never saw the line \"" + l + "\"");
      }
    }
    if (s->expect.ftp_state) {
      const auto& now = states_.at("ftp");
      if (now != *s->expect.ftp_state) {
        v.failures.push_back("the FTP state is " + now + ", expected " + *s->expect.ftp_state);
      }
    }
    for (const auto& f : s->expect.files) {
      const auto path = server_root / f.path;
      if (!std::filesystem::is_regular_file(path)) {
        v.failures.push_back("the server has no file " + f.path);
        continue;
      }
      const auto hash = sha256_of(path);
      if (hash != f.sha256) {
        v.failures.push_back("the server's " + f.path + " has SHA-256 " + hash + ", expected " +
                             f.sha256);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace quecsim::fault
