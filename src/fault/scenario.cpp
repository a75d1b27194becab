#include "quecsim/fault/scenario.hpp"

#include "quecsim/core/json_text.hpp"
#include "quecsim/ftp/states.hpp"
#include "quecsim/serial/uart_rates.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace quecsim::fault {
const std::map<std::string, std::vector<std::string>>& machine_states() {
  static const std::map<std::string, std::vector<std::string>> m = {
      {"ftp", {ftp::state_names.begin(), ftp::state_names.end()}},
      {"pdp", {"active", "inactive"}},
      {"uart", {"command", "data"}},
      {"module", {"ready", "restarting", "off"}},
  };
  return m;
}

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& source, const std::string& pointer,
                       const std::string& expected) {
  fail_at(source, pointer, expected);
}

// A value of the wrong kind or out of range: what was expected, and what was found.
[[noreturn]] void fail_value(const std::string& source, const std::string& pointer,
                             const std::string& expected, const json& v) {
  fail(source, pointer, expected + ", got " + json_text::found(v));
}

// An unknown name: the nearest known one, when it is close enough to be a typo.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& known) {
  const std::string near = json_text::nearest(name, known);
  return near.empty() ? std::string() : "; did you mean \"" + near + "\"?";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ---- parameters of actions (their definitions are in actions.hpp) --------------------------

const action_spec* find_spec(const std::string& name) {
  for (const auto& s : action_specs())
    if (name == s.name) return &s;
  return nullptr;
}

std::string describe(const param_spec& p) {
  switch (p.type) {
    case param_type::integer:
      if (p.max != INT64_MAX) {
        return "an integer from " + std::to_string(p.min) + " to " + std::to_string(p.max);
      }
      return "an integer of at least " + std::to_string(p.min);
    case param_type::string:
      return "a string";
    case param_type::boolean:
      return "true or false";
    case param_type::choice:
      return "one of " + join(p.choices);
    case param_type::lines:
      return "a string or an array of strings (the reply lines)";
    case param_type::object:
      return "an object";
  }
  return "a value";
}

bool fits(const param_spec& p, const json& v) {
  switch (p.type) {
    case param_type::integer: {
      if (!v.is_number_integer()) return false;
      if (v.is_number_unsigned()) {
        return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(p.max) &&
               static_cast<std::int64_t>(v.get<std::uint64_t>()) >= p.min;
      }
      const auto n = v.get<std::int64_t>();
      return n >= p.min && n <= p.max;
    }
    case param_type::string:
      return v.is_string();
    case param_type::boolean:
      return v.is_boolean();
    case param_type::choice:
      return v.is_string() &&
             std::find(p.choices.begin(), p.choices.end(), v.get<std::string>()) != p.choices.end();
    case param_type::lines:
      if (v.is_string()) return !v.get<std::string>().empty();
      return v.is_array() && !v.empty() &&
             std::all_of(v.begin(), v.end(), [](const json& l) { return l.is_string(); });
    case param_type::object:
      return v.is_object();
  }
  return false;
}

// ---- generic readers -----------------------------------------------------------------------

void only_keys(const json& o, const std::vector<std::string>& allowed, const std::string& source,
               const std::string& pointer, const std::string& what) {
  for (const auto& [k, v] : o.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      fail(source, pointer + "/" + k,
           "unknown key in " + what + did_you_mean(k, allowed) + " (expected " + join(allowed) +
               ")");
    }
  }
}

const json& object_at(const json& v, const std::string& source, const std::string& pointer,
                      const std::string& what) {
  if (!v.is_object()) fail_value(source, pointer, "expected " + what, v);
  return v;
}

std::string string_at(const json& v, const std::string& source, const std::string& pointer,
                      bool non_empty = true) {
  if (!v.is_string() || (non_empty && v.get<std::string>().empty())) {
    fail_value(source, pointer, non_empty ? "expected a non-empty string" : "expected a string", v);
  }
  return v.get<std::string>();
}

