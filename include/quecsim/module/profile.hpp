#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "quecsim/storage/limits.hpp"

namespace quecsim::module {

/// A profile file refused: the message names the file, the JSON pointer and what was expected.
class profile_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A command a profile answers with fixed texts: each present form answers its lines and OK.
struct fixed_command {
  std::optional<std::vector<std::string>> test, read, write, exec;
};

/// One row of a profile's supported-command table.
struct command_entry {
  bool supported = true;               ///< false: the model has no such command (ERROR)
  std::optional<fixed_command> texts;  ///< set: answered with these texts instead
};

/// What distinguishes one module model from another, as the host can observe it. The default
/// values are the M95's, so code that makes a module without a profile file still has one.
struct profile {
  std::string model = "M95";  ///< the name --model and --ready-json use
  std::string manufacturer = "Quectel_Ltd";
  std::string model_name = "Quectel_M95";  ///< ATI's second line, AT+GMM, AT+CGMM
  std::string revision = "M95FAR02A08";    ///< AT+GMR / AT+CGMR / ATI text after "Revision: "
  std::string imei = "867273020123456";
  std::string imsi = "460001234567890";
  std::string iccid = "89860012345678901234";

  std::chrono::milliseconds boot_delay{3000};  ///< power-on until the power-up lines
  std::chrono::milliseconds restart{2000};     ///< AT+CFUN=1,1 until the power-up lines

  std::string sim_state = "ready";  ///< at power-up: ready, pin, puk or removed
  std::string pin = "1234";
  std::string puk = "12345678";

  std::string operator_long = "CHINA MOBILE";
  std::string operator_short = "CMCC";
  std::string operator_numeric = "46000";
  std::string lac = "1A2B";
  std::string cell = "3C4D";
  int rssi = 20;
  int ber = 0;

  int battery_percent = 85;
  int battery_millivolts = 4012;

  storage::limits storage;  ///< local storage: areas, capacities, name rules

  int ftp_cfg_types = 4;  ///< highest AT+QFTPCFG <type> (6: firmware with types 5 and 6)

  /// The supported-command table: commands not named keep the implementation's behaviour.
  std::map<std::string, command_entry> commands;

  /// Reads a profile from JSON text; `source` names it in errors. Throws profile_error for
  /// a key it does not know, a missing required key or a value of the wrong kind.
  static profile parse(std::string_view json_text, const std::string& source);
  /// Reads a profile file; throws profile_error (unreadable file or bad content).
  static profile load(const std::filesystem::path& file);
  /// `name_or_file`: a path (contains '/' or ends in .json) is loaded as it is; a model name
  /// is looked up as NAME.json in `search_path()`. Throws profile_error listing what exists.
  static profile find(std::string_view name_or_file);
  /// Where model profiles are looked up, in order: share/quecsim/profiles beside the
  /// installed binary, then the source tree's profiles/ (a build that is not installed).
  static std::vector<std::filesystem::path> search_path();
  /// The model names found in `search_path()`, sorted.
  static std::vector<std::string> names();
  /// The built-in profile of a model name found in the search path (as `find`).
  static profile named(std::string_view model) { return find(model); }
};

}  // namespace quecsim::module
