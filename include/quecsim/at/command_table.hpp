#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quecsim/at/args.hpp"
#include "quecsim/at/command_line.hpp"

namespace quecsim::at {

/// Standard errors of 3GPP TS 27.007, as `+CME ERROR: <n>` reports them under AT+CMEE=1/2.
enum class cme : int {
  operation_not_allowed = 3,
  operation_not_supported = 4,
  sim_not_inserted = 10,
  sim_pin_required = 11,
  sim_puk_required = 12,
  incorrect_password = 16,
  no_network_service = 30,
  incorrect_parameters = 50,
  unknown = 100,
  // Quectel's file commands (the 4000 series of GSM_File_ATC; docs/storage.md lists when each is
  // given). quecsim::storage::errc carries the same numbers.
  file_invalid_input = 4000,
  file_invalid_name = 4001,
  file_no_space = 4002,
  file_exists = 4003,
  file_too_many_open = 4004,
  file_bad_handle = 4005,
  file_read_only = 4006,
  file_busy = 4007,
  file_no_area = 4008,
  file_past_end = 4009,
  file_not_found = 4010,
};

/// The verbose text of a CME error (AT+CMEE=2).
std::string_view cme_text(cme code);

/// One command being answered. A handler answers through it: any number of information lines,
/// then exactly one final result, at once or later (the invocation stays alive as long as the
/// handler keeps the shared_ptr).
class invocation {
 public:
  virtual ~invocation() = default;

  /// The command as the host wrote it.
  virtual const command& cmd() const = 0;
  /// The parsed write-form arguments, one per declared parameter (omitted ones included).
  virtual const std::vector<value>& args() const = 0;

  /// An information line (several lines may be joined with "\r\n": they share one frame).
  virtual void info(std::string text) = 0;
  /// Final result OK.
  virtual void ok() = 0;
  /// Final result ERROR, or `+CME ERROR: <code>` as AT+CMEE asks.
  virtual void error(cme code = cme::unknown) = 0;
  /// A final result with its own text (AT+QIDEACT's `DEACT OK`).
  virtual void final_text(std::string text) = 0;
  /// A line that follows the final result (AT+QFTPPATH? puts OK before its information);
  /// call it before the final result.
  virtual void after_final(std::string text) = 0;
  /// Ends the command with no final result at all (AT+QILOCIP answers its address alone).
  virtual void done_without_result() = 0;
  /// Whether a final result was given.
  virtual bool finished() const = 0;
};

/// A command handler: answers through the invocation, now or later.
using handler = std::function<void(const std::shared_ptr<invocation>&)>;

/// The declaration of one command: its forms, the parameters of its write form, and the
/// behaviour behind each form. An empty handler means the form does not exist (ERROR).
struct command_spec {
  std::string name;           ///< "+QFTPOPEN", "E", "&F", "S3"
  std::vector<param> params;  ///< write-form parameters, checked before `write` runs
  handler test;               ///< `=?`
  handler read;               ///< `?`
  handler write;              ///< `=...`
  handler exec;               ///< bare command
};

/// A string as responses quote it: `"<text>"`.
inline std::string in_quotes(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

/// A handler that answers fixed information lines and OK: the usual test form.
handler reply(std::vector<std::string> lines);

/// All commands a module knows, by upper-case name.
class command_table {
 public:
  /// Adds or replaces a command.
  void add(command_spec spec);
  /// Removes a command (a model without it answers ERROR); false when there was none.
  bool remove(std::string_view name);
  /// The command of that name, or nullptr.
  const command_spec* find(std::string_view name) const;
  /// Every command, sorted by name (for documentation and tests).
  std::vector<const command_spec*> all() const;

 private:
  std::map<std::string, command_spec, std::less<>> specs_;
};

}  // namespace quecsim::at
