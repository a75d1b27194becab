#include "quecsim/module/file_commands.hpp"
#include "../../support/string_port.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace qm = quecsim::module;
namespace qs = quecsim::storage;

namespace {

using quecsim::test::string_port;

// A module (M33, no power-up lines, echo off) with its file commands over a private folder.
struct fixture {
  fixture()
      : dir(make_dir()),
        clk(0.001),
        mod(io, clk, bus, make_options()),
        files(dir, qm::profile::named("M33").storage),
        commands(mod, files) {
    qm::add_basic_commands(mod);
    mod.attach(port);
    mod.power_up();
    exchange("ATE0\r");
  }
  ~fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  static fs::path make_dir() {
    std::string tmpl = (fs::temp_directory_path() / "quecsim-files-XXXXXX").string();
    return ::mkdtemp(tmpl.data());
  }
  static qm::options make_options() {
    qm::options o;
    o.model = qm::profile::named("M33");
    o.power_up_lines = false;
    return o;
  }
  void settle() {
    io.restart();
    io.run_for(100ms);
  }
  std::string exchange(std::string_view bytes) {
    mod.receive(bytes);
    settle();
    return port.take();
  }

  fs::path dir;
  boost::asio::io_context io;
  quecsim::clock clk;
  quecsim::events::bus bus;
  string_port port;
  qm::module mod;
  qs::store files;
  qm::file_commands commands;
};

}  // namespace

TEST_CASE("AT+QFUPL takes exactly its bytes in data mode, then answers size and checksum",
          "[storage]") {
  fixture f;
  // The data follows the command in the same burst, and a command follows the data.
  CHECK(f.exchange(std::string("AT+QFUPL=\"RAM:a.bin\",4\r") + "\x12\x34\x56\x78" + "AT\r") ==
        "\r\nCONNECT\r\n\r\n+QFUPL: 4,444c\r\n\r\nOK\r\n\r\nOK\r\n");
  CHECK(f.exchange("AT+QFLST=\"RAM:*\"\r") == "\r\n+QFLST: \"RAM:a.bin\",4,4\r\n\r\nOK\r\n");
}

TEST_CASE("AT+QFDWL and AT+QFREAD send the file's bytes between their lines", "[storage]") {
  fixture f;
  REQUIRE(f.files.write({qs::area::ufs, "d.txt"}, 0, "hello") == qs::errc::ok);
  CHECK(f.exchange("AT+QFDWL=\"d.txt\"\r") ==
        "\r\nCONNECT\r\nhello\r\n+QFDWL: 5,6b09\r\n\r\nOK\r\n");
  CHECK(f.exchange("AT+QFOPEN=\"d.txt\",2\r") == "\r\n+QFOPEN: 1\r\n\r\nOK\r\n");
  CHECK(f.exchange("AT+QFREAD=1,3\r") == "\r\nCONNECT 3\r\nhel\r\nOK\r\n");
  CHECK(f.exchange("AT+QFREAD=1\r") == "\r\nCONNECT 2\r\nlo\r\nOK\r\n");
  CHECK(f.exchange("AT+CMEE=1;+QFREAD=2\r") == "\r\n+CME ERROR: 4005\r\n");
}

TEST_CASE("a restart closes the handles and empties RAM", "[storage]") {
  fixture f;
  REQUIRE(f.exchange("AT+QFOPEN=\"RAM:r.bin\",1\r") == "\r\n+QFOPEN: 1\r\n\r\nOK\r\n");
  REQUIRE(f.files.list(qs::area::ram, "*").size() == 1);
  f.mod.restart();
  f.settle();
  CHECK(f.files.list(qs::area::ram, "*").empty());
  CHECK(f.files.file_of(1) == nullptr);
}
