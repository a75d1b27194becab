#include "quecsim/ftp/service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "quecsim/ftp/errors.hpp"

namespace quecsim::ftp {
namespace {

// Output a GET may queue towards the UART before it stops reading the data connection.
constexpr std::size_t uart_high_water = std::size_t{64} * 1024;

}  // namespace

std::string_view state_name(service_state s) {
  switch (s) {
    case service_state::idle:
      return "IDLE";
    case service_state::opening:
      return "OPENING";
    case service_state::opened:
      return "OPENED";
    case service_state::working:
      return "WORKING";
    case service_state::transfer:
      return "TRANSFER";
    case service_state::closing:
      return "CLOSING";
    case service_state::closed:
      return "CLOSED";
  }
  return "IDLE";
}

// ---- data mode: upload ----------------------------------------------------------------------

/// AT+QFTPPUT through /COM/: takes exactly <fileSz> bytes from the UART (or fewer, at <time>
/// or +++), one write in flight to the data connection at a time, so a slow link slows the
/// host down instead of filling memory. If the transfer fails while the host is still
/// sending, the bytes are still taken and dropped, so none of them is read as a command.
class service::upload final : public module::data_mode_handler, public upload_source {
 public:
  upload(service& s, std::uint64_t expected, std::chrono::seconds limit)
      : service_(s), expected_(expected), limit_(limit), deadline_(s.module_.io()) {}

  void on_open() override {
    service_.set_state(service_state::transfer);
    service_.module_.enter_data_mode(*this);
    deadline_.expires_after(service_.module_.time().scaled(limit_));
    deadline_.async_wait([this, alive = std::weak_ptr<bool>(service_.alive_)](auto ec) {
      if (ec || alive.expired()) return;
      end_input();
    });
  }

  std::size_t on_host_data(std::string_view bytes) override {
    if (input_done_) return 0;
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), expected_ - taken_));
    if (!failed_) {
      if (writing_) return 0;
      writing_ = true;
      service_.client_->write(bytes.data(), n,
                              [this, alive = std::weak_ptr<bool>(service_.alive_)](int code) {
                                if (alive.expired()) return;
                                writing_ = false;
                                if (code != 0) failed_ = true;
                                if (finish_pending_) return finish();
                                service_.module_.data_ready();
                              });
    }
    taken_ += n;
    if (taken_ == expected_) end_input();
    return n;
  }

  void on_escape() override { end_input(); }

  /// The transfer ended (its result is on its way): drop what the host still sends.
  void transfer_failed() { failed_ = true; }

  /// Whether the module had sent the whole upload and closed its side of the data
  /// connection: only then may the server end the data connection.
  bool sent_all() const { return finished_; }

 private:
  void end_input() {
    if (input_done_) return;
    input_done_ = true;
    deadline_.cancel();
    service_.module_.leave_data_mode();
    if (writing_) {
      finish_pending_ = true;
    } else {
      finish();
    }
  }
  void finish() {
    finish_pending_ = false;
    if (failed_) return;
    finished_ = true;
    service_.client_->finish_upload();
  }

  service& service_;
  std::uint64_t expected_;
  std::chrono::seconds limit_;
  boost::asio::steady_timer deadline_;
  std::uint64_t taken_ = 0;
  bool writing_ = false;
  bool failed_ = false;
  bool input_done_ = false;
  bool finish_pending_ = false;
  bool finished_ = false;
};

// ---- data mode: download --------------------------------------------------------------------

/// AT+QFTPGET through /COM/: the file's bytes go raw to the UART; the data connection is read
/// again only when the UART has drained, so a slow UART bounds memory.
class service::download final : public module::data_mode_handler, public download_sink {
 public:
  download(service& s, std::uint64_t limit) : service_(s), limit_(limit) {}

  void on_open() override {
    service_.set_state(service_state::transfer);
    service_.module_.enter_data_mode(*this);
  }

  void on_data(const char* data, std::size_t n, std::function<void()> ready) override {
    if (limit_ != 0) {
      n = static_cast<std::size_t>(std::min<std::uint64_t>(n, limit_ - sent_));
    }
    auto& port = service_.module_.port();
    port.write(std::string_view(data, n));
    sent_ += n;
    if (limit_ != 0 && sent_ >= limit_) {
      // The host asked for no more than this: stop the transfer here.
      service_.client_->cancel_transfer();
      return;
    }
    if (port.queued() > uart_high_water) {
      port.when_drained(std::move(ready));
    } else {
      ready();
    }
  }

  std::size_t on_host_data(std::string_view bytes) override {
    if (!warned_) {
      warned_ = true;
      service_.module_.warn("host sent bytes during a download in data mode; they are dropped");
    }
    return bytes.size();
  }

  void on_escape() override { service_.client_->cancel_transfer(); }

  std::uint64_t sent() const { return sent_; }

 private:
  service& service_;
  std::uint64_t limit_;
  std::uint64_t sent_ = 0;
  bool warned_ = false;
};

// ---- the service ----------------------------------------------------------------------------

service::service(module::module& m, net::network& net, service_timing timing)
    : module_(m),
      net_(net),
      timing_(timing),
      client_(std::make_shared<client>(m.io(), net, m.bus(), m.time(), m.config().id)) {
  client_->on_unsolicited([this](int code) { on_unsolicited(code); });
  module_.on_restart([this] { reset(); });
  add_commands();
}

service::~service() {
  *alive_ = false;
  client_->abort();
}

void service::set_state(service_state s) {
  if (s == state_) return;
  state_ = s;
  module_.publish_state("ftp", state_name(s));
}

