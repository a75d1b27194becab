#include "quecsim/net/network.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

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

}  // namespace

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
  if (ec) return finish_connect(make_error_code(errc::connect_failed));
  socket_.async_connect(endpoints_[index], [self = shared_from_this(), index](error_code ec) {
    self->on_connect(index, ec);
  });
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
  if (closed_ || failure_) return;
  chunk c;
  c.due = clock::now() + one_way();
  if (ec) {
    socket_eof_ = true;
    c.eof = true;
    c.error = ec;
  } else {
    c.bytes.assign(socket_read_buffer_.begin(),
                   socket_read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
    inbound_bytes_ += n;
  }
  inbound_.push_back(std::move(c));
  do_socket_read();
  pump_read();
}

clock::duration connection::one_way() const {
  return net_.clock().scaled(round_trip_.value_or(net_.config().round_trip) / 2);
}

std::uint64_t connection::bandwidth() const {
  return bandwidth_.value_or(net_.config().bandwidth);
}

std::size_t connection::slice() const {
  const auto bw = bandwidth();
  if (bw == 0) return static_cast<std::size_t>(-1);
  // A tenth of a second's worth at a time keeps a slow link smooth rather than bursty.
  return static_cast<std::size_t>(std::max<std::uint64_t>(1, bw / 10));
}

clock::duration connection::pace(std::size_t n) const {
  const auto bw = bandwidth();
  if (bw == 0) return clock::duration::zero();
  const auto simulated = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(static_cast<double>(n) / static_cast<double>(bw)));
  return net_.clock().scaled(simulated);
}

void connection::pump_read() {
  if (!read_handler_ || read_timer_armed_ || closed_ || failure_) return;
  if (inbound_.empty()) return;
  if (net_.blackholed()) return;  // kick() resumes
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
    inbound_.pop_front();
    socket_eof_ = true;
    return complete_read(ec, 0);
  }
  const std::size_t avail = front.bytes.size() - front.offset;
  const std::size_t n = std::min({avail, user_read_buffer_.size(), slice()});
  std::copy_n(front.bytes.data() + front.offset, n, static_cast<char*>(user_read_buffer_.data()));
  front.offset += n;
  inbound_bytes_ -= n;
  if (front.offset == front.bytes.size()) inbound_.pop_front();
  read_next_allowed_ = std::max(read_next_allowed_, now) + pace(n);
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
  if (closed_ || failure_ || shutdown_requested_) {
    const error_code ec = closed_    ? error_code(asio::error::operation_aborted)
                          : failure_ ? failure_
                                     : error_code(asio::error::shut_down);
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, 0); });
    return;
  }
  chunk c;
  c.due = clock::now() + one_way();
  const char* p = static_cast<const char*>(data.data());
  c.bytes.assign(p, p + data.size());
  outbound_bytes_ += data.size();
  outbound_.push_back(std::move(c));
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
  if (closed_ || failure_) {
    const error_code ec = closed_ ? error_code(asio::error::operation_aborted) : failure_;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
    return;
  }
  shutdown_requested_ = true;
  shutdown_handler_ = std::move(h);
  pump_write();
}

void connection::pump_write() {
  if (socket_writing_ || write_timer_armed_ || closed_ || failure_ || !connected_) return;
  if (net_.blackholed()) return;
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
  const std::size_t n = std::min(front.bytes.size() - front.offset, slice());
  socket_writing_ = true;
  asio::async_write(socket_, asio::buffer(front.bytes.data() + front.offset, n),
                    [self = shared_from_this()](error_code ec, std::size_t written) {
                      self->on_socket_write(ec, written);
                    });
}

void connection::on_socket_write(error_code ec, std::size_t n) {
  socket_writing_ = false;
  if (closed_ || failure_) return;
  if (ec) return fail(ec);
  auto& front = outbound_.front();
  front.offset += n;
  outbound_bytes_ -= n;
  if (front.offset == front.bytes.size()) outbound_.pop_front();
  write_next_allowed_ = std::max(write_next_allowed_, clock::now()) + pace(n);
  if (write_handler_ && outbound_bytes_ <= net_.config().pipe_limit) {
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
}

void network::track(const std::shared_ptr<listener>& l) {
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [](const auto& w) { return w.expired(); }),
                   listeners_.end());
  listeners_.push_back(l);
}

std::shared_ptr<connection> network::connect(const std::string& host, std::uint16_t port,
                                             connect_handler h) {
  auto c = std::make_shared<connection>(*this, tcp::socket(io_));
  track(c);
  c->connect_handler_ = std::move(h);
  auto fail_with = [&](errc e, const std::string& why) {
    note(events::kind::info, "connect " + host + ":" + std::to_string(port) + ": " + why);
    c->finish_connect(make_error_code(e));
    return c;
  };
  if (!ctx_.active()) return fail_with(errc::context_inactive, "packet context inactive");

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

std::shared_ptr<connection> network::connect(const tcp::endpoint& ep, connect_handler h) {
  auto c = std::make_shared<connection>(*this, tcp::socket(io_));
  track(c);
  if (!ctx_.active()) {
    c->connect_handler_ = std::move(h);
    c->finish_connect(make_error_code(errc::context_inactive));
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

std::size_t network::open_connections() const {
  std::size_t n = 0;
  for (const auto& w : connections_)
    if (auto c = w.lock(); c && !c->closed_ && !c->failure_) ++n;
  return n;
}

}  // namespace quecsim::net
