#include "quecsim/core/json_text.hpp"

#include <catch2/catch.hpp>

namespace jt = quecsim::json_text;

namespace {

std::string refusal(const std::string& text) {
  jt::failure why;
  REQUIRE_FALSE(jt::parse(text, why).has_value());
  return jt::describe("f.json", why);
}

}  // namespace

TEST_CASE("A JSON text parses as it is", "[json_text]") {
  jt::failure why;
  const auto doc = jt::parse(R"({"a": [1, 2.5, "x"]})", why);
  REQUIRE(doc.has_value());
  CHECK((*doc)["a"][2] == "x");
}

TEST_CASE("A syntax error is named with its line and column", "[json_text]") {
  CHECK(refusal("{\n  \"name\": \"x\",\n  oops\n}").rfind("f.json:3:3: not valid JSON: ", 0) == 0);
}

TEST_CASE("A number too large for a double is named with its line, column and pointer",
          "[json_text]") {
  CHECK(refusal("{\"events\": [{}, {\"when\": {\"time_ms\": 1e400}}]}") ==
        "f.json:1:38: /events/1/when/time_ms: expected a number a double can hold, got 1e400");
  CHECK(refusal("[\n  -1e999\n]") ==
        "f.json:2:3: /0: expected a number a double can hold, got -1e999");
  CHECK(refusal("{\"a/b~c\": 1e400}") ==
        "f.json:1:11: /a~1b~0c: expected a number a double can hold, got 1e400");
}

TEST_CASE("What was found is said in a few words", "[json_text]") {
  using json = nlohmann::json;
  CHECK(jt::found(json("5")) == "the string \"5\"");
  CHECK(jt::found(json(-3)) == "the integer -3");
  CHECK(jt::found(json(7u)) == "the integer 7");
  CHECK(jt::found(json(2.5)) == "the number 2.5");
  CHECK(jt::found(json(true)) == "true");
  CHECK(jt::found(json()) == "null");
  CHECK(jt::found(json::array()) == "an empty array");
  CHECK(jt::found(json::array({1})) == "an array");
  CHECK(jt::found(json::object()) == "an empty object");
  CHECK(jt::found(json(std::string(100, 'x'))) == "the string \"" + std::string(40, 'x') + "\"...");
}

TEST_CASE("A string that is not UTF-8 is said with U+FFFD, not thrown on", "[json_text]") {
  using json = nlohmann::json;
  CHECK(jt::found(json(std::string("a\xCF"))) == "the string \"a\xEF\xBF\xBD\"");
  // A cut that splits a two-byte character (the 40th and 41st bytes).
  CHECK(jt::found(json(std::string(39, 'x') + "\xC3\xA9" + std::string(20, 'y'))) ==
        "the string \"" + std::string(39, 'x') + "\xEF\xBF\xBD\"...");
}

TEST_CASE("The nearest name is suggested only when it is a likely typo", "[json_text]") {
  const std::vector<std::string> actions = {"pdp_deact", "restart", "stall", "signal", "toxic"};
  CHECK(jt::nearest("pdp_deactivate", actions) == "pdp_deact");
  CHECK(jt::nearest("restrat", actions) == "restart");
  CHECK(jt::nearest("STALL", actions) == "stall");
  CHECK(jt::nearest("explode", actions).empty());
  CHECK(jt::nearest("stall", actions).empty());  // not a typo: the name itself
  CHECK(jt::nearest("", actions).empty());
}
