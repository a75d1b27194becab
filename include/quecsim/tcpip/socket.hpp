#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quecsim::tcpip {

/// The transport of a socket, as AT+QIOPEN names it.
enum class protocol { tcp, udp };

/// The name AT+QIOPEN and the +QIRD header use: "TCP" or "UDP".
std::string_view name(protocol p);

/// Where one socket stands. `closed` is IP CLOSE: the host or the peer ended it.
enum class socket_state { idle, connecting, connected, closed };

/// How received data reaches the host (AT+QINDI).
enum class receive_mode {
  push = 0,        ///< written to the UART as it arrives
  notify = 1,      ///< buffered; one +QIRDI when the buffer stops being empty
  per_packet = 2,  ///< buffered; one six-field +QIRDI per packet
  hold = 3         ///< buffered silently (transparent mode back in command mode, until ATO)
};

/// The limits of one socket, from the profile.
struct socket_limits {
  /// Bytes a socket buffers for AT+QIRD before it stops reading from the peer (TCP: the
  /// window closes; UDP: later datagrams are dropped).
  std::size_t receive_buffer = 10240;
  /// Bytes handed to the link and not yet taken by it that AT+QISEND may have outstanding;
  /// a send that does not fit answers SEND FAIL.
  std::size_t send_window = 7300;
  /// Bytes transparent mode may have handed to the link and not yet had taken before it holds
  /// the host back. The host sees no SEND OK there, only flow control, so this is the
  /// module's data buffer rather than AT+QISEND's window.
  std::size_t transparent_buffer = 64 * 1024;
  /// How long a connect may take before CONNECT FAIL (simulated time).
  std::chrono::milliseconds connect_timeout{75000};
};

/// One thing the socket asks its driver to do, or tells the host. The driver acts on the
/// steps in order.
struct step {
  enum class kind {
    connect,         ///< open the connection to the socket's host and port
    write,           ///< write `bytes` to the peer
    close,           ///< drop the connection towards the peer
    pause_reading,   ///< the receive buffer is full: read nothing from the peer for now
    resume_reading,  ///< the host read some: read from the peer again
    opened,          ///< host: the open succeeded (CONNECT OK)
    accepted,        ///< host: a client reached the module's server (REMOTE IP)
    open_failed,     ///< host: the open failed (CONNECT FAIL)
    peer_closed,     ///< host: the peer ended the connection (CLOSED)
    push,            ///< host: `bytes` arrived (QINDI=0)
    notify,          ///< host: data is waiting (+QIRDI; with `packets`, `last`, `total`)
  };
  kind what = kind::connect;
  std::string bytes;
  std::size_t packets = 0;  ///< notify: packets buffered (QINDI=2)
  std::size_t last = 0;     ///< notify: bytes of the newest packet
  std::size_t total = 0;    ///< notify: bytes buffered in all
};

/// The steps one event produced.
using steps = std::vector<step>;

/// The outcome of AT+QISEND's data, as the host sees it.
enum class send_outcome {
  ok,            ///< handed to the link: SEND OK
  fail,          ///< the send window has no room for it: SEND FAIL
  not_connected  ///< no connection: ERROR
};

/// What AT+QIRD gets.
struct read_outcome {
  bool error = false;  ///< nothing to read and nothing will come (closed, never opened)
  std::string bytes;   ///< empty with !error: nothing buffered now
};

/// One socket of the module's TCP/IP service as an I/O-free resumable algorithm: it is fed
/// what the host asks (open, send, read, close), what the network did (connected, refused,
/// data, written, peer closed, context down) and the time, and returns the steps to take.
/// No sockets, no timers: the service's adapter runs it over `net`, unit tests over a script.
class socket_op {
 public:
  /// A socket with these limits, idle.
  explicit socket_op(socket_limits limits = {}) : limits_(limits) {}

  /// The host opens a connection: from idle or closed only (otherwise nothing happens and
  /// the caller answers as the state says). Returns the connect step; the deadline starts.
  steps open(protocol p, std::string host, std::uint16_t port,
             std::chrono::steady_clock::time_point now);
  /// The connection is up, to `remote_ip:remote_port`.
  steps on_connected(std::string remote_ip, std::uint16_t remote_port);
  /// A client from `remote_ip:remote_port` reached the module's server and was given this
  /// socket: from idle or closed only (otherwise nothing happens and the caller drops it).
  /// The socket is then connected in the server role (AT+QISRVC=2, `<sc>` 2).
  steps accept(std::string remote_ip, std::uint16_t remote_port);
  /// The connection could not be made (refused, DNS failed, unreachable).
  steps on_connect_failed();
  /// The time is now `now`: a connect past its deadline fails.
  steps on_time(std::chrono::steady_clock::time_point now);
  /// When `on_time` next has something to do (nullopt: nothing pending).
  std::optional<std::chrono::steady_clock::time_point> deadline() const { return deadline_; }

  /// The host's AT+QISEND data: written when the send window has room.
  send_outcome send(std::string bytes, steps& out) {
    return send(std::move(bytes), out, limits_.send_window);
  }
  /// The same with another bound on the bytes outstanding (transparent mode's buffer).
  send_outcome send(std::string bytes, steps& out, std::size_t window);
  /// The limits this socket was made with.
  const socket_limits& limits() const { return limits_; }
  /// The link took `n` bytes of what was written (they count as acknowledged).
  steps on_written(std::size_t n);

