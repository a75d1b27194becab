#include "quecsim/ftpd/fault.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "quecsim/core/json_text.hpp"

namespace quecsim::ftpd {

namespace {

struct action_name {
  std::string_view name;
  fault_action action;
};

constexpr action_name action_names[] = {
    {"reply", fault_action::reply},
    {"delay", fault_action::delay},
    {"data_refuse", fault_action::data_refuse},
    {"data_silence", fault_action::data_silence},
    {"data_drop", fault_action::data_drop},
    {"close_control", fault_action::close_control},
    {"idle_timeout", fault_action::idle_timeout},
    {"shape", fault_action::shape},
};

// Which keys each action accepts besides the common ones.
const std::map<fault_action, std::set<std::string>>& action_keys() {
  static const std::map<fault_action, std::set<std::string>> keys = {
      {fault_action::reply, {"text"}},
      {fault_action::delay, {"after_ms"}},
      {fault_action::data_refuse, {"code"}},
      {fault_action::data_silence, {}},
      {fault_action::data_drop, {"after_bytes"}},
      {fault_action::close_control, {"after_commands", "after_ms"}},
      {fault_action::idle_timeout, {"after_ms"}},
      {fault_action::shape, {"channel", "bytes_per_second", "latency_ms"}},
  };
  return keys;
}

const std::set<std::string> common_keys = {"action", "command", "argument", "count",
                                           "sticky", "name",    "client"};

[[noreturn]] void fail(const std::string& source, const std::string& pointer,
                       const std::string& expected) {
  throw fault_rule_error(source + ": " + (pointer.empty() ? "/" : pointer) + ": " + expected);
}

// A value of the wrong kind or out of range: what was expected, and what was found.
[[noreturn]] void fail_value(const std::string& source, const std::string& pointer,
                             const std::string& expected, const nlohmann::json& v) {
  fail(source, pointer, expected + ", got " + json_text::found(v));
}

std::uint64_t get_uint(const nlohmann::json& v, const std::string& source,
                       const std::string& pointer, std::uint64_t min) {
  if (!v.is_number_integer() ||
      (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0))
    fail_value(source, pointer, "expected an integer of at least " + std::to_string(min), v);
  auto n = v.get<std::uint64_t>();
  if (n < min) {
    fail_value(source, pointer, "expected an integer of at least " + std::to_string(min), v);
  }
  return n;
}

std::string reply_text(const nlohmann::json& v, const std::string& source,
                       const std::string& pointer) {
  std::vector<std::string> lines;
  auto split = [&](const std::string& s) {
    std::size_t start = 0;
    while (start <= s.size()) {
      auto nl = s.find('\n', start);
      std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (nl == std::string::npos) {
        if (!line.empty()) lines.push_back(line);
        break;
      }
      lines.push_back(line);
      start = nl + 1;
    }
  };
  if (v.is_string()) {
    split(v.get<std::string>());
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) {
        fail_value(source, pointer + "/" + std::to_string(i), "expected a string", v[i]);
      }
      split(v[i].get<std::string>());
    }
  } else {
    fail_value(source, pointer, "expected a string or an array of strings (the reply lines)", v);
  }
  if (lines.empty()) fail(source, pointer, "expected at least one reply line");
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

}  // namespace

std::string_view to_string(fault_action a) {
  for (const auto& n : action_names)
    if (n.action == a) return n.name;
  return "unknown";
}

