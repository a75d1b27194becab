#include "quecsim/serial/close_watch.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "quecsim/serial/pty.hpp"

namespace quecsim::serial {
namespace {

int dup_of(int fd) {
  const int copy = ::dup(fd);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup");
  return copy;
}

}  // namespace

close_watch::close_watch(boost::asio::io_context& io, pty& p, std::function<void()> on_closed)
    : pty_(p), master_(io, dup_of(p.master())), on_closed_(std::move(on_closed)) {
  first_open_ = std::make_unique<open_watch>(io, p.path(), [this] { host_opened(); });
}

close_watch::~close_watch() {
  *alive_ = false;
}

void close_watch::host_opened() {
  // From now on only the host's descriptors keep the slave open. Had the host already closed
  // its own, the master hangs up at once.
  pty_.release_slave();
  wait_hangup();
}

void close_watch::wait_hangup() {
  // An error wait completes on EPOLLHUP or EPOLLERR (a pty master raises no EPOLLPRI outside
  // packet mode), never merely because bytes are waiting.
  master_.async_wait(
      boost::asio::posix::stream_descriptor::wait_error,
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        pollfd p{master_.native_handle(), 0, 0};
        if (::poll(&p, 1, 0) < 0 || (p.revents & POLLHUP) == 0) return wait_hangup();
        boost::system::error_code ignored;
        master_.close(ignored);
        if (on_closed_) on_closed_();
      });
}

}  // namespace quecsim::serial
