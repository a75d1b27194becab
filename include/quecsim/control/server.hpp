#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"

namespace quecsim::control {

/// The longest request line the server reads (1 MiB, line end excluded). A longer line is
/// answered with an error and discarded as it arrives, so it never sits in memory whole.
inline constexpr std::size_t max_line = std::size_t{1} << 20;

/// How many reply and event bytes may wait for one client that does not read (4 MiB). Past it
/// the client is dropped: what waits is discarded, `{"event":null,"dropped":true,...}` is sent
/// and the connection closed.
inline constexpr std::size_t max_backlog = std::size_t{4} << 20;

/// An error the client caused (a bad op, a missing field): its message goes into the reply.
class request_error : public std::runtime_error {
 public:
  using runtime_error::runtime_error;
};

/// What the server's owner supplies: every op other than ping, subscribe and unsubscribe.
class backend {
 public:
  virtual ~backend() = default;
  /// Handles one request (op apply/load/unload/state/...); returns the reply's fields (an
  /// object, merged after "id" and "ok") or throws request_error with a message for the
  /// client, also for an op it does not know.
  virtual nlohmann::json handle(const nlohmann::json& request) = 0;
};

/// What one client has subscribed to, as its subscribe and unsubscribe requests set it.
struct subscription {
  bool active = false;      ///< subscribed now
  std::uint32_t kinds = 0;  ///< bit `static_cast<int>(events::kind)` set: that kind is wanted

  /// Whether an event of kind `k` goes to this client.
  bool wants(events::kind k) const {
    return active && ((kinds >> static_cast<unsigned>(k)) & 1U) != 0;
  }
};

/// Answers one request line as the control socket does, without I/O: parses it, handles ping,
/// subscribe and unsubscribe on `sub`, hands every other op to `handler`. Returns the reply
/// line (one JSON object, no line end), or nothing for a blank line. Never throws: a parse
/// error, a bad request or a failing backend is an `"ok":false` reply.
std::optional<std::string> answer_line(std::string_view line, subscription& sub, backend& handler);

/// The live control socket: a Unix stream socket speaking JSON Lines, one request object a
/// line, one reply object a line, for any number of clients at once. Handles ping, subscribe
/// (events of `bus` as `{"event":{...}}` lines, in the transcript's shape) and unsubscribe
/// itself; every other op goes to the backend. The socket file is made mode 0600 (owner
/// only) and removed when the server is destroyed.
class server {
 public:
  /// Listens at `path`. A stale socket there (nobody listening) is replaced; a live socket or
  /// any other file is refused with std::runtime_error naming the path. `clk` stamps events
  /// ("t"); without one they count from the server's start.
  server(boost::asio::io_context& io, std::filesystem::path path, events::bus& bus,
         backend& handler, const clock* clk = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Where the socket is.
  const std::filesystem::path& path() const { return path_; }
  /// Clients connected now.
  std::size_t clients() const;

 private:
  class session;
  struct shared;

  void accept();

  std::filesystem::path path_;
  std::shared_ptr<shared> shared_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  dev_t device_ = 0;  // the socket file we made, so that only it is removed
  ino_t inode_ = 0;
};

}  // namespace quecsim::control
