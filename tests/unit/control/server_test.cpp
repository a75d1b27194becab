#include "quecsim/control/server.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;
using quecsim::control::max_backlog;
using quecsim::control::max_line;
using quecsim::control::request_error;
using quecsim::control::server;
namespace events = quecsim::events;

namespace {

constexpr auto timeout = std::chrono::seconds(5);

// Answers a few ops the way an owner's backend would.
class test_backend : public quecsim::control::backend {
 public:
  json handle(const json& request) override {
    const auto& op = request.at("op").get_ref<const std::string&>();
    if (op == "echo") return {{"echo", request}};
    if (op == "fail") throw request_error("it failed");
    if (op == "explode") throw std::logic_error("boom");
    throw request_error("unknown op '" + op + "'");
  }
};

// A private folder for socket files, removed at the end of the test.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/quecsim-ctl-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { fs::remove_all(path); }
  fs::path path;
};

// Runs the io_context's ready handlers, and waits a little for more when none were ready.
void turn(boost::asio::io_context& io) {
  if (io.stopped()) io.restart();
  if (io.poll() == 0) io.run_one_for(std::chrono::milliseconds(2));
}

// A plain blocking-free client socket driven from the test's thread, which also turns the
// server's io_context while it waits.
class client {
 public:
  client(boost::asio::io_context& io, const fs::path& path) : io_(io) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~client() { close(); }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(std::string_view bytes) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else {
        REQUIRE(errno == EAGAIN);
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        turn(io_);
      }
    }
  }

  // The next line (without its LF); fails the test after the timeout.
  std::string line() {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto lf = buffer_.find('\n');
      if (lf != std::string::npos) {
        std::string out = buffer_.substr(0, lf);
        buffer_.erase(0, lf + 1);
        return out;
      }
      INFO("waiting for a line; have: " << buffer_.substr(0, 200));
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      REQUIRE(fill() != 0);
    }
  }

  json reply() { return json::parse(line()); }

  // A request and its reply.
  json ask(const std::string& request) {
    send(request + "\n");
    return reply();
  }

  // Everything until the server closes the connection.
  std::string rest() {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fill() != 0) REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::string out;
    out.swap(buffer_);
    return out;
  }

 private:
  // Reads what there is; -1 when nothing yet, 0 at the end of the stream.
  ssize_t fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return n;
    }
    if (n == 0) return 0;
    REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
    turn(io_);
    return -1;
  }

  boost::asio::io_context& io_;
  int fd_ = -1;
  std::string buffer_;
};

struct rig {
  temp_dir dir;
  fs::path path = dir.path / "quecsim.ctl";
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  std::optional<server> srv;

  rig() { srv.emplace(io, path, bus, backend); }

  void publish(events::kind k, std::string_view source, std::string_view data) {
    bus.publish(events::event{k, 0, source, data});
  }
};

// A socket file nobody listens on: what a killed process leaves behind.
void make_stale_socket(const fs::path& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

std::string failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(no exception)";
}

}  // namespace

// ---- framing ------------------------------------------------------------------------------------

// ---- requests -----------------------------------------------------------------------------------

TEST_CASE("ping is answered with the request's id echoed", "[control]") {
  rig r;
  client c(r.io, r.path);
  c.send("{\"op\":\"ping\",\"id\":7}\n");
  CHECK(c.line() == R"({"id":7,"ok":true,"pong":true})");
  c.send("{\"op\":\"ping\",\"id\":{\"any\":[\"json\"]}}\n");
  CHECK(c.line() == R"({"id":{"any":["json"]},"ok":true,"pong":true})");
  c.send("{\"op\":\"ping\"}\n");
  CHECK(c.line() == R"({"ok":true,"pong":true})");
}

