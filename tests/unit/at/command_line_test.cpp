#include "quecsim/at/command_line.hpp"

#include <catch2/catch.hpp>

using quecsim::at::form;
using quecsim::at::split_commands;

TEST_CASE("an empty line has no commands") {
  const auto c = split_commands("");
  REQUIRE(c);
  CHECK(c->empty());
}

TEST_CASE("extended commands take four forms") {
  const auto c = split_commands("+QFTPOPEN=?;+QFTPOPEN?;+QFTPOPEN=\"h\",21;+QFTPSTAT");
  REQUIRE(c);
  REQUIRE(c->size() == 4);
  CHECK((*c)[0].kind == form::test);
  CHECK((*c)[1].kind == form::read);
  CHECK((*c)[2].kind == form::write);
  CHECK((*c)[2].args == "\"h\",21");
  CHECK((*c)[3].kind == form::exec);
  CHECK((*c)[3].name == "+QFTPSTAT");
}

TEST_CASE("names are upper-cased, quoted text is not") {
  const auto c = split_commands("+qftpget=\"Ab;c\"");
  REQUIRE(c);
  CHECK((*c)[0].name == "+QFTPGET");
  CHECK((*c)[0].args == "\"Ab;c\"");
}

TEST_CASE("basic commands follow one another without separators") {
  const auto c = split_commands("E0V1&FS3?S4=10I");
  REQUIRE(c);
  REQUIRE(c->size() == 6);
  CHECK((*c)[0].name == "E");
  CHECK((*c)[0].args == "0");
  CHECK((*c)[2].name == "&F");
  CHECK((*c)[3].name == "S3");
  CHECK((*c)[3].kind == form::read);
  CHECK((*c)[4].kind == form::write);
  CHECK((*c)[4].args == "10");
  CHECK((*c)[5].name == "I");
}

TEST_CASE("spaces outside quotes are ignored, inside kept") {
  const auto c = split_commands(" + CSQ ; +QFTPSIZE= \" a b \" ");
  REQUIRE(c);
  CHECK((*c)[0].name == "+CSQ");
  CHECK((*c)[1].args == "\" a b \"");
}

TEST_CASE("malformed lines are refused") {
  CHECK_FALSE(split_commands("+QFTPGET=\"abc"));          // unbalanced quote
  CHECK_FALSE(split_commands(std::string("+C\0SQ", 5)));  // NUL
  CHECK_FALSE(split_commands("+CSQ\x01"));                // control character
  CHECK_FALSE(split_commands("+CS\xe9Q"));                // 8-bit outside quotes
  CHECK_FALSE(split_commands("+"));                       // no name
  CHECK_FALSE(split_commands("+CSQ?X"));                  // text after the read form
  CHECK_FALSE(split_commands("S"));                       // no register number
  CHECK_FALSE(split_commands("S1234?"));                  // register number too long
  CHECK_FALSE(split_commands("S3"));                      // neither ? nor =
  CHECK_FALSE(split_commands("&"));                       // & without a letter
  CHECK_FALSE(split_commands("*X"));                      // no command starts with *
}

TEST_CASE("8-bit bytes inside quotes are allowed") {
  const auto c = split_commands("+QFTPGET=\"caf\xe9\"");
  REQUIRE(c);
  CHECK((*c)[0].args == "\"caf\xe9\"");
}
