#include "quecsim/net/network.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace quecsim::net {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {

class category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "quecsim.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::dns_failed:
        return "host name did not resolve";
      case errc::connect_failed:
        return "connect failed";
      case errc::context_inactive:
        return "packet context inactive";
      case errc::context_down:
        return "packet context went down";
      case errc::connection_reset:
        return "connection reset";
      case errc::timed_out:
        return "timed out";
    }
    return "unknown network error";
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Bytes read from the socket at once: small enough that a slow reader holds little.
constexpr std::size_t socket_read_size = std::size_t{16} * 1024;

// Whether a toxic of `s` acts on direction `dir` (connection::up or connection::down).
bool acts_on(stream s, int dir) {
  return s == stream::both || (s == stream::upstream) == (dir == 0);
}

std::string ms(clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string where(const std::string& role) {
  return role.empty() ? "every connection" : role;
}

// "toxic limit_data on ftp-data downstream: 1024 bytes then reset": what the transcript shows.
std::string describe(const toxic& t) {
  std::string s = std::string("toxic ") + name(t.type) + " on " + where(t.role) + " " +
                  name(t.direction) + ": ";
  switch (t.type) {
    case toxic_type::latency:
      s += ms(t.latency) + (t.jitter.count() ? " +/- " + ms(t.jitter) : "");
      break;
    case toxic_type::bandwidth:
      s += std::to_string(t.rate) + " B/s";
      break;
    case toxic_type::slicer:
      s += "pieces of " + std::to_string(t.average_size) +
           (t.size_variation ? " +/- " + std::to_string(t.size_variation) : "") + " bytes, " +
           ms(t.delay) + " apart";
      break;
    case toxic_type::limit_data:
      s += std::to_string(t.bytes) + " bytes then " + (t.reset ? "reset" : "close");
      break;
    case toxic_type::timeout:
      s += t.timeout.count() ? "stall, reset after " + ms(t.timeout) : "stall";
      break;
  }
  if (t.count >= 0) s += ", next " + std::to_string(t.count) + " connections";
  return s;
}

const char* name(connect_fault f) {
  switch (f) {
    case connect_fault::dns_failure:
      return "dns_failure";
    case connect_fault::refused:
      return "refused";
    case connect_fault::unanswered:
      return "unanswered";
  }
  return "?";
}

}  // namespace

const char* name(toxic_type t) {
  switch (t) {
    case toxic_type::latency:
      return "latency";
    case toxic_type::bandwidth:
      return "bandwidth";
    case toxic_type::slicer:
      return "slicer";
    case toxic_type::limit_data:
      return "limit_data";
    case toxic_type::timeout:
      return "timeout";
  }
  return "?";
}

const char* name(stream s) {
  switch (s) {
    case stream::upstream:
      return "upstream";
    case stream::downstream:
      return "downstream";
    case stream::both:
      return "both";
  }
  return "?";
}

const boost::system::error_category& category() {
  static const category_impl instance;
  return instance;
}

error_code make_error_code(errc e) {
  return {static_cast<int>(e), category()};
}

host_mode parse_host_mode(const std::string& text) {
  if (text == "embedded") return host_mode::embedded;
  if (text == "map") return host_mode::map;
  if (text == "system") return host_mode::system;
  throw std::invalid_argument("unknown host mode '" + text + "' (embedded, map or system)");
}

std::pair<std::string, host_target> parse_host_entry(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("host entry '" + text + "' is not NAME=ADDR:PORT");
  const std::string name = text.substr(0, eq);
  const std::string rest = text.substr(eq + 1);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    throw std::invalid_argument("host entry '" + text + "' is not NAME=ADDR:PORT");
  std::string addr = rest.substr(0, colon);
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  const std::string port_text = rest.substr(colon + 1);
  if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    throw std::invalid_argument("host entry '" + text + "' has a bad port");
  const unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    throw std::invalid_argument("host entry '" + text + "' has a port outside 1-65535");
  return {lower(name), host_target{addr, static_cast<std::uint16_t>(port)}};
}

// ---------------------------------------------------------------------------------------
// connection
//
// Each direction is a pipe of chunks stamped with the time they may move on:
//
//   user write ─▶ outbound_ (due = now + one way) ─▶ socket write (paced by bandwidth)
//   socket read ─▶ inbound_ (due = arrival + one way) ─▶ user read (paced by bandwidth)
//
// Both pipes are bounded by pipe_limit: a full outbound pipe holds back the user's write
// completion; a full inbound pipe stops socket reads, so TCP pushes back on the sender.
//
// Toxics act where bytes enter a pipe (shape(): limit_data cuts, slicer splits, latency
// delays) and where they leave it (bandwidth lowers the pace, timeout holds everything).
// An end (a limit reached, inject_eof) is a marker chunk, so the bytes before it are
// delivered first; only the hot path's flags (shaped_, held_) cost anything without toxics.

