// The FTP client against a real pyftpdlib server on loopback.

#include "rig.hpp"

#include "quecsim/ftp/errors.hpp"

using namespace quecsim;
using namespace quecsim::test;

namespace {

struct py_fixture {
  temp_dir dir;
  pyftpd server{dir.path(), "user", "secret"};
  rig r{server.port()};
};

ftp::result get(rig& r, const std::string& name, ftp::transfer_options o, string_sink& sink) {
  return r.wait([&](ftp::client::done d) { r.client->retrieve(name, o, sink, std::move(d)); });
}

ftp::result put(rig& r, const std::string& name, ftp::transfer_options o, string_source& src) {
  return r.wait([&](ftp::client::done d) { r.client->store(name, o, src, std::move(d)); });
}

}  // namespace

TEST_CASE("client logs in anonymously through the embedded host map and closes", "[ftp][py]") {
  py_fixture f;
  auto res = f.r.open();
  CHECK(res.code == 0);
  CHECK(f.r.client->is_open());
  CHECK(f.r.tx.at(0) == "USER anonymous");
  res = f.r.wait([&](auto d) { f.r.client->close(std::move(d)); });
  CHECK(res.code == 0);
  CHECK_FALSE(f.r.client->is_open());
  CHECK(f.r.tx.back() == "QUIT");
  CHECK(f.r.unsolicited.empty());
}

TEST_CASE("client logs in as a user and masks the password in events", "[ftp][py]") {
  py_fixture f;
  CHECK(f.r.open("user", "secret").code == 0);
  CHECK(f.r.tx.at(0) == "USER user");
  CHECK(f.r.tx.at(1) == "PASS ****");
}

TEST_CASE("client reports a refused login as -530 and can open again", "[ftp][py]") {
  py_fixture f;
  CHECK(f.r.open("user", "wrong").code == -530);
  CHECK_FALSE(f.r.client->is_open());
  CHECK(f.r.open("user", "secret").code == 0);
}

TEST_CASE("client changes folder, and a missing one gives -550", "[ftp][py]") {
  py_fixture f;
  std::filesystem::create_directory(f.dir.path() / "sub");
  REQUIRE(f.r.open().code == 0);
  CHECK(f.r.wait([&](auto d) { f.r.client->cwd("/sub", std::move(d)); }).code == 0);
  CHECK(f.r.wait([&](auto d) { f.r.client->cwd("/nope", std::move(d)); }).code == -550);
}

TEST_CASE("client reads a file size, and a missing file gives -550", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "a.bin", pattern(17765));
  REQUIRE(f.r.open().code == 0);
  auto res = f.r.wait([&](auto d) { f.r.client->size("a.bin", std::move(d)); });
  CHECK(res.code == 0);
  CHECK(res.value == 17765);
  CHECK(f.r.wait([&](auto d) { f.r.client->size("missing", std::move(d)); }).code == -550);
}

TEST_CASE("client makes, renames, removes folders and deletes files", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "f.txt", "x");
  REQUIRE(f.r.open().code == 0);
  auto& c = *f.r.client;
  CHECK(f.r.wait([&](auto d) { c.make_dir("d1", std::move(d)); }).code == 0);
  CHECK(std::filesystem::is_directory(f.dir.path() / "d1"));
  CHECK(f.r.wait([&](auto d) { c.rename("d1", "d2", std::move(d)); }).code == 0);
  CHECK(std::filesystem::is_directory(f.dir.path() / "d2"));
  CHECK(f.r.wait([&](auto d) { c.rename("nothing", "x", std::move(d)); }).code == -550);
  CHECK(f.r.wait([&](auto d) { c.remove_dir("d2", std::move(d)); }).code == 0);
  CHECK_FALSE(std::filesystem::exists(f.dir.path() / "d2"));
  CHECK(f.r.wait([&](auto d) { c.remove_dir("d2", std::move(d)); }).code == -550);
  CHECK(f.r.wait([&](auto d) { c.remove("f.txt", std::move(d)); }).code == 0);
  CHECK_FALSE(std::filesystem::exists(f.dir.path() / "f.txt"));
  CHECK(f.r.wait([&](auto d) { c.remove("f.txt", std::move(d)); }).code == -550);
}

