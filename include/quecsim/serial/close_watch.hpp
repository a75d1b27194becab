#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>

#include "quecsim/serial/open_watch.hpp"

namespace quecsim::serial {

class pty;

/// Tells once when a host that opened the pty has closed every descriptor of it again: the end
/// of a one-shot run. The pty holds a slave descriptor of its own, so that the master never
/// hangs up; once the host has opened the device (inotify's IN_OPEN) the watch has the pty let
/// go of it, and the master's hangup (POLLHUP, counted by the kernel over every process) then
/// says that the last descriptor was closed.
class close_watch {
 public:
  /// Starts watching `p` (which outlives the watch); `on_closed` runs once, on the io_context.
  /// Throws std::system_error when inotify or dup refuses.
  close_watch(boost::asio::io_context& io, pty& p, std::function<void()> on_closed);
  ~close_watch();
  close_watch(const close_watch&) = delete;
  close_watch& operator=(const close_watch&) = delete;

 private:
  void host_opened();
  void wait_hangup();

  pty& pty_;
  // The master again (a dup, so the UART's reads are not disturbed), watched for its hangup.
  boost::asio::posix::stream_descriptor master_;
  std::function<void()> on_closed_;
  std::unique_ptr<open_watch> first_open_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::serial