connection::connection(network& net, tcp::socket socket)
    : net_(net),
      socket_(std::move(socket)),
      read_timer_(net.io()),
      write_timer_(net.io()),
      connect_timer_(net.io()) {
  connected_ = socket_.is_open();
}

connection::~connection() = default;

bool connection::is_open() const {
  return connected_ && !closed_ && !failure_;
}

tcp::endpoint connection::local_endpoint() const {
  error_code ec;
  auto ep = socket_.local_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

tcp::endpoint connection::remote_endpoint() const {
  error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

void connection::start_connect(std::vector<tcp::endpoint> endpoints, handler h) {
  endpoints_ = std::move(endpoints);
  connect_handler_ = std::move(h);
  try_endpoint(0);
}

void connection::try_endpoint(std::size_t index) {
  if (index >= endpoints_.size()) return finish_connect(make_error_code(errc::connect_failed));
  error_code ec;
  if (socket_.is_open()) socket_.close(ec);
  socket_.open(endpoints_[index].protocol(), ec);
  if (!ec) bind_source(endpoints_[index], ec);
  if (ec) return finish_connect(make_error_code(errc::connect_failed));
  socket_.async_connect(endpoints_[index], [self = shared_from_this(), index](error_code ec) {
    self->on_connect(index, ec);
  });
}

void connection::bind_source(const tcp::endpoint& to, error_code& ec) {
  const auto& from = net_.config().source_address;
  if (from.empty() || !to.address().is_loopback()) return;
  const auto source = asio::ip::make_address(from, ec);
  if (ec || source.is_v4() != to.address().is_v4()) return;
  // The port is chosen at connect time, per destination, so a thousand modules binding
  // their own address do not each use up a port of the whole ephemeral range.
  const int on = 1;
  (void)::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  socket_.bind(tcp::endpoint(source, 0), ec);
}

void connection::on_connect(std::size_t index, error_code ec) {
  if (closed_ || failure_) return;  // already completed by close() or fail()
  if (ec) {
    net_.note(events::kind::info, "connect to " + endpoints_[index].address().to_string() + ":" +
                                      std::to_string(endpoints_[index].port()) +
                                      " failed: " + ec.message());
    return try_endpoint(index + 1);
  }
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  // The handshake costs a round trip on a real link.
  connect_timer_.expires_after(one_way() * 2);
  connect_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->closed_ || self->failure_) return;
    if (self->net_.blackholed()) {
      self->connect_parked_ = true;
      return;
    }
    self->finish_connect({});
  });
}

void connection::finish_connect(error_code ec) {
  if (!connect_handler_) return;
  if (!ec) connected_ = true;
  auto h = std::move(connect_handler_);
  connect_handler_ = nullptr;
  asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
  if (!ec) pump_write();  // anything written while connecting
}

void connection::async_read_some(asio::mutable_buffer buffer, io_handler h) {
  if (closed_ || failure_) {
    const error_code ec = closed_ ? error_code(asio::error::operation_aborted) : failure_;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, 0); });
    return;
  }
  user_read_buffer_ = buffer;
  read_handler_ = std::move(h);
  do_socket_read();
  pump_read();
}

void connection::do_socket_read() {
  if (socket_reading_ || socket_eof_ || closed_ || failure_ || !connected_) return;
  const std::size_t limit = net_.config().pipe_limit;
  if (inbound_bytes_ >= limit) return;  // pushes back on the sender through TCP
  // Read again only once a quarter of the pipe is free: topping a nearly full pipe up a few
  // bytes at a time cost a recv (and a TCP window update) each, a third of a download's CPU.
  const std::size_t room = limit - inbound_bytes_;
  if (room < std::min(socket_read_size, limit / 4)) return;
  const std::size_t want = std::min(socket_read_size, room);
  socket_read_buffer_.resize(want);
  socket_reading_ = true;
  socket_.async_read_some(
      asio::buffer(socket_read_buffer_),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_socket_read(ec, n); });
}