std::int64_t integer_at(const json& v, const std::string& source, const std::string& pointer,
                        std::int64_t min, std::int64_t max = INT64_MAX) {
  bool ok = v.is_number_integer();
  std::int64_t n = 0;
  if (ok && v.is_number_unsigned()) {
    ok = v.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX);
    if (ok) n = static_cast<std::int64_t>(v.get<std::uint64_t>());
  } else if (ok) {
    n = v.get<std::int64_t>();
  }
  if (!ok || n < min || n > max) {
    fail_value(source, pointer,
               max == INT64_MAX ? "expected an integer of at least " + std::to_string(min)
                                : "expected an integer from " + std::to_string(min) + " to " +
                                      std::to_string(max),
               v);
  }
  return n;
}

double number_at(const json& v, const std::string& source, const std::string& pointer, double min,
                 double max, bool min_exclusive) {
  if (!v.is_number()) fail_value(source, pointer, "expected a number", v);
  const double x = v.get<double>();
  if ((min_exclusive ? x <= min : x < min) || x > max) {
    std::ostringstream why;
    why << "expected a number " << (min_exclusive ? "greater than " : "of at least ") << min;
    if (max < 1e300) why << " and at most " << max;
    fail_value(source, pointer, why.str(), v);
  }
  return x;
}

std::regex regex_at(const json& v, const std::string& source, const std::string& pointer) {
  const std::string text = string_at(v, source, pointer);
  try {
    return std::regex(text, std::regex::ECMAScript | std::regex::icase);
  } catch (const std::regex_error& e) {
    fail(source, pointer, std::string("expected a regular expression (") + e.what() + ")");
  }
}

// ---- states, commands and verbs a trigger may name ------------------------------------------

std::vector<std::string> machine_names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : machine_states()) out.push_back(k);
  return out;
}

void check_state(const std::string& machine, const std::string& state, const std::string& source,
                 const std::string& pointer) {
  const auto& states = machine_states().at(machine);
  if (std::find(states.begin(), states.end(), state) == states.end()) {
    fail(source, pointer, "expected a state of " + machine + ": " + join(states));
  }
}

// The FTP verbs the module's client sends: a trigger on any other never fires.
const std::vector<std::string> client_verbs = {
    "USER", "PASS", "TYPE", "SIZE", "CWD",  "PWD",  "DELE", "MKD",  "RMD",  "RNFR", "RNTO",
    "PASV", "PORT", "REST", "RETR", "STOR", "QUIT", "NOOP", "LIST", "NLST", "APPE"};

// An AT prefix must start with AT; what follows up to '=' or '?' is the command the trigger
// waits for. Whether the module knows that command is checked once the module exists.
std::string command_prefix(const json& v, const std::string& source, const std::string& pointer) {
  std::string text = upper(string_at(v, source, pointer));
  if (text.rfind("AT", 0) != 0) {
    fail(source, pointer, "expected an AT command line prefix such as \"AT+QFTPGET\"");
  }
  return text;
}

trigger parse_trigger(const json& w, const std::string& source, const std::string& p) {
  object_at(w, source, p, "a trigger object such as {\"command\": \"AT+QFTPGET\"}");
  static const std::vector<std::string> mains = [] {
    std::vector<std::string> keys;
    for (const auto& t : trigger_specs()) keys.push_back(t.key);
    return keys;
  }();
  std::vector<std::string> present;
  for (const auto& m : mains)
    if (w.contains(m)) present.push_back(m);
  if (present.empty()) {
    // A misspelt trigger ("comand"): name it and the one it most likely meant.
    for (const auto& [key, value] : w.items()) {
      const std::string near = json_text::nearest(key, mains);
      if (!near.empty()) {
        fail(source, p + "/" + key,
             "unknown trigger \"" + key + "\"; did you mean \"" + near +
                 "\"? (expected exactly one trigger of " + join(mains) + ")");
      }
    }
  }
  if (present.size() != 1) {
    std::vector<std::string> keys;
    for (const auto& [key, value] : w.items()) keys.push_back("\"" + key + "\"");
    fail(source, p,
         "expected exactly one trigger of " + join(mains) +
             (present.empty() ? (keys.empty() ? ", got an empty object" : ", got " + join(keys))
                              : " (found " + join(present) + ")"));
  }
  const std::string& k = present.front();
  for (const auto& spec : trigger_specs()) {
    if (spec.key != k) continue;
    std::vector<std::string> allowed;
    for (const auto& [key, schema] : spec.keys) allowed.push_back(key);
    only_keys(w, allowed, source, p, spec.what);
    trigger t;
    spec.parse(w, t, source, p);
    return t;
  }
  fail(source, p + "/" + k, "unknown trigger");
}

