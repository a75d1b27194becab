#include "quecsim/at/args.hpp"

#include <catch2/catch.hpp>

using quecsim::at::param;
using quecsim::at::parse_args;

namespace {
const std::vector<param> open_params = [] {
  auto port = param::integer(1, 65535, true);
  port.quoted_integer_ok = true;
  return std::vector<param>{param::string(50), port};
}();
}  // namespace

TEST_CASE("a string and an integer parse") {
  const auto a = parse_args("\"ftp.example.com\",21", open_params);
  REQUIRE(a);
  CHECK((*a)[0].text == "ftp.example.com");
  CHECK((*a)[1].number == 21);
}

TEST_CASE("an optional trailing parameter may be left out") {
  const auto a = parse_args("\"h\"", open_params);
  REQUIRE(a);
  CHECK((*a)[1].omitted());
}

TEST_CASE("a quoted integer is accepted only where declared") {
  CHECK(parse_args("\"h\",\"21\"", open_params));
  CHECK_FALSE(parse_args("\"5\"", {param::integer(0, 9)}));
}

TEST_CASE("empty strings are strings") {
  const auto a = parse_args("\"\"", {param::string(30)});
  REQUIRE(a);
  CHECK((*a)[0].is_string());
  CHECK((*a)[0].text.empty());
}

TEST_CASE("string length limits are exact") {
  CHECK(parse_args("\"" + std::string(50, 'a') + "\"", {param::string(50)}));
  CHECK_FALSE(parse_args("\"" + std::string(51, 'a') + "\"", {param::string(50)}));
}

TEST_CASE("integer ranges are exact") {
  const std::vector<param> p{param::integer(1, 65535)};
  CHECK(parse_args("1", p));
  CHECK(parse_args("65535", p));
  CHECK_FALSE(parse_args("0", p));
  CHECK_FALSE(parse_args("65536", p));
  CHECK_FALSE(parse_args("-1", p));
  CHECK_FALSE(parse_args("99999999999999999999999", p));
}

TEST_CASE("bad arguments of every kind are refused") {
  CHECK_FALSE(parse_args("", open_params));            // required parameter empty
  CHECK_FALSE(parse_args(",21", open_params));         // required parameter empty
  CHECK_FALSE(parse_args("\"h\",21,5", open_params));  // too many
  CHECK_FALSE(parse_args("h,21", open_params));        // string unquoted
  CHECK_FALSE(parse_args("\"h\"x,21", open_params));   // text after the closing quote
  CHECK_FALSE(parse_args("\"h,21", open_params));      // unbalanced quote
  CHECK_FALSE(parse_args("\"h\",2x", open_params));    // not a number
  CHECK_FALSE(parse_args("\"h\",+", open_params));     // sign alone
  CHECK_FALSE(parse_args("\"h\",", {param::string(5), param::integer(0, 9)}));  // empty required
}

TEST_CASE("an 'either' parameter takes a string or an integer") {
  const std::vector<param> cfg{param::integer(1, 4), param::either(100, true)};
  const auto a = parse_args("4,\"/COM/\"", cfg);
  REQUIRE(a);
  CHECK((*a)[1].is_string());
  const auto b = parse_args("3,1587", cfg);
  REQUIRE(b);
  CHECK((*b)[1].number == 1587);
  const auto c = parse_args("1", cfg);
  REQUIRE(c);
  CHECK((*c)[1].omitted());
}
