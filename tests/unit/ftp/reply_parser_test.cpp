// The FTP reply parser and the chapter 3 error mapping, without sockets.

#include "quecsim/ftp/reply_parser.hpp"
#include "quecsim/ftp/errors.hpp"
#include "quecsim/net/network.hpp"

#include <boost/asio/error.hpp>

#include <catch2/catch.hpp>

using namespace quecsim;
using ftp::reply_parser;

namespace {

std::vector<ftp::reply> all(reply_parser& p) {
  std::vector<ftp::reply> out;
  while (auto r = p.next()) out.push_back(*r);
  return out;
}

}  // namespace

TEST_CASE("reply parser yields a single-line reply with CR LF or bare LF", "[ftp][parser]") {
  reply_parser p;
  p.feed("220 ready\r\n230 ok\n");
  auto r = all(p);
  REQUIRE(r.size() == 2);
  CHECK(r[0].code == 220);
  CHECK(r[0].text() == "ready");
  CHECK(r[0].lines == std::vector<std::string>{"220 ready"});
  CHECK(r[1].code == 230);
  CHECK(r[1].kind() == 2);
}

TEST_CASE("reply parser takes bytes one at a time", "[ftp][parser]") {
  reply_parser p;
  const std::string in = "150-first\r\n more\r\n150 last\r\n226 done\r\n";
  std::vector<ftp::reply> r;
  for (char c : in) {
    p.feed(std::string_view(&c, 1));
    for (auto& x : all(p)) r.push_back(x);
  }
  REQUIRE(r.size() == 2);
  CHECK(r[0].code == 150);
  CHECK(r[0].lines.size() == 3);
  CHECK(r[1].code == 226);
  CHECK_FALSE(p.in_progress());
}

