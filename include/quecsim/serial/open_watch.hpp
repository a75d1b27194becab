#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <string>

namespace quecsim::serial {

/// Tells once when a host opens a device path (the pty's slave): the moment a real module's
/// host would switch it on, since hosts open their port before powering the module. Uses
/// inotify's IN_OPEN, which devpts reports like any file.
class open_watch {
 public:
  /// Starts watching `path`; `on_open` runs once, on the io_context, at the first open after
  /// this call. Throws std::system_error when inotify refuses.
  open_watch(boost::asio::io_context& io, const std::string& path, std::function<void()> on_open);
  ~open_watch();
  open_watch(const open_watch&) = delete;
  open_watch& operator=(const open_watch&) = delete;

 private:
  void wait();

  boost::asio::posix::stream_descriptor fd_;
  std::function<void()> on_open_;
  std::array<char, 4096> events_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::serial
