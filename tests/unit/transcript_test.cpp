#include "quecsim/core/transcript.hpp"

#include <catch2/catch.hpp>

using quecsim::json_bytes;
using quecsim::secret_masker;

TEST_CASE("the password after QFTPPASS= is masked") {
  secret_masker m;
  std::string s = "AT+QFTPPASS=\"123456\"\r";
  m.mask(s);
  CHECK(s == "AT+QFTPPASS=\"******\"\r");
}

TEST_CASE("the password is masked across chunk boundaries and in the read answer") {
  secret_masker m;
  std::string a = "AT+qftpPA";
  std::string b = "SS=\"se";
  std::string c = "cret\";+QFTPUSER=\"bob\"\r";
  m.mask(a);
  m.mask(b);
  m.mask(c);
  CHECK(a + b + c == "AT+qftpPASS=\"******\";+QFTPUSER=\"bob\"\r");
  std::string r = "\r\n+QFTPPASS:\"pw\"\r\n";
  m.mask(r);
  CHECK(r == "\r\n+QFTPPASS:\"**\"\r\n");
}

TEST_CASE("the test form's label is left alone when not quoted after the colon") {
  secret_masker m;
  std::string s = "AT+QFTPPASS=?\r";
  m.mask(s);
  CHECK(s == "AT+QFTPPASS=?\r");
}

TEST_CASE("bytes become a JSON string losslessly") {
  CHECK(json_bytes("AT\r\n") == "\"AT\\r\\n\"");
  CHECK(json_bytes(std::string("\0\"\\", 3)) == "\"\\u0000\\\"\\\\\"");
  CHECK(json_bytes("\xe9") == "\"\xc3\xa9\"");
}
