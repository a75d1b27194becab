#include "quecsim/serial/open_watch.hpp"

#include <sys/inotify.h>

#include "quecsim/serial/inotify.hpp"

namespace quecsim::serial {

open_watch::open_watch(boost::asio::io_context& io, const std::string& path,
                       std::function<void()> on_open)
    : watches_(boost::asio::use_service<inotify>(io)), on_open_(std::move(on_open)) {
  id_ = watches_.add(path, IN_OPEN, [this](std::uint32_t) {
    // Only the first open matters: closing and reopening does not power-cycle.
    watches_.remove(id_);
    id_ = 0;
    if (on_open_) on_open_();
  });
}

open_watch::~open_watch() {
  if (id_ != 0) watches_.remove(id_);
}

}  // namespace quecsim::serial