fault_rule parse_fault_rule(const nlohmann::json& o, const std::string& source,
                            const std::string& p) {
  if (!o.is_object()) fail_value(source, p, "expected a rule object with an \"action\"", o);
  if (!o.contains("action")) fail(source, p, "expected an \"action\"");
  const auto& a = o["action"];
  std::string names;
  for (const auto& n : action_names) names += (names.empty() ? "" : ", ") + std::string(n.name);
  if (!a.is_string()) fail_value(source, p + "/action", "expected one of " + names, a);
  fault_rule r;
  bool known = false;
  for (const auto& n : action_names) {
    if (n.name == a.get<std::string>()) {
      r.action = n.action;
      known = true;
    }
  }
  if (!known) {
    std::vector<std::string> known_names;
    for (const auto& n : action_names) known_names.emplace_back(n.name);
    const std::string near = json_text::nearest(a.get<std::string>(), known_names);
    fail(source, p + "/action",
         "expected one of " + names + ", got " + json_text::found(a) +
             (near.empty() ? std::string() : "; did you mean \"" + near + "\"?"));
  }
  const auto& allowed = action_keys().at(r.action);
  for (const auto& [k, v] : o.items()) {
    if (common_keys.count(k) == 0 && allowed.count(k) == 0) {
      std::string list;
      for (const auto& c : common_keys) list += (list.empty() ? "" : ", ") + c;
      for (const auto& c : allowed) list += ", " + c;
      std::vector<std::string> keys(common_keys.begin(), common_keys.end());
      keys.insert(keys.end(), allowed.begin(), allowed.end());
      const std::string near = json_text::nearest(k, keys);
      std::string why = "unknown key for action \"";
      why.append(to_string(r.action)).append("\"");
      if (!near.empty()) why.append("; did you mean \"").append(near).append("\"?");
      why.append(" (expected ").append(list).append(")");
      std::string key_pointer = p;
      key_pointer.append("/").append(k);
      fail(source, key_pointer, why);
    }
  }
  if (o.contains("command")) {
    const auto& c = o["command"];
    if (!c.is_string()) {
      fail_value(source, p + "/command", "expected a command verb such as \"RETR\"", c);
    }
    std::string verb = c.get<std::string>();
    if (verb == "*") verb.clear();
    if (verb.size() > 8 || !std::all_of(verb.begin(), verb.end(),
                                        [](unsigned char ch) { return std::isalpha(ch) != 0; }))
      fail(source, p + "/command", "expected a command verb of letters such as \"RETR\" or \"*\"");
    std::transform(verb.begin(), verb.end(), verb.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    r.command = verb;
  }
  if (o.contains("argument")) {
    if (!o["argument"].is_string()) {
      fail_value(source, p + "/argument", "expected a glob string", o["argument"]);
    }
    r.argument = o["argument"].get<std::string>();
  }
  if (o.contains("count"))
    r.count = static_cast<std::int64_t>(get_uint(o["count"], source, p + "/count", 1));
  if (o.contains("sticky")) {
    if (!o["sticky"].is_boolean()) {
      fail_value(source, p + "/sticky", "expected true or false", o["sticky"]);
    }
    r.sticky = o["sticky"].get<bool>();
  }
  if (o.contains("name")) {
    if (!o["name"].is_string()) fail_value(source, p + "/name", "expected a string", o["name"]);
    r.name = o["name"].get<std::string>();
  }
  if (o.contains("client")) {
    const auto& c = o["client"];
    in6_addr scratch{};
    if (!c.is_string() || (::inet_pton(AF_INET, c.get<std::string>().c_str(), &scratch) != 1 &&
                           ::inet_pton(AF_INET6, c.get<std::string>().c_str(), &scratch) != 1))
      fail(source, p + "/client", "expected the client's IP address such as \"127.1.0.2\"");
    r.client = c.get<std::string>();
  }
  auto ms = [&](const char* key) {
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(get_uint(o[key], source, p + "/" + key, 0)));
  };
  switch (r.action) {
    case fault_action::reply:
      if (!o.contains("text")) fail(source, p, "expected \"text\" (the reply to send)");
      r.text = reply_text(o["text"], source, p + "/text");
      break;
    case fault_action::delay:
    case fault_action::idle_timeout:
      if (!o.contains("after_ms")) fail(source, p, "expected \"after_ms\"");
      r.after = ms("after_ms");
      break;
    case fault_action::data_refuse:
      if (o.contains("code")) {
        const auto& c = o["code"];
        if (!c.is_number_integer() ||
            (c.get<std::int64_t>() != 425 && c.get<std::int64_t>() != 421))
          fail(source, p + "/code", "expected 425 or 421");
        r.code = c.get<int>();
      }
      break;
    case fault_action::data_silence:
      break;
    case fault_action::data_drop:
      if (!o.contains("after_bytes")) fail(source, p, "expected \"after_bytes\"");
      r.bytes = get_uint(o["after_bytes"], source, p + "/after_bytes", 0);
      break;
    case fault_action::close_control:
      if (o.contains("after_commands") == o.contains("after_ms"))
        fail(source, p, "expected exactly one of \"after_commands\" or \"after_ms\"");
      if (o.contains("after_commands"))
        r.commands = get_uint(o["after_commands"], source, p + "/after_commands", 1);
      else
        r.after = ms("after_ms");
      break;
    case fault_action::shape: {
      if (!o.contains("channel") || !o["channel"].is_string() ||
          (o["channel"] != "control" && o["channel"] != "data"))
        fail(source, p + "/channel", "expected \"control\" or \"data\"");
      r.on = o["channel"] == "control" ? fault_channel::control : fault_channel::data;
      if (!o.contains("bytes_per_second") && !o.contains("latency_ms"))
        fail(source, p, "expected \"bytes_per_second\" or \"latency_ms\" (or both)");
      if (o.contains("bytes_per_second"))
        r.bytes_per_second = get_uint(o["bytes_per_second"], source, p + "/bytes_per_second", 1);
      if (o.contains("latency_ms")) r.latency = ms("latency_ms");
      break;
    }
  }
  return r;
}

