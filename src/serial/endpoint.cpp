#include "quecsim/serial/endpoint.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <iostream>
#include <utility>

#include "endpoint_kinds.hpp"
#include "quecsim/serial/uart.hpp"

namespace quecsim::serial {
namespace {

// "PORT" as a port number; the flag names the value in the message.
std::uint16_t parse_port(const std::string& text, std::string_view flag, const std::string& spec,
                         bool zero_allowed) {
  const auto bad = [&] {
    return endpoint_usage_error(std::string(flag) + " " + spec + ": the port must be a number " +
                                (zero_allowed ? "from 0 (any free port)" : "from 1") + " to 65535");
  };
  if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
    throw bad();
  const unsigned long n = std::stoul(text);
  if (n > 65535 || (n == 0 && !zero_allowed)) throw bad();
  return static_cast<std::uint16_t>(n);
}

// "HOST:PORT" split at the last colon; "[v6]:PORT" loses its brackets.
std::pair<std::string, std::string> split_host_port(const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) return {"", spec};
  std::string host = spec.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, spec.substr(colon + 1)};
}

}  // namespace

std::string_view flag_name(endpoint_options::kind k) {
  switch (k) {
    case endpoint_options::kind::pty:
      return "the pty";
    case endpoint_options::kind::device:
      return "--device";
    case endpoint_options::kind::attach_pty:
      return "--attach-pty";
    case endpoint_options::kind::tcp_listen:
      return "--tcp-listen";
    case endpoint_options::kind::tcp_connect:
      return "--tcp-connect";
  }
  return "?";
}

endpoint_options parse_tcp_listen(const std::string& spec) {
  endpoint_options o;
  o.type = endpoint_options::kind::tcp_listen;
  auto [host, port] = split_host_port(spec);
  o.address = host.empty() ? "127.0.0.1" : host;
  o.port = parse_port(port, "--tcp-listen", spec, true);
  return o;
}

endpoint_options parse_tcp_connect(const std::string& spec) {
  endpoint_options o;
  o.type = endpoint_options::kind::tcp_connect;
  auto [host, port] = split_host_port(spec);
  if (host.empty()) {
    throw endpoint_usage_error("--tcp-connect " + spec + ": give HOST:PORT, e.g. 127.0.0.1:3456");
  }
  o.address = host;
  o.port = parse_port(port, "--tcp-connect", spec, false);
  return o;
}

std::unique_ptr<endpoint> endpoint::make(boost::asio::io_context& io, events::bus& bus,
                                         int module_id, unsigned baud,
                                         const endpoint_options& opts) {
  switch (opts.type) {
    case endpoint_options::kind::tcp_listen:
      return detail::make_tcp_listen(io, bus, module_id, baud, opts);
    case endpoint_options::kind::tcp_connect:
      return detail::make_tcp_connect(io, bus, module_id, baud, opts);
    case endpoint_options::kind::device:
    case endpoint_options::kind::attach_pty:
      return detail::make_device(io, bus, module_id, baud, opts);
    case endpoint_options::kind::pty:
      break;
  }
  throw endpoint_usage_error("quecsim's own pty is not an endpoint of serial::endpoint::make");
}

endpoint::endpoint(boost::asio::io_context& io, events::bus& bus, int module_id, unsigned baud)
    : io_(io), bus_(bus), module_id_(module_id), baud_(baud) {}

endpoint::~endpoint() {
  *alive_ = false;
  line_.reset();
}

void endpoint::attach(int fd) {
  line_ = std::make_unique<uart>(io_, fd, bus_, module_id_, baud_);
  if (paused_) line_->pause_input();
  // The uart reports the end of the host's input from inside its read handler: detach later,
  // and only the host it was about (a new one may have come meanwhile).
  line_->on_end([this, alive = std::weak_ptr<bool>(alive_), line = line_.get()] {
    boost::asio::post(io_, [this, alive, line] {
      if (alive.expired() || line_.get() != line) return;
      host_gone();
    });
  });
  line_->start(cb_.on_bytes);
}

void endpoint::detach() {
  line_.reset();
  // A producer waiting for the host to take its bytes goes on: they are lost with the host.
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    if (*w) boost::asio::post(io_, std::exchange(*w, nullptr));
  }
}

void endpoint::log(const std::string& line) const {
  std::cerr << "quecsim: " << line << std::endl;
}

void endpoint::write(std::string_view bytes) {
  // With no host on the line the bytes go nowhere, as a UART's with nothing wired to it.
  if (line_) line_->write(bytes);
}

std::size_t endpoint::queued() const {
  return line_ ? line_->queued() : 0;
}

void endpoint::when_drained(std::function<void()> ready) {
  if (!line_) {
    boost::asio::post(io_, std::move(ready));
    return;
  }
  // Answered waiters leave empty functions behind: drop them now and then.
  if (waiters_.size() > 64) {
    waiters_.erase(
        std::remove_if(waiters_.begin(), waiters_.end(), [](const auto& w) { return !*w; }),
        waiters_.end());
  }
  auto waiter = std::make_shared<std::function<void()>>(std::move(ready));
  waiters_.push_back(waiter);
  line_->when_drained([waiter] {
    if (*waiter) std::exchange(*waiter, nullptr)();
  });
}

void endpoint::pause_input() {
  paused_ = true;
  if (line_) line_->pause_input();
}

void endpoint::resume_input() {
  paused_ = false;
  if (line_) line_->resume_input();
}

void endpoint::set_baud(unsigned baud) {
  baud_ = baud;
  if (line_) line_->set_baud(baud);
}

}  // namespace quecsim::serial