TEST_CASE("client downloads byte-exact in passive and active binary mode", "[ftp][py]") {
  py_fixture f;
  const auto content = pattern(300 * 1024);
  write_file(f.dir.path() / "big.bin", content);
  REQUIRE(f.r.open().code == 0);
  for (const bool passive : {true, false}) {
    CAPTURE(passive);
    string_sink sink(f.r.io);
    auto res = get(f.r, "big.bin", {passive, true, 0}, sink);
    CHECK(res.code == 0);
    CHECK(res.value == content.size());
    CHECK(sink.opened);
    CHECK(sink.data == content);
  }
  CHECK(std::count(f.r.tx.begin(), f.r.tx.end(), "PASV") == 1);
  CHECK(std::count_if(f.r.tx.begin(), f.r.tx.end(),
                      [](const std::string& l) { return l.rfind("PORT ", 0) == 0; }) == 1);
  CHECK(f.r.data_events > 0);
}

TEST_CASE("client resumes a download from an offset with REST", "[ftp][py]") {
  py_fixture f;
  const auto content = pattern(50000);
  write_file(f.dir.path() / "r.bin", content);
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  auto res = get(f.r, "r.bin", {true, true, 12345}, sink);
  CHECK(res.code == 0);
  CHECK(sink.data == content.substr(12345));
  CHECK(std::count(f.r.tx.begin(), f.r.tx.end(), "REST 12345") == 1);
}

TEST_CASE("client downloads in ASCII mode with CR LF line ends", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "t.txt", "one\ntwo\nthree\n");
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  auto res = get(f.r, "t.txt", {true, false, 0}, sink);
  CHECK(res.code == 0);
  CHECK(sink.data == "one\r\ntwo\r\nthree\r\n");
  CHECK(std::count(f.r.tx.begin(), f.r.tx.end(), "TYPE A") == 1);
}

TEST_CASE("client download of a missing file gives -550 and leaves the session usable",
          "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  for (const bool passive : {true, false}) {
    string_sink sink(f.r.io);
    CHECK(get(f.r, "missing.bin", {passive, true, 0}, sink).code == -550);
    CHECK_FALSE(sink.opened);
  }
  write_file(f.dir.path() / "x", "abc");
  CHECK(f.r.wait([&](auto d) { f.r.client->size("x", std::move(d)); }).value == 3);
}

TEST_CASE("client download waits for a slow consumer and loses nothing", "[ftp][py]") {
  py_fixture f;
  const auto content = pattern(200 * 1024);
  write_file(f.dir.path() / "slow.bin", content);
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  sink.delay = std::chrono::microseconds(300);
  auto res = get(f.r, "slow.bin", {true, true, 0}, sink);
  CHECK(res.code == 0);
  CHECK(sink.data == content);
}

TEST_CASE("client uploads byte-exact in passive and active binary mode", "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  for (const bool passive : {true, false}) {
    CAPTURE(passive);
    const auto content = pattern(256 * 1024 + 17, passive ? 1 : 2);
    const std::string name = passive ? "up_p.bin" : "up_a.bin";
    string_source src(*f.r.client, content);
    auto res = put(f.r, name, {passive, true, 0}, src);
    CHECK(res.code == 0);
    CHECK(res.value == content.size());
    CHECK(read_file(f.dir.path() / name) == content);
  }
}

TEST_CASE("client uploads in ASCII mode and the server stores local line ends", "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  string_source src(*f.r.client, "one\r\ntwo\r\n");
  auto res = put(f.r, "t.txt", {true, false, 0}, src);
  CHECK(res.code == 0);
  CHECK(res.value == 10);
  CHECK(read_file(f.dir.path() / "t.txt") == "one\ntwo\n");
}

TEST_CASE("client resumes an upload at an offset with REST", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "part.bin", "0123456789");
  REQUIRE(f.r.open().code == 0);
  string_source src(*f.r.client, "abcdef");
  auto res = put(f.r, "part.bin", {false, true, 4}, src);
  CHECK(res.code == 0);
  CHECK(read_file(f.dir.path() / "part.bin") == "0123abcdef");
}

TEST_CASE("client reports the server's idle 421 and close as unsolicited -421, -6", "[ftp][py]") {
  temp_dir dir;
  pyftpd server(dir.path(), "", "", 0.3);
  rig r(server.port());
  REQUIRE(r.open().code == 0);
  REQUIRE(run_until(r.io, [&] { return r.unsolicited.size() >= 2; }));
  CHECK(r.unsolicited == std::vector<int>{-421, -6});
  CHECK_FALSE(r.client->is_open());
  // Close then works, and a new open succeeds.
  CHECK(r.wait([&](auto d) { r.client->close(std::move(d)); }).code == 0);
  CHECK(r.open().code == 0);
}

TEST_CASE("client ends a download with -8 when the packet context goes down", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "big.bin", pattern(1024 * 1024));
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  sink.on_chunk = [&] {
    if (sink.chunks == 1) f.r.ctx.deactivate(net::deact_reason::network);
  };
  auto res = get(f.r, "big.bin", {true, true, 0}, sink);
  CHECK(res.code == -8);
  CHECK(res.value < 1024 * 1024);
  CHECK_FALSE(f.r.client->is_open());
  CHECK(f.r.unsolicited.empty());
  // The module brings the context up again; the client opens anew.
  f.r.ctx.activate("10.0.0.3");
  CHECK(f.r.open().code == 0);
}

