#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace quecsim::ftpd {

/// What a fault rule does when it fires.
enum class fault_action {
  reply,          ///< answer `text` instead of running the command
  delay,          ///< run the command, but hold its reply back for `after`
  data_refuse,    ///< never open the data connection; answer `code` (425, or 421 and close)
  data_silence,   ///< answer 150, then never move a byte nor answer again
  data_drop,      ///< close the data connection after `bytes` bytes; answer 426
  close_control,  ///< close the control connection after `commands` commands or after `after`
  idle_timeout,   ///< send the idle `421 Control connection timed out.` after `after` idle
  shape,          ///< limit bandwidth and add latency on the `on` connection
};

/// Which connection a `shape` rule slows down.
enum class fault_channel { control, data };

/// One rule of misbehaviour. Built by hand or by `parse_fault_rules` from the JSON vocabulary
/// that scenario files reuse (see ftpserver/README.md, "Fault rules").
struct fault_rule {
  fault_action action = fault_action::reply;
  std::string command;   ///< verb to match, upper case ("RETR"); empty matches every command
  std::string argument;  ///< glob (`*`, `?`) the argument must match; empty matches any
  std::string text;      ///< reply: the whole reply, CRLF-terminated lines
  std::chrono::milliseconds after{0};      ///< delay, close_control (time), idle_timeout
  int code = 425;                          ///< data_refuse: 425 or 421
  std::uint64_t bytes = 0;                 ///< data_drop: bytes moved before the drop
  std::uint64_t commands = 0;              ///< close_control: commands answered before closing
  std::uint64_t bytes_per_second = 0;      ///< shape: 0 means no bandwidth limit
  std::chrono::milliseconds latency{0};    ///< shape: added before every write
  fault_channel on = fault_channel::data;  ///< shape: which connection
  std::int64_t count = -1;                 ///< how many times it fires; -1 means every time
  bool sticky = false;                     ///< false: counts restart with every control connection
  std::string name;                        ///< optional label, echoed in the session records
  /// The client address (as the server sees it, "127.1.0.2") whose sessions the rule acts on;
  /// empty: every session. Lets modules sharing one server each have their own faults.
  std::string client;
};

/// Names as the JSON vocabulary spells them.
std::string_view to_string(fault_action a);

/// A fault file or JSON value that cannot be used: `what()` names the source, the JSON pointer
/// and what was expected, e.g. `faults.json: /rules/2/count: expected a non-negative integer`.
class fault_rule_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses `{"rules":[...]}` or a bare array of rules. `source` prefixes error messages.
std::vector<fault_rule> parse_fault_rules(const nlohmann::json& doc, const std::string& source);
/// Parses one rule object; `pointer` is its JSON pointer for error messages.
fault_rule parse_fault_rule(const nlohmann::json& rule, const std::string& source,
                            const std::string& pointer);
/// Reads and parses a fault file; errors name the file (and the line for JSON syntax errors).
std::vector<fault_rule> load_fault_file(const std::filesystem::path& file);

/// Glob match with `*` and `?`, case-sensitive, bounded (no backtracking blow-up).
bool glob_match(std::string_view pattern, std::string_view text);

/// The server's live rule set, shared by every session. Sessions keep their own tally so that
/// non-sticky rules count from zero on each control connection.
class fault_book {
 public:
  using rule_id = std::uint64_t;

  /// One rule as held by the book.
  struct entry {
    rule_id id;
    fault_rule rule;
    std::int64_t fired_sticky = 0;  ///< times fired, for sticky rules
  };

  /// What the book knows of one session: its client, and its counts of the non-sticky rules
  /// it has fired.
  struct tally {
    std::string client;  ///< the session's client address: rules for another one never fire
    std::unordered_map<rule_id, std::int64_t> fired;
  };

  /// Adds a rule; returns its id. Observers are told. Sticky rules that have fired their
  /// count are dropped first.
  rule_id add(fault_rule r);
  /// Removes one rule; false if unknown.
  bool remove(rule_id id);
  /// Removes every rule.
  void clear();
  /// The rules, oldest first.
  const std::vector<entry>& entries() const { return entries_; }

  /// The first rule of `action` matching the command that still has fires left for this
  /// session; counts one fire if `consume`. Null when none.
  const entry* fire(fault_action action, std::string_view verb, std::string_view arg, tally& t,
                    bool consume = true);
  /// Like `fire` without a command (close_control, idle_timeout, control shaping).
  const entry* find(fault_action action, const tally& t) const;
  /// Whether rule `id` applies to the session with tally `t` and still has fires left for it.
  bool has_fires_left(const entry& e, const tally& t) const;
  /// Counts one fire of `id`.
  void consume(rule_id id, tally& t);

  /// Called after every add (the server arms timers in live sessions).
  void on_change(std::function<void()> f) { observer_ = std::move(f); }

 private:
  std::vector<entry> entries_;
  rule_id next_id_ = 1;
  std::function<void()> observer_;
};

}  // namespace quecsim::ftpd
