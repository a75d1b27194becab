// The FTP client against Debian's vsftpd, started on loopback with a generated config.
// vsftpd needs root (it drops to the `ftp` user and chroots). scripts/install-deps installs it
// and the suite runs as root in CI: a vsftpd that cannot start fails the tests, so a green run
// always means the client was checked against it.

#include "rig.hpp"

using namespace quecsim;
using namespace quecsim::test;

namespace {

struct vs_fixture {
  temp_dir dir;
  vsftpd server{dir.path()};
  std::filesystem::path pub() const { return dir.path() / "root" / "pub"; }
};

}  // namespace

TEST_CASE("client works against vsftpd: login, folders, size, rename, delete", "[ftp][vsftpd]") {
  vs_fixture f;
  if (!f.server.available()) FAIL("vsftpd did not start (it needs root and /usr/sbin/vsftpd)");
  rig r(f.server.port());
  REQUIRE(r.open().code == 0);
  auto& c = *r.client;
  CHECK(r.wait([&](auto d) { c.cwd("/pub", std::move(d)); }).code == 0);
  CHECK(r.wait([&](auto d) { c.cwd("/nope", std::move(d)); }).code == -550);
  write_file(f.pub() / "a.bin", pattern(1587));
  auto sz = r.wait([&](auto d) { c.size("a.bin", std::move(d)); });
  CHECK(sz.code == 0);
  CHECK(sz.value == 1587);
  CHECK(r.wait([&](auto d) { c.size("missing", std::move(d)); }).code == -550);
  CHECK(r.wait([&](auto d) { c.make_dir("sub", std::move(d)); }).code == 0);
  CHECK(std::filesystem::is_directory(f.pub() / "sub"));
  CHECK(r.wait([&](auto d) { c.rename("sub", "sub2", std::move(d)); }).code == 0);
  CHECK(r.wait([&](auto d) { c.remove_dir("sub2", std::move(d)); }).code == 0);
  CHECK_FALSE(std::filesystem::exists(f.pub() / "sub2"));
  CHECK(r.wait([&](auto d) { c.remove("a.bin", std::move(d)); }).code == 0);
  CHECK(r.wait([&](auto d) { c.remove("a.bin", std::move(d)); }).code == -550);
  CHECK(r.wait([&](auto d) { c.close(std::move(d)); }).code == 0);
}

TEST_CASE("client transfers byte-exact with vsftpd: passive, active, REST, ASCII",
          "[ftp][vsftpd]") {
  vs_fixture f;
  if (!f.server.available()) FAIL("vsftpd did not start (it needs root and /usr/sbin/vsftpd)");
  rig r(f.server.port());
  REQUIRE(r.open().code == 0);
  auto& c = *r.client;
  REQUIRE(r.wait([&](auto d) { c.cwd("/pub", std::move(d)); }).code == 0);
  const auto content = pattern(200 * 1024 + 3);
  write_file(f.pub() / "down.bin", content);
  for (const bool passive : {true, false}) {
    CAPTURE(passive);
    string_sink sink(r.io);
    auto res = r.wait([&](auto d) {
      c.retrieve("down.bin", {passive, true, 0}, sink, std::move(d));
    });
    CHECK(res.code == 0);
    CHECK(sink.data == content);

    const auto up = pattern(150 * 1024 + 9, passive ? 3 : 4);
    const std::string name = passive ? "up_p.bin" : "up_a.bin";
    string_source src(c, up);
    res = r.wait([&](auto d) { c.store(name, {passive, true, 0}, src, std::move(d)); });
    CHECK(res.code == 0);
    CHECK(res.value == up.size());
    CHECK(read_file(f.pub() / name) == up);
  }
  {
    string_sink sink(r.io);
    auto res = r.wait([&](auto d) {
      c.retrieve("down.bin", {true, true, 1000}, sink, std::move(d));
    });
    CHECK(res.code == 0);
    CHECK(sink.data == content.substr(1000));
  }
  {
    write_file(f.pub() / "t.txt", "a\nb\n");
    string_sink sink(r.io);
    auto res = r.wait([&](auto d) { c.retrieve("t.txt", {true, false, 0}, sink, std::move(d)); });
    CHECK(res.code == 0);
    CHECK(sink.data == "a\r\nb\r\n");
    string_source src(c, "x\r\ny\r\n");
    res = r.wait([&](auto d) { c.store("u.txt", {false, false, 0}, src, std::move(d)); });
    CHECK(res.code == 0);
    CHECK(read_file(f.pub() / "u.txt") == "x\ny\n");
  }
  {
    string_sink sink(r.io);
    CHECK(r.wait([&](auto d) { c.retrieve("missing", {}, sink, std::move(d)); }).code == -550);
  }
}
