#pragma once

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/net/errors.hpp"
#include "quecsim/net/lane.hpp"
#include "quecsim/net/packet_context.hpp"
#include "quecsim/net/resolve.hpp"
#include "quecsim/net/toxic.hpp"

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
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace quecsim::net {

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
  /// The loopback address connections to a loopback server come from (empty: the kernel's
  /// choice, 127.0.0.1). Modules sharing one server each take their own, so the server tells
  /// their sessions apart (per-module fault rules, per-address session limits).
  std::string source_address;
  /// Bytes a connection holds in flight per direction before it pushes back on its user.
  std::size_t pipe_limit = std::size_t{64} * 1024;
};

/// Names a toxic for `network::remove_toxic`.
using toxic_id = std::uint64_t;

/// How a connect fails under `network::fail_connects`.
enum class connect_fault {
  dns_failure,  ///< completes with dns_failed
  refused,      ///< completes with connect_failed
  unanswered,   ///< never completes (the caller's timer decides; close() cancels it)
};

/// What happens to a UDP datagram under `network::fail_datagrams`.
enum class datagram_fault {
  lose,       ///< it never arrives
  duplicate,  ///< it arrives twice
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
  /// What the connection is for ("ftp-control", "ftp-data"), so a fault can pick one. The
  /// network's toxics for that role apply from now on.
  void set_role(std::string role);
  const std::string& role() const { return role_; }

  /// Fault seam: an orderly close from the far side, as a server closing would look: the
  /// module reads what was already in flight, then EOF; later writes fail with broken_pipe;
  /// the socket towards the real server is closed.
  void inject_eof();

 private:
  friend class network;
  /// The I/O of the inbound lane: the socket's reads into it, the user's read out of it.
  struct read_side {
    explicit read_side(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;  ///< waits for the front to be due
    bool timer_armed = false;
    bool socket_reading = false;
    bool socket_eof = false;  ///< nothing more is read from the socket
    boost::asio::mutable_buffer user_buffer;
    io_handler handler;
    std::vector<char> socket_buffer;
  };
  /// The I/O of the outbound lane: the user's writes into it, the socket's writes out of it.
  struct write_side {
    explicit write_side(boost::asio::io_context& io) : timer(io) {}
    boost::asio::steady_timer timer;  ///< waits for the front to be due
    bool timer_armed = false;
    bool socket_writing = false;
    io_handler handler;  ///< a write held back because the lane is full
    std::size_t pending_n = 0;
    bool waits_for_end = false;  ///< the held write crossed a limit: it fails at the end
    bool ended = false;          ///< an upstream limit was reached: writes wait for its end
    boost::system::error_code send_error;  ///< why writes fail after the far side ended
    connection::handler shutdown_handler;
    bool shutdown_requested = false;
  };
  /// A connect on its way.
  struct connect_side {
    explicit connect_side(boost::asio::io_context& io) : timer(io) {}
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    handler done;
    boost::asio::steady_timer timer;  ///< the handshake's round trip
    bool parked = false;              ///< connected while blackholed: completion held back
  };
  /// A timeout toxic's reset, due after its duration.
  struct reset_timer {
    toxic_id id;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  void start_connect(std::vector<boost::asio::ip::tcp::endpoint> endpoints, handler h);
  void try_endpoint(std::size_t index);
  // Binds to the network's source address when `to` is a loopback server.
  void bind_source(const boost::asio::ip::tcp::endpoint& to, boost::system::error_code& ec);
  void on_connect(std::size_t index, boost::system::error_code ec);
  void finish_connect(boost::system::error_code ec);
  void do_socket_read();
  void on_socket_read(boost::system::error_code ec, std::size_t n);
  /// Whether bytes may skip `l`: nothing shapes, holds or paces them and the link adds no
  /// delay (then a read goes straight into the user's buffer, a write straight out).
  bool direct(const lane& l) const;
  void on_direct_read(boost::system::error_code ec, std::size_t n);
  void pump_read();
  void pump_write();
  void on_socket_write(boost::system::error_code ec, std::size_t n);
  void on_upstream_end();  ///< an upstream limit's end reached the socket
  void kick();             ///< resume after a hold ends (a blackhole, a timeout toxic)
  void complete_read(boost::system::error_code ec, std::size_t n);
  void complete_write(boost::system::error_code ec, std::size_t n);
  void complete_shutdown(boost::system::error_code ec);
  clock::duration one_way() const;
  std::uint64_t link_rate() const { return bandwidth_.value_or(net_config_bandwidth()); }
  std::uint64_t net_config_bandwidth() const;
  /// A limit ended the stream entering `dir`'s lane: what the ends of the connection see.
  void limit_reached(stream dir, const lane::entered& e);

  // Toxics: stages of the lanes they act on, added and removed as the toxic applies.
  void apply_toxic(toxic_id id, const toxic& t);
  bool remove_toxic(toxic_id id);
  bool has_toxic(toxic_id id) const;
  void hold(lane::stage_id id, bool on);  ///< a hold on both lanes (the blackhole)
  /// Closes the socket towards the server while the module still drains what is in flight;
  /// writes from now on fail with `send_error`.
  void sever(boost::system::error_code send_error);