std::vector<fault_rule> parse_fault_rules(const nlohmann::json& doc, const std::string& source) {
  const nlohmann::json* list = &doc;
  std::string base;
  if (doc.is_object()) {
    for (const auto& [k, v] : doc.items())
      if (k != "rules") fail(source, "/" + k, "unknown key (expected \"rules\")");
    if (!doc.contains("rules")) fail(source, "", "expected an object with a \"rules\" array");
    list = &doc["rules"];
    base = "/rules";
  }
  if (!list->is_array()) fail_value(source, base, "expected an array of rules", *list);
  std::vector<fault_rule> rules;
  for (std::size_t i = 0; i < list->size(); ++i)
    rules.push_back(parse_fault_rule((*list)[i], source, base + "/" + std::to_string(i)));
  return rules;
}

std::vector<fault_rule> load_fault_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw fault_rule_error(file.string() + ": cannot open the fault file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json_text::failure why;
  auto doc = json_text::parse(text, why);
  // A syntax error, or a number too large for a double (1e400): with its line and pointer.
  if (!doc) throw fault_rule_error(json_text::describe(file.string(), why));
  return parse_fault_rules(*doc, file.string());
}

bool glob_match(std::string_view pat, std::string_view s) {
  // Iterative matcher with a single backtrack point: linear-ish, never exponential.
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < s.size()) {
    if (p < pat.size() && (pat[p] == '?' || pat[p] == s[t])) {
      ++p;
      ++t;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

fault_book::rule_id fault_book::add(fault_rule r) {
  // A sticky rule that has fired its count can never fire again: drop it here (not when it
  // fires, where the caller still holds it), so a long run that keeps adding one-shot rules
  // keeps a book of the rules that can still act.
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const entry& e) {
                                  return e.rule.sticky && e.rule.count >= 0 &&
                                         e.fired_sticky >= e.rule.count;
                                }),
                 entries_.end());
  auto id = next_id_++;
  entries_.push_back(entry{id, std::move(r), 0});
  if (observer_) observer_();
  return id;
}

bool fault_book::remove(rule_id id) {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [id](const entry& e) { return e.id == id; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

void fault_book::clear() {
  entries_.clear();
}

bool fault_book::has_fires_left(const entry& e, const tally& t) const {
  if (!e.rule.client.empty() && e.rule.client != t.client) return false;
  if (e.rule.count < 0) return true;
  if (e.rule.sticky) return e.fired_sticky < e.rule.count;
  auto it = t.fired.find(e.id);
  return it == t.fired.end() || it->second < e.rule.count;
}

void fault_book::consume(rule_id id, tally& t) {
  for (auto& e : entries_) {
    if (e.id != id) continue;
    if (e.rule.sticky)
      ++e.fired_sticky;
    else
      ++t.fired[id];
  }
}

const fault_book::entry* fault_book::fire(fault_action action, std::string_view verb,
                                          std::string_view arg, tally& t, bool consume_it) {
  for (auto& e : entries_) {
    if (e.rule.action != action) continue;
    if (!e.rule.command.empty() && e.rule.command != verb) continue;
    if (!e.rule.argument.empty() && !glob_match(e.rule.argument, arg)) continue;
    if (!has_fires_left(e, t)) continue;
    if (consume_it) consume(e.id, t);
    return &e;
  }
  return nullptr;
}

const fault_book::entry* fault_book::find(fault_action action, const tally& t) const {
  for (const auto& e : entries_)
    if (e.rule.action == action && has_fires_left(e, t)) return &e;
  return nullptr;
}

}  // namespace quecsim::ftpd