std::vector<condition> parse_conditions(const json& c, const std::string& source,
                                        const std::string& p) {
  object_at(c, source, p, "an object of machine states such as {\"ftp\": \"TRANSFER\"}");
  std::vector<condition> out;
  for (const auto& [machine, state] : c.items()) {
    if (machine_states().count(machine) == 0) {
      fail(source, p + "/" + machine, "unknown machine (expected " + join(machine_names()) + ")");
    }
    const std::string s = string_at(state, source, p + "/" + machine);
    check_state(machine, s, source, p + "/" + machine);
    out.push_back({machine, s});
  }
  return out;
}

event parse_event(const json& e, const std::string& source, const std::string& p) {
  object_at(e, source, p, "an event object with \"when\" and \"do\"");
  only_keys(e, {"name", "when", "if", "count", "every", "after_ms", "probability", "do"}, source, p,
            "an event");
  event ev;
  ev.pointer = p;
  if (e.contains("name")) ev.name = string_at(e["name"], source, p + "/name");
  if (!e.contains("when")) fail(source, p, "expected \"when\": the trigger");
  ev.when = parse_trigger(e["when"], source, p + "/when");
  if (e.contains("if")) ev.conditions = parse_conditions(e["if"], source, p + "/if");
  if (e.contains("count")) {
    const auto& c = e["count"];
    if (c.is_string() && c == "unlimited") {
      ev.count = -1;
    } else if (!c.is_number_integer() || c.get<std::int64_t>() < 1) {
      fail_value(source, p + "/count", "expected an integer of at least 1 or \"unlimited\"", c);
    } else {
      ev.count = c.get<std::int64_t>();
    }
  }
  if (e.contains("every")) {
    ev.every = static_cast<std::uint64_t>(integer_at(e["every"], source, p + "/every", 1));
  }
  if (e.contains("after_ms")) {
    ev.after = std::chrono::milliseconds(integer_at(e["after_ms"], source, p + "/after_ms", 0));
  }
  if (e.contains("probability")) {
    ev.probability = number_at(e["probability"], source, p + "/probability", 0.0, 1.0, true);
  }
  if (!e.contains("do")) fail(source, p, "expected \"do\": a list of actions");
  const auto& d = e["do"];
  if (!d.is_array() || d.empty()) {
    fail_value(source, p + "/do", "expected a non-empty array of actions", d);
  }
  for (std::size_t i = 0; i < d.size(); ++i) {
    ev.actions.push_back(parse_action(d[i], source, p + "/do/" + std::to_string(i)));
  }
  if (ev.name.empty()) ev.name = p;
  return ev;
}