void connection::on_socket_read(error_code ec, std::size_t n) {
  socket_reading_ = false;
  if (closed_ || failure_ || severed_) return;
  chunk c;
  c.due = clock::now() + one_way();
  if (ec) {
    socket_eof_ = true;
    c.eof = true;
    c.error = ec;
    inbound_.push_back(std::move(c));
  } else {
    c.bytes.assign(socket_read_buffer_.begin(),
                   socket_read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    if (shaped_[down]) {
      inbound_bytes_ += shape(down, std::move(c), inbound_);
    } else {
      inbound_bytes_ += n;
      inbound_.push_back(std::move(c));
    }
  }
  do_socket_read();
  pump_read();
}

clock::duration connection::one_way() const {
  return net_.clock().scaled(round_trip_.value_or(net_.config().round_trip) / 2);
}

std::uint64_t connection::bandwidth(int dir) const {
  const std::uint64_t link = bandwidth_.value_or(net_.config().bandwidth);
  const std::uint64_t toxic = toxic_rate_[dir];
  if (toxic == 0) return link;
  return link == 0 ? toxic : std::min(link, toxic);
}

std::size_t connection::slice(int dir) const {
  const auto bw = bandwidth(dir);
  if (bw == 0) return static_cast<std::size_t>(-1);
  // A tenth of a second's worth at a time keeps a slow link smooth rather than bursty.
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, bw / 10));
}

clock::duration connection::pace(int dir, std::size_t n) const {
  const auto bw = bandwidth(dir);
  if (bw == 0) return clock::duration::zero();
  const auto simulated = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(static_cast<double>(n) / static_cast<double>(bw)));
  return net_.clock().scaled(simulated);
}

void connection::pump_read() {
  if (!read_handler_ || read_timer_armed_ || closed_ || failure_) return;
  if (inbound_.empty()) return;
  if (net_.blackholed() || held_[down]) return;  // kick() or remove_toxic resumes
  auto& front = inbound_.front();
  const auto now = clock::now();
  const auto at = std::max(front.due, read_next_allowed_);
  if (at > now) {
    read_timer_armed_ = true;
    read_timer_.expires_at(at);
    read_timer_.async_wait([self = shared_from_this()](error_code ec) {
      self->read_timer_armed_ = false;
      if (ec) return;
      self->pump_read();
    });
    return;
  }
  if (front.eof) {
    const error_code ec = front.error;
    if (front.fatal) return fail(ec);  // a toxic's reset, after the bytes before it
    inbound_.pop_front();
    socket_eof_ = true;
    return complete_read(ec, 0);
  }
  const std::size_t avail = front.bytes.size() - front.offset;
  const std::size_t n = std::min({avail, user_read_buffer_.size(), slice(down)});
  std::copy_n(front.bytes.data() + front.offset, n, static_cast<char*>(user_read_buffer_.data()));
  front.offset += n;
  inbound_bytes_ -= n;
  if (front.offset == front.bytes.size()) inbound_.pop_front();
  read_next_allowed_ = std::max(read_next_allowed_, now) + pace(down, n);
  do_socket_read();
  complete_read({}, n);
}

void connection::complete_read(error_code ec, std::size_t n) {
  auto h = std::move(read_handler_);
  read_handler_ = nullptr;
  if (!h) return;
  asio::post(net_.io(), [h = std::move(h), ec, n] { h(ec, n); });
}

void connection::async_write(asio::const_buffer data, io_handler h) {
  if (closed_ || failure_ || shutdown_requested_ || send_error_) {
    const error_code ec = closed_       ? error_code(asio::error::operation_aborted)
                          : failure_    ? failure_
                          : send_error_ ? send_error_
                                        : error_code(asio::error::shut_down);
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, 0); });
    return;
  }
  if (upstream_ended_) {
    // A limit was reached and its end is still on its way: this write fails there.
    write_handler_ = std::move(h);
    write_waits_for_end_ = true;
    return;
  }
  chunk c;
  c.due = clock::now() + one_way();
  const char* p = static_cast<const char*>(data.data());
  c.bytes.assign(p, p + data.size());
  if (shaped_[up]) {
    const std::size_t queued = shape(up, std::move(c), outbound_);
    outbound_bytes_ += queued;
    if (queued < data.size()) {
      // Part of it is past a limit: what fits passes, the write fails at the end.
      write_handler_ = std::move(h);
      write_waits_for_end_ = true;
      return pump_write();
    }
  } else {
    outbound_bytes_ += data.size();
    outbound_.push_back(std::move(c));
  }
  if (outbound_bytes_ <= net_.config().pipe_limit) {
    const std::size_t n = data.size();
    asio::post(net_.io(), [h = std::move(h), n] { h({}, n); });
  } else {
    write_handler_ = std::move(h);
    write_pending_n_ = data.size();
  }
  pump_write();
}

void connection::async_shutdown_send(handler h) {
  if (closed_ || failure_ || severed_) {
    const error_code ec = closed_    ? error_code(asio::error::operation_aborted)
                          : failure_ ? failure_
                                     : send_error_;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
    return;
  }
  shutdown_requested_ = true;
  shutdown_handler_ = std::move(h);
  pump_write();
}