  /// Bytes (TCP) or one datagram (UDP) arrived from the peer; `mode` is AT+QINDI's.
  steps on_data(std::string_view bytes, receive_mode mode);
  /// The peer ended the connection (EOF, reset).
  steps on_peer_closed();
  /// The packet context went down: the connection is gone, without a CLOSED line.
  steps on_context_down();

  /// AT+QIRD: up to `max` buffered bytes; with `one_packet` not past the oldest packet
  /// (QINDI=2).
  read_outcome read(std::size_t max, bool one_packet, steps& out);
  /// AT+QICLOSE: drops the connection. False when there was nothing to close.
  bool close(steps& out);
  /// Back to idle at once (the context was reset, the module restarted), forgetting all.
  void reset();

  socket_state state() const { return state_; }
  /// Whether the connection came in through the module's server (AT+QISERVER).
  bool server_side() const { return server_side_; }
  protocol transport() const { return protocol_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  /// The peer's address and port once connected (AT+QIRD's header, AT+QISTATE).
  const std::string& remote_ip() const { return remote_ip_; }
  std::uint16_t remote_port() const { return remote_port_; }

  /// AT+QISACK's counters: bytes sent on this connection, and of those taken by the link.
  std::uint64_t sent() const { return sent_; }
  std::uint64_t acked() const { return acked_; }
  /// Bytes waiting for AT+QIRD, and how many packets they came in.
  std::size_t buffered() const { return buffered_; }
  std::size_t packets() const { return packets_.size(); }
  /// Datagrams dropped because the buffer was full (UDP).
  std::uint64_t dropped() const { return dropped_; }

 private:
  void end_connection();

  socket_limits limits_;
  socket_state state_ = socket_state::idle;
  bool server_side_ = false;
  protocol protocol_ = protocol::tcp;
  std::string host_;
  std::uint16_t port_ = 0;
  std::string remote_ip_;
  std::uint16_t remote_port_ = 0;
  std::optional<std::chrono::steady_clock::time_point> deadline_;

  std::uint64_t sent_ = 0;
  std::uint64_t acked_ = 0;

  std::deque<std::string> packets_;  // received and not yet read, oldest first
  std::size_t head_offset_ = 0;      // bytes of the oldest packet already read
  std::size_t buffered_ = 0;
  bool notified_ = false;  // QINDI=1: +QIRDI given and the buffer not emptied since
  bool paused_ = false;    // reading from the peer paused: the buffer is full
  bool peer_gone_ = false;
  std::uint64_t dropped_ = 0;
};

/// Where the module's TCP server (AT+QISERVER) stands.
enum class listener_state {
  idle,      ///< no server
  starting,  ///< AT+QISERVER answered OK; the listening socket is being set up
  listening  ///< SERVER OK given: clients may connect
};

/// One thing the server asks its driver to do, or tells the host.
enum class listener_step {
  listen,         ///< start listening on the host machine's loopback port
  stop,           ///< stop listening (the clients already in stay, unless closed too)
  server_ok,      ///< host: the server listens (SERVER OK)
  server_failed,  ///< host: the server could not listen (CONNECT FAIL)
};

/// The steps one listener event produced.
using listener_steps = std::vector<listener_step>;

/// The module's TCP server as an I/O-free algorithm: AT+QILPORT's setting, AT+QISERVER's
/// start, which socket an arriving client gets (or that it is turned away), and the end by
/// AT+QICLOSE or the packet context. The service carries its steps out over `net`.
class listener_op {
 public:
  /// AT+QILPORT: the transport and port the server listens on. False (ERROR) while a server
  /// runs.
  bool set_port(protocol p, std::uint16_t port);
  protocol transport() const { return protocol_; }
  std::uint16_t port() const { return port_; }

  /// AT+QISERVER with at most `max_clients` clients at once: from idle only (an empty result
  /// means refused: ERROR). Returns the listen step.
  listener_steps start(int max_clients);
  /// The listening socket is up.
  listener_steps on_listening();
  /// The listening socket could not be set up, or failed later.
  listener_steps on_listen_failed();
  /// A client arrived. `taken[i]` says whether socket `i` is in use, `clients` how many of
  /// them are this server's clients now. The socket it gets (the lowest free one), or
  /// nullopt when it is turned away (not listening, or `max_clients` reached).
  std::optional<int> admit(const std::vector<bool>& taken, int clients) const;
  /// AT+QICLOSE of the server: stops listening. False when there was no server.
  bool stop(listener_steps& out);
  /// The packet context went down: the server is gone, without a line.
  listener_steps on_context_down();
  /// Back to power-up (the module restarted): no server, AT+QILPORT's default.
  void reset();

  listener_state state() const { return state_; }
  /// AT+QISERVER's client limit while a server runs.
  int max_clients() const { return max_clients_; }

 private:
  listener_state state_ = listener_state::idle;
  protocol protocol_ = protocol::tcp;
  std::uint16_t port_ = 0;
  int max_clients_ = 0;
};

}  // namespace quecsim::tcpip