TEST_CASE("every malformed request gets an error naming the fault and the connection goes on",
          "[control]") {
  rig r;
  client c(r.io, r.path);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{",
       "invalid JSON at column 2: syntax error while parsing object key - unexpected end of "
       "input; expected string literal"},
      {"{\"op\":\"ping\",}",
       "invalid JSON at column 14: syntax error while parsing object key - unexpected '}'"},
      {"hello", "invalid JSON at column 1: syntax error while parsing value - invalid literal"},
      {"\"\xff\"",
       "invalid JSON at column 2: syntax error while parsing value - invalid string: "
       "ill-formed UTF-8 byte"},
      {"[1,2]", "a request must be a JSON object, got an array"},
      {"42", "a request must be a JSON object, got number"},
      {"\"ping\"", "a request must be a JSON object, got string"},
      {"null", "a request must be a JSON object, got null"},
      {"{}", "missing \"op\""},
      {"{\"id\":1}", "missing \"op\""},
      {"{\"op\":5}", "\"op\" must be a string, got number"},
      {"{\"op\":null}", "\"op\" must be a string, got null"},
      {"{\"op\":\"nope\"}", "unknown op 'nope'"},
      {"{\"op\":\"subscribe\",\"kinds\":\"state\"}", "\"kinds\" must be a non-empty array"},
      {"{\"op\":\"subscribe\",\"kinds\":[]}", "\"kinds\" must be a non-empty array"},
      {"{\"op\":\"subscribe\",\"kinds\":[\"bogus\"]}",
       "unknown event kind 'bogus' (kinds: rx, tx, state, warning, ftp_tx, ftp_rx, data, fault, "
       "info, command, response, result)"},
      {"{\"op\":\"subscribe\",\"kinds\":[3]}", "unknown event kind 3"},
  };
  for (const auto& [request, error] : cases) {
    INFO("request: " << request);
    const json reply = c.ask(request);
    CHECK(reply.at("ok") == false);
    CHECK(reply.at("error").get<std::string>().rfind(error, 0) == 0);
    CHECK(c.ask("{\"op\":\"ping\",\"id\":2}") == json{{"id", 2}, {"ok", true}, {"pong", true}});
  }
}

TEST_CASE("an error reply carries the id when the request had one", "[control]") {
  rig r;
  client c(r.io, r.path);
  c.send("{\"op\":\"nope\",\"id\":\"x\"}\n");
  CHECK(c.line() == R"({"error":"unknown op 'nope'","id":"x","ok":false})");
}

TEST_CASE("blank lines are ignored and CRLF line ends accepted", "[control]") {
  rig r;
  client c(r.io, r.path);
  c.send("\n  \r\n{\"op\":\"ping\",\"id\":1}\r\n");
  CHECK(c.line() == R"({"id":1,"ok":true,"pong":true})");
}

TEST_CASE("an overlong line is answered with an error and discarded", "[control]") {
  rig r;
  client c(r.io, r.path);
  std::string huge = "{\"op\":\"echo\",\"pad\":\"" + std::string(max_line, 'x') + "\"}\n";
  c.send(huge);
  CHECK(c.line() == R"({"error":"request line longer than 1048576 bytes; discarded","ok":false})");
  CHECK(c.ask("{\"op\":\"ping\"}").at("ok") == true);
}

TEST_CASE("ops the server does not know go to the backend, its fields merged into the reply",
          "[control]") {
  rig r;
  client c(r.io, r.path);
  CHECK(c.ask(R"({"op":"echo","id":3,"x":[1]})") ==
        json::parse(R"({"id":3,"ok":true,"echo":{"op":"echo","id":3,"x":[1]}})"));
  CHECK(c.ask(R"({"op":"fail","id":4})") ==
        json::parse(R"({"id":4,"ok":false,"error":"it failed"})"));
  CHECK(c.ask(R"({"op":"explode"})") == json::parse(R"({"ok":false,"error":"op failed: boom"})"));
  CHECK(c.ask(R"({"op":"ping"})").at("ok") == true);
}