void connection::pump_write() {
  if (socket_writing_ || write_timer_armed_ || closed_ || failure_ || !connected_) return;
  if (net_.blackholed() || held_[up]) return;
  if (outbound_.empty()) {
    if (shutdown_requested_ && shutdown_handler_) {
      error_code ec;
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      auto h = std::move(shutdown_handler_);
      shutdown_handler_ = nullptr;
      asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
    }
    return;
  }
  auto& front = outbound_.front();
  const auto now = clock::now();
  const auto at = std::max(front.due, write_next_allowed_);
  if (at > now) {
    write_timer_armed_ = true;
    write_timer_.expires_at(at);
    write_timer_.async_wait([self = shared_from_this()](error_code ec) {
      self->write_timer_armed_ = false;
      if (ec) return;
      self->pump_write();
    });
    return;
  }
  if (front.eof) {
    // An upstream limit: everything before it has reached the socket.
    const error_code ec = front.error;
    if (front.fatal) return fail(ec);
    outbound_.clear();
    outbound_bytes_ = 0;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);  // the server reads EOF
    send_error_ = ec;
    write_waits_for_end_ = false;
    complete_write(ec, 0);
    if (shutdown_handler_) {
      // What the shutdown asked for has happened.
      auto h = std::move(shutdown_handler_);
      shutdown_handler_ = nullptr;
      asio::post(net_.io(), [h = std::move(h)] { h({}); });
    }
    return;
  }
  const std::size_t n = std::min(front.bytes.size() - front.offset, slice(up));
  socket_writing_ = true;
  asio::async_write(socket_, asio::buffer(front.bytes.data() + front.offset, n),
                    [self = shared_from_this()](error_code ec, std::size_t written) {
                      self->on_socket_write(ec, written);
                    });
}

void connection::on_socket_write(error_code ec, std::size_t n) {
  socket_writing_ = false;
  if (closed_ || failure_ || severed_) return;
  if (ec) return fail(ec);
  auto& front = outbound_.front();
  front.offset += n;
  outbound_bytes_ -= n;
  if (front.offset == front.bytes.size()) outbound_.pop_front();
  write_next_allowed_ = std::max(write_next_allowed_, clock::now()) + pace(up, n);
  if (write_handler_ && !write_waits_for_end_ && outbound_bytes_ <= net_.config().pipe_limit) {
    complete_write({}, write_pending_n_);
  }
  pump_write();
}

void connection::complete_write(error_code ec, std::size_t n) {
  auto h = std::move(write_handler_);
  write_handler_ = nullptr;
  if (!h) return;
  asio::post(net_.io(), [h = std::move(h), ec, n] { h(ec, n); });
}

void connection::kick() {
  if (connect_parked_) {
    connect_parked_ = false;
    finish_connect({});
  }
  pump_read();
  pump_write();
}

void connection::fail(error_code ec) {
  if (closed_ || failure_) return;
  failure_ = ec;
  error_code ignored;
  socket_.close(ignored);
  read_timer_.cancel();
  write_timer_.cancel();
  connect_timer_.cancel();
  for (auto& t : toxics_)
    if (t.timer) t.timer->cancel();
  inbound_.clear();
  outbound_.clear();
  inbound_bytes_ = outbound_bytes_ = 0;
  if (connect_handler_) {
    auto h = std::move(connect_handler_);
    connect_handler_ = nullptr;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
  }
  complete_read(ec, 0);
  complete_write(ec, 0);
  if (shutdown_handler_) {
    auto h = std::move(shutdown_handler_);
    shutdown_handler_ = nullptr;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
  }
}

void connection::close() {
  if (closed_) return;
  const bool had_failure = static_cast<bool>(failure_);
  fail(asio::error::operation_aborted);
  closed_ = true;
  (void)had_failure;
}

void connection::set_role(std::string role) {
  if (role == role_) return;
  role_ = std::move(role);
  if (closed_ || failure_) return;
  net_.apply_toxics(*this, false);
}

void connection::inject_eof() {
  if (closed_ || failure_ || severed_ || !connected_) return;
  net_.note(events::kind::fault, "eof injected on " + where(role_));
  if (!socket_eof_) {
    // The server's FIN, behind what it sent before.
    chunk c;
    c.due = clock::now() + one_way();
    c.eof = true;
    c.error = asio::error::eof;
    inbound_.push_back(std::move(c));
  }
  sever(asio::error::broken_pipe);
  pump_read();
}

