#include "quecsim/ftp/service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <utility>

#include "quecsim/ftp/errors.hpp"

namespace quecsim::ftp {
namespace {

// Output a GET may queue towards the UART before it stops reading the data connection.
constexpr std::size_t uart_high_water = std::size_t{64} * 1024;

}  // namespace

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

// ---- storage: upload from a file -------------------------------------------------------------

/// AT+QFTPPUT from UFS, RAM or SD: `count` bytes of the file from `offset`, read as the data
/// connection takes them (one write in flight), no data mode. `<time>` bounds it as it bounds
/// the host's bytes through /COM/: what was sent by then is what the server keeps.
class service::file_upload final : public upload_source {
 public:
  file_upload(service& s, storage::file_ref f, std::uint64_t offset, std::uint64_t count,
              std::chrono::seconds limit)
      : service_(s),
        file_(std::move(f)),
        offset_(offset),
        left_(count),
        limit_(limit),
        deadline_(s.module_.io()) {}

  void on_open() override {
    service_.set_state(service_state::transfer);
    deadline_.expires_after(service_.module_.time().scaled(limit_));
    deadline_.async_wait([this, alive = std::weak_ptr<bool>(service_.alive_)](auto ec) {
      if (ec || alive.expired()) return;
      left_ = 0;
    });
    next();
  }

  const storage::file_ref& file() const { return file_; }
  bool sent_all() const { return finished_; }

 private:
  void next() {
    if (left_ == 0) {
      deadline_.cancel();
      finished_ = true;
      service_.client_->finish_upload();
      return;
    }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, file_chunk));
    if (service_.files_->read(file_, offset_, n, buf_) != storage::errc::ok || buf_.empty()) {
      left_ = 0;
      return next();
    }
    offset_ += buf_.size();
    left_ -= buf_.size();
    service_.client_->write(buf_.data(), buf_.size(),
                            [this, alive = std::weak_ptr<bool>(service_.alive_)](int code) {
                              if (alive.expired() || code != 0) return;
                              next();
                            });
  }

  static constexpr std::size_t file_chunk = std::size_t{16} * 1024;

  service& service_;
  storage::file_ref file_;
  std::uint64_t offset_;
  std::uint64_t left_;
  std::chrono::seconds limit_;
  boost::asio::steady_timer deadline_;
  std::string buf_;
  bool finished_ = false;
};

// ---- storage: download into a file -----------------------------------------------------------

/// AT+QFTPGET into UFS, RAM or SD: the file is made (or cut to the resume point) once the
/// server starts sending, so a refused RETR leaves the local file alone; every piece is
/// written at once. A piece that does not fit (a full area, RAM past its reservation) ends the
/// transfer, and the file is removed (or cut back to the resume point): never a partial file
/// that looks whole.
class service::file_download final : public download_sink {
 public:
  file_download(service& s, storage::file_ref f, std::uint64_t resume, std::uint64_t limit)
      : service_(s), file_(std::move(f)), resume_(resume), limit_(limit) {}

  void on_open() override {
    service_.set_state(service_state::transfer);
    auto& store = *service_.files_;
    const auto& lim = store.limits();
    storage::errc e = storage::errc::ok;
    if (resume_ == 0) {
      e = store.create(file_, lim.ram_get_reserve);
    } else {
      e = store.truncate(file_, resume_);
      if (e == storage::errc::ok) e = store.reserve(file_, lim.ram_get_reserve);
    }
    opened_ = e == storage::errc::ok;
    if (!opened_) fail();
  }

  void on_data(const char* data, std::size_t n, std::function<void()> ready) override {
    if (failed_) return;
    if (limit_ != 0) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, limit_ - stored_));
    if (service_.files_->write(file_, resume_ + stored_, std::string_view(data, n)) !=
        storage::errc::ok) {
      return fail();
    }
    // The bytes stored go to the transcript as a UART download's do, so that a replay can
    // serve the same file (the host may read it back with AT+QFREAD).
    auto& m = service_.module_;
    m.bus().publish({events::kind::info, m.config().id, "stored", std::string(data, n)});
    stored_ += n;
    if (limit_ != 0 && stored_ >= limit_) {
      service_.client_->cancel_transfer();
      return;
    }
    ready();
  }

  const storage::file_ref& file() const { return file_; }
  std::uint64_t stored() const { return stored_; }
  bool failed() const { return failed_; }

 private:
  void fail() {
    failed_ = true;
    if (opened_) {
      if (resume_ == 0) {
        // The transfer's own lock would refuse the removal; the file is done with.
        service_.files_->unlock(file_);
        service_.files_->remove(file_.where, file_.name);
      } else {
        service_.files_->truncate(file_, resume_);
      }
    }
    stored_ = 0;
    service_.client_->cancel_transfer();
  }

  service& service_;
  storage::file_ref file_;
  std::uint64_t resume_;
  std::uint64_t limit_;
  std::uint64_t stored_ = 0;
  bool opened_ = false;
  bool failed_ = false;
};

