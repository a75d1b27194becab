#include "quecsim/at/line_discipline.hpp"

#include <catch2/catch.hpp>
#include <string>

using quecsim::at::feed_result;
using quecsim::at::line_discipline;
using quecsim::at::max_line_length;

namespace {

// Feeds everything, collecting the completed lines' bodies (A/ as "<repeat>", overflow as
// "<overflow>").
std::vector<std::string> lines_of(line_discipline& ld, std::string input) {
  std::vector<std::string> out;
  std::string_view rest = input;
  while (!rest.empty()) {
    const feed_result r = ld.feed(rest);
    rest.remove_prefix(r.consumed);
    if (r.complete) {
      if (r.command.repeat) {
        out.emplace_back("<repeat>");
      } else if (r.command.overflow) {
        out.emplace_back("<overflow>");
      } else {
        out.push_back(r.command.body);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a line is what follows AT up to CR") {
  line_discipline ld;
  CHECK(lines_of(ld, "AT+CSQ\r") == std::vector<std::string>{"+CSQ"});
  CHECK(lines_of(ld, "at+csq\r") == std::vector<std::string>{"+csq"});
  CHECK(lines_of(ld, "aT\r") == std::vector<std::string>{""});
}

TEST_CASE("bytes before AT are ignored") {
  line_discipline ld;
  CHECK(lines_of(ld, "xyz\r\nAAT\r") == std::vector<std::string>{""});
  CHECK(lines_of(ld, std::string("\x00\xff\x80"
                                 "AT+GMI\r",
                                 10)) == std::vector<std::string>{"+GMI"});
}

TEST_CASE("feed stops after a complete line so the caller can act on it") {
  line_discipline ld;
  const auto r = ld.feed("ATE0\rATV0\r");
  CHECK(r.complete);
  CHECK(r.consumed == 5);
  CHECK(r.command.body == "E0");
}

TEST_CASE("every byte is echoed while echo is on, none while off") {
  line_discipline ld;
  CHECK(ld.feed("zAT\r").echo == "zAT\r");
  ld.settings().echo = false;
  CHECK(ld.feed("AT\r").echo.empty());
}

TEST_CASE("LF alone ends a line and is flagged; the LF of CR LF is not a second line") {
  line_discipline ld;
  auto r = ld.feed("AT\n");
  CHECK(r.complete);
  CHECK(r.command.lf_only);
  CHECK(lines_of(ld, "AT\r\nAT\r\n") == std::vector<std::string>{"", ""});
  r = ld.feed("AT\r");
  CHECK_FALSE(r.command.lf_only);
}

TEST_CASE("backspace edits the line, and can take back the T of AT") {
  line_discipline ld;
  CHECK(lines_of(ld, "AT+CSX\bQ\r") == std::vector<std::string>{"+CSQ"});
  CHECK(lines_of(ld, "AT\b\bAT+GMI\r") == std::vector<std::string>{"+GMI"});
  CHECK(lines_of(ld, "AT\bT\r") == std::vector<std::string>{""});
}

TEST_CASE("A/ repeats without a terminator") {
  line_discipline ld;
  CHECK(lines_of(ld, "A/") == std::vector<std::string>{"<repeat>"});
  CHECK(lines_of(ld, "a/") == std::vector<std::string>{"<repeat>"});
}

TEST_CASE("S3 and S5 can be changed") {
  line_discipline ld;
  ld.settings().s3 = '!';
  ld.settings().s5 = '#';
  CHECK(lines_of(ld, "AT+CSX#Q!") == std::vector<std::string>{"+CSQ"});
}

TEST_CASE("an overlong line is reported as overflow without storing the excess") {
  line_discipline ld;
  std::string longline = "AT" + std::string(max_line_length + 1, 'X') + "\r";
  CHECK(lines_of(ld, longline) == std::vector<std::string>{"<overflow>"});
  // A line of exactly the maximum is fine, and the discipline works on afterwards.
  std::string exact = "AT" + std::string(max_line_length, 'Y') + "\r";
  CHECK(lines_of(ld, exact + "AT\r") ==
        std::vector<std::string>{std::string(max_line_length, 'Y'), ""});
  // Megabytes without a terminator do not grow memory: the line is still overflow at the end.
  std::string huge = "AT" + std::string(4 * 1024 * 1024, 'Z') + "\r";
  CHECK(lines_of(ld, huge) == std::vector<std::string>{"<overflow>"});
}

TEST_CASE("backspace past the limit takes back dropped characters first") {
  line_discipline ld;
  std::string s = "AT" + std::string(max_line_length + 1, 'X') + "\b\r";
  CHECK(lines_of(ld, s) == std::vector<std::string>{std::string(max_line_length, 'X')});
}

TEST_CASE("NUL and 8-bit bytes inside a line are kept for the parser to refuse") {
  line_discipline ld;
  const std::string with_nul("AT+C\0SQ\r", 8);
  CHECK(lines_of(ld, with_nul) == std::vector<std::string>{std::string("+C\0SQ", 5)});
  CHECK(lines_of(ld, "AT\xe9\r") == std::vector<std::string>{"\xe9"});
}
