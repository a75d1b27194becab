#include "quecsim/tcpip/service.hpp"

#include <algorithm>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cctype>
#include <deque>
#include <stdexcept>
#include <utility>
#include <vector>

namespace quecsim::tcpip {

namespace asio = boost::asio;
using at::param;
using boost::system::error_code;

namespace {

constexpr std::size_t max_send = 1460;  // bytes per AT+QISEND (M35 §11.2)
constexpr char ctrl_z = 0x1A;
constexpr char esc = 0x1B;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An integer given bare or quoted (`80` or `"80"`, as drivers send AT+QIOPEN's port).
bool number(const at::value& v, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  if (v.is_integer()) {
    out = v.number;
  } else if (v.is_string() && !v.text.empty() && v.text.size() <= 6 &&
             std::all_of(v.text.begin(), v.text.end(),
                         [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    out = std::stoll(v.text);
  } else {
    return false;
  }
  return out >= lo && out <= hi;
}

// The bytes one read takes from the peer: a packet in command mode, a larger piece in
// transparent mode, where only throughput matters.
constexpr std::size_t packet_read = 1500;
constexpr std::size_t transparent_read = 64 * 1024;
// UART bytes queued for the host past which transparent mode stops reading from the peer.
constexpr std::size_t uart_high_water = 64 * 1024;

bool ip_literal(const std::string& host) {
  error_code ec;
  const auto a = asio::ip::make_address_v4(host, ec);
  return !ec && !a.is_unspecified();
}

}  // namespace

/// One socket with what carries it: the algorithm, its connection (TCP through net, UDP on a
/// socket of its own), the read buffer and the writes in flight.
struct service::slot {
  explicit slot(asio::io_context& io, socket_limits limits) : sm(limits), timer(io), udp(io) {}
  socket_op sm;
  std::shared_ptr<net::connection> tcp;
  asio::steady_timer timer;
  asio::ip::udp::socket udp;
  asio::ip::udp::endpoint udp_peer;
  // One read is one packet for AT+QIRD and QINDI=2 (an Ethernet-sized segment); transparent
  // mode has no packets and reads larger pieces (grown on its first read).
  std::vector<char> buffer = std::vector<char>(packet_read);
  bool reading = false;
  bool paused = false;
  std::deque<std::string> writes;  // waiting for the one write in flight
  bool writing = false;
  std::uint64_t generation = 0;  // bumped when the connection ends: stale completions drop
};

/// AT+QISEND's input stage: the bytes after `> `, up to a fixed length or Ctrl-Z. It stays
/// alive until the next AT+QISEND replaces it (the module may still be inside its call).
class service::send_input : public module::data_mode_handler {
 public:
  send_input(service& s, int index, std::size_t length, inv_ptr inv)
      : service_(s), index_(index), length_(length), inv_(std::move(inv)) {}

  std::size_t on_host_data(std::string_view bytes) override {
    if (done_) return 0;
    // The LF of the command line's CR LF (TinyGSM ends its lines so) is not data: a real
    // module's line parser swallows it before the prompt takes bytes.
    std::size_t skipped = 0;
    if (first_ && !bytes.empty()) {
      first_ = false;
      if (bytes.front() == service_.module_.line().s4) {
        bytes.remove_prefix(1);
        skipped = 1;
      }
    }
    enum class ending { none, send, cancel, too_long };
    ending end = ending::none;
    const std::size_t start = data_.size();
    std::size_t taken = 0;
    while (taken < bytes.size()) {
      const char c = bytes[taken++];
      if (length_ == 0) {  // variable length: Ctrl-Z sends, ESC cancels
        if (c == ctrl_z) {
          end = ending::send;
          break;
        }
        if (c == esc) {
          end = ending::cancel;
          break;
        }
        data_.push_back(c);
        if (data_.size() > max_send) {
          end = ending::too_long;
          break;
        }
      } else {
        data_.push_back(c);
        if (data_.size() == length_) {
          // A Ctrl-Z some drivers put after fixed-length data is not data: it is dropped.
          if (taken < bytes.size() && bytes[taken] == ctrl_z) ++taken;
          end = ending::send;
          break;
        }
      }
    }
    auto& m = service_.module_;
    if (m.current().qisde != 0 && m.line().echo && data_.size() > start) {
      m.send_bytes(std::string_view(data_).substr(start));
    }
    taken += skipped;
    if (end == ending::none) return taken;
    done_ = true;
    m.leave_data_mode();
    switch (end) {
      case ending::send:
        service_.finish_send(index_, std::move(data_), inv_);
        break;
      case ending::cancel:
        inv_->ok();
        break;
      default:
        inv_->error();
        break;
    }
    return taken;
  }
  void on_escape() override {}

 private:
  service& service_;
  int index_;
  std::size_t length_;  // 0: until Ctrl-Z
  inv_ptr inv_;
  std::string data_;
  bool done_ = false;
  bool first_ = true;
};

/// Transparent mode (AT+QIMODE=1): after CONNECT the UART is the socket. Host bytes are
/// gathered up to AT+QITCFG's send size, or sent after its wait time; `+++` with its guard
/// times returns to command mode (OK), ATO back to data mode (CONNECT).
class service::transparent_pipe : public module::data_mode_handler {
 public:
  explicit transparent_pipe(service& s) : service_(s), timer_(s.module_.io()) {}

  std::size_t on_host_data(std::string_view bytes) override {
    auto& sl = *service_.slots_[0];
    if (sl.sm.state() != socket_state::connected) return bytes.size();  // gone: dropped
    // Take only what the transparent buffer has room for, so every send is accepted; with it
    // full the host is held back until the link takes some (`data_ready`).
    const std::size_t outstanding = sl.sm.sent() - sl.sm.acked();
    const std::size_t window = sl.sm.limits().transparent_buffer;
    const std::size_t room = outstanding < window ? window - outstanding : 0;
    const std::size_t taken = std::min(bytes.size(), room - std::min(room, pending_.size()));
    pending_.append(bytes.substr(0, taken));
    // Whole packets of AT+QITCFG's send size go at once (in one write: TCP keeps no packet
    // boundaries); a partial one waits for more or for the wait time, unless the buffer is
    // full, when it goes now so the link has something to take.
    const auto size = static_cast<std::size_t>(service_.tcfg_size_);
    send(pending_.size() >= room ? pending_.size() : pending_.size() / size * size);
    if (pending_.empty()) {
      cancel();
    } else {
      arm();
    }
    return taken;
  }

  void on_escape() override { service_.leave_transparent("OK"); }

  /// Sends what is gathered now.
  void flush() {
    cancel();
    send(pending_.size());
  }
  void clear() {
    cancel();
    pending_.clear();
  }

  /// AT+ATO's invocation while data mode runs inside it.
  std::shared_ptr<at::invocation> resumed;

 private:
  void arm() {
    // The wait time runs from the first byte of a partial packet: later bytes do not restart
    // it (and a busy stream does not re-set a timer for every read).
    if (armed_) return;
    armed_ = true;
    timer_.expires_after(
        service_.module_.time().scaled(std::chrono::milliseconds(200 * service_.tcfg_wait_)));
    timer_.async_wait([this](const error_code& ec) {
      if (ec) return;
      armed_ = false;
      flush();
    });
  }

  /// Sends the first `n` gathered bytes (they fit the buffer: on_host_data took no more).
  void send(std::size_t n) {
    if (n == 0) return;
    steps out;
    auto& sl = *service_.slots_[0];
    if (sl.sm.send(pending_.substr(0, n), out, sl.sm.limits().transparent_buffer) ==
        send_outcome::ok) {
      service_.run(0, std::move(out));
    }
    pending_.erase(0, n);
  }

  void cancel() {
    if (!armed_) return;
    armed_ = false;
    timer_.cancel();
  }

  service& service_;
  asio::steady_timer timer_;
  bool armed_ = false;  // the wait time runs for the gathered partial packet
  std::string pending_;
};

service::service(module::module& m, net::network& net, service_options opts)
    : module_(m), net_(net), opts_(opts) {
  for (auto& s : slots_) s = std::make_unique<slot>(m.io(), opts_.limits);
  pipe_ = std::make_unique<transparent_pipe>(*this);
  reserve_server_port();
  add_commands();
  m.context().on_down([this, alive = std::weak_ptr<bool>(alive_)](net::deact_reason) {
    if (!alive.expired()) on_context_down();
  });
  m.on_restart([this] { reset(); });
}

service::~service() {
  *alive_ = false;
  if (server_) server_->close();
  if (reserved_) {
    error_code ec;
    reserved_->close(ec);
  }
  for (auto& s : slots_) {
    if (s->tcp) s->tcp->close();
    error_code ec;
    s->udp.close(ec);
  }
}

const socket_op& service::at(int i) const {
  return slots_.at(static_cast<std::size_t>(i))->sm;
}

bool service::mux() const {
  return module_.current().qimux != 0;
}

std::string service::prefix(int i) const {
  return mux() ? std::to_string(i) + ", " : std::string();
}

std::string service::state_text() const {
  std::string ctx = module::context_state(module_);
  const auto& sm = slots_[0]->sm;
  // The connection's state shows while the context is up (or coming up for AT+QIOPEN).
  if (!module_.context().active() && !module_.context().activating) return ctx;
  const bool serving = listener_.state() != listener_state::idle;
  if (mux()) return serving ? "SERVER LISTENING" : ctx;
  // Single mode: the server's one client shows as any connection does.
  if (serving && sm.state() != socket_state::connected) return "SERVER LISTENING";
  switch (sm.state()) {
    case socket_state::connecting:
      return sm.transport() == protocol::tcp ? "TCP CONNECTING" : "UDP CONNECTING";
    case socket_state::connected:
      return "CONNECT OK";
    case socket_state::closed:
      return "IP CLOSE";
    case socket_state::idle:
      break;
  }
  return ctx;
}

void service::reset() {
  pipe_->clear();
  pipe_->resumed.reset();
  transparent_ = false;
  tcfg_retry_ = 3;
  tcfg_wait_ = 2;
  tcfg_size_ = 512;
  tcfg_esc_ = 1;
  srvc_ = 1;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    end_connection(static_cast<int>(i));
    slots_[i]->sm.reset();
  }
  run_server(listener_.on_context_down());
  listener_.reset();
}

int service::server_clients() const {
  int n = 0;
  for (const auto& s : slots_) {
    if (s->sm.server_side() && s->sm.state() == socket_state::connected) ++n;
  }
  return n;
}

bool service::in_role(int i) const {
  return slots_[i]->sm.server_side() == (srvc_ == 2);
}

void service::reserve_server_port() {
  if (reserved_) return;
  // Bound but not listening: a client on the host machine is refused until AT+QISERVER.
  error_code ec;
  const auto addr = asio::ip::make_address(net_.config().listen_address, ec);
  if (ec) throw std::runtime_error("tcpip server address: " + ec.message());
  const std::uint16_t port =
      server_endpoint_.port() != 0 ? server_endpoint_.port() : opts_.server_port;
  auto a = std::make_unique<asio::ip::tcp::acceptor>(module_.io());
  const asio::ip::tcp::endpoint ep(addr, port);
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a->bind(ep, ec);
  if (ec) {
    const std::string why = "tcpip server port " + std::to_string(port) + ": " + ec.message();
    // At start-up the user's port is taken: a usage error. Later (taking the port back after
    // the server ended) the next AT+QISERVER answers CONNECT FAIL instead.
    if (server_endpoint_.port() == 0) throw std::runtime_error(why);
    net_.note(events::kind::info, why);
    return;
  }
  server_endpoint_ = a->local_endpoint();
  reserved_ = std::move(a);
}

void service::run_server(const listener_steps& next) {
  auto& m = module_;
  for (const auto st : next) {
    switch (st) {
      case listener_step::listen: {
        error_code ec;
        if (reserved_) reserved_->listen(asio::socket_base::max_listen_connections, ec);
        if (!reserved_ || ec) {
          net_.note(events::kind::info, "tcpip server: cannot listen");
          asio::post(m.io(), [this, alive = std::weak_ptr<bool>(alive_)] {
            if (!alive.expired()) run_server(listener_.on_listen_failed());
          });
          break;
        }
        server_ = net_.adopt(std::move(*reserved_));
        reserved_.reset();
        net_.note(events::kind::info,
                  "tcpip server: listening on " + server_endpoint_.address().to_string() + ":" +
                      std::to_string(server_endpoint_.port()) + " (module port " +
                      std::to_string(listener_.port()) + ")");
        accept_next();
        // SERVER OK follows AT+QISERVER's OK.
        asio::post(m.io(), [this, gen = server_generation_, alive = std::weak_ptr<bool>(alive_)] {
          if (!alive.expired() && gen == server_generation_) run_server(listener_.on_listening());
        });
        break;
      }
      case listener_step::stop:
        ++server_generation_;
        if (server_) server_->close();
        server_.reset();
        reserve_server_port();
        m.publish_state("tcpip", "server closed");
        break;
      case listener_step::server_ok:
        m.publish_state("tcpip", "server listening");
        m.urc("SERVER OK");
        break;
      case listener_step::server_failed:
        m.urc("CONNECT FAIL");
        break;
    }
  }
}

void service::accept_next() {
  if (!server_) return;
  server_->async_accept([this, gen = server_generation_, alive = std::weak_ptr<bool>(alive_)](
                            error_code ec, std::shared_ptr<net::connection> c) {
    if (alive.expired()) return;
    if (gen != server_generation_) {
      if (c) c->close();
      return;
    }
    if (ec) return run_server(listener_.on_listen_failed());
    on_client(std::move(c));
    accept_next();
  });
}

void service::on_client(std::shared_ptr<net::connection> c) {
  // Single mode has one socket; the server's clients share the six of multiple mode.
  const int n = mux() ? socket_count : 1;
  std::vector<bool> taken;
  for (int i = 0; i < n; ++i) {
    const auto st = slots_[i]->sm.state();
    taken.push_back(st == socket_state::connecting || st == socket_state::connected);
  }
  const auto index = listener_.admit(taken, server_clients());
  if (!index) {
    net_.note(events::kind::info, "tcpip server: a client turned away (no room)");
    c->close();
    return;
  }
  const int i = *index;
  end_connection(i);
  // Single mode with AT+QIMODE=1 serves its one client transparently (CONNECT).
  if (i == 0) transparent_ = !mux() && module_.current().qimode == 1;
  auto& s = *slots_[i];
  c->set_role("tcpip");
  const auto ep = c->remote_endpoint();
  s.tcp = std::move(c);
  run(i, s.sm.accept(ep.address().to_string(), ep.port()));
}

void service::close_server() {
  listener_steps out;
  listener_.stop(out);
  run_server(out);
  for (int i = 0; i < socket_count; ++i) {
    steps s;
    if (slots_[i]->sm.server_side() && slots_[i]->sm.close(s)) run(i, std::move(s));
  }
}

void service::on_context_down() {
  if (transparent_ && module_.in_data_mode()) {
    pipe_->clear();
    module_.leave_data_mode();
    if (auto inv = std::move(pipe_->resumed)) inv->error();
  }
  for (int i = 0; i < socket_count; ++i) run(i, slots_[i]->sm.on_context_down());
  run_server(listener_.on_context_down());
}

void service::end_connection(int i) {
  auto& s = *slots_[i];
  ++s.generation;
  if (s.tcp) s.tcp->close();
  s.tcp.reset();
  error_code ec;
  s.udp.close(ec);
  s.timer.cancel();
  s.reading = false;
  s.paused = false;
  s.writes.clear();
  s.writing = false;
}

void service::arm_deadline(int i) {
  auto& s = *slots_[i];
  const auto when = s.sm.deadline();
  if (!when) return;
  const auto now = std::chrono::steady_clock::now();
  const auto left = *when > now ? *when - now : std::chrono::steady_clock::duration{};
  // The socket's deadline is in simulated time from `open`; the timer runs it scaled.
  s.timer.expires_after(
      module_.time().scaled(std::chrono::duration_cast<std::chrono::milliseconds>(left)));
  s.timer.async_wait(
      [this, i, gen = s.generation, alive = std::weak_ptr<bool>(alive_)](const error_code& ec) {
        if (ec || alive.expired() || slots_[i]->generation != gen) return;
        const auto d = slots_[i]->sm.deadline();
        if (d) run(i, slots_[i]->sm.on_time(*d));
      });
}

void service::run(int i, steps next) {
  auto& s = *slots_[i];
  auto& m = module_;
  for (auto& st : next) {
    switch (st.what) {
      case step::kind::connect:
        connect(i);
        break;
      case step::kind::write:
        s.writes.push_back(std::move(st.bytes));
        write_more(i);
        break;
      case step::kind::close:
        end_connection(i);
        break;
      case step::kind::pause_reading:
        s.paused = true;
        break;
      case step::kind::resume_reading:
        s.paused = false;
        read_more(i);
        break;
      case step::kind::opened:
        m.publish_state("tcpip", std::to_string(i) + " connected");
        if (i == 0 && transparent_) {
          m.enter_data_mode(*pipe_);  // CONNECT, then the UART is the socket
        } else {
          m.urc(prefix(i) + "CONNECT OK");
        }
        read_more(i);
        break;
      case step::kind::accepted:
        m.publish_state("tcpip", std::to_string(i) + " accepted");
        if (i == 0 && transparent_) {
          m.enter_data_mode(*pipe_);  // CONNECT, then the UART is the client's socket
        } else {
          m.urc(prefix(i) + "REMOTE IP: " + s.sm.remote_ip());
        }
        read_more(i);
        break;
      case step::kind::open_failed:
        m.publish_state("tcpip", std::to_string(i) + " connect failed");
        m.urc(prefix(i) + "CONNECT FAIL");
        break;
      case step::kind::peer_closed:
        m.publish_state("tcpip", std::to_string(i) + " closed by peer");
        if (i == 0 && transparent_ && m.in_data_mode()) {
          leave_transparent("CLOSED");
        } else {
          m.urc(prefix(i) + "CLOSED");
        }
        break;
      case step::kind::push:
        deliver(i, st.bytes);
        break;
      case step::kind::notify: {
        std::string line = "+QIRDI: " + std::to_string(m.context().foreground) + "," +
                           (s.sm.server_side() ? "2," : "1,") + std::to_string(i);
        if (m.current().qindi == 2) {
          line += "," + std::to_string(st.packets) + "," + std::to_string(st.last) + "," +
                  std::to_string(st.total);
        }
        m.urc(std::move(line));
        break;
      }
    }
  }
}

void service::deliver(int i, std::string_view bytes) {
  auto& m = module_;
  const auto& sm = slots_[i]->sm;
  const auto& c = m.current();
  if (mux()) {
    m.urc("+RECEIVE: " + std::to_string(i) + ", " + std::to_string(bytes.size()));
    m.urc_bytes(std::string(bytes));
    return;
  }
  if (c.qishowra != 0) {
    m.urc("RECV FROM:" + sm.remote_ip() + ":" + std::to_string(sm.remote_port()));
  }
  if (c.qishowla != 0) m.urc("TO:" + m.context().local_ip());
  std::string out;
  if (c.qihead != 0) {
    out = "IPD" + std::to_string(bytes.size());
    if (c.qishowpt != 0) out += std::string(name(sm.transport()));
    out += ":";
  }
  out.append(bytes);
  m.urc_bytes(std::move(out));
}

void service::connect(int i) {
  auto& s = *slots_[i];
  auto& ctx = module_.context();
  const auto gen = s.generation;
  auto alive = std::weak_ptr<bool>(alive_);
  if (!ctx.active()) {
    // From IP INITIAL the module registers and activates the context by itself first.
    if (!module_.cellular().data_service()) return run(i, s.sm.on_connect_failed());
    ctx.activating = true;
    auto timer = std::make_shared<asio::steady_timer>(
        module_.io(), module_.time().scaled(module_.config().times.activate));
    timer->async_wait([this, i, gen, alive, timer](const error_code& ec) {
      if (ec || alive.expired()) return;
      auto& ctx = module_.context();
      ctx.activating = false;
      if (slots_[i]->generation != gen) return;
      if (!module_.cellular().data_service() || ctx.refused()) {
        return run(i, slots_[i]->sm.on_connect_failed());
      }
      if (!ctx.active()) {
        module::activate_context(module_);
        ctx.address_shown = true;  // the module read its address itself: IP STATUS
      }
      connect(i);
    });
    return;
  }
  const std::string host = s.sm.host();
  const std::uint16_t port = s.sm.port();
  const auto& cfg = net_.config();
  const auto entry = cfg.hosts.find(lower(host));
  const bool mapped = entry != cfg.hosts.end();

  if (s.sm.transport() == protocol::udp) {
    // UDP does not pass through net (its connections are TCP): the datagrams go straight to
    // the peer while the context is up, and the context going down ends the socket.
    std::string address = mapped ? entry->second.address : host;
    const std::uint16_t to_port = mapped ? entry->second.port : port;
    error_code ec;
    const auto addr = asio::ip::make_address(address, ec);
    if (ec) {
      net_.note(events::kind::info, "udp " + host + ": unknown host");
      return run(i, s.sm.on_connect_failed());
    }
    s.udp_peer = asio::ip::udp::endpoint(addr, to_port);
    s.udp.open(s.udp_peer.protocol(), ec);
    if (!ec) s.udp.connect(s.udp_peer, ec);
    if (ec) return run(i, s.sm.on_connect_failed());
    net_.note(events::kind::info, "udp " + host + ":" + std::to_string(port) + " -> " +
                                      addr.to_string() + ":" + std::to_string(to_port));
    return run(i, s.sm.on_connected(addr.to_string(), to_port));
  }

  auto done = [this, i, gen, alive](const error_code& ec) {
    if (alive.expired() || slots_[i]->generation != gen) return;
    auto& sl = *slots_[i];
    if (ec || !sl.tcp) return run(i, sl.sm.on_connect_failed());
    const auto ep = sl.tcp->remote_endpoint();
    record(i, "peer", ep.address().to_string() + ":" + std::to_string(ep.port()));
    run(i, sl.sm.on_connected(ep.address().to_string(), ep.port()));
  };
  if (mapped || cfg.mode != net::host_mode::embedded) {
    s.tcp = net_.connect(host, port, done, "tcpip");
  } else if (ip_literal(host)) {
    // The embedded mode sends every name to the bundled FTP server; an address given to a
    // socket is taken as it is.
    s.tcp =
        net_.connect(asio::ip::tcp::endpoint(asio::ip::make_address_v4(host), port), done, "tcpip");
  } else {
    net_.note(events::kind::info, "connect " + host + ": unknown host (not in the host map)");
    run(i, s.sm.on_connect_failed());
  }
}

void service::record(int i, std::string_view what, std::string_view bytes) {
  auto& bus = module_.bus();
  if (!bus.active()) return;
  // What the socket carried, for the transcript: replay plays the peer's part back from it.
  std::string text = std::to_string(i);
  text += ' ';
  text += what;
  text += ' ';
  text += bytes;
  bus.publish({events::kind::info, module_.config().id, "socket", text});
}

void service::read_more(int i) {
  auto& s = *slots_[i];
  if (s.reading || s.paused || s.sm.state() != socket_state::connected) return;
  auto on_read = [this, i, gen = s.generation, alive = std::weak_ptr<bool>(alive_)](
                     const error_code& ec, std::size_t n) {
    if (alive.expired() || slots_[i]->generation != gen) return;
    auto& sl = *slots_[i];
    sl.reading = false;
    if (ec) return run(i, sl.sm.on_peer_closed());
    record(i, "rx", std::string_view(sl.buffer.data(), n));
    if (i == 0 && transparent_) return on_transparent_data(std::string_view(sl.buffer.data(), n));
    const auto mode = static_cast<receive_mode>(std::clamp(module_.current().qindi, 0, 2));
    const std::string_view bytes(sl.buffer.data(), n);
    if (sl.sm.transport() == protocol::udp) {
      // A datagram fault of the scenario's (UDP passes beside net's lanes): lost, or twice.
      if (const auto f = net_.take_datagram_fault(net::stream::downstream)) {
        if (*f == net::datagram_fault::lose) return read_more(i);
        run(i, sl.sm.on_data(bytes, mode));
      }
    }
    run(i, sl.sm.on_data(bytes, mode));
    read_more(i);
  };
  s.reading = true;
  if (s.sm.transport() == protocol::udp) {
    s.udp.async_receive(asio::buffer(s.buffer.data(), packet_read), on_read);
  } else if (s.tcp) {
    if (i == 0 && transparent_ && s.buffer.size() < transparent_read)
      s.buffer.resize(transparent_read);
    const std::size_t n = i == 0 && transparent_ ? s.buffer.size() : packet_read;
    s.tcp->async_read_some(asio::buffer(s.buffer.data(), n), on_read);
  } else {
    s.reading = false;
  }
}

void service::write_more(int i) {
  auto& s = *slots_[i];
  if (s.writing || s.writes.empty()) return;
  s.writing = true;
  auto on_written = [this, i, gen = s.generation, alive = std::weak_ptr<bool>(alive_)](
                        const error_code& ec, std::size_t n) {
    if (alive.expired() || slots_[i]->generation != gen) return;
    auto& sl = *slots_[i];
    sl.writing = false;
    if (ec) return run(i, sl.sm.on_peer_closed());
    sl.writes.pop_front();
    run(i, sl.sm.on_written(n));
    write_more(i);
    if (i == 0 && transparent_ && module_.in_data_mode()) module_.data_ready();
  };
  const std::string& bytes = s.writes.front();
  record(i, "tx", bytes);
  if (s.sm.transport() == protocol::udp) {
    // A datagram fault of the scenario's: a lost one is taken as sent, a duplicate goes twice.
    if (const auto f = net_.take_datagram_fault(net::stream::upstream)) {
      if (*f == net::datagram_fault::lose) {
        return asio::post(module_.io(), [on_written, n = bytes.size()] { on_written({}, n); });
      }
      error_code ignored;
      s.udp.send(asio::buffer(bytes), 0, ignored);
    }
    s.udp.async_send(asio::buffer(bytes), on_written);
  } else if (s.tcp) {
    s.tcp->async_write(asio::buffer(bytes), on_written);
  }
}

void service::on_transparent_data(std::string_view bytes) {
  auto& sl = *slots_[0];
  if (module_.in_data_mode()) {
    module_.send_bytes(bytes);
    // A host slower than the peer: stop reading until the UART drains, so the peer's bytes
    // wait in TCP (its window closes) rather than in the module's memory.
    auto& port = module_.port();
    if (port.queued() <= uart_high_water) return read_more(0);
    port.when_drained([this, gen = sl.generation, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired() || slots_[0]->generation != gen) return;
      read_more(0);
    });
    return;
  }
  // In command mode after +++ the bytes wait in the socket's buffer (reading stops once it is
  // full) until ATO.
  run(0, sl.sm.on_data(bytes, receive_mode::hold));
  read_more(0);
}

void service::leave_transparent(const std::string& why) {
  auto& m = module_;
  if (!m.in_data_mode()) return;
  if (why == "OK") pipe_->flush();
  m.leave_data_mode();
  auto inv = std::move(pipe_->resumed);
  pipe_->resumed.reset();
  if (inv) {
    inv->final_text(why);
  } else {
    m.urc(why);
  }
}

void service::open(int i, protocol p, const std::string& host, std::uint16_t port) {
  auto& s = *slots_[i];
  end_connection(i);
  module_.publish_state("tcpip", std::to_string(i) + " connecting");
  record(i, "open", std::string(name(p)) + " " + host + ":" + std::to_string(port));
  run(i, s.sm.open(p, host, port, std::chrono::steady_clock::now()));
  arm_deadline(i);
}

void service::finish_send(int i, std::string data, const inv_ptr& inv) {
  auto& s = *slots_[i];
  if (data.empty()) return inv->error();
  steps out;
  const auto r = s.sm.send(std::move(data), out);
  run(i, std::move(out));
  switch (r) {
    case send_outcome::ok:
      if (module_.current().qiprompt == 2) return inv->done_without_result();
      return inv->final_text("SEND OK");
    case send_outcome::fail:
      return inv->final_text("SEND FAIL");
    case send_outcome::not_connected:
      return inv->error();
  }
}

std::string service::status_line(const std::string& head, int i, bool with_state) const {
  const auto& sm = slots_[i]->sm;
  std::string line = head + std::to_string(i) + ", ";
  if (sm.state() == socket_state::idle) {
    return line + (with_state ? "\"\", \"\", , \"INITIAL\"" : "\"\", \"\",");
  }
  const std::string address = sm.remote_ip().empty() ? sm.host() : sm.remote_ip();
  const std::uint16_t port = sm.remote_port() != 0 ? sm.remote_port() : sm.port();
  line += at::in_quotes(name(sm.transport())) + ", " + at::in_quotes(address) + ", " +
          std::to_string(port) + ",";
  if (!with_state) return line;
  const char* word = "CLOSED";
  if (sm.state() == socket_state::connecting) word = "CONNECTING";
  if (sm.state() == socket_state::connected) word = "CONNECTED";
  return line + " " + at::in_quotes(word);
}

void service::add_commands() {
  auto& t = module_.commands();
  auto& m = module_;

  {
    at::command_spec s;
    s.name = "+QIMUX";
    s.params = {param::integer(0, 1)};
    s.test = at::reply({"+QIMUX: (0,1)"});
    s.read = [&m](const inv_ptr& inv) {
      inv->info("+QIMUX: " + std::to_string(m.current().qimux));
      inv->ok();
    };
    s.write = [this, &m](const inv_ptr& inv) {
      // The message shapes change with the mode: not while a socket is open.
      for (const auto& sl : slots_) {
        const auto st = sl->sm.state();
        if (st == socket_state::connecting || st == socket_state::connected) return inv->error();
      }
      m.current().qimux = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  }

  {
    at::command_spec s;
    s.name = "O";
    s.exec = [this, &m](const inv_ptr& inv) {
      // Back to the transparent connection left with +++.
      if (!transparent_ || slots_[0]->sm.state() != socket_state::connected) {
        return inv->error();
      }
      pipe_->resumed = inv;
      m.enter_data_mode(*pipe_);
      // What arrived meanwhile comes first.
      steps out;
      auto r = slots_[0]->sm.read(static_cast<std::size_t>(-1), false, out);
      if (!r.bytes.empty()) m.send_bytes(r.bytes);
      run(0, std::move(out));
    };
    t.add(std::move(s));
  }
  {
    // Which role AT+QISEND and AT+QICLOSE act on: 1 the connections the module opened,
    // 2 its server and the clients that reached it.
    at::command_spec s;
    s.name = "+QISRVC";
    s.params = {param::integer(1, 2)};
    s.test = at::reply({"+QISRVC: (1,2)"});
    s.read = [this](const inv_ptr& inv) {
      inv->info("+QISRVC: " + std::to_string(srvc_));
      inv->ok();
    };
    s.write = [this](const inv_ptr& inv) {
      srvc_ = static_cast<int>(inv->args()[0].number);
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QITCFG";
    s.params = {param::integer(0, 5), param::integer(1, 10), param::integer(1, 1460),
                param::integer(0, 1)};
    s.test = at::reply({"+QITCFG: (0-5),(1-10),(1-1460),(0,1)"});
    s.read = [this](const inv_ptr& inv) {
      inv->info("+QITCFG: " + std::to_string(tcfg_retry_) + "," + std::to_string(tcfg_wait_) + "," +
                std::to_string(tcfg_size_) + "," + std::to_string(tcfg_esc_));
      inv->ok();
    };
    s.write = [this](const inv_ptr& inv) {
      const auto& a = inv->args();
      tcfg_retry_ = static_cast<int>(a[0].number);
      tcfg_wait_ = static_cast<int>(a[1].number);
      tcfg_size_ = static_cast<int>(a[2].number);
      tcfg_esc_ = static_cast<int>(a[3].number);
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QILPORT";
    s.params = {param::string(8), param::either(8)};
    s.test = at::reply({"+QILPORT: (\"TCP\",\"UDP\"),(1-65535)"});
    s.read = [this](const inv_ptr& inv) {
      // Two lines, one per transport (M35 §11.5); the one not chosen shows 0.
      const bool tcp = listener_.transport() == protocol::tcp;
      inv->info("TCP: " + std::to_string(tcp ? listener_.port() : 0));
      inv->info("UDP: " + std::to_string(tcp ? 0 : listener_.port()));
      inv->ok();
    };
    s.write = [this](const inv_ptr& inv) {
      const auto& a = inv->args();
      std::int64_t port = 0;
      if (a[1].omitted() || !number(a[1], 1, 65535, port)) return inv->error();
      const std::string kind = lower(a[0].text);
      if (kind != "tcp" && kind != "udp") return inv->error();
      if (!listener_.set_port(kind == "tcp" ? protocol::tcp : protocol::udp,
                              static_cast<std::uint16_t>(port))) {
        return inv->error();
      }
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISERVER";
    s.params = {param::integer(0, 1), param::integer(1, opts_.server_max_clients)};
    s.test = at::reply({"+QISERVER: (0,1),(1-" + std::to_string(opts_.server_max_clients) + ")"});
    s.read = [this](const inv_ptr& inv) {
      const bool serving = listener_.state() != listener_state::idle;
      inv->info("+QISERVER: " + std::string(serving ? "1," : "0,") +
                std::to_string(server_clients()) + "," + std::to_string(listener_.max_clients()));
      inv->ok();
    };
    auto start = [this, &m](const inv_ptr& inv, int max_clients) {
      // A TCP server, once the module has read its address (AT+QILOCIP: "if not read, the
      // server gets an error"); transparent mode (AT+QIMODE=1) serves one client, in single
      // mode.
      if (listener_.transport() != protocol::tcp || listener_.port() == 0) return inv->error();
      if (m.current().qimode == 1 && mux()) return inv->error();
      const std::string state = mux() ? module::context_state(m) : state_text();
      if (state != "IP STATUS" && state != "IP CLOSE") return inv->error();
      auto next = listener_.start(max_clients);
      if (next.empty()) return inv->error();
      inv->ok();
      run_server(next);
    };
    s.exec = [this, start](const inv_ptr& inv) {
      start(inv, mux() ? opts_.server_max_clients : 1);
    };
    s.write = [this, start](const inv_ptr& inv) {
      // The write form sets a multi-client server: multiple connection mode only.
      const auto& a = inv->args();
      if (!mux() || a[0].number != 0 || a[1].omitted()) return inv->error();
      start(inv, static_cast<int>(a[1].number));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIOPEN";
    s.params = {param::either(255), param::either(255), param::either(255), param::either(8, true)};
    s.test =
        at::reply({"+QIOPEN: (\"TCP\",\"UDP\"),(\"(0-255).(0-255).(0-255).(0-255)\",\"DOMAIN "
                   "NAME\"),(1-65535)"});
    s.write = [this, &m](const inv_ptr& inv) {
      const auto& a = inv->args();
      // Single mode: "TCP","host",port; multiple: <i>,"TCP","host",port.
      const std::size_t base = mux() ? 1 : 0;
      int index = 0;
      if (mux()) {
        std::int64_t n = 0;
        if (!a[0].is_integer() || !number(a[0], 0, socket_count - 1, n)) return inv->error();
        index = static_cast<int>(n);
      } else if (!a[3].omitted()) {
        return inv->error();
      }
      if (base + 2 >= a.size() || a[base + 2].omitted()) return inv->error();
      const auto& mode = a[base];
      const auto& host = a[base + 1];
      std::int64_t port = 0;
      if (!mode.is_string() || !host.is_string() || host.text.empty() ||
          !number(a[base + 2], 1, 65535, port)) {
        return inv->error();
      }
      const std::string kind = lower(mode.text);
      if (kind != "tcp" && kind != "udp") return inv->error();
      if (opts_.names_need_dnsip && m.current().qidnsip == 0 && !ip_literal(host.text)) {
        return inv->error();
      }
      const auto& sm = slots_[index]->sm;
      if (sm.state() == socket_state::connected) {
        return inv->final_text(prefix(index) + "ALREADY CONNECT");
      }
      if (sm.state() == socket_state::connecting) return inv->error();
      // Transparent mode has one connection only.
      if (m.current().qimode == 1 && mux()) return inv->error();
      // A connection opens from IP INITIAL, IP STATUS or IP CLOSE (and, with several
      // connections, once the context is up).
      const std::string state = mux() ? module::context_state(m) : state_text();
      const bool allowed = state == "IP INITIAL" || state == "IP STATUS" || state == "IP CLOSE" ||
                           (mux() && state == "IP GPRSACT");
      if (!allowed) return inv->error();
      inv->ok();
      if (index == 0) transparent_ = m.current().qimode == 1;
      open(index, kind == "tcp" ? protocol::tcp : protocol::udp, host.text,
           static_cast<std::uint16_t>(port));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISEND";
    s.params = {param::integer(0, 65535), param::integer(0, 65535, true)};
    s.test = at::reply({"+QISEND: <length>"});
    auto start = [this, &m](const inv_ptr& inv, int index, std::size_t length) {
      if (slots_[index]->sm.state() != socket_state::connected || !in_role(index)) {
        return inv->error();
      }
      input_ = std::make_unique<send_input>(*this, index, length, inv);
      m.enter_prompt_mode(*input_, m.current().qiprompt == 1 ? "> " : "");
    };
    s.exec = [this, start](const inv_ptr& inv) {
      // "Invalid when QIMUX is 1" (M35 §11.2).
      if (mux()) return inv->error();
      start(inv, 0, 0);
    };
    s.write = [this, start](const inv_ptr& inv) {
      const auto& a = inv->args();
      int index = 0;
      std::int64_t length = 0;
      if (mux()) {
        if (a[0].number >= socket_count) return inv->error();
        index = static_cast<int>(a[0].number);
        length = a[1].omitted() ? 0 : a[1].number;
        if (!a[1].omitted() && length == 0) return inv->error();
      } else {
        if (!a[1].omitted()) return inv->error();
        length = a[0].number;
        if (length == 0) return inv->error();
      }
      if (length > static_cast<std::int64_t>(max_send)) return inv->error();
      start(inv, index, static_cast<std::size_t>(length));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QICLOSE";
    s.params = {param::integer(0, socket_count - 1)};
    s.test = at::reply({});
    auto close = [this](const inv_ptr& inv, int index) {
      steps out;
      if (!slots_[index]->sm.close(out)) return inv->error();
      run(index, std::move(out));
      module_.publish_state("tcpip", std::to_string(index) + " closed");
      inv->final_text(prefix(index) + "CLOSE OK");
    };
    s.exec = [this, close](const inv_ptr& inv) {
      // With AT+QISRVC=2 the exec form closes the server: the listener and its clients.
      if (srvc_ == 2) {
        if (listener_.state() == listener_state::idle && server_clients() == 0) {
          return inv->error();
        }
        close_server();
        return inv->final_text("CLOSE OK");
      }
      if (mux() || !in_role(0)) return inv->error();
      close(inv, 0);
    };
    s.write = [this, close](const inv_ptr& inv) {
      const int index = static_cast<int>(inv->args()[0].number);
      if (!mux() || !in_role(index)) return inv->error();
      close(inv, index);
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIRD";
    s.params = {param::integer(0, 1), param::integer(1, 2), param::integer(0, socket_count - 1),
                param::integer(1, 1500)};
    s.test = at::reply({"+QIRD: (0,1),(1,2),(0-5),(1-1500)"});
    s.write = [this, &m](const inv_ptr& inv) {
      const auto& a = inv->args();
      const int index = static_cast<int>(a[2].number);
      auto& sm = slots_[index]->sm;
      // <sc> 2 reads a client of the module's server, 1 a connection the module opened.
      if ((a[1].number == 2) != sm.server_side() || (!mux() && index != 0)) return inv->error();
      steps out;
      const auto r = sm.read(static_cast<std::size_t>(a[3].number), m.current().qindi == 2, out);
      if (r.error) return inv->error();
      if (!r.bytes.empty()) {
        inv->info("+QIRD: " + sm.remote_ip() + ":" + std::to_string(sm.remote_port()) + "," +
                  std::string(name(sm.transport())) + "," + std::to_string(r.bytes.size()));
        m.send_bytes(r.bytes);
      }
      inv->ok();
      run(index, std::move(out));
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISACK";
    s.params = {param::integer(0, socket_count - 1)};
    s.test = at::reply({});
    auto counters = [](const socket_op& sm) {
      return "+QISACK: " + std::to_string(sm.sent()) + ", " + std::to_string(sm.acked()) + ", " +
             std::to_string(sm.sent() - sm.acked());
    };
    s.exec = [this, counters](const inv_ptr& inv) {
      const auto& sm = slots_[0]->sm;
      if (mux() || sm.state() == socket_state::idle) return inv->error();
      inv->info(counters(sm));
      inv->ok();
    };
    s.write = [this, counters](const inv_ptr& inv) {
      if (!mux()) return inv->error();
      inv->info(counters(slots_[inv->args()[0].number]->sm));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISTAT";
    s.test = at::reply({});
    s.exec = [this](const inv_ptr& inv) {
      inv->after_final("STATE: " + state_text());
      // With several connections, one line per socket follows (CN35's parser).
      if (mux()) {
        for (int i = 0; i < socket_count; ++i) inv->after_final(status_line("+QISTAT: ", i, false));
      }
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QISTATE";
    s.test = at::reply({});
    s.exec = [this](const inv_ptr& inv) {
      // Single mode answers as AT+QISTAT does (IW60); multiple mode one line per socket.
      if (!mux()) {
        inv->after_final("STATE: " + state_text());
        return inv->ok();
      }
      for (int i = 0; i < socket_count; ++i) inv->info(status_line("+QISTATE: ", i, true));
      inv->ok();
    };
    t.add(std::move(s));
  }
  {
    at::command_spec s;
    s.name = "+QIDNSGIP";
    s.params = {param::string(255)};
    s.test = at::reply({});
    s.write = [this, &m](const inv_ptr& inv) {
      const std::string host = inv->args()[0].text;
      if (!m.context().active() || host.empty()) return inv->error();
      inv->ok();
      // The answer is a line of its own after OK: the address, or ERROR.
      if (!ip_literal(host) && net_.lookup_fails(host)) return m.urc("ERROR");  // a fault's
      const auto& cfg = net_.config();
      const auto entry = cfg.hosts.find(lower(host));
      if (entry != cfg.hosts.end() && ip_literal(entry->second.address)) {
        return m.urc(entry->second.address);
      }
      if (ip_literal(host)) return m.urc(host);
      if (cfg.mode != net::host_mode::system) {
        net_.note(events::kind::info, "resolve " + host + ": unknown host (not in the host map)");
        return m.urc("ERROR");
      }
      auto resolver = std::make_shared<asio::ip::tcp::resolver>(m.io());
      resolver->async_resolve(
          asio::ip::tcp::v4(), host, "",
          [this, resolver, host, alive = std::weak_ptr<bool>(alive_)](
              const error_code& ec, const asio::ip::tcp::resolver::results_type& results) {
            if (alive.expired()) return;
            if (ec || results.empty()) {
              net_.note(events::kind::info, "resolve " + host + ": failed");
              return module_.urc("ERROR");
            }
            module_.urc(results.begin()->endpoint().address().to_string());
          });
    };
    t.add(std::move(s));
  }
}

}  // namespace quecsim::tcpip
