#pragma once

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/net/packet_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace quecsim::net {

/// Failures the network layer reports in its own words, so the FTP layer can tell a DNS
/// failure (-4) from a refused connect (-5), a torn-down context (-8) and a timeout (-9).
enum class errc {
  dns_failed = 1,    ///< the host name did not resolve (or is unknown to the host map)
  connect_failed,    ///< the TCP connect failed (refused, unreachable, ...)
  context_inactive,  ///< a connect was asked for while the packet context is down
  context_down,      ///< the packet context went down under an open connection
  connection_reset,  ///< the fault seam reset the connection (looks like the peer dropped it)
  timed_out,         ///< a deadline passed (used by callers that time out through the network)
};

/// The error category of `errc`.
const boost::system::error_category& category();

/// Makes an `error_code` of the network category.
boost::system::error_code make_error_code(errc e);

/// How host names given to `network::connect` find their server.
enum class host_mode {
  embedded,  ///< every name and IP literal goes to `network_config::embedded` (the default)
  map,       ///< only `network_config::hosts` entries and IP literals; other names fail (-4)
  system,    ///< the system resolver, after `hosts` entries
};

/// Parses "embedded", "map" or "system"; throws std::invalid_argument otherwise.
host_mode parse_host_mode(const std::string& text);

/// Where a name points: an address literal (or name for system mode) and a port.
struct host_target {
  std::string address;  ///< IP literal (in system mode also a name to resolve)
  std::uint16_t port = 21;
};

/// Parses "NAME=ADDR:PORT" (as `--host` takes it) into a name and a target; throws
/// std::invalid_argument with the reason when malformed.
std::pair<std::string, host_target> parse_host_entry(const std::string& text);

/// Settings of one module's network. Durations are simulated (scaled by the clock).
struct network_config {
  host_mode mode = host_mode::embedded;
  /// The endpoint every name reaches in embedded mode: the in-process FTP server.
  host_target embedded{"127.0.0.1", 21};
  /// NAME=ADDR:PORT entries; names match case-insensitively and apply in every mode first.
  std::map<std::string, host_target> hosts;
  /// Round trip of the link; each direction of data is delayed by half of it, a connect by
  /// all of it. Like GPRS by default; zero disables.
  clock::duration round_trip = std::chrono::milliseconds(300);
  /// Bytes per simulated second in each direction; 0 is unlimited.
  std::uint64_t bandwidth = 0;
  /// The address the module listens on for active-mode (PORT) data connections.
  std::string listen_address = "127.0.0.1";
  /// Bytes a connection holds in flight per direction before it pushes back on its user.
  std::size_t pipe_limit = std::size_t{64} * 1024;
};

class network;

/// One TCP connection of a module, created by `network::connect` or a `listener`. Every
/// byte passes through the link model (latency, bandwidth, blackhole) of its network.
/// At most one read and one write may be outstanding at a time. Handlers run on the
/// io_context; after `close()` outstanding handlers complete with operation_aborted.
class connection : public std::enable_shared_from_this<connection> {
 public:
  /// Completion of a read or write: an error or the number of bytes moved.
  using io_handler = std::function<void(boost::system::error_code, std::size_t)>;
  /// Completion of a connect.
  using handler = std::function<void(boost::system::error_code)>;

  /// Made by the network only; public for make_shared.
  connection(network& net, boost::asio::ip::tcp::socket socket);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Reads at least one byte into `buffer` (after the link's delay); eof when the peer
  /// closed its side and everything before the close was delivered.
  void async_read_some(boost::asio::mutable_buffer buffer, io_handler h);

  /// Takes all of `data` (copied) into the link; completes once the link has room again,
  /// which is what bounds memory when the far side or the link is slow.
  void async_write(boost::asio::const_buffer data, io_handler h);

  /// Sends FIN once everything written so far has left, then calls `h`.
  void async_shutdown_send(handler h);

  /// Drops the connection at once; outstanding handlers complete with operation_aborted.
  void close();

  /// Whether the connection is usable (connected and not failed or closed).
  bool is_open() const;

  /// Local and remote endpoints (default-constructed when unknown).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  boost::asio::ip::tcp::endpoint remote_endpoint() const;

  /// Fails the connection with `ec`: every outstanding and later operation completes with
  /// it. What the fault seams and the packet context use.
  void fail(boost::system::error_code ec);

  /// Fault seam: this connection's own round trip, overriding the network's (nullopt: the
  /// network's). Applies to bytes written or arriving from now on.
  void set_round_trip(std::optional<clock::duration> rtt) { round_trip_ = rtt; }
  /// Fault seam: this connection's own bandwidth in bytes per simulated second (0 unlimited,
  /// nullopt: the network's).
  void set_bandwidth(std::optional<std::uint64_t> bytes_per_second) {
    bandwidth_ = bytes_per_second;
  }
  /// What the connection is for ("ftp-control", "ftp-data"), so a fault can pick one.
  void set_role(std::string role) { role_ = std::move(role); }
  const std::string& role() const { return role_; }

 private:
  friend class network;
  struct chunk {
    std::vector<char> bytes;
    std::size_t offset = 0;
    clock::time_point due;
    bool eof = false;                 ///< an end-of-stream marker rather than bytes
    boost::system::error_code error;  ///< with eof: why the stream ended
  };

  void start_connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints, handler h);
  void try_endpoint(std::size_t index);
  void on_connect(std::size_t index, boost::system::error_code ec);
  void finish_connect(boost::system::error_code ec);
  void do_socket_read();
  void on_socket_read(boost::system::error_code ec, std::size_t n);
  void pump_read();
  void pump_write();
  void on_socket_write(boost::system::error_code ec, std::size_t n);
  void kick();  ///< resume after a blackhole ends
  void complete_read(boost::system::error_code ec, std::size_t n);
  void complete_write(boost::system::error_code ec, std::size_t n);
  std::size_t slice() const;
  clock::duration pace(std::size_t n) const;
  clock::duration one_way() const;
  std::uint64_t bandwidth() const;

  network& net_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer connect_timer_;
  bool connected_ = false;
  bool closed_ = false;
  std::optional<clock::duration> round_trip_;
  std::optional<std::uint64_t> bandwidth_;
  std::string role_;
  boost::system::error_code failure_;

  // Connect.
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  handler connect_handler_;
  bool connect_parked_ = false;  ///< connected while blackholed: completion held back

  // Inbound pipe: bytes read from the socket wait here until due.
  std::deque<chunk> inbound_;
  std::size_t inbound_bytes_ = 0;
  bool socket_reading_ = false;
  bool socket_eof_ = false;
  boost::asio::mutable_buffer user_read_buffer_;
  io_handler read_handler_;
  bool read_timer_armed_ = false;
  clock::time_point read_next_allowed_{};
  std::vector<char> socket_read_buffer_;

  // Outbound pipe: bytes written by the user wait here until due.
  std::deque<chunk> outbound_;
  std::size_t outbound_bytes_ = 0;
  bool socket_writing_ = false;
  bool write_timer_armed_ = false;
  io_handler write_handler_;  ///< a write held back because the pipe is full
  std::size_t write_pending_n_ = 0;
  handler shutdown_handler_;
  bool shutdown_requested_ = false;
  clock::time_point write_next_allowed_{};
};

/// A listening socket for active-mode (PORT) data connections.
class listener : public std::enable_shared_from_this<listener> {
 public:
  /// Completion of an accept: the new connection or an error.
  using accept_handler =
      std::function<void(boost::system::error_code, std::shared_ptr<connection>)>;

  /// Made by the network only; public for make_shared.
  listener(network& net, boost::asio::ip::tcp::acceptor acceptor);

  /// Accepts one connection.
  void async_accept(accept_handler h);

  /// The address and port peers connect to.
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  /// Stops listening; an outstanding accept completes with operation_aborted.
  void close();

  /// Fails an outstanding and every later accept with `ec`.
  void fail(boost::system::error_code ec);

 private:
  network& net_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::system::error_code failure_;
  accept_handler handler_;
};

/// The network of one module: the one path through which its name lookups, connects,
/// listens, reads and writes go, so the link model and faults act in one place.
/// It watches the packet context: connects are refused while the context is inactive, and
/// when it goes down every open connection fails with `errc::context_down`.
class network {
 public:
  /// Completion of `connect`.
  using connect_handler = std::function<void(boost::system::error_code)>;

  /// `ctx` and the other references must outlive the network.
  network(boost::asio::io_context& io, packet_context& ctx, const quecsim::clock& clk,
          events::bus& bus, int module_id, network_config config = {});
  ~network();
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  /// Starts a connection to `host:port` through the host map; `h` gets dns_failed,
  /// connect_failed, context_inactive, or success. The returned connection may be closed
  /// to cancel (then `h` gets operation_aborted).
  std::shared_ptr<connection> connect(const std::string& host, std::uint16_t port,
                                      connect_handler h);

  /// Starts a connection straight to `ep`, bypassing the host map: data connections to the
  /// address a server gave in its PASV reply.
  std::shared_ptr<connection> connect(const boost::asio::ip::tcp::endpoint& ep, connect_handler h);

  /// Listens on the configured listen address, port 0.
  std::shared_ptr<listener> listen(boost::system::error_code& ec);

  /// The configuration (host map, link model). Changes apply to later operations; link
  /// changes also to open connections.
  network_config& config() { return config_; }
  const network_config& config() const { return config_; }

  /// Sets the round trip (simulated; 0 disables latency).
  void set_round_trip(clock::duration rtt) { config_.round_trip = rtt; }
  /// Sets the bandwidth in bytes per simulated second (0 = unlimited).
  void set_bandwidth(std::uint64_t bytes_per_second) { config_.bandwidth = bytes_per_second; }

  /// Fault seam: fails every open connection with connection_reset (seen as the peer
  /// dropping it) and stops every listener.
  void reset_all();
  /// Fault seam: stalls (true) or resumes (false) every connection: nothing moves, connects
  /// do not complete, while it holds.
  void blackhole(bool on);
  /// Whether a blackhole holds.
  bool blackholed() const { return blackholed_; }
  /// What the packet context going down does: fails every connection with context_down.
  void context_down();

  /// Connections currently open (connected or connecting, not failed or closed).
  std::size_t open_connections() const;
  /// Fault seam: the open connections, to act on one (by role) rather than all.
  std::vector<std::shared_ptr<connection>> connections() const;

  /// The packet context this network depends on.
  packet_context& context() { return ctx_; }
  boost::asio::io_context& io() { return io_; }
  const quecsim::clock& clock() const { return clock_; }
  int module_id() const { return module_; }

  /// Publishes an info event from source "net".
  void note(events::kind k, const std::string& text) const;

 private:
  friend class connection;
  friend class listener;
  void track(const std::shared_ptr<connection>& c);
  void track(const std::shared_ptr<listener>& l);

  boost::asio::io_context& io_;
  packet_context& ctx_;
  const quecsim::clock& clock_;
  events::bus& bus_;
  int module_;
  network_config config_;
  bool blackholed_ = false;
  std::vector<std::weak_ptr<connection>> connections_;
  std::vector<std::weak_ptr<listener>> listeners_;
  std::shared_ptr<bool> alive_;  ///< lets the context listener notice the network is gone
  std::unique_ptr<boost::asio::ip::tcp::resolver> resolver_;
};

}  // namespace quecsim::net

namespace boost::system {
template <>
struct is_error_code_enum<quecsim::net::errc> : std::true_type {};
}  // namespace boost::system
