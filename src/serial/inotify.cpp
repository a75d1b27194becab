#include "quecsim/serial/inotify.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

namespace quecsim::serial {

boost::asio::execution_context::id inotify::id;

inotify::inotify(boost::asio::io_context& io)
    : boost::asio::execution_context::service(io), io_(io) {}

inotify::~inotify() = default;

void inotify::shutdown() {
  watches_.clear();
  by_wd_.clear();
  fd_.reset();
}

inotify::watch_id inotify::add(const std::string& path, std::uint32_t mask, handler on_event) {
  if (!fd_) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
    fd_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, fd);
  }
  // IN_MASK_ADD: two watches of one path share the kernel's watch descriptor and keep both
  // masks; each handler still sees only the events it asked for.
  const int wd = ::inotify_add_watch(fd_->native_handle(), path.c_str(), mask | IN_MASK_ADD);
  if (wd < 0) throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + path);
  const watch_id id = next_++;
  watches_.emplace(id, watch{wd, mask, std::make_shared<handler>(std::move(on_event))});
  by_wd_.emplace(wd, id);
  wait();
  return id;
}

void inotify::remove(watch_id id) {
  const auto it = watches_.find(id);
  if (it == watches_.end()) return;
  const int wd = it->second.wd;
  watches_.erase(it);
  auto [first, last] = by_wd_.equal_range(wd);
  for (auto i = first; i != last; ++i) {
    if (i->second == id) {
      by_wd_.erase(i);
      break;
    }
  }
  // The kernel's watch goes when no other watch of the same path needs it.
  if (by_wd_.count(wd) == 0 && fd_) (void)::inotify_rm_watch(fd_->native_handle(), wd);
}

void inotify::wait() {
  if (waiting_ || !fd_) return;
  waiting_ = true;
  fd_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this](const boost::system::error_code& ec) {
                    waiting_ = false;
                    if (ec) return;  // operation_aborted: the service is shutting down
                    on_readable();
                  });
}

void inotify::on_readable() {
  // Collect first, then call: a handler may add or remove watches.
  std::vector<std::pair<watch_id, std::uint32_t>> due;
  for (;;) {
    const ssize_t n = ::read(fd_->native_handle(), events_.data(), events_.size());
    if (n <= 0) break;
    for (std::size_t at = 0; at + sizeof(inotify_event) <= static_cast<std::size_t>(n);) {
      inotify_event e{};
      std::memcpy(&e, events_.data() + at, sizeof e);
      at += sizeof e + e.len;
      auto [first, last] = by_wd_.equal_range(e.wd);
      for (auto i = first; i != last; ++i)
        if ((watches_.at(i->second).mask & e.mask) != 0) due.emplace_back(i->second, e.mask);
    }
  }
  if (!watches_.empty()) wait();
  for (const auto& [id, mask] : due) {
    // A watch removed by an earlier handler of this batch is not called.
    const auto it = watches_.find(id);
    if (it == watches_.end()) continue;
    const auto on_event = it->second.on_event;  // the handler may remove its own watch
    (*on_event)(mask);
  }
}

}  // namespace quecsim::serial
