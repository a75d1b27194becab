#include "quecsim/fault/injector.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <utility>

#include "quecsim/ftp/states.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"

namespace quecsim::fault {
namespace {

using std::chrono::milliseconds;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
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
  states_ = {{"ftp", std::string(ftp::state_name(ftp::service_state::idle))},
             {"pdp", "inactive"},
             {"uart", "command"},
             {"module", "off"}};
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
      const auto* moved = std::get_if<events::bytes_moved>(&e.detail);
      if (moved == nullptr) break;
      const bool up = moved->up;
      auto& total = up ? data_up_ : data_down_;
      total += moved->count;
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
  bus_.publish({events::kind::fault,
                module_,
                "fault",
                {},
                events::fault_fired{scenario, event, a.name, did}});
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
  bus_.publish({events::kind::fault,
                module_,
                "fault",
                {},
                events::fault_fired{origin, "live", a.name, did, &a.params}});
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
