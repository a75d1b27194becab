// The FTP client's reply parser fed arbitrary server bytes, in arbitrary chunks. Input: one
// byte choosing the chunk size, then the bytes the server sends.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "quecsim/ftp/reply_parser.hpp"

namespace {

using namespace quecsim::ftp;

constexpr std::size_t max_line = 64;
constexpr std::size_t max_lines = 8;

std::vector<reply> drain(reply_parser& p) {
  std::vector<reply> out;
  while (auto r = p.next()) out.push_back(std::move(*r));
  return out;
}

void check_reply(const reply& r) {
  FUZZ_CHECK(r.code >= 100 && r.code <= 599);
  FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= max_lines);
  for (const auto& l : r.lines) {
    FUZZ_CHECK(l.size() <= max_line);
    FUZZ_CHECK(l.find('\n') == std::string::npos);
  }
  FUZZ_CHECK(r.lines.front().compare(0, 3, std::to_string(r.code)) == 0);

  std::string address;
  unsigned port = 0;
  if (parse_pasv(r.text(), address, port)) {
    // What PASV yields, formatted as PORT's argument, parses back to itself.
    FUZZ_CHECK(port > 0 && port <= 65535);
    std::string again;
    unsigned port_again = 0;
    FUZZ_CHECK(parse_pasv(format_port(address, port), again, port_again));
    FUZZ_CHECK(again == address && port_again == port);
  }
  if (parse_epsv(r.text(), port)) FUZZ_CHECK(port > 0 && port <= 65535);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = data[0] % 16 + 1;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  reply_parser parser(max_line, max_lines);
  std::vector<reply> replies;
  for (std::size_t i = 0; i < bytes.size(); i += chunk) {
    parser.feed(bytes.substr(i, chunk));
    for (auto& r : drain(parser)) replies.push_back(std::move(r));
  }
  // Chunking does not matter: the whole input at once gives the same replies.
  reply_parser whole(max_line, max_lines);
  whole.feed(bytes);
  auto at_once = drain(whole);
  FUZZ_CHECK(at_once.size() == replies.size());
  FUZZ_CHECK(whole.garbage_lines() == parser.garbage_lines());
  FUZZ_CHECK(whole.truncated_lines() == parser.truncated_lines());

  std::string resent;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    check_reply(replies[i]);
    FUZZ_CHECK(replies[i].code == at_once[i].code && replies[i].lines == at_once[i].lines);
    for (const auto& l : replies[i].lines) resent += l + "\r\n";
  }
  // Replies parsed, written out again line by line, parse to the same replies, unless a
  // truncated line or a capped multi-line reply lost what ended it.
  if (parser.truncated_lines() == 0) {
    reply_parser again(max_line, max_lines);
    again.feed(resent);
    auto second = drain(again);
    bool capped = false;
    for (const auto& r : replies) capped = capped || r.lines.size() == max_lines;
    if (!capped) {
      FUZZ_CHECK(second.size() == replies.size());
      for (std::size_t i = 0; i < second.size(); ++i)
        FUZZ_CHECK(second[i].code == replies[i].code && second[i].lines == replies[i].lines);
      FUZZ_CHECK(again.garbage_lines() == 0);
    }
  }
  return 0;
}