TEST_CASE("several clients are answered each on its own connection", "[control]") {
  rig r;
  client a(r.io, r.path);
  client b(r.io, r.path);
  client c(r.io, r.path);
  a.send("{\"op\":\"ping\",\"id\":\"a\"}\n");
  b.send("{\"op\":\"ping\",\"id\":\"b\"}\n{\"op\":\"ping\",\"id\":\"b2\"}\n");
  c.send("{\"op\":\"pi");  // a request half sent, then the client goes away
  CHECK(b.reply().at("id") == "b");
  CHECK(a.reply().at("id") == "a");
  CHECK(b.reply().at("id") == "b2");
  CHECK(r.srv->clients() == 3);
  c.close();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (r.srv->clients() != 2) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    turn(r.io);
  }
  CHECK(a.ask("{\"op\":\"ping\",\"id\":5}").at("id") == 5);
}

// ---- events -------------------------------------------------------------------------------------

TEST_CASE("a subscriber receives every event in the transcript's shape", "[control]") {
  rig r;
  client c(r.io, r.path);
  CHECK(c.ask(R"({"op":"subscribe","id":1})") ==
        json::parse(R"({"id":1,"ok":true,"kinds":["rx","tx","state","warning","ftp_tx",)"
                    R"("ftp_rx","data","fault","info","command","response","result"]})"));
  r.publish(events::kind::uart_rx, "uart", "AT\r");
  r.publish(events::kind::state, "ftp", "OPENED");
  const std::string first = c.line();
  // The record is the transcript's: t, module, event, source, data in that order.
  CHECK(first.rfind(R"({"event":{"t":)", 0) == 0);
  CHECK(first.substr(first.find(",\"module\"")) ==
        R"(,"module":0,"event":"rx","source":"uart","data":"AT\r"}})");
  const json second = c.reply();
  CHECK(second.at("event").at("event") == "state");
  CHECK(second.at("event").at("data") == "OPENED");
}

TEST_CASE("events carry passwords masked as the transcript does", "[control]") {
  rig r;
  client c(r.io, r.path);
  c.ask(R"({"op":"subscribe","kinds":["rx"]})");
  r.publish(events::kind::uart_rx, "uart", "AT+QFTPPASS=\"se");
  r.publish(events::kind::uart_rx, "uart", "cret\"\r");
  CHECK(c.reply().at("event").at("data") == "AT+QFTPPASS=\"**");
  CHECK(c.reply().at("event").at("data") == "****\"\r");
}

TEST_CASE("a kinds filter passes only those kinds, and unsubscribe stops the events", "[control]") {
  rig r;
  client c(r.io, r.path);
  client other(r.io, r.path);
  CHECK(c.ask(R"({"op":"subscribe","kinds":["fault","state"]})").at("kinds") ==
        json::array({"state", "fault"}));
  r.publish(events::kind::uart_rx, "uart", "AT\r");
  r.publish(events::kind::fault, "fault", "drop_pdp");
  r.publish(events::kind::ftp_tx, "ftp", "USER u");
  r.publish(events::kind::state, "pdp", "inactive");
  CHECK(c.reply().at("event").at("data") == "drop_pdp");
  CHECK(c.reply().at("event").at("data") == "inactive");
  // Nothing else was queued before the reply to this ping; the other client got nothing.
  CHECK(c.ask(R"({"op":"ping","id":9})").at("id") == 9);
  CHECK(other.ask(R"({"op":"ping","id":10})").at("id") == 10);
  CHECK(c.ask(R"({"op":"unsubscribe"})") == json::parse(R"({"ok":true,"was_subscribed":true})"));
  r.publish(events::kind::state, "pdp", "active");
  CHECK(c.ask(R"({"op":"ping","id":11})").at("id") == 11);
}