void service::reset() {
  ++open_attempt_;
  client_->abort();
  upload_.reset();
  download_.reset();
  user_.clear();
  password_.clear();
  host_.clear();
  port_ = 21;
  path_.clear();
  passive_ = true;
  binary_ = true;
  resume_ = 0;
  position_ = "/COM/";
  last_length_ = 0;
  set_state(service_state::idle);
}

void service::result(const std::string& name, std::int64_t code) {
  module_.urc("+QFTP" + name + ":" + std::to_string(code));
}

transfer_options service::transfer() const {
  transfer_options t;
  t.passive = passive_;
  t.binary = binary_;
  t.offset = resume_;
  return t;
}

bool service::begin_session_command(const inv_ptr& inv, const std::string& name) {
  inv->ok();
  switch (state_) {
    case service_state::opened:
      set_state(service_state::working);
      return true;
    case service_state::idle:
      result(name, error::unknown);
      return false;
    case service_state::closed:
      result(name, error::control_closed);
      return false;
    default:
      result(name, error::busy);
      return false;
  }
}

void service::after_operation() {
  if (state_ == service_state::idle || state_ == service_state::closing) return;
  set_state(client_->is_open() ? service_state::opened : service_state::closed);
}

void service::finish_operation(const std::string& name, const ftp::result& r) {
  after_operation();
  result(name, r.code == 0 ? static_cast<std::int64_t>(r.value) : r.code);
}

void service::on_unsolicited(int code) {
  module_.urc("+QFTPERROR:" + std::to_string(code));
  if (!client_->is_open() && state_ != service_state::idle) set_state(service_state::closed);
}

void service::open_in_background(const std::string& host, std::uint16_t port,
                                 const std::string& user, const std::string& password) {
  if (state_ != service_state::idle && state_ != service_state::closed) return;
  user_ = user;
  password_ = password;
  open(host, port, false);
}

void service::open(const std::string& host, std::uint16_t port, bool announce) {
  host_ = host;
  port_ = port;
  set_state(service_state::opening);
  auto start = [this, announce, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    open_options o;
    o.host = host_;
    o.port = port_;
    o.user = user_;
    o.password = password_;
    client_->open(o, [this, alive, announce](ftp::result r) {
      if (alive.expired()) return;
      // A close that cancelled the open decides the state itself.
      if (state_ != service_state::closing) {
        set_state(r.code == 0 ? service_state::opened : service_state::idle);
      }
      if (announce) result("OPEN", r.code);
    });
  };
  auto& ctx = module_.context();
  if (ctx.active()) return start();
  // AT+QFTPOPEN brings the packet context up itself when the host has not.
  auto timer = std::make_shared<boost::asio::steady_timer>(
      module_.io(), module_.time().scaled(module_.config().times.activate));
  const std::uint64_t attempt = ++open_attempt_;
  timer->async_wait(
      [this, timer, start, attempt, announce, alive = std::weak_ptr<bool>(alive_)](auto ec) {
        // A close (or a restart) since then ended this attempt; a later open is another one.
        if (ec || alive.expired() || attempt != open_attempt_ || state_ != service_state::opening) {
          return;
        }
        // No packet registration (coverage lost, radio off, detached, no SIM), or a network
        // that refuses the context (a fault): -5.
        if (!module_.cellular().data_service() || module_.context().refused()) {
          set_state(service_state::idle);
          if (announce) result("OPEN", error::network);
          return;
        }
        module_.context().activate("10." + std::to_string(7 + module_.config().id) + ".33.100");
        module_.publish_state("pdp", "active");
        start();
      });
}

void service::put(const std::string& name, std::uint64_t size, std::chrono::seconds limit) {
  upload_ = std::make_unique<upload>(*this, size, limit);
  client_->store(name, transfer(), *upload_,
                 [this, alive = std::weak_ptr<bool>(alive_)](ftp::result r) {
                   if (alive.expired()) return;
                   resume_ = 0;  // the manual: reset after every transfer
                   last_length_ = r.value;
                   // Bytes the host still sends for this upload are taken and dropped.
                   if (module_.in_data_mode()) upload_->transfer_failed();
                   // The server closing the data connection of an upload the module had not
                   // finished is chapter 3's -7, whichever the module noticed first: the
                   // failed write or the 426 that usually follows.
                   if ((r.code == error::data_closed || r.code == -426) && !upload_->sent_all()) {
                     r.code = error::data_closed;
                   }
                   finish_operation("PUT", r);
                 });
}

void service::get(const std::string& name, std::uint64_t limit) {
  download_ = std::make_unique<download>(*this, limit);
  client_->retrieve(name, transfer(), *download_,
                    [this, limit, alive = std::weak_ptr<bool>(alive_)](ftp::result r) {
                      if (alive.expired()) return;
                      resume_ = 0;
                      module_.leave_data_mode();
                      last_length_ = download_->sent();
                      // Cut short on purpose (size limit) is success with what was sent.
                      if (r.code != 0 && limit != 0 && download_->sent() >= limit) r.code = 0;
                      r.value = download_->sent();
                      finish_operation("GET", r);
                    });
}

void service::close() {
  // Still bringing the packet context up: the open has not reached the client yet, so it
  // ends here.
  const bool activating = state_ == service_state::opening && !client_->busy();
  ++open_attempt_;
  set_state(service_state::closing);
  if (activating) result("OPEN", error::unknown);
  client_->close([this, alive = std::weak_ptr<bool>(alive_)](ftp::result) {
    if (alive.expired()) return;
    set_state(service_state::idle);
    result("CLOSE", 0);
  });
}

}  // namespace quecsim::ftp
