#include "quecsim/control/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <utility>

#include "quecsim/core/line_splitter.hpp"
#include "quecsim/core/transcript.hpp"

// One connection's flow:
//
//   read_some ──▶ line_splitter ──▶ handle_line ──▶ send(reply) ─┐
//       ▲                                                         ├─▶ queue ──▶ async_write
//       └── again, unless dropped          bus event ──▶ send ───┘      (one in flight)
//
// Everything runs on the io_context's one thread; the bus publishes on it too.

namespace quecsim::control {

namespace asio = boost::asio;
using asio::local::stream_protocol;
using boost::system::error_code;
using json = nlohmann::json;

namespace {

constexpr events::kind all_kinds[] = {
    events::kind::uart_rx, events::kind::uart_tx, events::kind::state,      events::kind::warning,
    events::kind::ftp_tx,  events::kind::ftp_rx,  events::kind::data_bytes, events::kind::fault,
    events::kind::info,    events::kind::command, events::kind::response,   events::kind::result,
};
constexpr std::size_t kind_count = sizeof all_kinds / sizeof all_kinds[0];
static_assert(kind_count <= 32, "subscription::kinds holds one bit per event kind");

// How long a dropped client has to read its drop notice before the connection closes anyway.
constexpr std::chrono::seconds drop_grace{5};

std::size_t kind_index(events::kind k) {
  return static_cast<std::size_t>(k);
}

// Replies echo whatever the client sent, and parse errors quote its bytes: never throw on
// invalid UTF-8 while writing them.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string kind_list() {
  std::string out;
  for (const auto k : all_kinds) {
    if (!out.empty()) out += ", ";
    out += events::name(k);
  }
  return out;
}

// "invalid JSON at column 2: syntax error while parsing value - invalid literal; last read: 'x'"
std::string describe(const json::parse_error& e) {
  const std::string what = e.what();
  std::string detail = what;
  const auto column = what.find("column ");
  if (column != std::string::npos) {
    const auto colon = what.find(": ", column);
    if (colon != std::string::npos) detail = what.substr(colon + 2);
  }
  return "invalid JSON at column " + std::to_string(e.byte) + ": " + detail;
}

std::string path_error(const std::filesystem::path& path, const std::string& what) {
  return "control socket " + path.string() + ": " + what;
}

// Makes room for the socket: a stale socket goes, anything else stops the start.
void clear_path(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error(path_error(path, std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error(path_error(path, "exists and is not a socket; not replacing it"));
  }
  asio::io_context probe_io;
  stream_protocol::socket probe(probe_io);
  error_code ec;
  probe.connect(stream_protocol::endpoint(path.string()), ec);
  if (!ec) throw std::runtime_error(path_error(path, "another process is listening on it"));
  if (ec != asio::error::connection_refused) {
    throw std::runtime_error(path_error(path, "cannot probe the existing socket: " + ec.message()));
  }
  // Nobody listens: the socket of a process that did not end cleanly.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error(
        path_error(path, std::string("cannot remove the stale socket: ") + std::strerror(errno)));
  }
}

json subscribe(const json& request, subscription& sub) {
  std::uint32_t wanted = 0;
  const auto kinds = request.find("kinds");
  if (kinds == request.end() || kinds->is_null()) {
    for (const auto k : all_kinds) wanted |= 1U << kind_index(k);
  } else {
    if (!kinds->is_array() || kinds->empty()) {
      throw request_error("\"kinds\" must be a non-empty array of event kinds (" + kind_list() +
                          ")");
    }
    for (const auto& k : *kinds) {
      const std::string name = k.is_string() ? k.get<std::string>() : k.dump();
      bool found = false;
      for (const auto candidate : all_kinds) {
        if (k.is_string() && events::name(candidate) == name) {
          wanted |= 1U << kind_index(candidate);
          found = true;
        }
      }
      if (!found) {
        throw request_error("unknown event kind " + (k.is_string() ? "'" + name + "'" : name) +
                            " (kinds: " + kind_list() + ")");
      }
    }
  }
  sub.kinds = wanted;
  sub.active = true;
  json names = json::array();
  for (const auto k : all_kinds) {
    if (sub.wants(k)) names.push_back(std::string(events::name(k)));
  }
  return {{"kinds", names}};
}

