#include "control_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace quecsim::sim::support {

using nlohmann::json;

control_client::control_client(std::string path) : path_(std::move(path)) {
  sockaddr_un addr{};
  if (path_.size() >= sizeof addr.sun_path) {
    throw control_error("control socket " + path_ + ": path too long");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw control_error(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    throw control_error("cannot connect to control socket " + path_ + ": " + std::strerror(err));
  }
}

control_client::~control_client() = default;

void control_client::send(const json& request) {
  const std::string data = request.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd_.get(), data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw control_error("control socket " + path_ + ": " + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

bool control_client::read_line(std::string& line) {
  for (;;) {
    const auto lf = buffer_.find('\n');
    if (lf != std::string::npos) {
      line = buffer_.substr(0, lf);
      buffer_.erase(0, lf + 1);
      return true;
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw control_error("control socket " + path_ + ": " + std::strerror(errno));
    if (n == 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

bool control_client::try_receive(json& message) {
  std::string line;
  if (!read_line(line)) return false;
  message = json::parse(line, nullptr, false);
  if (message.is_discarded() || !message.is_object()) {
    throw control_error("control socket " + path_ +
                        " sent a line that is not a JSON object: " + line);
  }
  return true;
}

json control_client::receive() {
  json message;
  if (!try_receive(message)) {
    throw control_error("control socket " + path_ + " closed the connection before replying");
  }
  return message;
}

json control_client::request(const json& request) {
  send(request);
  return receive();
}

std::string error_of(const json& reply) {
  const auto e = reply.find("error");
  return e != reply.end() && e->is_string() ? e->get<std::string>() : reply.dump();
}

}  // namespace quecsim::sim::support
