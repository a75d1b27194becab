// The FTP client under the network's fault seams (toxics, connect faults, inject_eof), against
// a real pyftpdlib server: the codes a fault injector's scenarios will see.

#include "rig.hpp"

#include "quecsim/ftp/errors.hpp"

using namespace quecsim;
using namespace quecsim::test;
using namespace std::chrono_literals;

namespace {

struct py_fixture {
  temp_dir dir;
  pyftpd server{dir.path()};
  rig r{server.port()};
};

ftp::result get(rig& r, const std::string& name, string_sink& sink) {
  return r.wait([&](ftp::client::done d) { r.client->retrieve(name, {}, sink, std::move(d)); });
}

net::toxic data_limit(net::stream dir, std::uint64_t bytes, bool reset) {
  net::toxic t;
  t.type = net::toxic_type::limit_data;
  t.role = "ftp-data";
  t.direction = dir;
  t.bytes = bytes;
  t.reset = reset;
  return t;
}

std::shared_ptr<net::connection> control(rig& r) {
  for (auto& c : r.network->connections())
    if (c->role() == "ftp-control") return c;
  return nullptr;
}

}  // namespace

TEST_CASE("a download cut by a downstream limit with reset ends with -7", "[ftp][toxics]") {
  py_fixture f;
  // Far larger than the server can have written into socket buffers by the cut.
  const auto content = pattern(2 * 1024 * 1024);
  write_file(f.dir.path() / "big.bin", content);
  REQUIRE(f.r.open().code == 0);
  f.r.network->add_toxic(data_limit(net::stream::downstream, 1024, true));
  string_sink sink(f.r.io);
  auto res = get(f.r, "big.bin", sink);
  CHECK(res.code == ftp::error::data_closed);
  CHECK(res.value == 1024);
  CHECK(sink.data == content.substr(0, 1024));
  CHECK(f.r.client->is_open());  // the control connection survives
  CHECK(f.r.unsolicited.empty());
}

TEST_CASE("a download cut by an orderly downstream limit succeeds short: pyftpdlib says 226",
          "[ftp][toxics]") {
  py_fixture f;
  const auto content = pattern(2 * 1024 * 1024);
  write_file(f.dir.path() / "big.bin", content);
  REQUIRE(f.r.open().code == 0);
  f.r.network->add_toxic(data_limit(net::stream::downstream, 1024, false));
  string_sink sink(f.r.io);
  auto res = get(f.r, "big.bin", sink);
  // The module reads 1024 bytes and EOF, as if the file ended there. pyftpdlib, sending with
  // sendfile, takes the closed data connection for a finished transfer and answers 226: the
  // client cannot tell, and reports success with the short count (what a real module does).
  CHECK(f.r.rx.back() == "226 Transfer complete.");
  CHECK(res.code == 0);
  CHECK(res.value == 1024);
  CHECK(sink.data == content.substr(0, 1024));
  CHECK(f.r.client->is_open());
}

TEST_CASE("an upload cut by an upstream limit with reset ends with -7", "[ftp][toxics]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  f.r.network->add_toxic(data_limit(net::stream::upstream, 10000, true));
  string_source src(*f.r.client, pattern(100000));
  auto res =
      f.r.wait([&](ftp::client::done d) { f.r.client->store("up.bin", {}, src, std::move(d)); });
  CHECK(res.code == ftp::error::data_closed);
  CHECK(src.sent == 8192);  // the 4096-byte write that crossed 10000 failed
  CHECK(f.r.client->is_open());
}

TEST_CASE("an idle control connection's injected EOF is an unsolicited -6", "[ftp][toxics]") {
  py_fixture f;
  REQUIRE(f.r.open().code == 0);
  auto ctrl = control(f.r);
  REQUIRE(ctrl);
  ctrl->inject_eof();
  REQUIRE(run_until(f.r.io, [&] { return !f.r.unsolicited.empty(); }));
  CHECK(f.r.unsolicited == std::vector<int>{ftp::error::control_closed});
  CHECK_FALSE(f.r.client->is_open());
}

TEST_CASE("connect faults on the control connection give -4, -5 and -9", "[ftp][toxics]") {
  py_fixture f;
  f.r.network->fail_connects(net::connect_fault::dns_failure, 1, "ftp-control");
  CHECK(f.r.open().code == ftp::error::dns);
  f.r.network->fail_connects(net::connect_fault::refused, 1, "ftp-control");
  CHECK(f.r.open().code == ftp::error::network);
  f.r.network->fail_connects(net::connect_fault::unanswered, 1, "ftp-control");
  f.r.client->set_timeouts({2s, 2s, 2s});
  CHECK(f.r.open().code == ftp::error::timeout);
  CHECK(f.r.network->open_connections() == 0);  // the unanswered connect was closed
  f.r.client->set_timeouts(ftp::timeouts{});    // a login under load may take longer than 20 ms
  CHECK(f.r.open().code == 0);                  // the faults are used up
}

TEST_CASE("a refused data connection gives -425 and the session stays", "[ftp][toxics]") {
  py_fixture f;
  write_file(f.dir.path() / "a.bin", "abc");
  REQUIRE(f.r.open().code == 0);
  f.r.network->fail_connects(net::connect_fault::refused, 1, "ftp-data");
  string_sink sink(f.r.io);
  CHECK(get(f.r, "a.bin", sink).code == -425);
  string_sink again(f.r.io);
  CHECK(get(f.r, "a.bin", again).code == 0);
  CHECK(again.data == "abc");
}
