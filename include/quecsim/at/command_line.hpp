#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quecsim::at {

/// The four forms a V.250 command takes.
enum class form {
  exec,   ///< `AT+CMD` or a basic command such as `ATE1`
  test,   ///< `AT+CMD=?`
  read,   ///< `AT+CMD?`
  write,  ///< `AT+CMD=<args>`
};

/// One command of a command line.
struct command {
  std::string name;  ///< upper-cased: "+QFTPOPEN", "E", "&F", "S3"
  form kind = form::exec;
  std::string args;  ///< write form: the raw text after '='; basic commands: their digits
};

/// Splits the body of a command line (what followed `AT`) into its commands: extended commands
/// separated by ';', basic commands one after another. Spaces outside quotes are ignored, as
/// V.250 allows. Returns nothing when the line is malformed: unbalanced quotes, a control
/// character, an 8-bit byte outside quotes, or a character no command starts with.
std::optional<std::vector<command>> split_commands(std::string_view body);

}  // namespace quecsim::at
