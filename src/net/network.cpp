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

// Bytes read from the socket at once: small enough that a slow reader holds little.
constexpr std::size_t socket_read_size = std::size_t{16} * 1024;

// Whether a toxic of `s` acts on the lane of `dir` (upstream or downstream).
bool acts_on(stream s, stream dir) {
  return s == stream::both || s == dir;
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

// ---------------------------------------------------------------------------------------
// connection
//
// Each direction is a lane of chunks stamped with the time they may move on:
//
//   user write ─▶ up_ (due = now + one way) ─▶ socket write (paced by bandwidth)
//   socket read ─▶ down_ (due = arrival + one way) ─▶ user read (paced by bandwidth)
//
// Both lanes are bounded by pipe_limit: a full outbound lane holds back the user's write
// completion; a full inbound lane stops socket reads, so TCP pushes back on the sender.
//
// Toxics and the blackhole are stages of the lanes while they apply (lane.hpp): limits,
// latency and slicers act where bytes enter, bandwidth and holds where they leave. An end
// (a limit reached, inject_eof) is a marker chunk, so the bytes before it are delivered
// first. The connection does the I/O around its lanes and knows no toxic by its kind.

connection::connection(network& net, tcp::socket socket)
    : net_(net),
      socket_(std::move(socket)),
      up_(stream::upstream, lane_env{net.clock(), net.choices_}),
      down_(stream::downstream, lane_env{net.clock(), net.choices_}),
      in_(net.io()),
      out_(net.io()),
      connect_(net.io()) {
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
  connect_.endpoints = std::move(endpoints);
  connect_.done = std::move(h);
  try_endpoint(0);
}

void connection::try_endpoint(std::size_t index) {
  if (index >= connect_.endpoints.size())
    return finish_connect(make_error_code(errc::connect_failed));
  error_code ec;
  if (socket_.is_open()) socket_.close(ec);
  socket_.open(connect_.endpoints[index].protocol(), ec);
  if (!ec) bind_source(connect_.endpoints[index], ec);
  if (ec) return finish_connect(make_error_code(errc::connect_failed));
  socket_.async_connect(
      connect_.endpoints[index],
      [self = shared_from_this(), index](error_code ec) { self->on_connect(index, ec); });
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
    const auto& ep = connect_.endpoints[index];
    net_.note(events::kind::info, "connect to " + ep.address().to_string() + ":" +
                                      std::to_string(ep.port()) + " failed: " + ec.message());
    return try_endpoint(index + 1);
  }
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  // The handshake costs a round trip on a real link.
  connect_.timer.expires_after(one_way() * 2);
  connect_.timer.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->closed_ || self->failure_) return;
    if (self->net_.blackholed()) {
      self->connect_.parked = true;
      return;
    }
    self->finish_connect({});
  });
}

void connection::finish_connect(error_code ec) {
  if (!connect_.done) return;
  if (!ec) connected_ = true;
  auto h = std::move(connect_.done);
  connect_.done = nullptr;
  asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
  if (!ec) pump_write();  // anything written while connecting
}

clock::duration connection::one_way() const {
  return net_.clock().scaled(round_trip_.value_or(net_.config().round_trip) / 2);
}

std::uint64_t connection::net_config_bandwidth() const {
  return net_.config().bandwidth;
}

// ---- inbound: socket -> down_ -> user

void connection::async_read_some(asio::mutable_buffer buffer, io_handler h) {
  if (closed_ || failure_) {
    const error_code ec = closed_ ? error_code(asio::error::operation_aborted) : failure_;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, 0); });
    return;
  }
  in_.user_buffer = buffer;
  in_.handler = std::move(h);
  do_socket_read();
  pump_read();
}

void connection::do_socket_read() {
  if (in_.socket_reading || in_.socket_eof || closed_ || failure_ || !connected_) return;
  const std::size_t limit = net_.config().pipe_limit;
  if (down_.bytes() >= limit) return;  // pushes back on the sender through TCP
  // Read again only once a quarter of the lane is free: topping a nearly full lane up a few
  // bytes at a time cost a recv (and a TCP window update) each, a third of a download's CPU.
  const std::size_t room = limit - down_.bytes();
  if (room < std::min(socket_read_size, limit / 4)) return;
  const std::size_t want = std::min(socket_read_size, room);
  in_.socket_buffer.resize(want);
  in_.socket_reading = true;
  socket_.async_read_some(
      asio::buffer(in_.socket_buffer),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_socket_read(ec, n); });
}