TEST_CASE("client ends an upload with -8 when the packet context goes down", "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  string_source src(*f.r.client, pattern(1024 * 1024), 1024);
  src.on_chunk = [&] {
    if (src.sent == 8 * 1024) f.r.ctx.deactivate(net::deact_reason::network);
  };
  auto res = put(f.r, "up.bin", {true, true, 0}, src);
  CHECK(res.code == -8);
}

TEST_CASE("client cancels a download and the session stays usable", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "big.bin", pattern(2 * 1024 * 1024));
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  sink.on_chunk = [&] {
    if (sink.chunks == 2) f.r.client->cancel_transfer();
  };
  auto res = get(f.r, "big.bin", {true, true, 0}, sink);
  // The server's verdict on a transfer the client dropped: 426, or 226 if it had finished.
  CHECK((res.code == -426 || res.code == 0));
  CHECK(res.value < 2 * 1024 * 1024);
  CHECK(f.r.wait([&](auto d) { f.r.client->cwd("/", std::move(d)); }).code == 0);
}

TEST_CASE("client cancelling an upload keeps exactly the bytes written", "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  const auto content = pattern(100 * 1024);
  string_source src(*f.r.client, content, 1000);
  src.stop_after = 37000;
  auto res = put(f.r, "cut.bin", {true, true, 0}, src);
  CHECK(res.code == 0);
  CHECK(res.value == 37000);
  CHECK(read_file(f.dir.path() / "cut.bin") == content.substr(0, 37000));
}

TEST_CASE("client close mid-transfer ends the transfer, then closes", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "big.bin", pattern(1024 * 1024));
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  std::optional<ftp::result> got, closed;
  sink.on_chunk = [&] {
    if (sink.chunks == 1) f.r.client->close([&](ftp::result x) { closed = x; });
  };
  f.r.client->retrieve("big.bin", {}, sink, [&](ftp::result x) { got = x; });
  REQUIRE(run_until(f.r.io, [&] { return got && closed; }));
  CHECK(got->code == -1);
  CHECK(closed->code == 0);
  CHECK_FALSE(f.r.client->is_open());
}

TEST_CASE("client answers -3 while an operation runs", "[ftp][py]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  std::optional<ftp::result> first, second;
  f.r.client->cwd("/", [&](ftp::result x) { first = x; });
  f.r.client->size("x", [&](ftp::result x) { second = x; });
  REQUIRE(run_until(f.r.io, [&] { return first && second; }));
  CHECK(first->code == 0);
  CHECK(second->code == -3);
}

TEST_CASE("client names its connections for faults to pick", "[ftp][py]") {
  py_fixture f;
  write_file(f.dir.path() / "big.bin", pattern(256 * 1024));
  REQUIRE(f.r.open().code == 0);
  string_sink sink(f.r.io);
  std::vector<std::string> roles;
  sink.on_chunk = [&] {
    if (sink.chunks != 1) return;
    for (const auto& c : f.r.network->connections()) roles.push_back(c->role());
  };
  CHECK(get(f.r, "big.bin", {}, sink).code == 0);
  std::sort(roles.begin(), roles.end());
  CHECK(roles == std::vector<std::string>{"ftp-control", "ftp-data"});
}

TEST_CASE("client uses EPSV over an IPv6 control connection", "[ftp][py]") {
  temp_dir dir;
  pyftpd server(dir.path(), "", "", 300, "::1");
  net::network_config cfg;
  cfg.mode = net::host_mode::map;
  cfg.hosts["v6.example"] = {"::1", server.port()};
  rig r(1, cfg);
  const auto content = pattern(5000);
  write_file(dir.path() / "a.bin", content);
  REQUIRE(r.wait([&](auto d) {
             r.client->open({"v6.example", 21, "", ""}, std::move(d));
           }).code == 0);
  string_sink sink(r.io);
  CHECK(get(r, "a.bin", {}, sink).code == 0);
  CHECK(sink.data == content);
  CHECK(std::count(r.tx.begin(), r.tx.end(), "EPSV") == 1);
}

TEST_CASE("client open takes the link's round trips", "[ftp][py]") {
  temp_dir dir;
  pyftpd server(dir.path());
  rig r(server.port(), {}, 0.1);  // default 300 ms round trip: 30 ms real
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(r.open().code == 0);
  // Connect, greeting (half), USER and PASS (one each): at least three round trips.
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(90));
}
