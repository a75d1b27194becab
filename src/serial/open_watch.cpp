#include "quecsim/serial/open_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace quecsim::serial {
namespace {

int watch_fd(const std::string& path) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  if (::inotify_add_watch(fd, path.c_str(), IN_OPEN) < 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "inotify_add_watch " + path);
  }
  return fd;
}

}  // namespace

open_watch::open_watch(boost::asio::io_context& io, const std::string& path,
                       std::function<void()> on_open)
    : fd_(io, watch_fd(path)), on_open_(std::move(on_open)) {
  wait();
}

open_watch::~open_watch() {
  *alive_ = false;
}

void open_watch::wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
                   if (ec || alive.expired()) return;
                   const ssize_t n = ::read(fd_.native_handle(), events_.data(), events_.size());
                   if (n <= 0) return wait();
                   // Only the first open matters: closing and reopening does not power-cycle.
                   boost::system::error_code ignored;
                   fd_.close(ignored);
                   if (on_open_) on_open_();
                 });
}

}  // namespace quecsim::serial