TEST_CASE("a subscriber that does not read is dropped once its backlog passes the cap",
          "[control]") {
  rig r;
  client slow(r.io, r.path);
  client fast(r.io, r.path);
  slow.ask(R"({"op":"subscribe","kinds":["data"]})");
  const std::string chunk(64 * 1024, 'x');
  const int published = 2 * static_cast<int>(max_backlog / chunk.size());
  for (int i = 0; i < published; ++i) {
    r.publish(events::kind::data_bytes, "ftp", chunk);
    turn(r.io);
  }
  // The server goes on serving others meanwhile.
  CHECK(fast.ask(R"({"op":"ping"})").at("ok") == true);
  const std::string received = slow.rest();
  INFO("received " << received.size() << " bytes");
  // Never more than the cap (plus what was in flight and the notice) was held for it.
  CHECK(received.size() < max_backlog + 2 * chunk.size() + 4096);
  const auto last_start = received.rfind('\n', received.size() - 2);
  const json last = json::parse(received.substr(last_start + 1));
  CHECK(last.at("event").is_null());
  CHECK(last.at("dropped") == true);
  CHECK(last.at("error") == "the client read too slowly: over 4194304 bytes waited; closing");
  CHECK(fast.ask(R"({"op":"ping"})").at("ok") == true);
}

// ---- the socket file ----------------------------------------------------------------------------

TEST_CASE("the socket file is the owner's alone, whatever the umask", "[control]") {
  temp_dir dir;
  const fs::path path = dir.path / "q.ctl";
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  const mode_t old = ::umask(0);
  std::optional<server> srv;
  srv.emplace(io, path, bus, backend);
  ::umask(old);
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
  srv.reset();
  CHECK_FALSE(fs::exists(fs::symlink_status(path)));
}

TEST_CASE("a stale socket nobody listens on is replaced", "[control]") {
  temp_dir dir;
  const fs::path path = dir.path / "q.ctl";
  make_stale_socket(path);
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  server srv(io, path, bus, backend);
  client c(io, path);
  CHECK(c.ask(R"({"op":"ping"})").at("ok") == true);
}

TEST_CASE("a live socket at the path is refused and left working", "[control]") {
  rig r;
  events::bus bus2;
  test_backend backend2;
  CHECK(failure_of([&] { server second(r.io, r.path, bus2, backend2); }) ==
        "control socket " + r.path.string() + ": another process is listening on it");
  client c(r.io, r.path);
  CHECK(c.ask(R"({"op":"ping"})").at("ok") == true);
}

TEST_CASE("a regular file at the path is refused and left alone", "[control]") {
  temp_dir dir;
  const fs::path path = dir.path / "notes.txt";
  std::ofstream(path) << "keep me";
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  CHECK(failure_of([&] { server srv(io, path, bus, backend); }) ==
        "control socket " + path.string() + ": exists and is not a socket; not replacing it");
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  CHECK(content == "keep me");
}

TEST_CASE("a path too long for a Unix socket is refused with its length limit", "[control]") {
  temp_dir dir;
  const fs::path path = dir.path / std::string(120, 'p');
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  CHECK(failure_of([&] { server srv(io, path, bus, backend); }) ==
        "control socket " + path.string() +
            ": path too long for a Unix socket (at most 107 bytes)");
}

TEST_CASE("a destroyed server closes its clients and removes only its own socket file",
          "[control]") {
  temp_dir dir;
  const fs::path path = dir.path / "q.ctl";
  boost::asio::io_context io;
  events::bus bus;
  test_backend backend;
  std::optional<server> srv;
  srv.emplace(io, path, bus, backend);
  client c(io, path);
  CHECK(c.ask(R"({"op":"ping"})").at("ok") == true);
  srv.reset();
  CHECK(c.rest().empty());
  CHECK_FALSE(fs::exists(fs::symlink_status(path)));
  // Events published after the server is gone reach nobody and harm nothing.
  bus.publish(events::event{events::kind::state, 0, "ftp", "IDLE"});

  // A file someone put in the socket's place after it started is not the server's to remove.
  srv.emplace(io, path, bus, backend);
  fs::remove(path);
  std::ofstream(path) << "new";
  srv.reset();
  CHECK(fs::is_regular_file(path));
}
