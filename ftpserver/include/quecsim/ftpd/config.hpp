#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "quecsim/ftpd/fault.hpp"

namespace quecsim::ftpd {

/// One account. Its home folder, relative to the served root, is the user's own root: nothing
/// outside it is reachable in that user's session.
struct user {
  std::string name;        ///< login name, compared exactly
  std::string password;    ///< compared exactly
  std::string home = "/";  ///< folder under the served root that becomes this user's "/"
  bool can_write = true;   ///< false: STOR, APPE, STOU, DELE, MKD, RMD, RNFR/RNTO refused (550)
};

/// Timeouts of a session, in simulated time (the server's clock scales them).
struct timeouts {
  /// No command for this long: `421 Control connection timed out.` and close.
  std::chrono::milliseconds control_idle{std::chrono::seconds(300)};
  /// No byte moved on an open data connection for this long: `421 Data connection timed out.`
  std::chrono::milliseconds data_idle{std::chrono::seconds(300)};
  /// PASV/EPSV answered but no connection came: `421 Passive data channel timed out.`
  std::chrono::milliseconds passive_accept{std::chrono::seconds(30)};
  /// Connected this long without logging in: `421 Login timed out.` and close, however busy
  /// the client keeps the connection with NOOPs or failed logins.
  std::chrono::milliseconds login{std::chrono::seconds(300)};
};

/// Resource limits.
struct limits {
  std::size_t max_sessions = 512;              ///< control connections at once (421 beyond)
  std::size_t max_sessions_per_address = 256;  ///< control connections from one peer address
  std::size_t max_line = 4096;  ///< longest command line accepted, CRLF excluded (500 beyond)
};

/// Everything a server needs to start.
struct config {
  std::filesystem::path root;         ///< served folder; must exist
  std::string address = "127.0.0.1";  ///< listening address
  std::uint16_t port = 0;             ///< listening port; 0 picks a free one
  /// Accounts. Empty: any USER/PASS pair (and anonymous) is accepted, each with write access
  /// to the whole root — a test fixture's default. Not empty: only these (and anonymous if
  /// `anonymous` is set) log in.
  std::vector<user> users;
  /// With `users` set, also accept `anonymous`/`ftp` with any password, read-only at "/".
  bool anonymous = false;
  ftpd::timeouts timeouts;
  ftpd::limits limits;
  /// Fault rules active from the start (more can be added at run time).
  std::vector<fault_rule> faults;
  /// Greeting text after `220 `.
  std::string banner = "quecsim-ftpd ready.";
  /// How many finished sessions' records the server keeps for `records()`.
  std::size_t kept_records = 1000;
  /// How many commands, replies and faults each session's record keeps (the first ones): a
  /// client that sends commands forever must not grow the server's memory. The observer (and
  /// `--record`) still sees every one.
  std::size_t kept_lines = 1000;
};

/// Why a configuration cannot be used (start-up only).
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses `NAME:PASS` (as `--user` takes it); the password may contain ':'. Throws
/// config_error naming `what` when malformed.
user parse_user_spec(const std::string& spec, const std::string& what);

/// Loads users from a JSON file: `{"users":[{"name":..,"password":..,"home":"/",
/// "write":true}], "anonymous":false}` or a bare array. Throws config_error with the file name,
/// the JSON pointer and what was expected. Sets `anonymous` when the file says so.
std::vector<user> load_users_file(const std::filesystem::path& file, bool& anonymous);

/// Whether `address` is a loopback address (127.0.0.0/8 or ::1).
bool is_loopback_address(const std::string& address);

/// Checks a configuration before start: root exists and is a folder, a non-loopback address
/// has users, limits are sane. Throws config_error.
void validate(const config& cfg);

}  // namespace quecsim::ftpd