void connection::sever(error_code send_error) {
  severed_ = true;
  socket_eof_ = true;  // nothing more is read from the socket
  error_code ignored;
  socket_.close(ignored);
  write_timer_.cancel();
  outbound_.clear();
  outbound_bytes_ = 0;
  send_error_ = send_error;
  write_waits_for_end_ = false;
  complete_write(send_error, 0);
  if (shutdown_handler_) {
    auto h = std::move(shutdown_handler_);
    shutdown_handler_ = nullptr;
    asio::post(net_.io(), [h = std::move(h), send_error] { h(send_error); });
  }
}

bool connection::has_toxic(toxic_id id) const {
  return std::any_of(toxics_.begin(), toxics_.end(),
                     [id](const applied_toxic& t) { return t.id == id; });
}

void connection::apply_toxic(toxic_id id, const toxic& t) {
  applied_toxic a;
  a.id = id;
  a.spec = t;
  if (t.type == toxic_type::timeout && t.timeout.count() > 0) {
    a.timer = std::make_shared<asio::steady_timer>(net_.io());
    a.timer->expires_after(net_.clock().scaled(t.timeout));
    a.timer->async_wait([weak = weak_from_this(), id](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->has_toxic(id)) return;
      if (self->closed_ || self->failure_) return;
      self->net_.note(events::kind::fault,
                      "toxic timeout on " + where(self->role_) + ": connection reset");
      self->fail(make_error_code(errc::connection_reset));
    });
  }
  toxics_.push_back(std::move(a));
  refresh_toxics();
}

bool connection::remove_toxic(toxic_id id) {
  auto it = std::find_if(toxics_.begin(), toxics_.end(),
                         [id](const applied_toxic& t) { return t.id == id; });
  if (it == toxics_.end()) return false;
  if (it->timer) it->timer->cancel();
  toxics_.erase(it);
  refresh_toxics();
  // A timeout held bytes: let them move again.
  pump_read();
  pump_write();
  return true;
}

void connection::refresh_toxics() {
  for (int dir : {up, down}) {
    shaped_[dir] = held_[dir] = false;
    toxic_rate_[dir] = 0;
    for (const auto& t : toxics_) {
      if (!acts_on(t.spec.direction, dir)) continue;
      switch (t.spec.type) {
        case toxic_type::latency:
        case toxic_type::slicer:
        case toxic_type::limit_data:
          shaped_[dir] = true;
          break;
        case toxic_type::bandwidth:
          toxic_rate_[dir] =
              toxic_rate_[dir] == 0 ? t.spec.rate : std::min(toxic_rate_[dir], t.spec.rate);
          break;
        case toxic_type::timeout:
          held_[dir] = true;
          break;
      }
    }
  }
}

std::size_t connection::shape(int dir, chunk c, std::deque<chunk>& pipe) {
  // limit_data: bytes past the limit never pass; reaching it ends the stream.
  const applied_toxic* ended = nullptr;
  for (auto& t : toxics_) {
    if (t.spec.type != toxic_type::limit_data || !acts_on(t.spec.direction, dir)) continue;
    const std::uint64_t left = t.spec.bytes - std::min(t.passed[dir], t.spec.bytes);
    if (c.bytes.size() < left) {
      t.passed[dir] += c.bytes.size();
      continue;
    }
    c.bytes.resize(static_cast<std::size_t>(left));
    t.passed[dir] = t.spec.bytes;
    ended = &t;  // each cut is at least as tight as the one before: the last one decides
  }

  // latency: one delay per chunk, with its jitter.
  clock::duration delay{};
  bool sliced = false;
  const toxic* slicer = nullptr;
  for (const auto& t : toxics_) {
    if (!acts_on(t.spec.direction, dir)) continue;
    if (t.spec.type == toxic_type::latency) {
      auto d = t.spec.latency + clock::duration(net_.draw(t.spec.jitter.count()));
      if (d < clock::duration::zero()) d = clock::duration::zero();
      net_.choice(toxic_type::latency, std::chrono::nanoseconds(d).count());
      delay += d;
    } else if (t.spec.type == toxic_type::slicer && !slicer) {
      slicer = &t.spec;
    }
  }
  c.due += net_.clock().scaled(delay);

  const std::size_t queued = c.bytes.size();
  clock::time_point last_due = c.due;
  if (slicer && !c.bytes.empty()) {
    // slicer: pieces of about average_size, each `delay` after the one before.
    sliced = true;
    const auto gap = net_.clock().scaled(slicer->delay);
    std::size_t at = 0;
    while (at < c.bytes.size()) {
      const auto spread = static_cast<std::int64_t>(slicer->size_variation);
      const auto size = static_cast<std::size_t>(static_cast<std::int64_t>(slicer->average_size) +
                                                 net_.draw(spread));
      net_.choice(toxic_type::slicer, static_cast<std::int64_t>(size));
      const std::size_t n = std::min(size, c.bytes.size() - at);
      chunk piece;
      piece.bytes.assign(c.bytes.begin() + static_cast<std::ptrdiff_t>(at),
                         c.bytes.begin() + static_cast<std::ptrdiff_t>(at + n));
      piece.due = std::max(c.due, piece_due_[dir] + gap);
      piece_due_[dir] = last_due = piece.due;
      pipe.push_back(std::move(piece));
      at += n;
    }
  }
  if (!sliced && !c.bytes.empty()) pipe.push_back(std::move(c));
  if (!ended) return queued;

  // The end, behind the bytes before it.
  chunk end;
  end.due = last_due;
  end.eof = true;
  end.fatal = ended->spec.reset;
  const error_code reset = make_error_code(errc::connection_reset);
  if (dir == down) {
    end.error = ended->spec.reset ? reset : error_code(asio::error::eof);
  } else {
    end.error = ended->spec.reset ? reset : error_code(asio::error::broken_pipe);
  }
  net_.note(events::kind::fault, "toxic limit_data on " + where(role_) + " " +
                                     (dir == down ? "downstream" : "upstream") + ": " +
                                     std::to_string(ended->spec.bytes) + " bytes passed, " +
                                     (ended->spec.reset ? "reset" : "closing"));
  pipe.push_back(std::move(end));
  if (dir == down) {
    // The server's side goes at once; the module reads up to the end, then learns of it.
    sever(ended->spec.reset ? reset : error_code(asio::error::broken_pipe));
  } else {
    upstream_ended_ = true;
  }
  return queued;
}

