// The module's UART over TCP: --tcp-listen (a server, as QEMU's -serial tcp: and pyserial's
// socket:// expect) and --tcp-connect (a client, as Renode's server-socket terminal expects).

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include "endpoint_kinds.hpp"

namespace quecsim::serial::detail {
namespace {

using boost::asio::ip::tcp;

std::string text(const tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

// A connected socket as the uart wants it: a bare descriptor, non-blocking, and without
// Nagle's delay (an AT line is a few bytes; a UART sends them at once).
int take_descriptor(tcp::socket& s) {
  boost::system::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  const int fd = s.release();
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return fd;
}

class tcp_listen final : public endpoint {
 public:
  tcp_listen(boost::asio::io_context& io, events::bus& bus, int module_id, unsigned baud,
             const endpoint_options& opts)
      : endpoint(io, bus, module_id, baud), acceptor_(io) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(opts.address, ec);
    if (ec) {
      throw endpoint_usage_error("--tcp-listen " + opts.address + ":" + std::to_string(opts.port) +
                                 ": '" + opts.address + "' is not an IP address");
    }
    const tcp::endpoint where(address, opts.port);
    const auto fail = [&](const std::string& what) {
      return std::runtime_error("--tcp-listen " + text(where) + ": cannot " + what + ": " +
                                ec.message());
    };
    acceptor_.open(where.protocol(), ec);
    if (ec) throw fail("open a socket");
    // A restarted quecsim takes its port back at once, as a module does its UART.
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor_.bind(where, ec);
    if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) throw fail("listen");
    local_ = acceptor_.local_endpoint();
  }

  ~tcp_listen() override { close_host(); }

  void start(callbacks cb) override {
    cb_ = std::move(cb);
    accept();
  }

  nlohmann::json describe() const override {
    return {{"kind", "tcp-listen"},
            {"address", local_.address().to_string()},
            {"port", local_.port()},
            {"host", fd_ >= 0 ? nlohmann::json(peer_) : nlohmann::json()}};
  }

  std::string name() const override { return "TCP " + text(local_) + " (listening)"; }

 private:
  void accept() {
    acceptor_.async_accept([this, alive = std::weak_ptr<bool>(alive_)](
                               const boost::system::error_code& ec, tcp::socket s) {
      if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
      if (!ec) accepted(std::move(s));
      accept();
    });
  }

  void accepted(tcp::socket s) {
    boost::system::error_code ec;
    const auto from = s.remote_endpoint(ec);
    const std::string peer = ec ? std::string("an unknown address") : text(from);
    if (fd_ >= 0) {
      // One UART, one host: a second client is told no by the connection's close.
      log("--tcp-listen " + text(local_) + ": refused a connection from " + peer + ": the host " +
          peer_ + " is connected (one host at a time)");
      s.close(ec);
      return;
    }
    peer_ = peer;
    fd_ = take_descriptor(s);
    log("--tcp-listen " + text(local_) + ": host " + peer_ + " connected");
    attach(fd_);
    if (cb_.on_attached) cb_.on_attached();
  }

  void host_gone() override {
    log("--tcp-listen " + text(local_) + ": host " + peer_ + " closed the connection");
    close_host();
    if (cb_.on_detached) cb_.on_detached();
  }

  void close_host() {
    detach();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  tcp::acceptor acceptor_;
  tcp::endpoint local_;
  int fd_ = -1;  // the connected host's socket, or -1
  std::string peer_;
};

class tcp_connect final : public endpoint {
 public:
  tcp_connect(boost::asio::io_context& io, events::bus& bus, int module_id, unsigned baud,
              const endpoint_options& opts)
      : endpoint(io, bus, module_id, baud),
        spec_(opts.address + ":" + std::to_string(opts.port)),
        period_(std::chrono::milliseconds(opts.reconnect_ms)),
        timer_(io),
        socket_(io) {
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto found = resolver.resolve(opts.address, std::to_string(opts.port),
                                        tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
      throw std::runtime_error("--tcp-connect " + spec_ + ": cannot resolve '" + opts.address +
                               "': " + ec.message());
    }
    target_ = found.begin()->endpoint();
  }

  ~tcp_connect() override { close_host(); }

  void start(callbacks cb) override {
    cb_ = std::move(cb);
    connect();
  }

  nlohmann::json describe() const override {
    return {{"kind", "tcp-connect"},
            {"address", target_.address().to_string()},
            {"port", target_.port()},
            {"connected", fd_ >= 0}};
  }

  std::string name() const override { return "TCP " + spec_ + " (connecting out)"; }

 private:
  void connect() {
    socket_ = tcp::socket(io_);
    socket_.async_connect(
        target_, [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
          if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
          if (ec) {
            // Said once per outage, not once per attempt: the server may be slow to come up.
            if (!complained_) {
              log("--tcp-connect " + spec_ + ": cannot connect (" + ec.message() +
                  "); trying again every " + std::to_string(period_.count()) + " ms");
              complained_ = true;
            }
            return retry();
          }
          complained_ = false;
          fd_ = take_descriptor(socket_);
          log("--tcp-connect " + spec_ + ": connected");
          attach(fd_);
          if (cb_.on_attached) cb_.on_attached();
        });
  }

  void retry() {
    timer_.expires_after(period_);
    timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
      if (!ec && !alive.expired()) connect();
    });
  }

  void host_gone() override {
    log("--tcp-connect " + spec_ + ": the connection closed; connecting again");
    close_host();
    if (cb_.on_detached) cb_.on_detached();
    complained_ = false;
    connect();
  }

  void close_host() {
    detach();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string spec_;
  std::chrono::milliseconds period_;
  boost::asio::steady_timer timer_;
  tcp::socket socket_;
  tcp::endpoint target_;
  int fd_ = -1;
  bool complained_ = false;
};

}  // namespace

std::unique_ptr<endpoint> make_tcp_listen(boost::asio::io_context& io, events::bus& bus,
                                          int module_id, unsigned baud,
                                          const endpoint_options& opts) {
  return std::make_unique<tcp_listen>(io, bus, module_id, baud, opts);
}

std::unique_ptr<endpoint> make_tcp_connect(boost::asio::io_context& io, events::bus& bus,
                                           int module_id, unsigned baud,
                                           const endpoint_options& opts) {
  return std::make_unique<tcp_connect>(io, bus, module_id, baud, opts);
}

}  // namespace quecsim::serial::detail
