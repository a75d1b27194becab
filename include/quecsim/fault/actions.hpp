#pragma once

// Every fault action, each defined once: a struct holding its typed parameters, and its
// `define()` naming it, documenting it, binding its parameters (types, ranges, defaults) and
// giving its traits. The loader, the schema (scenarios/schema.json) and the docs' table are
// all made from these definitions; the injector applies the typed values (src/fault/apply.cpp,
// one function per action). Adding an action: a struct here, its entry in `action_value`, its
// apply function, its test; then regenerate (cmake --build build --target fault_reference).

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "quecsim/fault/definition.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/module/radio.hpp"

namespace quecsim::fault {

/// Which connection a connection fault reaches: the FTP client's control or data
/// connection, or a TCP socket of the socket service (AT+QIOPEN).
enum class conn_role { control, data, socket, any };
/// The roles as scenarios name them.
inline const choices<conn_role>& conn_roles() {
  static const choices<conn_role> c = {{"control", conn_role::control},
                                       {"data", conn_role::data},
                                       {"socket", conn_role::socket},
                                       {"any", conn_role::any}};
  return c;
}

/// How a connection ends.
enum class end_mode { close, reset };
/// The modes as scenarios name them.
inline const choices<end_mode>& end_modes() {
  static const choices<end_mode> c = {{"close", end_mode::close}, {"reset", end_mode::reset}};
  return c;
}

/// A direction of a connection, in toxiproxy's words (upstream: module → server).
enum class link_stream { upstream, downstream, both };
/// The directions as scenarios name them.
inline const choices<link_stream>& link_streams() {
  static const choices<link_stream> c = {{"upstream", link_stream::upstream},
                                         {"downstream", link_stream::downstream},
                                         {"both", link_stream::both}};
  return c;
}

/// The server answers a command with 421 and closes the control connection.
struct idle_timeout {
  static definition<idle_timeout> define() {
    return definition<idle_timeout>("idle_timeout",
                                    "the embedded server's idle timeout: `421`, then it closes: "
                                    "`+QFTPERROR:-421`, `+QFTPERROR:-6`")
        .through_server();
  }
};

/// Checks that an action's "command" is an FTP verb (letters, at most 8).
void check_verb(const nlohmann::json& action, const std::string& source,
                const std::string& pointer);

/// The server answers a command with a reply of the scenario's instead of running it.
struct server_reply {
  std::string command;   ///< the verb, as written
  std::string argument;  ///< glob the argument must match (empty: any)
  std::string text;      ///< the reply, every line ending in CRLF
  std::int64_t count = 1;
  static definition<server_reply> define() {
    return definition<server_reply>("server_reply",
                                    "the embedded server answers that command with `text` instead "
                                    "of running it: 550 → -550, 452 → -452, 530 on PASS → "
                                    "`+QFTPOPEN:-530`, 332 → -532 ...")
        .param(fault::text("command", &server_reply::command).required().doc("FTP verb, e.g. RETR"))
        .param(fault::text("argument", &server_reply::argument).doc("glob the argument must match"))
        .param(lines("text", &server_reply::text)
                   .required()
                   .doc("the reply line(s), e.g. \"550 No such file.\""))
        .param(integer("count", &server_reply::count, 1).fallback(1))
        .through_server()
        .arming()
        .checked(check_verb);
  }
};

/// The server runs a command but answers late.
struct server_delay {
  std::string command;
  std::string argument;
  std::chrono::milliseconds delay{0};
  std::int64_t count = 1;
  static definition<server_delay> define() {
    return definition<server_delay>("server_delay",
                                    "the server runs the command but answers late (a second "
                                    "command meanwhile gets -3; past 30 s: -9)")
        .param(fault::text("command", &server_delay::command).required().doc("FTP verb, e.g. RETR"))
        .param(fault::text("argument", &server_delay::argument).doc("glob the argument must match"))
        .param(fault::duration("delay_ms", &server_delay::delay, 0).required())
        .param(integer("count", &server_delay::count, 1).fallback(1))
        .through_server()
        .arming()
        .checked(check_verb);
  }
};

/// Reads a quecsim-ftpd fault rule, its errors as scenario_error.
ftpd::fault_rule read_server_rule(const nlohmann::json& rule, const std::string& source,
                                  const std::string& pointer);

/// Any quecsim-ftpd fault rule.
struct server_fault {
  ftpd::fault_rule rule;
  static definition<server_fault> define() {
    return definition<server_fault>("server_fault",
                                    "any quecsim-ftpd fault rule (data_refuse → -425, data_drop → "
                                    "-426, data_silence → -9, shape ...)")
        .param(object<server_fault, ftpd::fault_rule>("rule", &server_fault::rule, read_server_rule)
                   .required()
                   .doc("a quecsim-ftpd fault rule, as in --ftp-faults files"))
        .through_server()
        .arming();
  }
};

/// The FTP control connection ends.
struct close_control {
  end_mode mode = end_mode::close;
  static definition<close_control> define() {
    return definition<close_control>("close_control",
                                     "the control connection ends: `+QFTPERROR:-6` while idle, "
                                     "the running command's code otherwise")
        .param(choice("mode", &close_control::mode, end_modes()).fallback("close"));
  }
};

/// The FTP data connection ends, now or after some bytes of the next one.
struct close_data {
  /// Which way the bytes counted by `after_bytes` flow.
  enum class way { up, down, both };
  end_mode mode = end_mode::reset;
  std::uint64_t after_bytes = 0;
  way direction = way::both;
  static definition<close_data> define() {
    return definition<close_data>("close_data",
                                  "the data connection ends now, or exactly `after_bytes` into "
                                  "the next one: -7 (reset), or a short transfer and the "
                                  "server's -426 (close)")
        .param(choice("mode", &close_data::mode, end_modes()).fallback("reset"))
        .param(integer("after_bytes", &close_data::after_bytes, 0).fallback(0))
        .param(choice("direction", &close_data::direction,
                      choices<way>{{"up", way::up}, {"down", way::down}, {"both", way::both}})
                   .fallback("both"))
        .arming_when([](const close_data& a) { return a.after_bytes > 0; });
  }
};

/// The peer of the socket service's TCP sockets ends them.
struct close_socket {
  end_mode mode = end_mode::close;
  static definition<close_socket> define() {
    return definition<close_socket>("close_socket",
                                    "the peer ends every open TCP socket (AT+QIOPEN), gracefully "
                                    "(`close`: the bytes in flight are still read) or with a "
                                    "reset: `CLOSED` (`<i>, CLOSED` with AT+QIMUX=1)")
        .param(choice("mode", &close_socket::mode, end_modes()).fallback("close"));
  }
};

/// Every connection is reset at once while the packet context stays up.
struct reset_connections {
  static definition<reset_connections> define() {
    return definition<reset_connections>(
        "reset_connections",
        "every open connection and listener is reset at once, the packet context staying up (a "
        "NAT box or firewall that lost its state): `+QFTPERROR:-6` while idle, the running "
        "command's code otherwise");
  }
};

/// The network tears the packet context down.
struct pdp_deact {
  std::chrono::milliseconds refuse{0};
  static definition<pdp_deact> define() {
    return definition<pdp_deact>(
               "pdp_deact",
               "the network tears the packet context down: `+PDP DEACT`, every connection gone, "
               "a command in flight ends with -8 (idle: `+QFTPERROR:-8`); with `refuse_ms`, "
               "AT+QIACT and AT+QFTPOPEN fail until then")
        .param(fault::duration("refuse_ms", &pdp_deact::refuse, 0).fallback(0));
  }
};

/// The network refuses the packet context.
struct no_network {
  std::chrono::milliseconds duration{0};  ///< 0: until network_back
  static definition<no_network> define() {
    return definition<no_network>("no_network",
                                  "the network refuses the packet context (`duration_ms` 0: until "
                                  "`network_back`): AT+QIACT answers ERROR, AT+QFTPOPEN -5")
        .param(fault::duration("duration_ms", &no_network::duration, 0).fallback(0))
        .arming();
  }
};

/// The network accepts the packet context again.
struct network_back {
  static definition<network_back> define() {
    return definition<network_back>("network_back", "ends `no_network`").arming();
  }
};

/// The next name lookups fail.
struct dns_fail {
  int count = 1;
  std::string name;  ///< only lookups of this name ("" any)
  static definition<dns_fail> define() {
    return definition<dns_fail>("dns_fail",
                                "the next name lookups fail: `+QFTPOPEN:-4`; a socket's "
                                "AT+QIOPEN `CONNECT FAIL`, AT+QIDNSGIP `ERROR` after `OK`")
        .param(integer("count", &dns_fail::count, 1).fallback(1))
        .param(fault::text("name", &dns_fail::name)
                   .fallback("")
                   .doc("only lookups of this host name, any case (absent: any)"))
        .arming();
  }
};

/// The next connects are refused.
struct connect_refuse {
  int count = 1;
  conn_role role = conn_role::control;
  static definition<connect_refuse> define() {
    return definition<connect_refuse>("connect_refuse", "the next connects are refused: -5")
        .param(integer("count", &connect_refuse::count, 1).fallback(1))
        .param(choice("role", &connect_refuse::role, conn_roles()).fallback("control"))
        .arming();
  }
};

/// The next SYNs are never answered.
struct connect_timeout {
  int count = 1;
  conn_role role = conn_role::control;
  static definition<connect_timeout> define() {
    return definition<connect_timeout>(
               "connect_timeout",
               "the next SYNs are never answered: the command's timer runs out, -9")
        .param(integer("count", &connect_timeout::count, 1).fallback(1))
        .param(choice("role", &connect_timeout::role, conn_roles()).fallback("control"))
        .arming();
  }
};

/// UDP datagrams of the socket service are lost or arrive twice.
struct udp_datagram {
  /// What happens to a datagram.
  enum class fate { lose, duplicate };
  fate effect = fate::lose;
  int count = 1;
  link_stream stream = link_stream::both;
  static definition<udp_datagram> define() {
    return definition<udp_datagram>(
               "udp_datagram",
               "the next `count` UDP datagrams of the sockets (-1: every one) moving that way "
               "(`upstream` module → peer) are lost, or arrive twice: `SEND OK` either way")
        .param(choice("effect", &udp_datagram::effect,
                      choices<fate>{{"lose", fate::lose}, {"duplicate", fate::duplicate}})
                   .required())
        .param(integer("count", &udp_datagram::count, -1).fallback(1).doc("-1: every one"))
        .param(choice("stream", &udp_datagram::stream, link_streams()).fallback("both"))
        .arming();
  }
};

/// Nothing moves on any connection.
struct stall {
  std::chrono::milliseconds duration{0};  ///< 0: until unstall
  static definition<stall> define() {
    return definition<stall>("stall",
                             "nothing moves on any connection (`duration_ms` 0: until "
                             "`unstall`): the running command's timer gives -9")
        .param(fault::duration("duration_ms", &stall::duration, 0).fallback(0))
        .arming();
  }
};

/// The link flows again.
struct unstall {
  static definition<unstall> define() {
    return definition<unstall>("unstall", "ends `stall`").arming();
  }
};

/// Checks that a toxic has the parameters its type needs (a toxic without them does nothing).
void check_toxic(const nlohmann::json& action, const std::string& source,
                 const std::string& pointer);

/// Link shaping in toxiproxy's vocabulary.
struct toxic {
  /// The toxics of toxiproxy quecsim has.
  enum class kind { latency, bandwidth, slicer, limit_data, timeout };
  kind type = kind::latency;
  link_stream stream = link_stream::both;
  conn_role role = conn_role::any;
  std::chrono::milliseconds latency{0};
  std::chrono::milliseconds jitter{0};
  std::uint64_t rate = 0;
  std::size_t average_size = 0;
  std::size_t size_variation = 0;
  std::chrono::milliseconds delay{0};
  std::uint64_t bytes = 0;
  bool reset = false;
  std::chrono::milliseconds timeout{0};
  int connections = -1;  ///< -1: every new connection, and the open ones
  std::chrono::milliseconds duration{0};
  /// The types as scenarios name them.
  static const choices<kind>& kinds() {
    static const choices<kind> c = {{"latency", kind::latency},
                                    {"bandwidth", kind::bandwidth},
                                    {"slicer", kind::slicer},
                                    {"limit_data", kind::limit_data},
                                    {"timeout", kind::timeout}};
    return c;
  }
  /// The streams as scenarios name them.
  static const choices<link_stream>& streams() {
    static const choices<link_stream> c = {{"upstream", link_stream::upstream},
                                           {"downstream", link_stream::downstream},
                                           {"both", link_stream::both}};
    return c;
  }
  static definition<toxic> define() {
    return definition<toxic>(
               "toxic",
               "link shaping in toxiproxy's vocabulary: `latency` (+ jitter), `bandwidth` "
               "(bytes/s), `slicer` (small pieces with delays), `limit_data` (the stream ends "
               "after `bytes`), `timeout` (nothing passes; reset after `timeout_ms`), per "
               "direction (`upstream` module → server, `downstream`) and role")
        .param(choice("type", &toxic::type, kinds()).required())
        .param(choice("stream", &toxic::stream, streams()).fallback("both"))
        .param(choice("role", &toxic::role, conn_roles()).fallback("any"))
        .param(fault::duration("latency_ms", &toxic::latency, 0))
        .param(fault::duration("jitter_ms", &toxic::jitter, 0))
        .param(integer("rate", &toxic::rate, 1).doc("bytes per simulated second"))
        .param(integer("average_size", &toxic::average_size, 1))
        .param(integer("size_variation", &toxic::size_variation, 0))
        .param(fault::duration("delay_ms", &toxic::delay, 0))
        .param(integer("bytes", &toxic::bytes, 0))
        .param(flag("reset", &toxic::reset).fallback(false))
        .param(fault::duration("timeout_ms", &toxic::timeout, 0))
        .param(integer("connections", &toxic::connections, 1)
                   .doc("how many new connections it applies to (absent: all, and the open ones)"))
        .param(fault::duration("duration_ms", &toxic::duration, 1)
                   .doc("removed again after this long"))
        .arming()
        .checked(check_toxic);
  }
};

/// Every toxic removed.
struct clear_toxics {
  static definition<clear_toxics> define() {
    return definition<clear_toxics>("clear_toxics", "every toxic removed").arming();
  }
};

/// The module's output is held back.
struct host_delay {
  std::chrono::milliseconds ms{0};
  std::uint64_t bytes = 0;  ///< 0: everything until the delay ends
  static definition<host_delay> define() {
    return definition<host_delay>("host_delay",
                                  "the module's output is held back (`bytes` 0: everything until "
                                  "the delay ends)")
        .param(fault::duration("ms", &host_delay::ms, 1).required())
        .param(integer("bytes", &host_delay::bytes, 0).fallback(0))
        .arming();
  }
};

/// The module's output reaches the host in pieces.
struct host_split {
  std::size_t size = 1;
  std::chrono::milliseconds gap{20};
  std::uint64_t bytes = 0;  ///< 0: the next write
  static definition<host_split> define() {
    return definition<host_split>("host_split",
                                  "the output reaches the host in pieces of `size` bytes with "
                                  "gaps (`bytes` 0: the next write)")
        .param(integer("size", &host_split::size, 1).required())
        .param(fault::duration("gap_ms", &host_split::gap, 0).fallback(20))
        .param(integer("bytes", &host_split::bytes, 0).fallback(0))
        .arming();
  }
};

/// The module's next bytes reach the host twice.
struct host_duplicate {
  std::uint64_t bytes = 0;
  static definition<host_duplicate> define() {
    return definition<host_duplicate>("host_duplicate",
                                      "the module's next `bytes` bytes reach the host twice")
        .param(integer("bytes", &host_duplicate::bytes, 1).required())
        .arming();
  }
};

/// The module's next bytes never reach the host.
struct host_drop {
  std::uint64_t bytes = 0;
  static definition<host_drop> define() {
    return definition<host_drop>("host_drop",
                                 "the module's next `bytes` bytes never reach the host")
        .param(integer("bytes", &host_drop::bytes, 1).required())
        .arming();
  }
};

/// Random bytes on the line.
struct host_garbage {
  std::size_t length = 0;
  static definition<host_garbage> define() {
    return definition<host_garbage>("host_garbage", "random bytes (from the seed) on the line")
        .param(integer("length", &host_garbage::length, 1).at_most(1 << 20).required());
  }
};

/// The module restarts (AT+CFUN=1,1).
struct restart {
  static definition<restart> define() {
    return definition<restart>(
        "restart", "AT+CFUN=1,1: the power-up lines again, FTP state and settings lost");
  }
};

/// The supply dips.
struct brownout {
  std::string text = "UNDER-VOLTAGE POWER DOWN";
  std::chrono::milliseconds off{5000};
  static definition<brownout> define() {
    return definition<brownout>("brownout",
                                "that line, silence (the module hears nothing), then the "
                                "power-up lines")
        .param(fault::text("text", &brownout::text).fallback("UNDER-VOLTAGE POWER DOWN"))
        .param(fault::duration("off_ms", &brownout::off, 0).fallback(5000));
  }
};

/// An unsolicited line.
struct urc {
  std::string text;
  static definition<urc> define() {
    return definition<urc>("urc",
                           "any unsolicited line (held while a command runs, like the module's "
                           "own)")
        .param(fault::text("text", &urc::text).required());
  }
};

/// Raw bytes to the host.
struct raw {
  std::string bytes;
  static definition<raw> define() {
    return definition<raw>("raw", "raw bytes to the host at once")
        .param(fault::text("bytes", &raw::bytes).required());
  }
};

/// The registration changes.
struct registration {
  /// Which registration changes.
  enum class which { both, cs, ps };
  module::reg_status status = module::reg_status::home;
  which domain = which::both;
  /// The statuses as scenarios name them.
  static const choices<module::reg_status>& statuses() {
    using module::reg_status;
    static const choices<reg_status> c = {{"home", reg_status::home},
                                          {"roaming", reg_status::roaming},
                                          {"searching", reg_status::searching},
                                          {"denied", reg_status::denied},
                                          {"not_registered", reg_status::not_registered},
                                          {"unknown", reg_status::unknown}};
    return c;
  }
  static definition<registration> define() {
    return definition<registration>(
               "registration",
               "the registration changes: `+CREG`/`+CGREG` lines when the host enabled them; "
               "losing packet registration takes the context down (`+PDP DEACT`), and AT+QIACT / "
               "AT+QFTPOPEN fail (-5) until it returns")
        .param(choice("status", &registration::status, statuses()).required())
        .param(choice("domain", &registration::domain,
                      choices<which>{{"both", which::both}, {"cs", which::cs}, {"ps", which::ps}})
                   .fallback("both"));
  }
};

/// What AT+CSQ reports.
struct signal_quality {
  int rssi = 0;
  int ber = 0;
  static definition<signal_quality> define() {
    return definition<signal_quality>("signal", "what AT+CSQ reports from now")
        .param(integer("rssi", &signal_quality::rssi, 0).at_most(99).required())
        .param(integer("ber", &signal_quality::ber, 0).at_most(99).fallback(0));
  }
};

/// The SIM's state.
struct sim {
  module::sim_status state = module::sim_status::ready;
  /// The states as scenarios name them.
  static const choices<module::sim_status>& states() {
    using module::sim_status;
    static const choices<sim_status> c = {{"ready", sim_status::ready},
                                          {"pin", sim_status::pin},
                                          {"puk", sim_status::puk},
                                          {"removed", sim_status::removed}};
    return c;
  }
  static definition<sim> define() {
    return definition<sim>("sim", "the SIM asks for its PIN or PUK, or is gone")
        .param(choice("state", &sim::state, states()).required());
  }
};

/// A file of the module's own storage disappears.
struct delete_local {
  std::string name;  ///< `name`, `RAM:name` or `SD:name`
  static definition<delete_local> define() {
    return definition<delete_local>("delete_local",
                                    "a file of the module's own storage (`name`, `RAM:name`, "
                                    "`SD:name`) disappears: a PUT from it gives -11")
        .param(fault::text("name", &delete_local::name).required());
  }
};

/// Other data fills a storage area.
struct fill_storage {
  /// The module's storage areas.
  enum class area { ufs, ram, sd };
  area where = area::ufs;
  std::uint64_t leave_bytes = 0;
  /// The areas as scenarios name them.
  static const choices<area>& areas() {
    static const choices<area> c = {{"ufs", area::ufs}, {"ram", area::ram}, {"sd", area::sd}};
    return c;
  }
  static definition<fill_storage> define() {
    return definition<fill_storage>("fill_storage",
                                    "other data fills the area: a GET into it gives -12")
        .param(choice("area", &fill_storage::where, areas()).fallback("ufs"))
        .param(integer("leave_bytes", &fill_storage::leave_bytes, 0).fallback(0));
  }
};

/// An FTP session opened behind the host's back.
struct open_session {
  std::string host = "stale.example";
  int port = 21;
  std::string user;
  std::string password;
  static definition<open_session> define() {
    return definition<open_session>("open_session",
                                    "an FTP session opened without a result line, as a previous "
                                    "run leaves one: the host's AT+QFTPOPEN then gets -3")
        .param(fault::text("host", &open_session::host).fallback("stale.example"))
        .param(integer("port", &open_session::port, 1).at_most(65535).fallback(21))
        .param(fault::text("user", &open_session::user).fallback(""))
        .param(fault::text("password", &open_session::password).fallback(""));
  }
};

/// One action with its typed parameters. The order is the docs' table's.
using action_value =
    std::variant<idle_timeout, server_reply, server_delay, server_fault, close_control, close_data,
                 close_socket, reset_connections, pdp_deact, no_network, network_back, dns_fail,
                 connect_refuse, connect_timeout, udp_datagram, stall, unstall, toxic, clear_toxics,
                 host_delay, host_split, host_duplicate, host_drop, host_garbage, restart, brownout,
                 urc, raw, registration, signal_quality, sim, delete_local, fill_storage,
                 open_session>;

/// One action's definition with its type erased: what the loader, the schema and the docs
/// need of it.
struct action_spec {
  std::string name;
  std::string doc;
  std::vector<param_spec> params;
  bool embedded = false;
  /// Checks across parameters (may be empty).
  std::function<void(const nlohmann::json&, const std::string&, const std::string&)> check;
  /// Makes the typed value from a checked action object (defaults filled in).
  std::function<action_value(const nlohmann::json&, const std::string& source,
                             const std::string& pointer)>
      build;
  /// Whether a typed value of this action only arms something.
  std::function<bool(const action_value&)> arms;
};

/// Every action's definition, in `action_value`'s order (its index is the value's index).
const std::vector<action_spec>& action_specs();

}  // namespace quecsim::fault
