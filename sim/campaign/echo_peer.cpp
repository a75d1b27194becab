#include "echo_peer.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace quecsim::sim::campaign {

namespace {

// Echo bytes held for one connection before it is no longer read (the module is not taking
// them: its receive buffer is full).
constexpr std::size_t held_limit = std::size_t{64} * 1024;

struct client {
  int fd = -1;
  std::string out;     // echo not yet written
  bool ended = false;  // the module closed its side: close once `out` is written
};

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("the campaign's echo peer: " + what + ": " + std::strerror(errno));
}

}  // namespace

echo_peer::echo_peer() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) fail("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    errno = e;
    fail("listen on 127.0.0.1");
  }
  port_ = ntohs(a.sin_port);
  set_nonblocking(listen_fd_);
  thread_ = std::thread([this] { serve(); });
}

echo_peer::~echo_peer() {
  const char b = 0;
  [[maybe_unused]] const auto n = ::write(wake_[1], &b, 1);
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void echo_peer::serve() {
  std::vector<client> clients;
  std::vector<pollfd> fds;
  char buf[16384];
  for (;;) {
    fds.assign({{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}});
    for (const auto& c : clients) {
      short events = 0;
      if (!c.ended && c.out.size() < held_limit) events |= POLLIN;
      if (!c.out.empty()) events |= POLLOUT;
      fds.push_back({c.fd, events, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        clients.push_back({fd, {}, false});
      }
    }
    // fds[2 + i] belongs to clients[i] (accepted ones come after them).
    const std::size_t polled = fds.size() - 2;
    for (std::size_t i = 0; i < polled; ++i) {
      auto& c = clients[i];
      const short ev = fds[2 + i].revents;
      bool broken = (ev & (POLLERR | POLLNVAL)) != 0;
      if (!broken && (ev & (POLLIN | POLLHUP)) != 0 && !c.ended) {
        const auto n = ::read(c.fd, buf, sizeof buf);
        if (n > 0) {
          c.out.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
          c.ended = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          broken = true;
        }
      }
      if (!broken && !c.out.empty()) {
        const auto n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) {
          c.out.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          broken = true;
        }
      }
      if (broken || (c.ended && c.out.empty())) {
        ::close(c.fd);
        c.fd = -1;
      }
    }
    std::vector<client> open;
    for (auto& c : clients) {
      if (c.fd >= 0) open.push_back(std::move(c));
    }
    clients = std::move(open);
  }
  for (const auto& c : clients) ::close(c.fd);
}

}  // namespace quecsim::sim::campaign