  network& net_;
  boost::asio::ip::tcp::socket socket_;
  std::string role_;
  bool connected_ = false;
  bool closed_ = false;
  bool severed_ = false;  ///< the socket was closed by a fault seam
  boost::system::error_code failure_;
  std::optional<clock::duration> round_trip_;  ///< the link's, overriding the network's
  std::optional<std::uint64_t> bandwidth_;     ///< the link's, overriding the network's
  lane up_;    ///< module -> server: user writes wait here until due
  lane down_;  ///< server -> module: socket reads wait here until due
  read_side in_;
  write_side out_;
  connect_side connect_;
  std::vector<reset_timer> resets_;
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
  /// to cancel (then `h` gets operation_aborted). `role` is set before anything else, so
  /// connect faults and toxics of that role apply.
  std::shared_ptr<connection> connect(const std::string& host, std::uint16_t port,
                                      connect_handler h, const std::string& role = "");

  /// Starts a connection straight to `ep`, bypassing the host map: data connections to the
  /// address a server gave in its PASV reply.
  std::shared_ptr<connection> connect(const boost::asio::ip::tcp::endpoint& ep, connect_handler h,
                                      const std::string& role = "");

  /// Listens on the configured listen address, port 0.
  std::shared_ptr<listener> listen(boost::system::error_code& ec);
  /// Takes an acceptor the caller bound and set listening (the TCP/IP service's server port,
  /// reserved from the start) as one of the network's listeners: its connections pass
  /// through the link model, and faults and the packet context act on it.
  std::shared_ptr<listener> adopt(boost::asio::ip::tcp::acceptor acceptor);

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

  /// Fault seam: puts `t` on the open connections of its role (when `t.count` is -1) and on
  /// later ones (all, or the next `t.count`). Throws std::invalid_argument for a toxic that
  /// cannot act (a bandwidth of 0, a slicer size of 0 or a variation not below it, a
  /// negative duration, a count below -1).
  toxic_id add_toxic(toxic t);
  /// Takes a toxic off every connection: latency, bandwidth and slicer stop shaping new
  /// bytes, a timeout lets bytes flow again, a limit stops counting (an end it caused stays).
  /// False when no toxic has that id.
  bool remove_toxic(toxic_id id);
  /// Removes every toxic.
  void clear_toxics();

  /// Fault seam: the next `count` connects (-1: until cleared) of `role` ("" any role) fail
  /// as `f` says; with `host`, only connects to that host name (any case; a connect straight
  /// to an address has none). Faults queue: the first one with connects left applies.
  void fail_connects(connect_fault f, int count, std::string role = "", std::string host = "");
  /// Removes every connect fault and every datagram fault.
  void clear_connect_faults();
  /// A name lookup made outside `connect` (the socket service's AT+QIDNSGIP) asks whether a
  /// dns_failure fault takes it, counting the fault down.
  bool lookup_fails(const std::string& host);

  /// Fault seam: the next `count` UDP datagrams (-1: until cleared) moving in `dir` (`both`:
  /// either way) are lost or arrive twice. UDP does not pass through the lanes; the socket
  /// service asks `take_datagram_fault` for each datagram it hands over or receives.
  void fail_datagrams(datagram_fault f, int count, stream dir);
  /// What happens to the next datagram moving in `dir` (upstream or downstream), if anything.
  std::optional<datagram_fault> take_datagram_fault(stream dir);

  /// Seeds the random choices of toxics (jitter, slicer sizes), so a seed repeats a run.
  void seed(std::uint64_t s) { choices_.rng.seed(s); }
  /// Test hook: called with each random choice a toxic makes, a latency toxic's delay of
  /// one chunk (simulated nanoseconds) or a slicer's piece size (bytes).
  using choice_hook = std::function<void(toxic_type, std::int64_t)>;
  void on_toxic_choice(choice_hook h) { choices_.hook = std::move(h); }

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
  /// A tracked connection of `role` whose connect completes through `h`.
  std::shared_ptr<connection> new_connection(connect_handler h, const std::string& role);
  /// Whether a connect to `what` (host name `host`, "" for an address) may go on: false when
  /// the packet context is inactive or a connect fault takes it (then it has completed, or
  /// waits forever for an unanswered one).
  bool admit(connection& c, const std::string& what, const std::string& host, bool say_inactive);
  /// Applies the toxics `c`'s role matches that it does not have yet; `fresh` (a new
  /// connection, or one that just got its role) also takes count-limited ones.
  void apply_toxics(connection& c, bool fresh);
  /// The connect fault a connect of `role` to `host` ("" an address) meets, if any (counting
  /// it down).
  std::optional<connect_fault> take_connect_fault(const std::string& role, const std::string& host);
  /// The toxics' random choices: one seeded generator for the module, and the test hook.
  class random_choices final : public chooser {
   public:
    std::int64_t draw(std::int64_t spread) override;
    void chose(toxic_type type, std::int64_t value) override {
      if (hook) hook(type, value);
    }
    std::mt19937_64 rng{0};
    choice_hook hook;
  };
  /// The stage id of the blackhole's hold (toxic ids start at 1).
  static constexpr lane::stage_id blackhole_hold = 0;

  struct toxic_entry {
    toxic_id id;
    toxic spec;
    int left;  ///< new connections it still applies to (-1: all)
  };
  struct connect_fault_entry {
    connect_fault fault;
    int left;  ///< connects it still fails (-1: until cleared)
    std::string role;
    std::string name;  ///< lower case; "" any
  };
  struct datagram_fault_entry {
    datagram_fault fault;
    int left;  ///< datagrams it still takes (-1: until cleared)
    stream dir;
  };

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
  std::vector<toxic_entry> toxics_;
  toxic_id next_toxic_ = 1;
  std::vector<connect_fault_entry> connect_faults_;
  std::vector<datagram_fault_entry> datagram_faults_;
  random_choices choices_;
};

}  // namespace quecsim::net
