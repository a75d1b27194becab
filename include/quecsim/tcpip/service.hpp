#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/tcpip/socket.hpp"

namespace quecsim::tcpip {

/// How the service behaves where models (or unconfirmed facts) differ.
struct service_options {
  socket_limits limits;  ///< per socket: receive buffer, send window, connect timeout
  /// AT+QIOPEN with a host name while AT+QIDNSIP=0: true refuses it (ERROR), false resolves
  /// it anyway (what TinyGSM's M95 driver, which never sets QIDNSIP, relies on).
  bool names_need_dnsip = false;
  /// The most clients AT+QISERVER=<type>,<max> allows in multiple connection mode (and the
  /// limit of the exec form there); single mode takes one.
  int server_max_clients = 5;
  /// The host machine's loopback port the module's server is reached on (0: the system's
  /// choice). It is reserved from the start, so the ready line can name it, and accepts
  /// connections only while AT+QISERVER listens.
  std::uint16_t server_port = 0;
};

/// The sockets a module has (AT+QIMUX=1 numbers them 0-5; single mode uses 0).
constexpr int socket_count = 6;

/// The module's TCP/IP socket service: AT+QIOPEN, AT+QISEND, AT+QIRD, AT+QICLOSE, AT+QISACK,
/// AT+QIDNSGIP and the IP state AT+QISTAT shows, over `net`. Each socket is a `tcpip::socket_op`
/// (an I/O-free algorithm); this class only carries its steps out over the network and the
/// UART. One per module.
class service {
 public:
  /// Adds the socket commands to `m`'s command table (replacing AT+QISTAT, which now also
  /// reports the connection). `net` carries every connection.
  service(module::module& m, net::network& net, service_options opts = {});
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// Socket `i` (0-5), for tests and faults.
  const socket_op& at(int i) const;
  /// The state AT+QISTAT prints in single connection mode.
  std::string state_text() const;
  /// Where a client on the host machine reaches the module's server (AT+QISERVER).
  const boost::asio::ip::tcp::endpoint& server_endpoint() const { return server_endpoint_; }
  /// The module's server: its state and how many clients it has now.
  const listener_op& server() const { return listener_; }
  int server_clients() const;

 private:
  struct slot;
  class send_input;
  class transparent_pipe;
  using inv_ptr = std::shared_ptr<at::invocation>;

  void add_commands();
  void open(int i, protocol p, const std::string& host, std::uint16_t port);
  void run(int i, steps s);
  void connect(int i);
  void read_more(int i);
  void write_more(int i);
  void arm_deadline(int i);
  void finish_send(int i, std::string data, const inv_ptr& inv);
  void deliver(int i, std::string_view bytes);
  void end_connection(int i);
  void on_transparent_data(std::string_view bytes);
  void leave_transparent(const std::string& why);
  void on_context_down();
  void reset();
  /// Puts what socket `i` carried on the event bus as an info record of source "socket":
  /// "<i> open TCP|UDP <host>:<port>", "<i> peer <ip>:<port>" (a TCP connection is up),
  /// "<i> tx <bytes>" (to the peer), "<i> rx <bytes>" (from it).
  void record(int i, std::string_view what, std::string_view bytes);
  void run_server(const listener_steps& next);
  void reserve_server_port();
  void accept_next();
  void on_client(std::shared_ptr<net::connection> c);
  /// AT+QICLOSE of the whole server: the listener and every client it accepted.
  void close_server();
  /// Whether socket `i` serves the role AT+QISRVC selects (1 client, 2 server).
  bool in_role(int i) const;
  /// "" in single mode, "<i>, " in multiple connection mode: the prefix of result lines.
  std::string prefix(int i) const;
  bool mux() const;
  /// One socket's line of AT+QISTAT (`with_state` false) or AT+QISTATE in multiple mode.
  std::string status_line(const std::string& head, int i, bool with_state) const;

  module::module& module_;
  net::network& net_;
  service_options opts_;
  std::array<std::unique_ptr<slot>, socket_count> slots_;
  std::unique_ptr<send_input> input_;
  std::unique_ptr<transparent_pipe> pipe_;
  bool transparent_ = false;  // socket 0 was opened with AT+QIMODE=1
  /// AT+QITCFG: retries, wait time (200 ms units), send size, escape enabled.
  int tcfg_retry_ = 3;
  int tcfg_wait_ = 2;
  int tcfg_size_ = 512;
  int tcfg_esc_ = 1;
  int srvc_ = 1;  ///< AT+QISRVC
  listener_op listener_;
  /// The host-side port, bound from the start and listening only while the server runs.
  std::unique_ptr<boost::asio::ip::tcp::acceptor> reserved_;
  boost::asio::ip::tcp::endpoint server_endpoint_;
  std::shared_ptr<net::listener> server_;
  std::uint64_t server_generation_ = 0;  ///< bumped when the server ends: stale accepts drop
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::tcpip
