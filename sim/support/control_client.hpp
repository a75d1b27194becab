#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "quecsim/core/unique_fd.hpp"

namespace quecsim::sim::support {

/// The control socket could not be reached, or it broke the protocol.
struct control_error : std::runtime_error {
  using runtime_error::runtime_error;
};

/// A blocking client of a running module's control socket (docs/control.md): one JSON object
/// per line each way. Messages name the socket's path.
class control_client {
 public:
  /// Connects to the socket at `path`; throws control_error.
  explicit control_client(std::string path);
  ~control_client();
  control_client(const control_client&) = delete;
  control_client& operator=(const control_client&) = delete;

  /// Sends `request` as one line.
  void send(const nlohmann::json& request);
  /// The next message; throws control_error at the end of the stream or on a line that is not
  /// a JSON object.
  nlohmann::json receive();
  /// The next message into `message`; false at the end of the stream.
  bool try_receive(nlohmann::json& message);
  /// `send` then `receive`.
  nlohmann::json request(const nlohmann::json& request);

  /// The socket's path, as messages give it.
  const std::string& path() const { return path_; }

 private:
  bool read_line(std::string& line);

  std::string path_;
  unique_fd fd_;
  std::string buffer_;
};

/// The reply's "error", or the reply itself as text when it has none.
std::string error_of(const nlohmann::json& reply);

}  // namespace quecsim::sim::support