module_settings parse_module(const json& m, const std::string& source, const std::string& p) {
  object_at(m, source, p, "an object of module settings");
  only_keys(m, {"model", "baud", "latency_ms", "bandwidth", "time_scale", "autobaud"}, source, p,
            "module settings");
  module_settings s;
  if (m.contains("model")) {
    s.model = string_at(m["model"], source, p + "/model");
  }
  if (m.contains("baud")) {
    const auto b = integer_at(m["baud"], source, p + "/baud", 0);
    const auto rates = serial::line_rates();
    if (std::find(rates.begin(), rates.end(), b) == rates.end()) {
      fail_value(source, p + "/baud", "expected a UART rate such as 115200 (or 0 for no pacing)",
                 m["baud"]);
    }
    s.baud = static_cast<unsigned>(b);
  }
  if (m.contains("latency_ms")) {
    s.latency_ms = number_at(m["latency_ms"], source, p + "/latency_ms", 0.0, 1e300, false);
  }
  if (m.contains("bandwidth")) {
    s.bandwidth =
        static_cast<std::uint64_t>(integer_at(m["bandwidth"], source, p + "/bandwidth", 0));
  }
  if (m.contains("autobaud")) {
    if (!m["autobaud"].is_boolean()) {
      fail_value(source, p + "/autobaud", "expected true or false", m["autobaud"]);
    }
    s.autobaud = m["autobaud"].get<bool>();
  }
  if (m.contains("time_scale")) {
    s.time_scale = number_at(m["time_scale"], source, p + "/time_scale", 0.0, 1e300, true);
  }
  return s;
}

// A path inside the served root: relative, no `..`, no empty parts.
std::string relative_path(const json& v, const std::string& source, const std::string& p) {
  const std::string path = string_at(v, source, p);
  bool ok = path.front() != '/' && path.find('\0') == std::string::npos;
  std::istringstream parts(path);
  std::string part;
  while (ok && std::getline(parts, part, '/')) ok = !part.empty() && part != "." && part != "..";
  if (!ok) fail(source, p, "expected a relative path inside the served folder (no '..')");
  return path;
}

void parse_server(const json& s, const std::string& source, const std::string& p, scenario& out) {
  object_at(s, source, p, "an object with the embedded server's users, faults and files");
  only_keys(s, {"users", "faults", "files"}, source, p, "server settings");
  if (s.contains("users")) {
    const auto& u = s["users"];
    if (!u.is_array()) fail_value(source, p + "/users", "expected an array of accounts", u);
    for (std::size_t i = 0; i < u.size(); ++i) {
      const std::string up = p + "/users/" + std::to_string(i);
      object_at(u[i], source, up, "{\"name\": ..., \"password\": ...}");
      only_keys(u[i], {"name", "password", "home"}, source, up, "an account");
      ftpd::user user;
      if (!u[i].contains("name")) fail(source, up, "expected \"name\"");
      user.name = string_at(u[i]["name"], source, up + "/name");
      if (!u[i].contains("password")) fail(source, up, "expected \"password\"");
      user.password = string_at(u[i]["password"], source, up + "/password", false);
      if (u[i].contains("home")) user.home = string_at(u[i]["home"], source, up + "/home");
      out.users.push_back(user);
    }
  }
  if (s.contains("faults")) {
    const auto& f = s["faults"];
    if (!f.is_array()) fail_value(source, p + "/faults", "expected an array of fault rules", f);
    for (std::size_t i = 0; i < f.size(); ++i) {
      try {
        out.server_faults.push_back(
            ftpd::parse_fault_rule(f[i], source, p + "/faults/" + std::to_string(i)));
      } catch (const ftpd::fault_rule_error& e) {
        throw scenario_error(e.what());
      }
    }
  }
  if (s.contains("files")) {
    const auto& f = s["files"];
    if (!f.is_array()) fail_value(source, p + "/files", "expected an array of files", f);
    for (std::size_t i = 0; i < f.size(); ++i) {
      const std::string fp = p + "/files/" + std::to_string(i);
      object_at(f[i], source, fp, "{\"path\": ..., \"text\" or \"size\": ...}");
      only_keys(f[i], {"path", "text", "size"}, source, fp, "a server file");
      server_file file;
      if (!f[i].contains("path")) fail(source, fp, "expected \"path\"");
      file.path = relative_path(f[i]["path"], source, fp + "/path");
      if (f[i].contains("text") == f[i].contains("size")) {
        fail(source, fp, "expected either \"text\" (the contents) or \"size\" (random bytes)");
      }
      if (f[i].contains("text")) {
        file.text = string_at(f[i]["text"], source, fp + "/text", false);
      } else {
        file.size = static_cast<std::uint64_t>(
            integer_at(f[i]["size"], source, fp + "/size", 0, std::int64_t{1} << 32));
      }
      out.files.push_back(std::move(file));
    }
  }
}

