#pragma once

#include <array>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace quecsim::serial {

/// One inotify instance per io_context, shared by every watch on it. The kernel allows a user
/// few instances (fs.inotify.max_user_instances, 128 by default) but many watches, so a
/// process with a thousand modules must not open one instance per module. Reached with
/// `boost::asio::use_service<inotify>(io)`; single-threaded like the io_context.
class inotify : public boost::asio::execution_context::service {
 public:
  /// Called with the event mask of each event on the watched path.
  using handler = std::function<void(std::uint32_t mask)>;
  /// Names one watch, for `remove`.
  using watch_id = std::uint64_t;

  /// The key Asio finds the service by.
  static boost::asio::execution_context::id id;

  explicit inotify(boost::asio::io_context& io);
  ~inotify() override;
  inotify(const inotify&) = delete;
  inotify& operator=(const inotify&) = delete;

  /// Calls `on_event` on the io_context for every event of `mask` on `path`, until `remove`.
  /// Throws std::system_error when inotify refuses (no instance, no watch).
  watch_id add(const std::string& path, std::uint32_t mask, handler on_event);
  /// Ends a watch; its handler is not called again. Unknown ids are ignored.
  void remove(watch_id id);

 private:
  struct watch {
    int wd;
    std::uint32_t mask;
    std::shared_ptr<handler> on_event;
  };

  void shutdown() override;
  void wait();
  void on_readable();

  boost::asio::io_context& io_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> fd_;  // opened on the first watch
  bool waiting_ = false;
  std::map<watch_id, watch> watches_;
  std::multimap<int, watch_id> by_wd_;  // the kernel's watch descriptor to its watches
  watch_id next_ = 1;
  std::array<char, 4096> events_{};
};

}  // namespace quecsim::serial