// ---------------------------------------------------------------------------------------
// listener

listener::listener(network& net, tcp::acceptor acceptor)
    : net_(net), acceptor_(std::move(acceptor)) {}

tcp::endpoint listener::local_endpoint() const {
  error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

void listener::async_accept(accept_handler h) {
  if (failure_ || !acceptor_.is_open()) {
    const error_code ec = failure_ ? failure_ : error_code(asio::error::operation_aborted);
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, nullptr); });
    return;
  }
  handler_ = std::move(h);
  acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket s) {
    auto h = std::move(self->handler_);
    self->handler_ = nullptr;
    if (!h) return;  // failed meanwhile: already told
    if (ec) return h(ec, nullptr);
    error_code ignored;
    s.set_option(tcp::no_delay(true), ignored);
    auto c = std::make_shared<connection>(self->net_, std::move(s));
    self->net_.track(c);
    h({}, std::move(c));
  });
}

void listener::fail(error_code ec) {
  if (failure_) return;
  failure_ = ec;
  error_code ignored;
  acceptor_.close(ignored);
  if (handler_) {
    auto h = std::move(handler_);
    handler_ = nullptr;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, nullptr); });
  }
}

void listener::close() {
  fail(asio::error::operation_aborted);
}

// ---------------------------------------------------------------------------------------
// network

network::network(asio::io_context& io, packet_context& ctx, const quecsim::clock& clk,
                 events::bus& bus, int module_id, network_config config)
    : io_(io),
      ctx_(ctx),
      clock_(clk),
      bus_(bus),
      module_(module_id),
      config_(std::move(config)),
      alive_(std::make_shared<bool>(true)) {
  ctx_.on_down([this, alive = std::weak_ptr<bool>(alive_)](deact_reason) {
    if (alive.expired()) return;
    context_down();
  });
}

network::~network() {
  // Connections may outlive the network only as closed shells. Closing posts handlers,
  // which may allocate; a destructor must not throw, and there is nothing left to do then.
  try {
    for (auto& w : connections_)
      if (auto c = w.lock()) c->close();
    for (auto& w : listeners_)
      if (auto l = w.lock()) l->close();
  } catch (...) {
  }
}

void network::note(events::kind k, const std::string& text) const {
  if (!bus_.active()) return;
  bus_.publish(events::event{k, module_, "net", text});
}

void network::track(const std::shared_ptr<connection>& c) {
  connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                    [](const auto& w) { return w.expired(); }),
                     connections_.end());
  connections_.push_back(c);
  if (!toxics_.empty()) apply_toxics(*c, true);
}

void network::track(const std::shared_ptr<listener>& l) {
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [](const auto& w) { return w.expired(); }),
                   listeners_.end());
  listeners_.push_back(l);
}