// ---- the service ----------------------------------------------------------------------------

service::service(module::module& m, net::network& net, storage::store* files, service_timing timing)
    : module_(m),
      net_(net),
      files_(files),
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
  file_upload_.reset();
  file_download_.reset();
  user_.clear();
  password_.clear();
  host_.clear();
  port_ = 21;
  path_.clear();
  passive_ = true;
  binary_ = true;
  resume_ = 0;
  position_ = "/COM/";
  local_ = {};
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

bool service::parse_position(const std::string& text, local_position& out) const {
  out = {};
  if (text == "/COM/") return true;
  if (files_ == nullptr) return false;
  static const std::pair<const char*, storage::area> areas[] = {
      {"/UFS/", storage::area::ufs}, {"/RAM/", storage::area::ram}, {"/SD/", storage::area::sd}};
  for (const auto& [prefix, where] : areas) {
    const std::string p = prefix;
    if (text.compare(0, p.size(), p) != 0) continue;
    if (!files_->has(where)) return false;  // the model lacks it: -10, as the manual says
    out.com = false;
    out.where = where;
    out.name = text.substr(p.size());
    return out.name.empty() || files_->check_name(where, out.name) == storage::errc::ok;
  }
  return false;
}

bool service::local_file(const std::string& remote, storage::file_ref& out) const {
  out.where = local_.where;
  if (!local_.name.empty()) {
    out.name = local_.name;
  } else {
    // The file takes the remote file's name, without the server's folders.
    const auto slash = remote.find_last_of('/');
    out.name = slash == std::string::npos ? remote : remote.substr(slash + 1);
  }
  return files_->check_name(out.where, out.name) == storage::errc::ok;
}

void service::put_file(const std::string& name, std::uint64_t size, std::chrono::seconds limit) {
  storage::file_ref f;
  const bool usable = local_file(name, f);
  const auto have = usable ? files_->size(f) : std::nullopt;
  int refused = 0;
  if (!have) {
    refused = error::local_not_found;
  } else if (*have < resume_ || files_->locked(f)) {
    refused = error::local_failed;
  }
  if (refused != 0) {
    resume_ = 0;
    last_length_ = 0;
    after_operation();
    return result("PUT", refused);
  }
  // From the resume point, <fileSz> bytes or to the end of the file (4.5.1's note); 0: all.
  const std::uint64_t rest = *have - resume_;
  const std::uint64_t count = size == 0 ? rest : std::min(size, rest);
  files_->lock(f);
  file_upload_ = std::make_unique<file_upload>(*this, f, resume_, count, limit);
  client_->store(
      name, transfer(), *file_upload_, [this, alive = std::weak_ptr<bool>(alive_)](ftp::result r) {
        if (alive.expired()) return;
        resume_ = 0;
        last_length_ = r.value;
        files_->unlock(file_upload_->file());
        if ((r.code == error::data_closed || r.code == -426) && !file_upload_->sent_all()) {
          r.code = error::data_closed;
        }
        finish_operation("PUT", r);
      });
}

void service::get_file(const std::string& name, std::uint64_t limit) {
  storage::file_ref f;
  int refused = 0;
  if (!local_file(name, f) || files_->locked(f) || files_->is_open(f)) {
    // No usable name, or the file is in use: an open handle or another transfer.
    refused = error::local_failed;
  } else if (resume_ != 0) {
    // 4.5.2's note: the received data goes into the file from the resume point.
    const auto have = files_->size(f);
    if (!have) {
      refused = error::local_not_found;
    } else if (*have < resume_) {
      refused = error::local_failed;
    }
  }
  if (refused != 0) {
    resume_ = 0;
    last_length_ = 0;
    after_operation();
    return result("GET", refused);
  }
  files_->lock(f);
  file_download_ = std::make_unique<file_download>(*this, f, resume_, limit);
  client_->retrieve(name, transfer(), *file_download_,
                    [this, limit, alive = std::weak_ptr<bool>(alive_)](ftp::result r) {
                      if (alive.expired()) return;
                      resume_ = 0;
                      auto& d = *file_download_;
                      files_->unlock(d.file());
                      last_length_ = d.stored();
                      if (d.failed()) {
                        r.code = error::local_failed;
                      } else if (r.code != 0 && limit != 0 && d.stored() >= limit) {
                        r.code = 0;  // cut short on purpose: success with what came
                      }
                      r.value = d.stored();
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