expectations parse_expect(const json& x, const std::string& source, const std::string& p) {
  object_at(x, source, p, "an object of expectations");
  only_keys(x, {"lines", "ftp_state", "files"}, source, p, "expectations");
  expectations out;
  if (x.contains("lines")) {
    const auto& l = x["lines"];
    if (!l.is_array()) fail_value(source, p + "/lines", "expected an array of lines", l);
    for (std::size_t i = 0; i < l.size(); ++i) {
      out.lines.push_back(string_at(l[i], source, p + "/lines/" + std::to_string(i)));
    }
  }
  if (x.contains("ftp_state")) {
    out.ftp_state = string_at(x["ftp_state"], source, p + "/ftp_state");
    check_state("ftp", *out.ftp_state, source, p + "/ftp_state");
  }
  if (x.contains("files")) {
    const auto& f = x["files"];
    if (!f.is_array()) fail_value(source, p + "/files", "expected an array of files", f);
    for (std::size_t i = 0; i < f.size(); ++i) {
      const std::string fp = p + "/files/" + std::to_string(i);
      object_at(f[i], source, fp, "{\"path\": ..., \"sha256\": ...}");
      only_keys(f[i], {"path", "sha256"}, source, fp, "an expected file");
      expectations::file file;
      if (!f[i].contains("path")) fail(source, fp, "expected \"path\"");
      file.path = relative_path(f[i]["path"], source, fp + "/path");
      if (!f[i].contains("sha256")) fail(source, fp, "expected \"sha256\"");
      std::string hash = string_at(f[i]["sha256"], source, fp + "/sha256");
      for (auto& c : hash) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
        fail(source, fp + "/sha256", "expected 64 hexadecimal digits");
      }
      file.sha256 = hash;
      out.files.push_back(std::move(file));
    }
  }
  return out;
}

