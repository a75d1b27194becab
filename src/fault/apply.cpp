// The injector's actions: one function per typed action (actions.hpp defines them), each
// returning what it did for the transcript, or throwing scenario_error when it cannot act now.

#include <algorithm>
#include <cctype>
#include <random>
#include <utility>

#include "quecsim/fault/injector.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/module/radio.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/storage/store.hpp"

namespace quecsim::fault {
namespace {

using std::chrono::milliseconds;

// What an action acts through: the injector's seams and the few services it lends.
struct actor {
  seams& s;
  const clock& clk;
  std::mt19937_64& rng;
  events::bus& bus;
  int module_id;
  std::vector<std::uint64_t>* rules;  // where the server rules it adds are kept, or null
  std::function<void(milliseconds, std::function<void()>)> after;
  std::function<host_link&()> link;  // puts the host link in front of the port

  module::module& m() const { return *s.module; }
  net::network& net() const { return *s.network; }
  // Adds a rule to the embedded server, owned by the scenario when it has one.
  void add_rule(ftpd::fault_rule r) const {
    if (r.client.empty()) r.client = s.server_client;
    const auto id = s.server->add_fault(std::move(r));
    if (rules != nullptr) rules->push_back(id);
  }
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string role_name(conn_role role) {
  switch (role) {
    case conn_role::control:
      return "ftp-control";
    case conn_role::data:
      return "ftp-data";
    case conn_role::socket:
      return "tcpip";  // the socket service's connections (src/tcpip/service.cpp)
    case conn_role::any:
      break;
  }
  return "";
}

net::stream stream_of(link_stream s) {
  switch (s) {
    case link_stream::upstream:
      return net::stream::upstream;
    case link_stream::downstream:
      return net::stream::downstream;
    case link_stream::both:
      break;
  }
  return net::stream::both;
}

// Ends every open connection of `role` now.
std::string end_connections(const actor& c, const std::string& role, end_mode mode) {
  std::size_t hit = 0;
  for (const auto& conn : c.net().connections()) {
    if (conn->role() != role) continue;
    if (mode == end_mode::reset) {
      conn->fail(net::make_error_code(net::errc::connection_reset));
    } else {
      conn->inject_eof();
    }
    ++hit;
  }
  if (hit == 0) throw scenario_error("no open " + role + " connection");
  return (mode == end_mode::reset ? "reset " : "closed ") + role + " connection";
}

std::string act(const idle_timeout&, const actor& c) {
  ftpd::fault_rule r;
  r.action = ftpd::fault_action::idle_timeout;
  r.after = milliseconds(0);
  r.count = 1;
  r.sticky = true;
  r.name = "idle_timeout (scenario)";
  c.add_rule(r);
  return "server sends 421 and closes the control connection";
}

// A sticky rule on one of the server's commands, as server_reply and server_delay give it.
template <class Action>
ftpd::fault_rule command_rule(ftpd::fault_action what, const Action& a, const std::string& name) {
  ftpd::fault_rule r;
  r.action = what;
  r.command = upper(a.command);
  r.argument = a.argument;
  r.count = a.count;
  r.sticky = true;
  r.name = name + " " + r.command;
  return r;
}

std::string act(const server_reply& a, const actor& c) {
  auto r = command_rule(ftpd::fault_action::reply, a, "server_reply");
  r.text = a.text;
  c.add_rule(r);
  return "server answers " + r.command + " with " + r.text.substr(0, 3);
}

std::string act(const server_delay& a, const actor& c) {
  auto r = command_rule(ftpd::fault_action::delay, a, "server_delay");
  r.after = a.delay;
  c.add_rule(r);
  return "server delays its reply to " + r.command;
}

std::string act(const server_fault& a, const actor& c) {
  c.add_rule(a.rule);
  return std::string("server rule ") + std::string(ftpd::to_string(a.rule.action));
}

std::string act(const close_control& a, const actor& c) {
  return end_connections(c, "ftp-control", a.mode);
}

std::string act(const close_data& a, const actor& c) {
  const bool reset = a.mode == end_mode::reset;
  if (a.after_bytes == 0) return end_connections(c, "ftp-data", a.mode);
  net::toxic t;
  t.type = net::toxic_type::limit_data;
  t.role = "ftp-data";
  t.direction = a.direction == close_data::way::up     ? net::stream::upstream
                : a.direction == close_data::way::down ? net::stream::downstream
                                                       : net::stream::both;
  t.bytes = a.after_bytes;
  t.reset = reset;
  t.count = 1;
  c.net().add_toxic(t);
  return "the next data connection ends after " + std::to_string(a.after_bytes) + " bytes (" +
         (reset ? "reset" : "orderly close") + ")";
}

std::string act(const close_socket& a, const actor& c) {
  if (a.mode == end_mode::close) {
    // A graceful close comes from a peer that accepted: a connect on its way has none yet.
    const auto conns = c.net().connections();
    if (std::none_of(conns.begin(), conns.end(),
                     [](const auto& conn) { return conn->role() == "tcpip" && conn->is_open(); })) {
      throw scenario_error("no connected tcpip connection");
    }
  }
  return end_connections(c, "tcpip", a.mode);
}

std::string act(const reset_connections&, const actor& c) {
  if (c.net().open_connections() == 0) throw scenario_error("no open connection");
  c.net().reset_all();
  return "every connection reset; the packet context stays up";
}

std::string act(const pdp_deact& a, const actor& c) {
  if (a.refuse.count() > 0) c.m().context().refuse_until(clock::now() + c.clk.scaled(a.refuse));
  const bool was_active = c.m().context().active();
  c.m().context().deactivate(net::deact_reason::network);
  return std::string(was_active ? "packet context torn down" : "packet context already down") +
         (a.refuse.count() > 0 ? "; refused for " + std::to_string(a.refuse.count()) + " ms" : "");
}

std::string act(const no_network& a, const actor& c) {
  const auto d = a.duration;
  c.m().context().refuse_until(d.count() > 0 ? clock::now() + c.clk.scaled(d)
                                             : clock::time_point::max());
  return d.count() > 0 ? "no network for " + std::to_string(d.count()) + " ms"
                       : "no network until network_back";
}

std::string act(const network_back&, const actor& c) {
  c.m().context().refuse_until({});
  return "network back";
}

std::string act(const dns_fail& a, const actor& c) {
  c.net().fail_connects(net::connect_fault::dns_failure, a.count, "", a.name);
  return "the next " + std::to_string(a.count) + " " +
         (a.name.empty() ? std::string("connect(s)") : "lookup(s) of " + a.name) +
         ": name lookup fails";
}

// A connect fault of `role`: "the next N connect(s) of ftp-control: refused".
std::string fail_connects(const actor& c, net::connect_fault f, int count, conn_role role,
                          const char* what) {
  const std::string r = role_name(role);
  c.net().fail_connects(f, count, r);
  return "the next " + std::to_string(count) + " connect(s)" + (r.empty() ? "" : " of " + r) + what;
}

std::string act(const connect_refuse& a, const actor& c) {
  return fail_connects(c, net::connect_fault::refused, a.count, a.role, ": refused");
}

std::string act(const connect_timeout& a, const actor& c) {
  return fail_connects(c, net::connect_fault::unanswered, a.count, a.role, ": SYN unanswered");
}

std::string act(const udp_datagram& a, const actor& c) {
  const bool lose = a.effect == udp_datagram::fate::lose;
  c.net().fail_datagrams(lose ? net::datagram_fault::lose : net::datagram_fault::duplicate, a.count,
                         stream_of(a.stream));
  return (a.count < 0 ? std::string("every") : "the next " + std::to_string(a.count)) +
         " UDP datagram(s) " + name_of(link_streams(), a.stream) + ": " +
         (lose ? "lost" : "duplicated");
}

std::string act(const stall& a, const actor& c) {
  c.net().blackhole(true);
  if (a.duration.count() > 0) {
    c.after(a.duration, [net = &c.net()] { net->blackhole(false); });
    return "link stalled for " + std::to_string(a.duration.count()) + " ms";
  }
  return "link stalled until unstall";
}

std::string act(const unstall&, const actor& c) {
  c.net().blackhole(false);
  return "link flows again";
}

std::string act(const toxic& a, const actor& c) {
  net::toxic t;
  t.type = a.type == toxic::kind::latency      ? net::toxic_type::latency
           : a.type == toxic::kind::bandwidth  ? net::toxic_type::bandwidth
           : a.type == toxic::kind::slicer     ? net::toxic_type::slicer
           : a.type == toxic::kind::limit_data ? net::toxic_type::limit_data
                                               : net::toxic_type::timeout;
  t.role = role_name(a.role);
  t.direction = stream_of(a.stream);
  t.latency = a.latency;
  t.jitter = a.jitter;
  t.rate = a.rate;
  t.average_size = a.average_size;
  t.size_variation = a.size_variation;
  t.delay = a.delay;
  t.bytes = a.bytes;
  t.reset = a.reset;
  t.timeout = a.timeout;
  t.count = a.connections;
  const auto id = c.net().add_toxic(t);
  const auto d = a.duration;
  if (d.count() > 0) c.after(d, [net = &c.net(), id] { net->remove_toxic(id); });
  return "toxic " + name_of(toxic::kinds(), a.type) + " on " +
         (t.role.empty() ? std::string("every connection") : t.role) + " " +
         name_of(toxic::streams(), a.stream) +
         (d.count() > 0 ? " for " + std::to_string(d.count()) + " ms" : "");
}

std::string act(const clear_toxics&, const actor& c) {
  c.net().clear_toxics();
  return "toxics removed";
}

// Arms a host-side fault on the module's next output: "delay the next 10 bytes to the host".
std::string host_side(const actor& c, const char* verb, host_fault f, std::uint64_t bytes,
                      clock::duration pause = {}, std::size_t piece = 1) {
  c.link().arm(f, bytes, pause, piece);
  return std::string(verb) + " " +
         (bytes == 0 ? std::string("the next output")
                     : "the next " + std::to_string(bytes) + " bytes") +
         " to the host";
}

std::string act(const host_delay& a, const actor& c) {
  return host_side(c, "delay", host_fault::delay, a.bytes, c.clk.scaled(a.ms));
}

std::string act(const host_split& a, const actor& c) {
  return host_side(c, "split", host_fault::split, a.bytes, c.clk.scaled(a.gap), a.size);
}

std::string act(const host_duplicate& a, const actor& c) {
  return host_side(c, "duplicate", host_fault::duplicate, a.bytes);
}

std::string act(const host_drop& a, const actor& c) {
  return host_side(c, "drop", host_fault::drop, a.bytes);
}

std::string act(const host_garbage& a, const actor& c) {
  std::string junk(a.length, '\0');
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& ch : junk) ch = static_cast<char>(byte(c.rng));
  c.s.port->write(junk);
  return std::to_string(a.length) + " random bytes to the host";
}

std::string act(const raw& a, const actor& c) {
  c.s.port->write(a.bytes);
  return "raw bytes to the host";
}

std::string act(const urc& a, const actor& c) {
  c.m().urc(a.text);
  return "unsolicited line " + a.text;
}

std::string act(const restart&, const actor& c) {
  c.m().restart();
  return "module restarted (AT+CFUN=1,1)";
}

std::string act(const brownout& a, const actor& c) {
  // The supply dips: the module says so, goes silent at once, and powers up again later.
  c.s.port->write("\r\n" + a.text + "\r\n");
  c.bus.publish({events::kind::response, c.module_id, "module", a.text});
  c.m().restart(a.off);
  return "brown-out: " + a.text + ", off for " + std::to_string(a.off.count()) + " ms";
}

std::string act(const registration& a, const actor& c) {
  switch (a.domain) {
    case registration::which::cs:
      c.m().cellular().set_cs_registration(a.status);
      break;
    case registration::which::ps:
      c.m().cellular().set_ps_registration(a.status);
      break;
    case registration::which::both:
      c.m().cellular().set_registration(a.status);
      break;
  }
  const char* domain = a.domain == registration::which::cs   ? "cs"
                       : a.domain == registration::which::ps ? "ps"
                                                             : "both";
  return "registration " + name_of(registration::statuses(), a.status) + " (" + domain + ")";
}

std::string act(const signal_quality& a, const actor& c) {
  c.m().cellular().set_signal(a.rssi, a.ber);
  return "signal " + std::to_string(a.rssi) + "," + std::to_string(a.ber);
}

std::string act(const sim& a, const actor& c) {
  c.m().cellular().set_sim(a.state);
  return "SIM " + name_of(sim::states(), a.state);
}

storage::store& local_files(const actor& c) {
  if (c.s.files == nullptr) throw scenario_error("this module has no local storage");
  return *c.s.files;
}

std::string act(const delete_local& a, const actor& c) {
  // As a firmware's own cleanup (or a previous run) may have removed it.
  auto& files = local_files(c);
  storage::file_ref f;
  if (files.parse(a.name, f) != storage::errc::ok) {
    throw scenario_error("\"" + a.name + "\" is not a local file name of this module");
  }
  if (files.remove(f.where, f.name) != storage::errc::ok) {
    throw scenario_error("cannot delete local file " + a.name);
  }
  return "local file " + a.name + " deleted";
}

std::string act(const fill_storage& a, const actor& c) {
  auto& files = local_files(c);
  const std::string name = name_of(fill_storage::areas(), a.where);
  const auto where = a.where == fill_storage::area::ram  ? storage::area::ram
                     : a.where == fill_storage::area::sd ? storage::area::sd
                                                         : storage::area::ufs;
  if (!files.has(where)) throw scenario_error("this model has no " + name + " area");
  const auto free = files.usage(where).free;
  if (free <= a.leave_bytes) {
    return name + " already has no more than " + std::to_string(a.leave_bytes) + " bytes free";
  }
  // Other data fills the area, as a firmware's logs do: one file of the free space.
  storage::file_ref filler{where, "quecsim-fill.bin"};
  const std::uint64_t size = free - a.leave_bytes;
  if (files.create(filler, where == storage::area::ram ? size : 0) != storage::errc::ok) {
    throw scenario_error("cannot fill " + name);
  }
  const std::string block(std::size_t{1} << 16, '\xff');
  for (std::uint64_t at = 0; at < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - at));
    if (files.write(filler, at, std::string_view(block).substr(0, n)) != storage::errc::ok) {
      throw scenario_error("cannot fill " + name);
    }
    at += n;
  }
  return name + " filled: " + std::to_string(files.usage(where).free) + " bytes free";
}

std::string act(const open_session& a, const actor& c) {
  if (c.s.ftp->state() != ftp::service_state::idle &&
      c.s.ftp->state() != ftp::service_state::closed) {
    throw scenario_error("the FTP service is not idle: a session is open or opening already");
  }
  c.s.ftp->open_in_background(a.host, static_cast<std::uint16_t>(a.port), a.user, a.password);
  return "FTP session opened behind the host's back (a previous run's)";
}

}  // namespace

std::string injector::act(const action& a, std::vector<std::uint64_t>* rules) {
  const actor c{seams_,
                clock_,
                rng_,
                bus_,
                module_,
                rules,
                [this](milliseconds d, std::function<void()> f) { after(d, std::move(f)); },
                [this]() -> host_link& {
                  host_fault_armed();
                  return *link_;
                }};
  return std::visit([&c](const auto& typed) { return fault::act(typed, c); }, a.value);
}

}  // namespace quecsim::fault
