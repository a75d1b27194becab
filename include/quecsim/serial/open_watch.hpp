#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace quecsim::serial {

class inotify;

/// Tells once when a host opens a device path (the pty's slave): the moment a real module's
/// host would switch it on, since hosts open their port before powering the module. Uses
/// inotify's IN_OPEN, which devpts reports like any file, through the io_context's one inotify
/// instance (see inotify.hpp).
class open_watch {
 public:
  /// Starts watching `path`; `on_open` runs once, on the io_context, at the first open after
  /// this call (not after this object is gone). Throws std::system_error when inotify refuses.
  open_watch(boost::asio::io_context& io, const std::string& path, std::function<void()> on_open);
  ~open_watch();
  open_watch(const open_watch&) = delete;
  open_watch& operator=(const open_watch&) = delete;

 private:
  inotify& watches_;
  std::function<void()> on_open_;
  std::uint64_t id_ = 0;  // the watch, 0 once it has fired
};

}  // namespace quecsim::serial