TEST_CASE("reply parser joins a multi-line reply up to the line with its code and a space",
          "[ftp][parser]") {
  reply_parser p;
  p.feed("230-Welcome\r\n230-more text\r\n   indented\r\n231 not the end\r\n230 Login ok\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 1);
  CHECK(r[0].code == 230);
  CHECK(r[0].lines.size() == 5);
  CHECK(r[0].text() == "Welcome");
  CHECK(r[0].lines.back() == "230 Login ok");
}

TEST_CASE("reply parser ends a multi-line reply on a bare code line", "[ftp][parser]") {
  reply_parser p;
  p.feed("211-Features\r\n SIZE\r\n211\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 1);
  CHECK(r[0].code == 211);
  CHECK(r[0].lines.size() == 3);
}

TEST_CASE("reply parser holds a partial line until its end arrives", "[ftp][parser]") {
  reply_parser p;
  p.feed("220 rea");
  CHECK_FALSE(p.next());
  CHECK(p.in_progress());
  p.feed("dy\r");
  CHECK_FALSE(p.next());
  p.feed("\n");
  auto r = p.next();
  REQUIRE(r);
  CHECK(r->text() == "ready");
}

TEST_CASE("reply parser drops lines that are not replies and counts them", "[ftp][parser]") {
  reply_parser p;
  p.feed("hello\r\n\r\n22\r\n2200 x\r\n600 bad\r\n099 x\r\nabc def\r\n\x01\x02\xff\r\n250 ok\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 1);
  CHECK(r[0].code == 250);
  CHECK(p.garbage_lines() == 8);
}

TEST_CASE("reply parser accepts a three-digit code with no text", "[ftp][parser]") {
  reply_parser p;
  p.feed("200\r\n");
  auto r = p.next();
  REQUIRE(r);
  CHECK(r->code == 200);
  CHECK(r->text().empty());
}

TEST_CASE("reply parser cuts overlong lines and keeps their code", "[ftp][parser]") {
  reply_parser p(64, 8);
  p.feed("550 " + std::string(100000, 'x') + "\r\n226 ok\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 2);
  CHECK(r[0].code == 550);
  CHECK(r[0].lines[0].size() == 64);
  CHECK(r[1].code == 226);
  CHECK(p.truncated_lines() == 1);
}

TEST_CASE("reply parser bounds an endless line without a line end", "[ftp][parser]") {
  reply_parser p(128, 8);
  for (int i = 0; i < 1000; ++i) p.feed(std::string(1000, 'y'));
  CHECK_FALSE(p.next());
  p.feed("\r\n421 bye\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 1);  // the endless line was garbage: it had no code
  CHECK(r[0].code == 421);
}

TEST_CASE("reply parser bounds the lines kept of a long multi-line reply", "[ftp][parser]") {
  reply_parser p(128, 10);
  p.feed("220-start\r\n");
  for (int i = 0; i < 10000; ++i) p.feed("220-banner line\r\n");
  p.feed("220 end\r\n");
  auto r = all(p);
  REQUIRE(r.size() == 1);
  CHECK(r[0].lines.size() == 10);
}

TEST_CASE("reply parser forgets a partial reply on reset", "[ftp][parser]") {
  reply_parser p;
  p.feed("230-part\r\n23");
  p.reset();
  CHECK_FALSE(p.in_progress());
  p.feed("0 x\r\n");  // now garbage: "0 x" has no code
  CHECK_FALSE(p.next());
}

TEST_CASE("PASV reply parsing finds the address and port", "[ftp][parser]") {
  std::string addr;
  unsigned port = 0;
  CHECK(ftp::parse_pasv("Entering Passive Mode (127,0,0,1,195,80).", addr, port));
  CHECK(addr == "127.0.0.1");
  CHECK(port == 195 * 256 + 80);
  CHECK(ftp::parse_pasv("=10,1,2,3,0,21", addr, port));
  CHECK(addr == "10.1.2.3");
  CHECK(port == 21);
  CHECK_FALSE(ftp::parse_pasv("Entering Passive Mode", addr, port));
  CHECK_FALSE(ftp::parse_pasv("(1,2,3,4,5)", addr, port));
  CHECK_FALSE(ftp::parse_pasv("(1,2,3,4,0,0)", addr, port));
  CHECK_FALSE(ftp::parse_pasv("(256,2,3,4,5,6)", addr, port));
  CHECK_FALSE(ftp::parse_pasv("(1,2,3,4,5,1000)", addr, port));
  CHECK(ftp::parse_pasv("junk 1,2 then (9,8,7,6,0,99)", addr, port));
  CHECK(addr == "9.8.7.6");
  CHECK(port == 99);
}

TEST_CASE("EPSV reply parsing finds the port", "[ftp][parser]") {
  unsigned port = 0;
  CHECK(ftp::parse_epsv("Entering Extended Passive Mode (|||6446|)", port));
  CHECK(port == 6446);
  CHECK(ftp::parse_epsv("(!!!21!)", port));
  CHECK(port == 21);
  CHECK_FALSE(ftp::parse_epsv("(|||0|)", port));
  CHECK_FALSE(ftp::parse_epsv("(|||70000|)", port));
  CHECK_FALSE(ftp::parse_epsv("(||6446|)", port));
  CHECK_FALSE(ftp::parse_epsv("(|||6446)", port));
  CHECK_FALSE(ftp::parse_epsv("no parens", port));
  CHECK_FALSE(ftp::parse_epsv("(|", port));
}

TEST_CASE("PORT argument is formatted as six numbers", "[ftp][parser]") {
  CHECK(ftp::format_port("127.0.0.1", 50000) == "127,0,0,1,195,80");
  CHECK(ftp::format_port("10.0.0.2", 21) == "10,0,0,2,0,21");
}

TEST_CASE("replies chapter 3 lists map to their negative code", "[ftp][errors]") {
  for (int code : {421, 425, 426, 450, 452, 500, 501, 502, 530, 532, 550, 551, 552, 553})
    CHECK(ftp::from_reply(code) == -code);
}

TEST_CASE("other error replies map to the nearest listed code", "[ftp][errors]") {
  CHECK(ftp::from_reply(420) == -421);
  CHECK(ftp::from_reply(430) == -530);
  CHECK(ftp::from_reply(434) == -530);
  CHECK(ftp::from_reply(451) == -450);
  CHECK(ftp::from_reply(499) == -450);
  CHECK(ftp::from_reply(503) == -500);
  CHECK(ftp::from_reply(504) == -502);
  CHECK(ftp::from_reply(534) == -530);
  CHECK(ftp::from_reply(554) == -550);
  CHECK(ftp::from_reply(599) == -500);
}

TEST_CASE("non-error and impossible replies map to -1", "[ftp][errors]") {
  for (int code : {0, -5, 1, 99, 100, 150, 200, 226, 331, 350, 399, 600, 999, 100000})
    CHECK(ftp::from_reply(code) == -1);
}

TEST_CASE("network failures map to -4, -5, -6, -7, -8 and -9", "[ftp][errors]") {
  using net::errc;
  namespace ae = boost::asio::error;
  CHECK(ftp::from_network(make_error_code(errc::dns_failed), false) == -4);
  CHECK(ftp::from_network(make_error_code(errc::connect_failed), false) == -5);
  CHECK(ftp::from_network(make_error_code(errc::context_inactive), false) == -5);
  CHECK(ftp::from_network(make_error_code(errc::context_down), false) == -8);
  CHECK(ftp::from_network(make_error_code(errc::context_down), true) == -8);
  CHECK(ftp::from_network(make_error_code(errc::timed_out), true) == -9);
  CHECK(ftp::from_network(make_error_code(errc::connection_reset), false) == -6);
  CHECK(ftp::from_network(make_error_code(errc::connection_reset), true) == -7);
  CHECK(ftp::from_network(ae::eof, false) == -6);
  CHECK(ftp::from_network(ae::eof, true) == -7);
  CHECK(ftp::from_network(ae::connection_reset, true) == -7);
  CHECK(ftp::from_network(ae::broken_pipe, false) == -6);
  CHECK(ftp::from_network(ae::timed_out, false) == -9);
  CHECK(ftp::from_network(ae::host_not_found, false) == -4);
  CHECK(ftp::from_network(ae::network_unreachable, false) == -5);
  CHECK(ftp::from_network(ae::connection_refused, false) == -5);
  CHECK(ftp::from_network(boost::system::error_code(12345, net::category()), false) == -5);
}
