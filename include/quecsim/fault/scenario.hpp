#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "quecsim/fault/actions.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/ftpd/fault.hpp"

namespace quecsim::fault {

/// What makes an event fire.
enum class trigger_kind {
  time,         ///< a simulated time after start (`time_ms`, optionally every `period_ms`)
  command,      ///< an AT command line received (prefix or regular expression)
  response,     ///< a line the module sends outside data mode (prefix or regular expression)
  final,        ///< the final result of a command line that starts with a prefix
  bytes,        ///< N bytes of a transfer moved (up or down, from CONNECT or the data connection)
  ftp_command,  ///< the module's FTP client sends a command (verb)
  ftp_reply,    ///< the module's FTP client receives a reply code
  state,        ///< a machine (ftp, pdp, uart, module) enters a state
};

/// The trigger of an event; which fields count depends on `kind`.
struct trigger {
  trigger_kind kind = trigger_kind::time;
  std::chrono::milliseconds at{0};      ///< time
  std::chrono::milliseconds period{0};  ///< time: repeat every period (0: once)
  std::string text;  ///< command/final: upper-case prefix; response: prefix; ftp_command: verb
  std::optional<std::regex> pattern;  ///< command/response given as `*_regex`
  std::uint64_t bytes = 0;            ///< bytes: the threshold
  bool upstream = false;              ///< bytes: host → server (true) or server → host
  bool from_connect = false;          ///< bytes: count UART bytes since CONNECT, not data bytes
  int reply_code = 0;                 ///< ftp_reply
  std::string machine;                ///< state: ftp, pdp, uart or module
  std::string state;                  ///< state: the state entered (as the transcript names it)
};

/// One kind of trigger, defined once: the key that names it, what the docs' table shows, the
/// keys of its object as JSON Schema properties (the generated schema's), and its parser.
struct trigger_spec {
  std::string key;      ///< e.g. "ftp_reply"
  std::string what;     ///< for messages: "an FTP reply trigger"
  std::string example;  ///< the docs' first column (Markdown)
  std::string doc;      ///< when it fires (Markdown, one line)
  /// The object's keys, each with its JSON Schema; the first is `key` itself.
  std::vector<std::pair<std::string, nlohmann::json>> keys;
  std::vector<std::string> required;  ///< empty: only `key`
  /// Reads the trigger object `w` (its keys already checked) at pointer `p` into `t`;
  /// throws scenario_error.
  std::function<void(const nlohmann::json& w, trigger& t, const std::string& source,
                     const std::string& p)>
      parse;
};

/// Every trigger, in the order messages and the docs list them.
const std::vector<trigger_spec>& trigger_specs();

/// A state that must hold when a trigger matches for its event to fire.
struct condition {
  std::string machine;
  std::string state;
};

/// One action, validated: its typed value, and the object as written with its defaults filled
/// in (the transcript records a live action's object, so that a replay applies it again).
struct action {
  std::string name;       ///< e.g. "pdp_deact"
  nlohmann::json params;  ///< the action object, defaults filled in
  std::string pointer;    ///< where it stood, for messages
  action_value value;     ///< what the injector applies
};

/// One event of a scenario: a trigger, conditions, and the actions it runs.
struct event {
  std::string name;
  std::string pointer;  ///< JSON pointer of the event in its file
  trigger when;
  std::vector<condition> conditions;
  std::int64_t count = 1;              ///< how many times it fires; -1 unlimited
  std::uint64_t every = 1;             ///< fires on every Nth match of its trigger
  std::chrono::milliseconds after{0};  ///< delay between the match and the actions
  double probability = 1.0;  ///< chance that a match fires (drawn from the seeded generator)
  std::vector<action> actions;
};

/// A file a scenario places in the embedded server's root before anything starts.
struct server_file {
  std::string path;                 ///< relative to the served root
  std::optional<std::string> text;  ///< exact contents (Latin-1: each character one byte)
  std::uint64_t size = 0;           ///< without `text`: this many seeded pseudo-random bytes
};

/// What the run must have shown, checked when `quecsim` exits.
struct expectations {
  std::vector<std::string> lines;        ///< lines the host must have seen (outside data mode)
  std::optional<std::string> ftp_state;  ///< the FTP state at exit (AT+QFTPSTAT's names)
  struct file {
    std::string path;    ///< relative to the served root
    std::string sha256;  ///< lower-case hex
  };
  std::vector<file> files;  ///< files on the server with their SHA-256
  bool empty() const { return lines.empty() && !ftp_state && files.empty(); }
};

/// Module settings a scenario needs; each overrides the default but not the command line.
struct module_settings {
  std::optional<std::string> model;
  std::optional<unsigned> baud;
  std::optional<double> latency_ms;
  std::optional<std::uint64_t> bandwidth;
  std::optional<double> time_scale;
  std::optional<bool> autobaud;  ///< AT+IPR=0 at power-up: nothing is sent before the host's AT
};

/// One scenario file, validated.
struct scenario {
  std::string source;  ///< the file it came from (or "control" for one sent live)
  std::string name;
  std::string description;
  std::optional<std::uint64_t> seed;
  module_settings module;
  std::vector<ftpd::user> users;                ///< accounts of the embedded server
  std::vector<ftpd::fault_rule> server_faults;  ///< rules of the embedded server from the start
  std::vector<server_file> files;
  std::vector<event> events;
  expectations expect;
  /// The modules of the process it acts on (`"modules"`: a number, an array of them, or
  /// "all"); empty means every module.
  std::vector<int> modules;
  bool modules_listed = false;  ///< "modules" was an array (for the pointers of messages)
  /// Whether anything in it needs the embedded server (its rules, files, server actions).
  bool needs_embedded_server() const;
  /// Whether it acts on module `id`.
  bool targets(int id) const;
};

/// Parses a scenario document; `source` prefixes error messages.
scenario parse_scenario(const nlohmann::json& doc, const std::string& source);
/// Reads and parses a scenario file; syntax errors name the line and column.
scenario load_scenario(const std::filesystem::path& file);
/// Checks that every module the scenario names exists in a process of `count` modules
/// (ids 0 to count - 1); throws scenario_error naming the source and the pointer.
void check_targets(const scenario& s, int count);
/// The top-level keys a scenario may hold, in the order messages list them.
const std::vector<std::string>& scenario_keys();
/// Validates one action object (as scenario files and the control socket give them) and fills
/// in its defaults. Throws scenario_error naming `source` and `pointer`.
action parse_action(const nlohmann::json& object, const std::string& source,
                    const std::string& pointer);
/// The action names, sorted.
std::vector<std::string> action_names();
/// The parameters an action takes besides "action", in table order (for the schema's check).
std::vector<std::string> action_parameters(const std::string& name);
/// Whether an action needs the embedded FTP server (it acts through its fault rules).
bool needs_embedded_server(const action& a);
/// Whether an action only arms something (a rule, a toxic, a host-side fault) and so may run
/// inside the event that triggered it, before the module answers the command that matched:
/// a host-side fault on "AT+CSQ" then hits AT+CSQ's own answer. Actions that change the
/// module's state run after the triggering event has been handled.
bool arms_only(const action& a);
/// Parses JSON text, turning a syntax error into a scenario_error with line and column.
nlohmann::json parse_json_text(const std::string& text, const std::string& source);
/// A JSON file's document as it stands now; null when it cannot be read or is not JSON (for
/// the transcript, which records what a module loaded and must not fail for it).
nlohmann::json read_json_or_null(const std::filesystem::path& file);
/// Replaces every string "password" value in a scenario document (server users) with "****":
/// a scenario written to a transcript never carries a password.
void mask_passwords(nlohmann::json& doc);

/// The state machines a trigger's "if" and a scenario's expectations may name, each with its
/// states (the FTP service's as AT+QFTPSTAT prints them).
const std::map<std::string, std::vector<std::string>>& machine_states();

}  // namespace quecsim::fault