// "modules": "all", one module id, or an array of distinct ids.
std::vector<int> parse_modules(const json& m, const std::string& source, const std::string& p) {
  constexpr std::int64_t highest = 65535;
  if (m.is_string() && m == "all") return {};
  if (m.is_number_integer()) return {static_cast<int>(integer_at(m, source, p, 0, highest))};
  if (!m.is_array() || m.empty()) {
    fail(source, p,
         "expected \"all\", a module number (0 for the first) or a non-empty array of them");
  }
  std::vector<int> ids;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const std::string at = p + "/" + std::to_string(i);
    const auto id = static_cast<int>(integer_at(m[i], source, at, 0, highest));
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      fail(source, at, "module " + std::to_string(id) + " is named twice");
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

const std::vector<trigger_spec>& trigger_specs() {
  using ms = std::chrono::milliseconds;
  static const std::vector<trigger_spec> specs = {
      {"time_ms",
       "a time trigger",
       "`{\"time_ms\": T}` (+ `\"period_ms\": P`)",
       "T simulated ms after the scenario was loaded (then every P)",
       {{"time_ms",
         {{"type", "integer"},
          {"minimum", 0},
          {"description", "simulated ms after the scenario is loaded"}}},
        {"period_ms",
         {{"type", "integer"}, {"minimum", 1}, {"description", "then again every period"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::time;
         t.at = ms(integer_at(w["time_ms"], source, p + "/time_ms", 0));
         if (w.contains("period_ms")) {
           t.period = ms(integer_at(w["period_ms"], source, p + "/period_ms", 1));
         }
       }},
      {"command",
       "a command trigger",
       "`{\"command\": \"AT+QFTPGET\"}`",
       "a command is received (prefix, any case), before it runs",
       {{"command",
         {{"type", "string"},
          {"pattern", "^[aA][tT]"},
          {"description", "an AT command line received, by prefix, e.g. AT+QFTPGET"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::command;
         t.text = command_prefix(w["command"], source, p + "/command");
       }},
      {"command_regex",
       "a command trigger",
       "`{\"command_regex\": \"...\"}`",
       "a command is received (a regular expression, any case), before it runs",
       {{"command_regex",
         {{"type", "string"},
          {"description", "an AT command line received, by regular expression"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::command;
         t.pattern = regex_at(w["command_regex"], source, p + "/command_regex");
       }},
      {"response",
       "a response trigger",
       "`{\"response\": \"+QFTPOPEN:0\"}`",
       "the module sends a line outside data mode (information, result or unsolicited), by "
       "prefix",
       {{"response",
         {{"type", "string"},
          {"minLength", 1},
          {"description", "a line the module sends, by prefix, e.g. +QFTPOPEN:0"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::response;
         t.text = string_at(w["response"], source, p + "/response");
       }},
      {"response_regex",
       "a response trigger",
       "`{\"response_regex\": \"...\"}`",
       "the module sends a line outside data mode, matching a regular expression",
       {{"response_regex", {{"type", "string"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::response;
         t.pattern = regex_at(w["response_regex"], source, p + "/response_regex");
       }},
      {"final",
       "a final-result trigger",
       "`{\"final\": \"AT+QFTPOPEN\"}`",
       "the final result (OK, ERROR, ...) of a command line holding that command is sent",
       {{"final",
         {{"type", "string"},
          {"pattern", "^[aA][tT]"},
          {"description", "the final result of a command line starting with this prefix"}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::final;
         t.text = command_prefix(w["final"], source, p + "/final");
       }},
      {"bytes",
       "a bytes trigger",
       "`{\"bytes\": N, \"direction\": \"down\"\\|\"up\", \"from\": \"data\"\\|\"connect\"}`",
       "N bytes of the current transfer moved, counted on the data connection (default) or on "
       "the UART since CONNECT; fires once per transfer, at the granularity of the chunks moved "
       "(use `close_data`'s `after_bytes` for an exact cut)",
       {{"bytes", {{"type", "integer"}, {"minimum", 1}}},
        {"direction", {{"enum", {"up", "down"}}}},
        {"from",
         {{"enum", {"data", "connect"}},
          {"default", "data"},
          {"description", "count bytes on the data connection, or UART bytes after CONNECT"}}}},
       {"bytes", "direction"},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::bytes;
         t.bytes = static_cast<std::uint64_t>(integer_at(w["bytes"], source, p + "/bytes", 1));
         if (!w.contains("direction"))
           fail(source, p, "expected \"direction\": \"up\" or \"down\"");
         const auto& d = w["direction"];
         if (!d.is_string() || (d != "up" && d != "down")) {
           fail(source, p + "/direction", "expected \"up\" or \"down\"");
         }
         t.upstream = d == "up";
         if (w.contains("from")) {
           const auto& f = w["from"];
           if (!f.is_string() || (f != "connect" && f != "data")) {
             fail(source, p + "/from",
                  "expected \"connect\" (UART bytes after CONNECT) or \"data\" "
                  "(bytes on the data connection)");
           }
           t.from_connect = f == "connect";
         }
       }},
      {"ftp_command",
       "an FTP command trigger",
       "`{\"ftp_command\": \"RETR\"}`",
       "the module's FTP client sends that verb",
       {{"ftp_command", {{"enum", client_verbs}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         const std::string kp = p + "/ftp_command";
         t.kind = trigger_kind::ftp_command;
         t.text = upper(string_at(w["ftp_command"], source, kp));
         if (std::find(client_verbs.begin(), client_verbs.end(), t.text) == client_verbs.end()) {
           fail(source, kp, "expected an FTP verb the module sends: " + join(client_verbs));
         }
       }},
      {"ftp_reply",
       "an FTP reply trigger",
       "`{\"ftp_reply\": 150}`",
       "the module's FTP client receives a reply with that code",
       {{"ftp_reply", {{"type", "integer"}, {"minimum", 100}, {"maximum", 599}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         t.kind = trigger_kind::ftp_reply;
         t.reply_code =
             static_cast<int>(integer_at(w["ftp_reply"], source, p + "/ftp_reply", 100, 599));
       }},
      {"state",
       "a state trigger",
       "`{\"state\": {\"machine\": \"ftp\", \"to\": \"TRANSFER\"}}`",
       "a machine enters a state: `ftp` (AT+QFTPSTAT's names), `pdp` (`active`, `inactive`), "
       "`uart` (`command`, `data`), `module` (`ready`, `restarting`)",
       {{"state",
         {{"type", "object"},
          {"properties", {{"machine", {{"enum", machine_names()}}}, {"to", {{"type", "string"}}}}},
          {"required", {"machine", "to"}},
          {"additionalProperties", false}}}},
       {},
       [](const json& w, trigger& t, const std::string& source, const std::string& p) {
         const std::string kp = p + "/state";
         t.kind = trigger_kind::state;
         const auto& s = object_at(w["state"], source, kp, "{\"machine\": ..., \"to\": ...}");
         only_keys(s, {"machine", "to"}, source, kp, "a state trigger");
         if (!s.contains("machine")) {
           fail(source, kp, "expected \"machine\": " + join(machine_names()));
         }
         t.machine = string_at(s["machine"], source, kp + "/machine");
         if (machine_states().count(t.machine) == 0) {
           fail(source, kp + "/machine", "expected one of " + join(machine_names()));
         }
         if (!s.contains("to")) fail(source, kp, "expected \"to\": the state entered");
         t.state = string_at(s["to"], source, kp + "/to");
         check_state(t.machine, t.state, source, kp + "/to");
       }},
  };
  return specs;
}

void fail_at(const std::string& source, const std::string& pointer, const std::string& what) {
  throw scenario_error(source + ": " + (pointer.empty() ? "/" : pointer) + ": " + what);
}

std::vector<std::string> action_names() {
  std::vector<std::string> out;
  for (const auto& s : action_specs()) out.emplace_back(s.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> action_parameters(const std::string& name) {
  std::vector<std::string> out;
  if (const auto* s = find_spec(name))
    for (const auto& p : s->params) out.emplace_back(p.key);
  return out;
}

bool arms_only(const action& a) {
  return action_specs()[a.value.index()].arms(a.value);
}

bool needs_embedded_server(const action& a) {
  return action_specs()[a.value.index()].embedded;
}

bool scenario::needs_embedded_server() const {
  if (!server_faults.empty() || !files.empty() || !users.empty() || !expect.files.empty()) {
    return true;
  }
  for (const auto& e : events)
    for (const auto& a : e.actions)
      if (fault::needs_embedded_server(a)) return true;
  return false;
}

action parse_action(const json& o, const std::string& source, const std::string& p) {
  if (!o.is_object())
    fail_value(source, p, "expected an action object such as {\"action\": \"pdp_deact\"}", o);
  if (!o.contains("action")) fail(source, p, "expected \"action\": one of " + join(action_names()));
  const auto& n = o["action"];
  const action_spec* spec = n.is_string() ? find_spec(n.get<std::string>()) : nullptr;
  if (spec == nullptr) {
    // What was found, and for a misspelt name the action it most likely meant.
    fail(source, p + "/action",
         "expected one of " + join(action_names()) + ", got " + json_text::found(n) +
             (n.is_string() ? did_you_mean(n.get<std::string>(), action_names()) : ""));
  }
  std::vector<std::string> allowed = {"action"};
  for (const auto& prm : spec->params) allowed.emplace_back(prm.key);
  only_keys(o, allowed, source, p, std::string("action \"") + spec->name + "\"");
  action a;
  a.name = spec->name;
  a.pointer = p;
  a.params = o;
  for (const auto& prm : spec->params) {
    if (!o.contains(prm.key)) {
      if (prm.required)
        fail(source, p, std::string("expected \"") + prm.key + "\": " + describe(prm));
      if (!prm.fallback.is_null()) a.params[prm.key] = prm.fallback;
      continue;
    }
    if (!fits(prm, o[prm.key])) {
      fail_value(source, p + "/" + prm.key, "expected " + describe(prm), o[prm.key]);
    }
  }
  if (spec->check) spec->check(o, source, p);
  a.value = spec->build(a.params, source, p);
  return a;
}

const std::vector<std::string>& scenario_keys() {
  static const std::vector<std::string> keys = {
      "$schema", "name", "description", "seed", "modules", "module", "server", "events", "expect"};
  return keys;
}

bool scenario::targets(int id) const {
  return modules.empty() || std::find(modules.begin(), modules.end(), id) != modules.end();
}

void check_targets(const scenario& s, int count) {
  for (std::size_t i = 0; i < s.modules.size(); ++i) {
    if (s.modules[i] < count) continue;
    // A single number stood at /modules itself; an array's elements at /modules/i.
    const std::string pointer = s.modules_listed ? "/modules/" + std::to_string(i) : "/modules";
    fail(s.source, pointer,
         "expected a module of this process (" +
             (count == 1 ? std::string("only 0") : "0 to " + std::to_string(count - 1)) +
             "), got " + std::to_string(s.modules[i]));
  }
}

scenario parse_scenario(const json& doc, const std::string& source) {
  object_at(doc, source, "", "a scenario object with \"name\" and \"events\"");
  only_keys(doc, scenario_keys(), source, "", "a scenario");
  scenario s;
  s.source = source;
  if (!doc.contains("name")) fail(source, "", "expected \"name\"");
  s.name = string_at(doc["name"], source, "/name");
  if (!doc.contains("description")) fail(source, "", "expected \"description\": one line");
  s.description = string_at(doc["description"], source, "/description");
  if (s.description.find('\n') != std::string::npos) {
    fail(source, "/description", "expected one line");
  }
  if (doc.contains("$schema")) string_at(doc["$schema"], source, "/$schema");
  if (doc.contains("seed")) {
    s.seed = static_cast<std::uint64_t>(integer_at(doc["seed"], source, "/seed", 0));
  }
  if (doc.contains("modules")) {
    s.modules = parse_modules(doc["modules"], source, "/modules");
    s.modules_listed = doc["modules"].is_array();
  }
  if (doc.contains("module")) s.module = parse_module(doc["module"], source, "/module");
  if (doc.contains("server")) parse_server(doc["server"], source, "/server", s);
  if (doc.contains("events")) {
    const auto& e = doc["events"];
    if (!e.is_array()) fail_value(source, "/events", "expected an array of events", e);
    for (std::size_t i = 0; i < e.size(); ++i) {
      s.events.push_back(parse_event(e[i], source, "/events/" + std::to_string(i)));
    }
  }
  if (doc.contains("expect")) s.expect = parse_expect(doc["expect"], source, "/expect");
  return s;
}

json parse_json_text(const std::string& text, const std::string& source) {
  json_text::failure why;
  auto doc = json_text::parse(text, why);
  if (!doc) throw scenario_error(json_text::describe(source, why));
  return std::move(*doc);
}

scenario load_scenario(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw scenario_error(file.string() + ": cannot open the scenario file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_scenario(parse_json_text(text, file.string()), file.string());
}

nlohmann::json read_json_or_null(const std::filesystem::path& file) {
  std::ifstream in(file);
  auto doc = nlohmann::json::parse(in, nullptr, false);
  return doc.is_discarded() ? nlohmann::json() : doc;
}

void mask_passwords(nlohmann::json& doc) {
  if (doc.is_object()) {
    for (auto& [key, value] : doc.items()) {
      if (key == "password" && value.is_string()) {
        value = "****";
      } else {
        mask_passwords(value);
      }
    }
  } else if (doc.is_array()) {
    for (auto& value : doc) mask_passwords(value);
  }
}

}  // namespace quecsim::fault
