#include "quecsim/storage/store.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "quecsim/module/profile.hpp"

namespace fs = std::filesystem;
namespace qs = quecsim::storage;
using qs::area;
using qs::errc;

namespace {

// A private temporary folder, removed at the end of the test.
struct temp_dir {
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "quecsim-store-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  fs::path path;
};

quecsim::storage::limits m33() {
  return quecsim::module::profile::named("M33").storage;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

}  // namespace

TEST_CASE("checksum is the XOR of big-endian 16-bit words, an odd last byte high", "[storage]") {
  qs::checksum empty;
  CHECK(empty.value() == 0);
  qs::checksum even;
  even.add(std::string("\x12\x34\xab\xcd", 4));
  CHECK(even.value() == (0x1234 ^ 0xabcd));
  qs::checksum odd;
  odd.add(std::string("\x12\x34\x56", 3));
  CHECK(odd.value() == (0x1234 ^ 0x5600));
  // Any split of the same bytes gives the same checksum.
  std::string data;
  std::mt19937 rng(7);
  for (int i = 0; i < 1001; ++i) data.push_back(static_cast<char>(rng()));
  qs::checksum whole;
  whole.add(data);
  for (std::size_t cut : {1U, 2U, 3U, 500U, 1000U}) {
    qs::checksum parts;
    parts.add(std::string_view(data).substr(0, cut));
    parts.add(std::string_view(data).substr(cut));
    CHECK(parts.value() == whole.value());
  }
}

TEST_CASE("glob patterns match with * and ?", "[storage]") {
  CHECK(qs::glob_match("*", "a.txt"));
  CHECK(qs::glob_match("*.txt", "a.txt"));
  CHECK_FALSE(qs::glob_match("*.txt", "a.bin"));
  CHECK(qs::glob_match("a?c", "abc"));
  CHECK_FALSE(qs::glob_match("a?c", "ac"));
  CHECK(qs::glob_match("a*b*c", "aXXbYYc"));
  CHECK(qs::glob_match("exact", "exact"));
  CHECK_FALSE(qs::glob_match("exact", "exact2"));
}

TEST_CASE("names are parsed with their area prefix and checked against the profile", "[storage]") {
  temp_dir d;
  qs::store s(d.path, m33());
  qs::file_ref f;
  CHECK(s.parse("test.txt", f) == errc::ok);
  CHECK((f.where == area::ufs && f.name == "test.txt"));
  CHECK(s.parse("RAM:test.txt", f) == errc::ok);
  CHECK((f.where == area::ram && f.name == "test.txt"));
  CHECK(s.parse("SD:pic.jpg", f) == errc::ok);
  CHECK(f.where == area::sd);
  CHECK(s.display(f) == "SD:pic.jpg");
  CHECK(s.parse(std::string(80, 'a'), f) == errc::ok);
  CHECK(s.parse(std::string(81, 'a'), f) == errc::invalid_name);
  for (const char* bad : {"", "..", ".", "a/b", "../x", "/etc/passwd", "RAM:", "a\\b", "a*b"}) {
    CHECK(s.parse(bad, f) == errc::invalid_name);
  }
  CHECK(s.parse(std::string("a\0b", 3), f) == errc::invalid_name);
  CHECK(s.parse("*.txt", f, true) == errc::ok);

  temp_dir d2;
  qs::store m95(d2.path, quecsim::module::profile::named("M95").storage);
  CHECK(m95.parse("RAM:x", f) == errc::ok);
  CHECK(m95.parse("SD:x", f) == errc::no_area);
  temp_dir d3;
  qs::store m10(d3.path, quecsim::module::profile::named("M10").storage);
  CHECK(m10.parse("RAM:x", f) == errc::no_area);
  CHECK(m10.parse("SD:x", f) == errc::no_area);
}

TEST_CASE("UFS capacity is enforced before a byte is written", "[storage]") {
  temp_dir d;
  auto p = m33();
  p.ufs_capacity = 1000;
  qs::store s(d.path, p);
  const qs::file_ref a{area::ufs, "a.bin"};
  REQUIRE(s.write(a, 0, std::string(600, 'a')) == errc::ok);
  CHECK(s.usage(area::ufs).free == 400);
  const qs::file_ref b{area::ufs, "b.bin"};
  CHECK(s.write(b, 0, std::string(401, 'b')) == errc::no_space);
  CHECK_FALSE(fs::exists(d.path / "ufs" / "b.bin"));
  CHECK(s.write(b, 0, std::string(400, 'b')) == errc::ok);
  CHECK(s.usage(area::ufs).free == 0);
  // Overwriting in place needs no new space.
  CHECK(s.write(a, 0, std::string(600, 'c')) == errc::ok);
  CHECK(slurp(d.path / "ufs" / "a.bin") == std::string(600, 'c'));
}

TEST_CASE("a RAM file holds its reservation and never grows past it", "[storage]") {
  temp_dir d;
  auto p = m33();
  p.ram_capacity = 30000;
  qs::store s(d.path, p);
  const qs::file_ref f{area::ram, "f.bin"};
  REQUIRE(s.create(f) == errc::ok);
  CHECK(s.reserved(f) == 10240);
  CHECK(s.usage(area::ram).free == 30000 - 10240);
  CHECK(s.write(f, 0, std::string(10240, 'x')) == errc::ok);
  CHECK(s.write(f, 10240, "y") == errc::no_space);
  const qs::file_ref g{area::ram, "g.bin"};
  CHECK(s.create(g, 20000) == errc::no_space);
  CHECK(s.create(g, 19760) == errc::ok);
  const auto l = s.list(area::ram, "*");
  REQUIRE(l.size() == 2);
  CHECK((l[0].name == "f.bin" && l[0].size == 10240 && l[0].reserved == 10240));
  CHECK((l[1].name == "g.bin" && l[1].size == 0 && l[1].reserved == 19760));
}

TEST_CASE("RAM is emptied at start and at restart; UFS is kept", "[storage]") {
  temp_dir d;
  {
    qs::store s(d.path, m33());
    REQUIRE(s.write({area::ufs, "keep.txt"}, 0, "kept") == errc::ok);
    REQUIRE(s.create({area::ram, "gone.txt"}) == errc::ok);
    REQUIRE(s.write({area::ram, "gone.txt"}, 0, "gone") == errc::ok);
    int h = 0;
    REQUIRE(s.open({area::ufs, "keep.txt"}, qs::open_mode::read_only, 0, h) == errc::ok);
    s.restart();
    CHECK(s.list(area::ram, "*").empty());
    CHECK(s.close(h) == errc::bad_handle);
    REQUIRE(s.create({area::ram, "again.txt"}) == errc::ok);
  }
  qs::store s(d.path, m33());
  CHECK(s.list(area::ram, "*").empty());
  CHECK(s.size({area::ufs, "keep.txt"}) == 4U);
}

TEST_CASE("delete takes a name, a pattern or everything, never an open file", "[storage]") {
  temp_dir d;
  qs::store s(d.path, m33());
  for (const char* n : {"a.txt", "b.txt", "c.bin"})
    REQUIRE(s.write({area::ufs, n}, 0, n) == errc::ok);
  CHECK(s.remove(area::ufs, "zzz") == errc::not_found);
  int h = 0;
  REQUIRE(s.open({area::ufs, "a.txt"}, qs::open_mode::open_or_create, 0, h) == errc::ok);
  CHECK(s.remove(area::ufs, "*.txt") == errc::busy);
  CHECK(s.list(area::ufs, "*").size() == 3);
  REQUIRE(s.close(h) == errc::ok);
  CHECK(s.remove(area::ufs, "*.txt") == errc::ok);
  CHECK(s.list(area::ufs, "*").size() == 1);
  s.lock({area::ufs, "c.bin"});
  CHECK(s.remove(area::ufs, "c.bin") == errc::busy);
  s.unlock({area::ufs, "c.bin"});
  CHECK(s.remove(area::ufs, "*") == errc::ok);
  CHECK(s.list(area::ufs, "*").empty());
}

TEST_CASE("handles read, write, seek, report their position and truncate", "[storage]") {
  temp_dir d;
  qs::store s(d.path, m33());
  const qs::file_ref f{area::ufs, "h.txt"};
  int h = 0;
  CHECK(s.open(f, qs::open_mode::read_only, 0, h) == errc::not_found);
  REQUIRE(s.open(f, qs::open_mode::open_or_create, 0, h) == errc::ok);
  CHECK(s.write(h, "0123456789") == errc::ok);
  std::uint64_t pos = 0;
  CHECK(s.position(h, pos) == errc::ok);
  CHECK(pos == 10);
  CHECK(s.seek(h, 2, qs::origin::start) == errc::ok);
  std::string out;
  CHECK(s.read(h, 3, out) == errc::ok);
  CHECK(out == "234");
  CHECK(s.seek(h, -2, qs::origin::end) == errc::ok);
  CHECK(s.read(h, 100, out) == errc::ok);
  CHECK(out == "89");
  CHECK(s.read(h, 100, out) == errc::ok);
  CHECK(out.empty());
  CHECK(s.seek(h, 1, qs::origin::end) == errc::past_end);
  CHECK(s.seek(h, -11, qs::origin::end) == errc::past_end);
  CHECK(s.seek(h, 4, qs::origin::start) == errc::ok);
  CHECK(s.seek(h, 1, qs::origin::current) == errc::ok);
  CHECK(s.truncate(h) == errc::ok);
  CHECK(slurp(d.path / "ufs" / "h.txt") == "01234");
  int again = 0;
  CHECK(s.open(f, qs::open_mode::read_only, 0, again) == errc::busy);
  CHECK(s.close(h) == errc::ok);
  CHECK(s.close(h) == errc::bad_handle);

  REQUIRE(s.open(f, qs::open_mode::read_only, 0, h) == errc::ok);
  CHECK(s.write(h, "x") == errc::read_only);
  CHECK(s.truncate(h) == errc::read_only);
  CHECK(s.close(h) == errc::ok);
  REQUIRE(s.open(f, qs::open_mode::create, 0, h) == errc::ok);
  CHECK(s.size(f) == 0U);
  CHECK(s.close(h) == errc::ok);
}

TEST_CASE("no more handles than the profile allows", "[storage]") {
  temp_dir d;
  qs::store s(d.path, m33());
  std::vector<int> hs;
  for (int i = 0; i < s.limits().max_open; ++i) {
    int h = 0;
    REQUIRE(s.open({area::ufs, "f" + std::to_string(i)}, qs::open_mode::create, 0, h) == errc::ok);
    hs.push_back(h);
  }
  int h = 0;
  CHECK(s.open({area::ufs, "extra"}, qs::open_mode::create, 0, h) == errc::too_many_open);
  CHECK_FALSE(s.size({area::ufs, "extra"}));
  REQUIRE(s.close(hs[0]) == errc::ok);
  CHECK(s.open({area::ufs, "extra"}, qs::open_mode::create, 0, h) == errc::ok);
}

TEST_CASE("nothing outside the folders is read, written or deleted", "[storage]") {
  temp_dir d;
  temp_dir outside;
  const fs::path secret = outside.path / "secret.txt";
  spit(secret, "secret");
  qs::store s(d.path, m33());
  // Links planted in the folders, to a file and to a folder outside.
  fs::create_symlink(secret, d.path / "ufs" / "link.txt");
  fs::create_symlink(outside.path, d.path / "ufs" / "dir");
  fs::create_symlink(secret, d.path / "sd" / "Picture" / "p.jpg");
  const qs::file_ref link{area::ufs, "link.txt"};
  CHECK_FALSE(s.size(link));
  std::string out;
  CHECK(s.read(link, 0, 100, out) == errc::not_found);
  CHECK(out.empty());
  CHECK(s.write(link, 0, "pwned") != errc::ok);
  CHECK(s.create(link) != errc::ok);
  CHECK(s.truncate(link, 0) != errc::ok);
  int h = 0;
  CHECK(s.open(link, qs::open_mode::create, 0, h) != errc::ok);
  CHECK(s.open({area::sd, "p.jpg"}, qs::open_mode::read_only, 0, h) != errc::ok);
  CHECK(s.list(area::ufs, "*").empty());
  CHECK(s.remove(area::ufs, "*") == errc::not_found);
  CHECK(s.remove(area::sd, "*") == errc::not_found);
  for (const char* name : {"../outside", "dir/secret.txt", "/etc/passwd", ".."}) {
    CHECK(s.write({area::ufs, name}, 0, "x") == errc::invalid_name);
    CHECK(s.read({area::ufs, name}, 0, 10, out) == errc::invalid_name);
  }
  CHECK(slurp(secret) == "secret");
  CHECK(fs::is_symlink(d.path / "ufs" / "link.txt"));

  // RAM is emptied at start: a planted link goes, its target stays.
  fs::create_symlink(secret, d.path / "ram" / "r.txt");
  s.restart();
  CHECK_FALSE(fs::exists(fs::symlink_status(d.path / "ram" / "r.txt")));
  CHECK(slurp(secret) == "secret");
}

TEST_CASE("a storage folder that is a link is refused at start", "[storage]") {
  temp_dir d;
  temp_dir outside;
  fs::create_symlink(outside.path, d.path / "ufs");
  CHECK_THROWS_WITH(qs::store(d.path, m33()), Catch::Contains((d.path / "ufs").string()));
}
