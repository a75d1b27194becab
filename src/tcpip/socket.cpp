#include "quecsim/tcpip/socket.hpp"

#include <algorithm>
#include <utility>

namespace quecsim::tcpip {

std::string_view name(protocol p) {
  return p == protocol::tcp ? "TCP" : "UDP";
}

namespace {

step make(step::kind k, std::string bytes = {}) {
  step s;
  s.what = k;
  s.bytes = std::move(bytes);
  return s;
}

}  // namespace

steps socket_op::open(protocol p, std::string host, std::uint16_t port,
                      std::chrono::steady_clock::time_point now) {
  if (state_ == socket_state::connecting || state_ == socket_state::connected) return {};
  reset();
  protocol_ = p;
  host_ = std::move(host);
  port_ = port;
  state_ = socket_state::connecting;
  deadline_ = now + limits_.connect_timeout;
  return {make(step::kind::connect)};
}

steps socket_op::on_connected(std::string remote_ip, std::uint16_t remote_port) {
  if (state_ != socket_state::connecting) return {};
  state_ = socket_state::connected;
  deadline_.reset();
  remote_ip_ = std::move(remote_ip);
  remote_port_ = remote_port;
  return {make(step::kind::opened)};
}

steps socket_op::accept(std::string remote_ip, std::uint16_t remote_port) {
  if (state_ == socket_state::connecting || state_ == socket_state::connected) return {};
  reset();
  server_side_ = true;
  protocol_ = protocol::tcp;
  state_ = socket_state::connected;
  host_ = remote_ip;
  port_ = remote_port;
  remote_ip_ = std::move(remote_ip);
  remote_port_ = remote_port;
  return {make(step::kind::accepted)};
}

steps socket_op::on_connect_failed() {
  if (state_ != socket_state::connecting) return {};
  // After CONNECT FAIL the socket is free for the next AT+QIOPEN (IP CLOSE).
  state_ = socket_state::closed;
  deadline_.reset();
  return {make(step::kind::close), make(step::kind::open_failed)};
}

steps socket_op::on_time(std::chrono::steady_clock::time_point now) {
  if (!deadline_ || now < *deadline_) return {};
  return on_connect_failed();
}

send_outcome socket_op::send(std::string bytes, steps& out, std::size_t window) {
  if (state_ != socket_state::connected) return send_outcome::not_connected;
  // A real stack would take part of it; the module answers for the whole send at once.
  if ((sent_ - acked_) + bytes.size() > window) return send_outcome::fail;
  sent_ += bytes.size();
  if (!bytes.empty()) out.push_back(make(step::kind::write, std::move(bytes)));
  return send_outcome::ok;
}

steps socket_op::on_written(std::size_t n) {
  acked_ = std::min<std::uint64_t>(sent_, acked_ + n);
  return {};
}

steps socket_op::on_data(std::string_view bytes, receive_mode mode) {
  if (state_ != socket_state::connected || bytes.empty()) return {};
  if (mode == receive_mode::push && buffered_ == 0)
    return {make(step::kind::push, std::string(bytes))};
  steps out;
  if (buffered_ + bytes.size() > limits_.receive_buffer && protocol_ == protocol::udp) {
    ++dropped_;  // a datagram that does not fit is lost, as a full UDP buffer loses it
    return out;
  }
  const bool was_empty = buffered_ == 0;
  packets_.emplace_back(bytes);
  buffered_ += bytes.size();
  if (mode == receive_mode::per_packet) {
    step s = make(step::kind::notify);
    s.packets = packets_.size();
    s.last = bytes.size();
    s.total = buffered_;
    out.push_back(std::move(s));
  } else if (mode == receive_mode::notify && was_empty && !notified_) {
    notified_ = true;
    step s = make(step::kind::notify);
    s.packets = packets_.size();
    s.last = bytes.size();
    s.total = buffered_;
    out.push_back(std::move(s));
  }
  if (protocol_ == protocol::tcp && buffered_ >= limits_.receive_buffer && !paused_) {
    paused_ = true;
    out.push_back(make(step::kind::pause_reading));
  }
  return out;
}

void socket_op::end_connection() {
  deadline_.reset();
  paused_ = false;
}

steps socket_op::on_peer_closed() {
  if (state_ == socket_state::connecting) return on_connect_failed();
  if (state_ != socket_state::connected) return {};
  state_ = socket_state::closed;
  peer_gone_ = true;
  end_connection();
  return {make(step::kind::close), make(step::kind::peer_closed)};
}

steps socket_op::on_context_down() {
  if (state_ == socket_state::idle) return {};
  const bool open = state_ == socket_state::connecting || state_ == socket_state::connected;
  reset();
  if (!open) return {};
  return {make(step::kind::close)};
}

read_outcome socket_op::read(std::size_t max, bool one_packet, steps& out) {
  read_outcome r;
  if (buffered_ == 0) {
    r.error = state_ != socket_state::connected;
    return r;
  }
  while (!packets_.empty() && r.bytes.size() < max) {
    auto& head = packets_.front();
    const std::size_t take = std::min(max - r.bytes.size(), head.size() - head_offset_);
    r.bytes.append(head, head_offset_, take);
    head_offset_ += take;
    if (head_offset_ < head.size()) break;
    packets_.pop_front();
    head_offset_ = 0;
    if (one_packet) break;
  }
  buffered_ -= r.bytes.size();
  if (buffered_ == 0) notified_ = false;
  if (paused_ && buffered_ < limits_.receive_buffer && state_ == socket_state::connected) {
    paused_ = false;
    out.push_back(make(step::kind::resume_reading));
  }
  return r;
}

bool socket_op::close(steps& out) {
  if (state_ != socket_state::connecting && state_ != socket_state::connected) return false;
  state_ = socket_state::closed;
  end_connection();
  packets_.clear();
  head_offset_ = 0;
  buffered_ = 0;
  notified_ = false;
  out.push_back(make(step::kind::close));
  return true;
}

void socket_op::reset() {
  state_ = socket_state::idle;
  server_side_ = false;
  host_.clear();
  port_ = 0;
  remote_ip_.clear();
  remote_port_ = 0;
  deadline_.reset();
  sent_ = 0;
  acked_ = 0;
  packets_.clear();
  head_offset_ = 0;
  buffered_ = 0;
  notified_ = false;
  paused_ = false;
  peer_gone_ = false;
  dropped_ = 0;
}

bool listener_op::set_port(protocol p, std::uint16_t port) {
  if (state_ != listener_state::idle) return false;
  protocol_ = p;
  port_ = port;
  return true;
}

listener_steps listener_op::start(int max_clients) {
  if (state_ != listener_state::idle || max_clients < 1) return {};
  state_ = listener_state::starting;
  max_clients_ = max_clients;
  return {listener_step::listen};
}

listener_steps listener_op::on_listening() {
  if (state_ != listener_state::starting) return {};
  state_ = listener_state::listening;
  return {listener_step::server_ok};
}

listener_steps listener_op::on_listen_failed() {
  if (state_ == listener_state::idle) return {};
  const bool was_starting = state_ == listener_state::starting;
  state_ = listener_state::idle;
  max_clients_ = 0;
  // A server that listened and then lost its socket ends as the context's loss ends it:
  // without a line; one that never listened reports the failure.
  if (was_starting) return {listener_step::stop, listener_step::server_failed};
  return {listener_step::stop};
}

std::optional<int> listener_op::admit(const std::vector<bool>& taken, int clients) const {
  if (state_ != listener_state::listening || clients >= max_clients_) return std::nullopt;
  for (std::size_t i = 0; i < taken.size(); ++i) {
    if (!taken[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

bool listener_op::stop(listener_steps& out) {
  if (state_ == listener_state::idle) return false;
  state_ = listener_state::idle;
  max_clients_ = 0;
  out.push_back(listener_step::stop);
  return true;
}

listener_steps listener_op::on_context_down() {
  listener_steps out;
  stop(out);
  return out;
}

void listener_op::reset() {
  state_ = listener_state::idle;
  protocol_ = protocol::tcp;
  port_ = 0;
  max_clients_ = 0;
}

}  // namespace quecsim::tcpip
