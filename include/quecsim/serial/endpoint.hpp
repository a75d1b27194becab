#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "quecsim/core/events.hpp"
#include "quecsim/serial/host_port.hpp"

namespace quecsim::serial {

class uart;

/// A value of --device, --attach-pty, --tcp-listen, --tcp-connect or a line flag that makes no
/// sense (exit 2); the message names the flag.
class endpoint_usage_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Where the module's UART meets its host when it is not a pty of quecsim's own.
struct endpoint_options {
  /// Which kind of endpoint.
  enum class kind {
    pty,          ///< quecsim's own pty (the default; not built by this file)
    device,       ///< --device PATH: an existing serial device (hardware in the loop)
    attach_pty,   ///< --attach-pty PATH: a pty someone else created (an emulator's UART)
    tcp_listen,   ///< --tcp-listen [ADDR:]PORT: a TCP server, one host connection at a time
    tcp_connect,  ///< --tcp-connect HOST:PORT: a TCP client (Renode's server-socket terminal)
  };
  kind type = kind::pty;
  std::string path;              ///< device, attach_pty: the path opened
  std::string address;           ///< tcp_*: the address listened on or connected to
  std::uint16_t port = 0;        ///< tcp_*: the port (listen: 0 for any)
  unsigned data_bits = 8;        ///< device: --data-bits (5 to 8)
  char parity = 'N';             ///< device: --parity N, E or O
  unsigned stop_bits = 1;        ///< device: --stop-bits (1 or 2)
  unsigned reconnect_ms = 1000;  ///< tcp_connect, device, attach_pty: retry period (real ms)
};

/// The flags' names of a kind ("--device", ...), for messages.
std::string_view flag_name(endpoint_options::kind k);
/// "[ADDR:]PORT" of --tcp-listen (ADDR default 127.0.0.1). Throws endpoint_usage_error.
endpoint_options parse_tcp_listen(const std::string& spec);
/// "HOST:PORT" of --tcp-connect. Throws endpoint_usage_error.
endpoint_options parse_tcp_connect(const std::string& spec);

/// The module's UART over an endpoint that a host attaches to and detaches from: a TCP
/// connection, a device, a foreign pty. Between hosts the line is dead, as a UART with nothing
/// wired to it: what the module sends is lost and nothing arrives. While a host is attached the
/// bytes go through a serial::uart over its descriptor, paced and published as on quecsim's
/// own pty, so the module, faults, transcripts and the control socket work the same.
class endpoint : public host_port {
 public:
  /// What an endpoint tells its station.
  struct callbacks {
    std::function<void(std::string_view)> on_bytes;  ///< bytes from the host
    std::function<void()> on_attached;               ///< a host attached (opened the port)
    std::function<void()> on_detached;               ///< the host went (closed the port)
  };

  /// Builds the endpoint `opts` names (not a pty); opening a device or a listening socket
  /// happens here, so errors come before the ready line. Throws endpoint_usage_error for a bad
  /// value, std::runtime_error naming the device or address for what the system refuses.
  static std::unique_ptr<endpoint> make(boost::asio::io_context& io, events::bus& bus,
                                        int module_id, unsigned baud, const endpoint_options& opts);
  ~endpoint() override;
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// Starts serving: accepting, connecting, or reading the device.
  virtual void start(callbacks cb) = 0;
  /// What the ready line and the control socket's state say of it: {"kind", ...}.
  virtual nlohmann::json describe() const = 0;
  /// The endpoint in words, for the start line ("TCP 127.0.0.1:5000 (listening)").
  virtual std::string name() const = 0;
  /// Whether a host is attached now.
  bool attached() const { return static_cast<bool>(line_); }

  void write(std::string_view bytes) override;
  std::size_t queued() const override;
  void when_drained(std::function<void()> ready) override;
  void pause_input() override;
  void resume_input() override;
  void set_baud(unsigned baud) override;

 protected:
  endpoint(boost::asio::io_context& io, events::bus& bus, int module_id, unsigned baud);

  /// A host is there on `fd` (owned by the caller, open until `detach`): reading starts.
  void attach(int fd);
  /// The host is gone: the uart over its descriptor is dropped (the caller then closes it).
  void detach();
  /// The uart saw the end of the host's input; the endpoint detaches and closes (posted, so
  /// the uart is not destroyed inside its own handler).
  virtual void host_gone() = 0;
  /// Writes a line to stderr, prefixed "quecsim: " (and the module's number in a fleet).
  void log(const std::string& line) const;

  boost::asio::io_context& io_;
  events::bus& bus_;
  int module_id_;
  unsigned baud_;
  callbacks cb_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

 private:
  std::unique_ptr<uart> line_;
  bool paused_ = false;
  // Drain waiters given to the uart, answered when it goes so no producer waits forever.
  std::vector<std::shared_ptr<std::function<void()>>> waiters_;
};

}  // namespace quecsim::serial