std::shared_ptr<connection> network::connect(const std::string& host, std::uint16_t port,
                                             connect_handler h, const std::string& role) {
  auto c = std::make_shared<connection>(*this, tcp::socket(io_));
  c->role_ = role;
  track(c);
  c->connect_handler_ = std::move(h);
  auto fail_with = [&](errc e, const std::string& why) {
    note(events::kind::info, "connect " + host + ":" + std::to_string(port) + ": " + why);
    c->finish_connect(make_error_code(e));
    return c;
  };
  if (!ctx_.active()) return fail_with(errc::context_inactive, "packet context inactive");
  if (auto f = take_connect_fault(role)) {
    note(events::kind::fault, std::string("connect fault ") + name(*f) + ": " + host + ":" +
                                  std::to_string(port) + " (" + where(role) + ")");
    if (*f == connect_fault::unanswered) return c;  // the handler waits until close()
    c->finish_connect(make_error_code(*f == connect_fault::dns_failure ? errc::dns_failed
                                                                       : errc::connect_failed));
    return c;
  }

  // The host map first, in every mode.
  host_target target{host, port};
  bool mapped = false;
  if (auto it = config_.hosts.find(lower(host)); it != config_.hosts.end()) {
    target = it->second;
    mapped = true;
  }
  error_code ec;
  auto literal = asio::ip::make_address(target.address, ec);
  if (!mapped && config_.mode == host_mode::embedded) {
    target = config_.embedded;
    literal = asio::ip::make_address(target.address, ec);
  }
  if (!ec) {
    note(events::kind::info, "connect " + host + ":" + std::to_string(port) + " -> " +
                                 literal.to_string() + ":" + std::to_string(target.port));
    auto handler = std::move(c->connect_handler_);
    c->connect_handler_ = nullptr;
    c->start_connect({tcp::endpoint(literal, target.port)}, std::move(handler));
    return c;
  }
  if (config_.mode != host_mode::system) return fail_with(errc::dns_failed, "unknown host");

  if (!resolver_) resolver_ = std::make_unique<tcp::resolver>(io_);
  std::weak_ptr<connection> weak = c;
  resolver_->async_resolve(
      target.address, std::to_string(target.port),
      [this, weak, host, port](error_code ec, const tcp::resolver::results_type& results) {
        auto c = weak.lock();
        if (!c || c->closed_ || c->failure_) return;
        if (ec || results.empty()) {
          note(events::kind::info, "resolve " + host + ": " + (ec ? ec.message() : "no address"));
          return c->finish_connect(make_error_code(errc::dns_failed));
        }
        std::vector<tcp::endpoint> eps;
        for (const auto& r : results) eps.push_back(r.endpoint());
        note(events::kind::info, "connect " + host + ":" + std::to_string(port) + " -> " +
                                     eps.front().address().to_string() + ":" +
                                     std::to_string(eps.front().port()));
        auto handler = std::move(c->connect_handler_);
        c->connect_handler_ = nullptr;
        c->start_connect(std::move(eps), std::move(handler));
      });
  return c;
}

std::shared_ptr<connection> network::connect(const tcp::endpoint& ep, connect_handler h,
                                             const std::string& role) {
  auto c = std::make_shared<connection>(*this, tcp::socket(io_));
  c->role_ = role;
  track(c);
  if (!ctx_.active()) {
    c->connect_handler_ = std::move(h);
    c->finish_connect(make_error_code(errc::context_inactive));
    return c;
  }
  if (auto f = take_connect_fault(role)) {
    note(events::kind::fault, std::string("connect fault ") + name(*f) + ": " +
                                  ep.address().to_string() + ":" + std::to_string(ep.port()) +
                                  " (" + where(role) + ")");
    c->connect_handler_ = std::move(h);
    if (*f == connect_fault::unanswered) return c;  // the handler waits until close()
    c->finish_connect(make_error_code(*f == connect_fault::dns_failure ? errc::dns_failed
                                                                       : errc::connect_failed));
    return c;
  }
  c->start_connect({ep}, std::move(h));
  return c;
}

std::shared_ptr<listener> network::listen(error_code& ec) {
  ec.clear();
  if (!ctx_.active()) {
    ec = make_error_code(errc::context_inactive);
    return nullptr;
  }
  const auto addr = asio::ip::make_address(config_.listen_address, ec);
  if (ec) return nullptr;
  tcp::acceptor acceptor(io_);
  const tcp::endpoint ep(addr, 0);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(1, ec);
  if (ec) return nullptr;
  auto l = std::make_shared<listener>(*this, std::move(acceptor));
  track(l);
  return l;
}

void network::reset_all() {
  note(events::kind::fault, "reset all connections");
  for (auto& w : connections_)
    if (auto c = w.lock()) c->fail(make_error_code(errc::connection_reset));
  for (auto& w : listeners_)
    if (auto l = w.lock()) l->fail(make_error_code(errc::connection_reset));
}

void network::blackhole(bool on) {
  if (on == blackholed_) return;
  blackholed_ = on;
  note(events::kind::fault, on ? "blackhole on" : "blackhole off");
  if (on) return;
  for (auto& w : connections_)
    if (auto c = w.lock()) c->kick();
}