void connection::on_socket_read(error_code ec, std::size_t n) {
  in_.socket_reading = false;
  if (closed_ || failure_ || severed_) return;
  const auto due = clock::now() + one_way();
  if (ec) {
    in_.socket_eof = true;
    down_.push_end(ec, due);
  } else {
    const auto e = down_.push(in_.socket_buffer.data(), n, due);
    if (e.ended) limit_reached(stream::downstream, e);
  }
  do_socket_read();
  pump_read();
}

void connection::pump_read() {
  if (!in_.handler || in_.timer_armed || closed_ || failure_) return;
  if (down_.empty() || down_.held()) return;  // kick() resumes after a hold
  const auto now = clock::now();
  const auto at = down_.ready_at();
  if (at > now) {
    in_.timer_armed = true;
    in_.timer.expires_at(at);
    in_.timer.async_wait([self = shared_from_this()](error_code ec) {
      self->in_.timer_armed = false;
      if (ec) return;
      self->pump_read();
    });
    return;
  }
  const chunk& front = down_.front();
  if (front.eof) {
    const error_code ec = front.error;
    if (front.fatal) return fail(ec);  // a toxic's reset, after the bytes before it
    down_.pop();
    in_.socket_eof = true;
    return complete_read(ec, 0);
  }
  const std::size_t n = down_.take(static_cast<char*>(in_.user_buffer.data()),
                                   in_.user_buffer.size(), now, link_rate());
  do_socket_read();
  complete_read({}, n);
}

void connection::complete_read(error_code ec, std::size_t n) {
  auto h = std::move(in_.handler);
  in_.handler = nullptr;
  if (!h) return;
  asio::post(net_.io(), [h = std::move(h), ec, n] { h(ec, n); });
}

// ---- outbound: user -> up_ -> socket

void connection::async_write(asio::const_buffer data, io_handler h) {
  if (closed_ || failure_ || out_.shutdown_requested || out_.send_error) {
    const error_code ec = closed_           ? error_code(asio::error::operation_aborted)
                          : failure_        ? failure_
                          : out_.send_error ? out_.send_error
                                            : error_code(asio::error::shut_down);
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec, 0); });
    return;
  }
  if (out_.ended) {
    // A limit was reached and its end is still on its way: this write fails there.
    out_.handler = std::move(h);
    out_.waits_for_end = true;
    return;
  }
  const auto e =
      up_.push(static_cast<const char*>(data.data()), data.size(), clock::now() + one_way());
  if (e.ended) limit_reached(stream::upstream, e);
  if (e.queued < data.size()) {
    // Part of it is past a limit: what fits passes, the write fails at the end.
    out_.handler = std::move(h);
    out_.waits_for_end = true;
    return pump_write();
  }
  if (up_.bytes() <= net_.config().pipe_limit) {
    const std::size_t n = data.size();
    asio::post(net_.io(), [h = std::move(h), n] { h({}, n); });
  } else {
    out_.handler = std::move(h);
    out_.pending_n = data.size();
  }
  pump_write();
}

void connection::async_shutdown_send(handler h) {
  if (closed_ || failure_ || severed_) {
    const error_code ec = closed_    ? error_code(asio::error::operation_aborted)
                          : failure_ ? failure_
                                     : out_.send_error;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
    return;
  }
  out_.shutdown_requested = true;
  out_.shutdown_handler = std::move(h);
  pump_write();
}