json answer(const json& request, subscription& sub, backend& handler) {
  if (!request.is_object()) {
    throw request_error(std::string("a request must be a JSON object, got ") +
                        (request.is_array() ? "an array" : request.type_name()));
  }
  const auto op = request.find("op");
  if (op == request.end()) throw request_error("missing \"op\"");
  if (!op->is_string()) {
    throw request_error(std::string("\"op\" must be a string, got ") + op->type_name());
  }
  const std::string& name = op->get_ref<const std::string&>();
  if (name == "ping") return {{"pong", true}};
  if (name == "subscribe") return subscribe(request, sub);
  if (name == "unsubscribe") {
    const bool was = sub.active;
    sub.active = false;
    return {{"was_subscribed", was}};
  }
  return handler.handle(request);
}

}  // namespace

std::optional<std::string> answer_line(std::string_view line, subscription& sub, backend& handler) {
  if (line.find_first_not_of(" \t\r") == std::string_view::npos) return std::nullopt;  // blank
  json request;
  try {
    request = json::parse(line);
  } catch (const json::parse_error& e) {
    return dump({{"ok", false}, {"error", describe(e)}});
  } catch (const json::out_of_range& e) {
    // A number too large for a double (1e400).
    return dump({{"ok", false}, {"error", std::string("invalid JSON: ") + e.what()}});
  }
  json reply = json::object();
  if (request.is_object() && request.contains("id")) reply["id"] = request["id"];
  try {
    json fields = answer(request, sub, handler);
    reply["ok"] = true;
    if (fields.is_object()) {
      for (auto& [key, value] : fields.items()) {
        if (key != "id" && key != "ok") reply[key] = std::move(value);
      }
    } else if (!fields.is_null()) {
      reply["result"] = std::move(fields);
    }
  } catch (const request_error& e) {
    reply["ok"] = false;
    reply["error"] = e.what();
  } catch (const std::exception& e) {
    // A backend failure is the request's failure, never the process's.
    reply["ok"] = false;
    reply["error"] = std::string("op failed: ") + e.what();
  }
  return dump(reply);
}

// ---- shared state -------------------------------------------------------------------------------

// What the server and its connections share. Connections hold it, so it outlives the server
// while their last handlers drain; `closed` tells them the server is gone.
struct server::shared {
  shared(backend& b, const clock* clk)
      : handler(b),
        own(clk ? std::nullopt : std::optional<clock>(std::in_place)),
        records(clk ? *clk : *own) {}

  backend& handler;
  std::optional<clock> own;
  record_builder records;
  std::set<session*> sessions;
  bool closed = false;
};

// ---- session ------------------------------------------------------------------------------------

class server::session : public std::enable_shared_from_this<session> {
 public:
  session(stream_protocol::socket socket, std::shared_ptr<shared> sh)
      : socket_(std::move(socket)),
        shared_(std::move(sh)),
        splitter_(max_line),
        drop_timer_(socket_.get_executor()) {
    shared_->sessions.insert(this);
  }

  ~session() { shared_->sessions.erase(this); }

  void start() { do_read(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    sub_.active = false;
    error_code ignored;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
    drop_timer_.cancel();
  }

  bool wants(events::kind k) const { return sub_.wants(k); }

  void deliver(const std::string& record) { send("{\"event\":" + record + "}"); }

 private:
  void do_read() {
    socket_.async_read_some(
        asio::buffer(buf_),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(error_code ec, std::size_t n) {
    if (closed_ || dropped_ || shared_->closed) return;
    if (ec) {
      // EOF: the client may have half-closed and still wait for its replies (or events).
      eof_ = true;
      if (ec != asio::error::eof || (queue_.empty() && !sub_.active)) close();
      return;
    }
    splitter_.feed(
        std::string_view(buf_.data(), n), [this](std::string_view line) { handle_line(line); },
        [this] {
          send(dump({{"ok", false},
                     {"error", "request line longer than " + std::to_string(max_line) +
                                   " bytes; discarded"}}));
        });
    if (!closed_ && !dropped_) do_read();
  }

  void handle_line(std::string_view line) {
    if (dropped_ || closed_) return;
    if (auto reply = answer_line(line, sub_, shared_->handler)) send(std::move(*reply));
  }

  void send(std::string message) {
    if (closed_ || dropped_) return;
    message.push_back('\n');
    queued_ += message.size();
    queue_.push_back(std::move(message));
    if (queued_ > max_backlog) return drop();
    do_write();
  }

  // The client reads slower than it is written to: bound its memory and let it know.
  void drop() {
    dropped_ = true;
    sub_.active = false;
    // The message being written must stay alive until its write completes.
    while (queue_.size() > (writing_ ? 1U : 0U)) {
      queued_ -= queue_.back().size();
      queue_.pop_back();
    }
    std::string notice =
        dump({{"event", nullptr},
              {"dropped", true},
              {"error", "the client read too slowly: over " + std::to_string(max_backlog) +
                            " bytes waited; closing"}}) +
        "\n";
    queued_ += notice.size();
    queue_.push_back(std::move(notice));
    drop_timer_.expires_after(drop_grace);
    drop_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close();
    });
    do_write();
  }

  void do_write() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    asio::async_write(
        socket_, asio::buffer(queue_.front()),
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) return close();
    queued_ -= queue_.front().size();
    queue_.pop_front();
    if (queue_.empty() && (dropped_ || (eof_ && !sub_.active))) return close();
    do_write();
  }