void network::context_down() {
  note(events::kind::info, "packet context down: failing every connection");
  for (auto& w : connections_)
    if (auto c = w.lock()) c->fail(make_error_code(errc::context_down));
  for (auto& w : listeners_)
    if (auto l = w.lock()) l->fail(make_error_code(errc::context_down));
}

std::vector<std::shared_ptr<connection>> network::connections() const {
  std::vector<std::shared_ptr<connection>> out;
  for (const auto& w : connections_)
    if (auto c = w.lock(); c && !c->closed_ && !c->failure_) out.push_back(std::move(c));
  return out;
}

toxic_id network::add_toxic(toxic t) {
  const auto negative = [](clock::duration d) { return d < clock::duration::zero(); };
  if (t.count < -1) throw std::invalid_argument("toxic count below -1");
  if (negative(t.latency) || negative(t.jitter) || negative(t.delay) || negative(t.timeout))
    throw std::invalid_argument("toxic with a negative duration");
  if (t.type == toxic_type::bandwidth && t.rate == 0)
    throw std::invalid_argument("bandwidth toxic with a rate of 0");
  if (t.type == toxic_type::slicer && (t.average_size == 0 || t.size_variation >= t.average_size))
    throw std::invalid_argument("slicer toxic needs 0 <= size_variation < average_size");
  const toxic_id id = next_toxic_++;
  note(events::kind::fault, describe(t));
  const int count = t.count;
  toxics_.push_back({id, std::move(t), count});
  if (count == -1) {
    const toxic& spec = toxics_.back().spec;  // applying one changes no network toxic
    for (const auto& w : connections_) {
      auto c = w.lock();
      if (!c || c->closed_ || c->failure_) continue;
      if (spec.role.empty() || spec.role == c->role_) c->apply_toxic(id, spec);
    }
  }
  return id;
}

bool network::remove_toxic(toxic_id id) {
  auto it = std::find_if(toxics_.begin(), toxics_.end(),
                         [id](const toxic_entry& e) { return e.id == id; });
  if (it == toxics_.end()) return false;
  const toxic spec = it->spec;
  toxics_.erase(it);
  note(events::kind::fault, std::string("toxic ") + name(spec.type) + " on " + where(spec.role) +
                                " " + name(spec.direction) + " removed");
  for (const auto& w : connections_)
    if (auto c = w.lock()) c->remove_toxic(id);
  return true;
}

void network::clear_toxics() {
  while (!toxics_.empty()) remove_toxic(toxics_.front().id);
}

void network::apply_toxics(connection& c, bool fresh) {
  for (auto& e : toxics_) {
    if (!e.spec.role.empty() && e.spec.role != c.role_) continue;
    if (c.has_toxic(e.id)) continue;
    if (e.left == -1) {
      c.apply_toxic(e.id, e.spec);
    } else if (e.left > 0 && (fresh || !e.spec.role.empty())) {
      // A connection is new to a role-bound toxic when it takes that role.
      --e.left;
      c.apply_toxic(e.id, e.spec);
    }
  }
}

void network::fail_connects(connect_fault f, int count, std::string role) {
  if (count < -1) throw std::invalid_argument("connect fault count below -1");
  if (count == 0) return;
  note(events::kind::fault,
       std::string("connect fault ") + name(f) + " for " +
           (count < 0 ? std::string("every") : "the next " + std::to_string(count)) + " connect" +
           (count == 1 ? "" : "s") + " of " + where(role));
  connect_faults_.push_back({f, count, std::move(role)});
}

void network::clear_connect_faults() {
  connect_faults_.clear();
}

std::optional<connect_fault> network::take_connect_fault(const std::string& role) {
  for (auto it = connect_faults_.begin(); it != connect_faults_.end(); ++it) {
    if (!it->role.empty() && it->role != role) continue;
    const connect_fault f = it->fault;
    if (it->left > 0 && --it->left == 0) connect_faults_.erase(it);
    return f;
  }
  return std::nullopt;
}

std::int64_t network::draw(std::int64_t spread) {
  if (spread <= 0) return 0;
  // The modulo's bias is far below anything a test could see, and unlike the standard
  // distributions it draws the same numbers with every standard library.
  const auto span = static_cast<std::uint64_t>(spread) * 2 + 1;
  return static_cast<std::int64_t>(rng_() % span) - spread;
}

std::size_t network::open_connections() const {
  std::size_t n = 0;
  for (const auto& w : connections_)
    if (auto c = w.lock(); c && !c->closed_ && !c->failure_) ++n;
  return n;
}

}  // namespace quecsim::net