void connection::pump_write() {
  if (out_.socket_writing || out_.timer_armed || closed_ || failure_ || !connected_) return;
  if (up_.held()) return;  // kick() resumes after a hold
  if (up_.empty()) {
    if (out_.shutdown_requested && out_.shutdown_handler) {
      error_code ec;
      socket_.shutdown(tcp::socket::shutdown_send, ec);
      complete_shutdown(ec);
    }
    return;
  }
  const auto now = clock::now();
  const auto at = up_.ready_at();
  if (at > now) {
    out_.timer_armed = true;
    out_.timer.expires_at(at);
    out_.timer.async_wait([self = shared_from_this()](error_code ec) {
      self->out_.timer_armed = false;
      if (ec) return;
      self->pump_write();
    });
    return;
  }
  const chunk& front = up_.front();
  if (front.eof) return on_upstream_end();
  const std::size_t n = up_.slice(link_rate());
  out_.socket_writing = true;
  asio::async_write(socket_, asio::buffer(front.bytes.data() + front.offset, n),
                    [self = shared_from_this()](error_code ec, std::size_t written) {
                      self->on_socket_write(ec, written);
                    });
}

void connection::on_upstream_end() {
  // An upstream limit: everything before it has reached the socket.
  const chunk& front = up_.front();
  const error_code ec = front.error;
  if (front.fatal) return fail(ec);
  up_.clear();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);  // the server reads EOF
  out_.send_error = ec;
  out_.waits_for_end = false;
  complete_write(ec, 0);
  complete_shutdown({});  // what a shutdown asked for has happened
}

void connection::on_socket_write(error_code ec, std::size_t n) {
  out_.socket_writing = false;
  if (closed_ || failure_ || severed_) return;
  if (ec) return fail(ec);
  up_.consume(n, clock::now(), link_rate());
  if (out_.handler && !out_.waits_for_end && up_.bytes() <= net_.config().pipe_limit) {
    complete_write({}, out_.pending_n);
  }
  pump_write();
}

void connection::complete_write(error_code ec, std::size_t n) {
  auto h = std::move(out_.handler);
  out_.handler = nullptr;
  if (!h) return;
  asio::post(net_.io(), [h = std::move(h), ec, n] { h(ec, n); });
}

void connection::complete_shutdown(error_code ec) {
  if (!out_.shutdown_handler) return;
  auto h = std::move(out_.shutdown_handler);
  out_.shutdown_handler = nullptr;
  asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
}

// ---- ends and faults

void connection::kick() {
  if (connect_.parked) {
    connect_.parked = false;
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
  in_.timer.cancel();
  out_.timer.cancel();
  connect_.timer.cancel();
  for (auto& r : resets_) r.timer->cancel();
  down_.clear();
  up_.clear();
  if (connect_.done) {
    auto h = std::move(connect_.done);
    connect_.done = nullptr;
    asio::post(net_.io(), [h = std::move(h), ec] { h(ec); });
  }
  complete_read(ec, 0);
  complete_write(ec, 0);
  complete_shutdown(ec);
}

void connection::close() {
  if (closed_) return;
  fail(asio::error::operation_aborted);
  closed_ = true;
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
  // The server's FIN, behind what it sent before.
  if (!in_.socket_eof) down_.push_end(asio::error::eof, clock::now() + one_way());
  sever(asio::error::broken_pipe);
  pump_read();
}

void connection::limit_reached(stream dir, const lane::entered& e) {
  const bool down = dir == stream::downstream;
  net_.note(events::kind::fault, "toxic limit_data on " + where(role_) + " " + name(dir) + ": " +
                                     std::to_string(e.limit) + " bytes passed, " +
                                     (e.reset ? "reset" : "closing"));
  if (down) {
    // The server's side goes at once; the module reads up to the end, then learns of it.
    sever(e.reset ? make_error_code(errc::connection_reset) : error_code(asio::error::broken_pipe));
  } else {
    out_.ended = true;
  }
}

void connection::sever(error_code send_error) {
  severed_ = true;
  in_.socket_eof = true;  // nothing more is read from the socket
  error_code ignored;
  socket_.close(ignored);
  out_.timer.cancel();
  up_.clear();
  out_.send_error = send_error;
  out_.waits_for_end = false;
  complete_write(send_error, 0);
  complete_shutdown(send_error);
}

bool connection::has_toxic(toxic_id id) const {
  return up_.has(id) || down_.has(id);
}

void connection::apply_toxic(toxic_id id, const toxic& t) {
  if (acts_on(t.direction, stream::upstream)) up_.add(id, make_stage(t));
  if (acts_on(t.direction, stream::downstream)) down_.add(id, make_stage(t));
  if (t.type == toxic_type::timeout && t.timeout.count() > 0) {
    auto timer = std::make_shared<asio::steady_timer>(net_.io());
    timer->expires_after(net_.clock().scaled(t.timeout));
    timer->async_wait([weak = weak_from_this(), id](error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->has_toxic(id)) return;
      if (self->closed_ || self->failure_) return;
      self->net_.note(events::kind::fault,
                      "toxic timeout on " + where(self->role_) + ": connection reset");
      self->fail(make_error_code(errc::connection_reset));
    });
    resets_.push_back({id, std::move(timer)});
  }
}

