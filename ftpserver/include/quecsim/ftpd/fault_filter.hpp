#pragma once
// The one place a session's fault rules act. The protocol core asks it at fixed seams
// (before a command runs, after it ran, at the moment a data connection would be set up, and
// for the session's timers and shaping) and carries out what it answers; the command
// handlers know no fault rule.

#include "quecsim/ftpd/fault.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quecsim::ftpd {

/// A rule that fired, with the label the session records show for it.
struct fault_hit {
  const fault_rule* rule = nullptr;  ///< valid until the book changes
  std::string label;                 ///< the rule's name, or what it did ("reply RETR")
  /// Whether a rule fired.
  explicit operator bool() const { return rule != nullptr; }
};

/// What the rules do to one transfer as it starts.
struct transfer_faults {
  fault_hit silence;  ///< data_silence: never move a byte
  fault_hit drop;     ///< data_drop: close after `drop->rule->bytes`
  fault_hit shape;    ///< shape on data: bandwidth and latency
};

/// One session's view of the server's fault book: it counts the session's fires (the
/// non-sticky rules count from zero on each control connection).
class fault_filter {
 public:
  /// `book` is the server's; it outlives the session. `client` is the session's peer address.
  fault_filter(fault_book& book, std::string client);

  /// A reply rule answering `verb arg` instead of running it.
  fault_hit reply_instead(std::string_view verb, std::string_view arg);
  /// A delay rule holding the reply to `verb arg` back.
  fault_hit delay_reply(std::string_view verb, std::string_view arg);
  /// A close_control rule counting commands that closes after this one, the session's
  /// `commands`-th (`verb` empty for a line that was not a command).
  fault_hit close_after(std::uint64_t commands, std::string_view verb);
  /// A data_refuse rule refusing the data connection `verb arg` would set up.
  fault_hit refuse_data(std::string_view verb, std::string_view arg);
  /// The rules acting on the transfer `verb arg` starts.
  transfer_faults on_transfer(std::string_view verb, std::string_view arg);

  /// The control connection's idle limit: `normal`, or an idle_timeout rule's if shorter.
  std::chrono::milliseconds idle_limit(std::chrono::milliseconds normal) const;
  /// The idle limit passed: the idle_timeout rule that made it (when it was the shorter).
  fault_hit idle_fired(std::chrono::milliseconds normal);
  /// Timed close_control rules not armed yet in this session: each one's id and time.
  std::vector<std::pair<fault_book::rule_id, std::chrono::milliseconds>> new_close_timers();
  /// A timed close_control rule's time is up: the rule, if it still has fires left.
  fault_hit close_timer_fired(fault_book::rule_id id);
  /// The control connection's shaping: bytes per second (0: none) and added latency.
  std::pair<std::uint64_t, std::chrono::milliseconds> control_shape() const;

 private:
  fault_hit hit(const fault_book::entry* e, std::string fallback) const;

  fault_book& book_;
  fault_book::tally tally_;
  std::vector<fault_book::rule_id> armed_close_timers_;
};

}  // namespace quecsim::ftpd
