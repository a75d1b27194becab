#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "quecsim/core/clock.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/ftpd/protocol.hpp"

namespace quecsim::ftpd {

/// What one control connection received and answered, for tests to assert the exchange.
struct session_record {
  std::uint64_t id = 0;               ///< 1 for the first session of the server, then 2, ...
  std::string peer;                   ///< client "address:port"
  std::string user;                   ///< last USER argument
  std::vector<std::string> commands;  ///< command lines as received (PASS argument masked)
  std::vector<std::string> replies;   ///< replies sent (multi-line replies joined by CRLF)
  std::vector<std::string> faults;    ///< fault rules that fired, in order
  std::uint64_t dropped = 0;  ///< commands, replies and faults past `config::kept_lines`, not kept
  bool open = true;           ///< false once the control connection is closed
};

/// One thing a session recorded, as the observer sees it. Views are valid during the call.
struct record_event {
  std::uint64_t session;  ///< session id
  record_kind kind;       ///< command, reply or fault
  std::string_view text;  ///< the line (reply lines joined by CRLF)
};

struct server_state;

/// The FTP server: a listener and its sessions on one io_context, one thread. Embeddable:
///
///     quecsim::ftpd::server srv(io, cfg);
///     srv.start();                 // listening now; srv.endpoint() tells where
///     srv.add_fault(rule);         // at any time
///     ... io.run() ...             // srv.stop() ends every session and the listener
///
/// Not thread-safe: call it from the io_context's thread (post to it from elsewhere).
class server {
 public:
  /// A server with its own clock of scale 1.
  server(boost::asio::io_context& io, config cfg);
  /// A server whose timeouts and fault delays go through the process clock `clk` (kept by
  /// reference: it must outlive the server).
  server(boost::asio::io_context& io, config cfg, const quecsim::clock& clk);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Validates the configuration, binds and starts accepting. Throws config_error or
  /// boost::system::system_error (address in use, ...).
  void start();
  /// Closes the listener and every session; pending handlers end so `io.run()` can return.
  void stop();
  /// Where it listens (the real port when configured with 0). Valid after start().
  boost::asio::ip::tcp::endpoint endpoint() const;
  /// The configuration in use.
  const config& cfg() const;

  /// Adds a fault rule, live for sessions already open too. Returns its id.
  fault_book::rule_id add_fault(fault_rule rule);
  /// Removes one rule; false if unknown.
  bool remove_fault(fault_book::rule_id id);
  /// Removes every rule.
  void clear_faults();
  /// The rules in force.
  const fault_book& faults() const;

  /// Records of open sessions and of the most recent closed ones (`config::kept_records`),
  /// oldest first.
  std::vector<session_record> records() const;
  /// One session's record, or nullptr.
  const session_record* record(std::uint64_t id) const;
  /// Forgets the records of closed sessions.
  void clear_records();
  /// Calls `f` for every command, reply and fault as it happens (e.g. a JSON Lines log).
  void set_observer(std::function<void(const record_event&)> f);
  /// Control connections open now.
  std::size_t session_count() const;

 private:
  std::shared_ptr<server_state> state_;
};

}  // namespace quecsim::ftpd