bool connection::remove_toxic(toxic_id id) {
  const bool up_had = up_.remove(id);
  const bool down_had = down_.remove(id);
  for (auto it = resets_.begin(); it != resets_.end(); ++it) {
    if (it->id != id) continue;
    it->timer->cancel();
    resets_.erase(it);
    break;
  }
  if (!up_had && !down_had) return false;
  // A timeout held bytes: let them move again.
  pump_read();
  pump_write();
  return true;
}

void connection::hold(lane::stage_id id, bool on) {
  if (on) {
    up_.add(id, std::make_unique<hold_stage>());
    down_.add(id, std::make_unique<hold_stage>());
    return;
  }
  up_.remove(id);
  down_.remove(id);
  kick();
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
  if (blackholed_) c->hold(blackhole_hold, true);
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
  const std::string what = host + ":" + std::to_string(port);
  auto c = new_connection(std::move(h), role);
  if (!admit(*c, what, host, true)) return c;

  const auto r = resolve(host, port, config_.mode, config_.embedded, config_.hosts);
  if (r.what == resolution::kind::endpoint) {
    note(events::kind::info, "connect " + what + " -> " + r.endpoint.address().to_string() + ":" +
                                 std::to_string(r.endpoint.port()));
    c->start_connect({r.endpoint}, std::move(c->connect_.done));
    return c;
  }
  if (r.what == resolution::kind::unknown) {
    note(events::kind::info, "connect " + what + ": unknown host");
    c->finish_connect(make_error_code(errc::dns_failed));
    return c;
  }
  if (!resolver_) resolver_ = std::make_unique<tcp::resolver>(io_);
  std::weak_ptr<connection> weak = c;
  resolver_->async_resolve(
      r.target.address, std::to_string(r.target.port),
      [this, weak, host, what](error_code ec, const tcp::resolver::results_type& results) {
        auto c = weak.lock();
        if (!c || c->closed_ || c->failure_) return;
        if (ec || results.empty()) {
          note(events::kind::info, "resolve " + host + ": " + (ec ? ec.message() : "no address"));
          return c->finish_connect(make_error_code(errc::dns_failed));
        }
        std::vector<tcp::endpoint> eps;
        for (const auto& r : results) eps.push_back(r.endpoint());
        note(events::kind::info, "connect " + what + " -> " + eps.front().address().to_string() +
                                     ":" + std::to_string(eps.front().port()));
        c->start_connect(std::move(eps), std::move(c->connect_.done));
      });
  return c;
}

std::shared_ptr<connection> network::connect(const tcp::endpoint& ep, connect_handler h,
                                             const std::string& role) {
  auto c = new_connection(std::move(h), role);
  if (admit(*c, ep.address().to_string() + ":" + std::to_string(ep.port()), "", false))
    c->start_connect({ep}, std::move(c->connect_.done));
  return c;
}

std::shared_ptr<connection> network::new_connection(connect_handler h, const std::string& role) {
  auto c = std::make_shared<connection>(*this, tcp::socket(io_));
  c->role_ = role;
  track(c);
  c->connect_.done = std::move(h);
  return c;
}