  stream_protocol::socket socket_;
  std::shared_ptr<shared> shared_;
  line_splitter splitter_;
  asio::steady_timer drop_timer_;
  std::array<char, 65536> buf_{};
  std::deque<std::string> queue_;  // lines waiting to be written; the front one is in flight
  std::size_t queued_ = 0;         // bytes in queue_
  bool writing_ = false;
  subscription sub_;
  bool dropped_ = false;
  bool eof_ = false;
  bool closed_ = false;
};

// ---- server -------------------------------------------------------------------------------------

server::server(asio::io_context& io, std::filesystem::path path, events::bus& bus, backend& handler,
               const clock* clk)
    : path_(std::move(path)), shared_(std::make_shared<shared>(handler, clk)), acceptor_(io) {
  if (path_.empty()) throw std::runtime_error("control socket: empty path");
  if (path_.native().size() >= sizeof(sockaddr_un{}.sun_path)) {
    throw std::runtime_error(
        path_error(path_, "path too long for a Unix socket (at most " +
                              std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)"));
  }
  clear_path(path_);
  error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (ec) throw std::runtime_error(path_error(path_, "cannot open a socket: " + ec.message()));
  // bind() creates the file with the mode the umask leaves: owner read/write only from the
  // first instant, no window where others could connect.
  const mode_t old_mask = ::umask(0177);
  acceptor_.bind(stream_protocol::endpoint(path_.string()), ec);
  ::umask(old_mask);
  if (ec) throw std::runtime_error(path_error(path_, "cannot bind: " + ec.message()));
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    device_ = st.st_dev;
    inode_ = st.st_ino;
  }
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path_.c_str());
    throw std::runtime_error(path_error(path_, "cannot listen: " + ec.message()));
  }

  bus.subscribe([weak = std::weak_ptr<shared>(shared_)](const events::event& e) {
    const auto sh = weak.lock();
    if (!sh || sh->closed) return;
    bool wanted = false;
    for (const auto* s : sh->sessions) wanted = wanted || s->wants(e.what);
    // UART bytes always pass through the builder: its password masking follows the stream
    // across events, so it must see every chunk even while nobody subscribes.
    const bool uart = e.what == events::kind::uart_rx || e.what == events::kind::uart_tx;
    if (!wanted && !uart) return;
    const std::string record = sh->records.build(e);
    if (!wanted) return;
    // A delivery may drop a session but never destroys one here (handlers own them).
    for (auto* s : sh->sessions) {
      if (s->wants(e.what)) s->deliver(record);
    }
  });
  accept();
}

server::~server() {
  try {
    shared_->closed = true;
    error_code ignored;
    acceptor_.close(ignored);
    for (auto* s : shared_->sessions) s->close();
  } catch (...) {
    // Closing sockets cannot usefully fail here; a destructor must not throw.
  }
  // Remove the socket only if it is still the one this server made.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == device_ && st.st_ino == inode_) {
    ::unlink(path_.c_str());
  }
}

std::size_t server::clients() const {
  return shared_->sessions.size();
}

void server::accept() {
  acceptor_.async_accept(
      [this, weak = std::weak_ptr<shared>(shared_)](error_code ec, stream_protocol::socket s) {
        const auto sh = weak.lock();
        if (!sh || sh->closed) return;  // the server is gone: `this` with it
        if (!ec) std::make_shared<session>(std::move(s), sh)->start();
        accept();
      });
}

}  // namespace quecsim::control
