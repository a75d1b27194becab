// Name resolution without I/O: the host map, the embedded server, IP literals, the system
// resolver's names, unknown names.

#include "quecsim/net/resolve.hpp"

#include <catch2/catch.hpp>

using namespace quecsim::net;

namespace {

std::map<std::string, host_target> hosts() {
  return {{"ftp.example.com", host_target{"10.1.2.3", 2121}}};
}

}  // namespace

TEST_CASE("embedded mode sends every name and literal to the embedded server", "[net][resolve]") {
  const host_target embedded{"127.0.0.1", 4021};
  for (const char* host : {"anything.example", "192.0.2.7"}) {
    const auto r = resolve(host, 21, host_mode::embedded, embedded, {});
    REQUIRE(r.what == resolution::kind::endpoint);
    CHECK(r.endpoint.address().to_string() == "127.0.0.1");
    CHECK(r.endpoint.port() == 4021);
  }
}

TEST_CASE("host map entries apply first in every mode, case-insensitively", "[net][resolve]") {
  for (auto mode : {host_mode::embedded, host_mode::map, host_mode::system}) {
    const auto r = resolve("FTP.Example.COM", 21, mode, {"127.0.0.1", 21}, hosts());
    REQUIRE(r.what == resolution::kind::endpoint);
    CHECK(r.endpoint.address().to_string() == "10.1.2.3");
    CHECK(r.endpoint.port() == 2121);
  }
}

TEST_CASE("map mode takes IP literals as they are and fails other names", "[net][resolve]") {
  auto r = resolve("192.0.2.7", 990, host_mode::map, {"127.0.0.1", 21}, hosts());
  REQUIRE(r.what == resolution::kind::endpoint);
  CHECK(r.endpoint.address().to_string() == "192.0.2.7");
  CHECK(r.endpoint.port() == 990);
  r = resolve("other.example", 21, host_mode::map, {"127.0.0.1", 21}, hosts());
  CHECK(r.what == resolution::kind::unknown);
}

TEST_CASE("system mode leaves other names to the system resolver", "[net][resolve]") {
  const auto r = resolve("other.example", 2100, host_mode::system, {"127.0.0.1", 21}, hosts());
  REQUIRE(r.what == resolution::kind::lookup);
  CHECK(r.target.address == "other.example");
  CHECK(r.target.port == 2100);
}
