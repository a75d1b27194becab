#include "quecsim/core/line_splitter.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

TEST_CASE("the line splitter joins chunks into lines and drops a CR before the LF", "[core]") {
  std::vector<std::string> lines;
  int overlong = 0;
  quecsim::line_splitter s(16);
  const auto feed = [&](std::string_view bytes) {
    s.feed(
        bytes, [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++overlong; });
  };
  feed("{\"op\":");
  feed("\"ping\"}\r\n{\"a\"");
  feed(":1}\n\n");
  CHECK(lines == std::vector<std::string>{"{\"op\":\"ping\"}", "{\"a\":1}", ""});
  CHECK(overlong == 0);
  CHECK(s.held() == 0);
}

TEST_CASE("the line splitter reports an overlong line once and holds no more than its limit",
          "[core]") {
  std::vector<std::string> lines;
  int overlong = 0;
  quecsim::line_splitter s(8);
  const auto feed = [&](std::string_view bytes) {
    s.feed(
        bytes, [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++overlong; });
  };
  feed("12345678\n");  // exactly the limit: a line
  for (int i = 0; i < 1000; ++i) {
    feed("abcdefghijk");
    CHECK(s.held() <= 9);
  }
  CHECK(overlong == 1);
  feed("tail\nnext\n");
  CHECK(overlong == 1);
  CHECK(lines == std::vector<std::string>{"12345678", "next"});
  feed("123456789\n");  // one over, arriving whole
  CHECK(overlong == 2);
  feed("12345678\r\n");  // at the limit with CRLF
  CHECK(lines.back() == "12345678");
}

TEST_CASE("the line splitter can report an overlong line at its end instead", "[core]") {
  std::vector<std::string> events;
  quecsim::line_splitter s(4, quecsim::line_splitter::report::at_end);
  const auto feed = [&](std::string_view bytes) {
    s.feed(
        bytes, [&](std::string_view l) { events.emplace_back(l); },
        [&] { events.emplace_back("(overlong)"); });
  };
  feed("abcdefgh");
  CHECK(events.empty());
  feed("ij\r\nok\r\n");
  CHECK(events == std::vector<std::string>{"(overlong)", "ok"});
}