bool network::admit(connection& c, const std::string& what, const std::string& host,
                    bool say_inactive) {
  if (!ctx_.active()) {
    if (say_inactive) note(events::kind::info, "connect " + what + ": packet context inactive");
    c.finish_connect(make_error_code(errc::context_inactive));
    return false;
  }
  auto f = take_connect_fault(c.role_, host);
  if (!f) return true;
  note(events::kind::fault,
       std::string("connect fault ") + name(*f) + ": " + what + " (" + where(c.role_) + ")");
  if (*f == connect_fault::unanswered) return false;  // the handler waits until close()
  c.finish_connect(
      make_error_code(*f == connect_fault::dns_failure ? errc::dns_failed : errc::connect_failed));
  return false;
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

std::shared_ptr<listener> network::adopt(tcp::acceptor acceptor) {
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
  for (auto& w : connections_)
    if (auto c = w.lock()) c->hold(blackhole_hold, on);
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

namespace {
std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}
}  // namespace

void network::fail_connects(connect_fault f, int count, std::string role, std::string host) {
  if (count < -1) throw std::invalid_argument("connect fault count below -1");
  if (count == 0) return;
  note(events::kind::fault,
       std::string("connect fault ") + name(f) + " for " +
           (count < 0 ? std::string("every") : "the next " + std::to_string(count)) + " connect" +
           (count == 1 ? "" : "s") + " of " + where(role) + (host.empty() ? "" : " to " + host));
  connect_faults_.push_back({f, count, std::move(role), lower(std::move(host))});
}

void network::clear_connect_faults() {
  connect_faults_.clear();
  datagram_faults_.clear();
}

std::optional<connect_fault> network::take_connect_fault(const std::string& role,
                                                         const std::string& host) {
  const std::string wanted = lower(host);
  for (auto it = connect_faults_.begin(); it != connect_faults_.end(); ++it) {
    if (!it->role.empty() && it->role != role) continue;
    if (!it->name.empty() && it->name != wanted) continue;
    const connect_fault f = it->fault;
    if (it->left > 0 && --it->left == 0) connect_faults_.erase(it);
    return f;
  }
  return std::nullopt;
}

bool network::lookup_fails(const std::string& host) {
  const std::string wanted = lower(host);
  for (auto it = connect_faults_.begin(); it != connect_faults_.end(); ++it) {
    if (it->fault != connect_fault::dns_failure) continue;
    if (!it->name.empty() && it->name != wanted) continue;
    if (it->left > 0 && --it->left == 0) connect_faults_.erase(it);
    note(events::kind::fault, "connect fault dns_failure: lookup of " + host);
    return true;
  }
  return false;
}

void network::fail_datagrams(datagram_fault f, int count, stream dir) {
  if (count < -1) throw std::invalid_argument("datagram fault count below -1");
  if (count == 0) return;
  note(events::kind::fault,
       std::string("datagram fault ") + (f == datagram_fault::lose ? "lose" : "duplicate") +
           " for " + (count < 0 ? std::string("every") : "the next " + std::to_string(count)) +
           " datagram" + (count == 1 ? "" : "s") + " " + name(dir));
  datagram_faults_.push_back({f, count, dir});
}

std::optional<datagram_fault> network::take_datagram_fault(stream dir) {
  for (auto it = datagram_faults_.begin(); it != datagram_faults_.end(); ++it) {
    if (it->dir != stream::both && it->dir != dir) continue;
    const datagram_fault f = it->fault;
    if (it->left > 0 && --it->left == 0) datagram_faults_.erase(it);
    note(events::kind::fault, std::string("datagram ") +
                                  (f == datagram_fault::lose ? "lost " : "duplicated ") +
                                  name(dir));
    return f;
  }
  return std::nullopt;
}

std::int64_t network::random_choices::draw(std::int64_t spread) {
  if (spread <= 0) return 0;
  // The modulo's bias is far below anything a test could see, and unlike the standard
  // distributions it draws the same numbers with every standard library.
  const auto span = static_cast<std::uint64_t>(spread) * 2 + 1;
  return static_cast<std::int64_t>(rng() % span) - spread;
}

std::size_t network::open_connections() const {
  std::size_t n = 0;
  for (const auto& w : connections_)
    if (auto c = w.lock(); c && !c->closed_ && !c->failure_) ++n;
  return n;
}

}  // namespace quecsim::net
