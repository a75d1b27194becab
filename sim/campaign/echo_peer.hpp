#pragma once

#include <cstdint>
#include <thread>

namespace quecsim::sim::campaign {

/// The socket peer of one campaign run, as the embedded FTP server is its FTP peer: a TCP echo
/// server on 127.0.0.1 (port 0: the kernel picks one), sending back every byte each connection
/// sends, served by a thread of its own until it is destroyed. A connection whose echo the
/// module does not take is not read further (its window closes, as a real peer's would).
class echo_peer {
 public:
  /// Listens and starts serving; throws std::runtime_error when no socket can be had.
  echo_peer();
  /// Stops the thread and closes every connection.
  ~echo_peer();
  echo_peer(const echo_peer&) = delete;
  echo_peer& operator=(const echo_peer&) = delete;

  /// The port it listens on.
  std::uint16_t port() const { return port_; }

 private:
  void serve();

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a byte in wake_[1] ends serve()
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace quecsim::sim::campaign
