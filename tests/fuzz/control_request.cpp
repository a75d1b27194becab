// The control socket's request handling fed an arbitrary byte stream: the line splitter, then
// each line answered as a client's request. Every reply is one JSON object with a boolean "ok".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "quecsim/control/server.hpp"
#include "quecsim/core/line_splitter.hpp"

namespace {

using json = nlohmann::json;
namespace control = quecsim::control;

// Stands in for the simulator's backend: knows one op, refuses the rest as the real one does,
// and fails with a plain exception on "boom" (a backend bug must not end the process).
class backend : public control::backend {
 public:
  json handle(const json& request) override {
    const auto& op = request.at("op").get_ref<const std::string&>();
    if (op == "state") return {{"modules", json::array()}};
    if (op == "boom") throw std::runtime_error("backend failure");
    throw control::request_error("unknown op '" + op + "'");
  }
};

// Small, so that the fuzzer reaches the overlong path.
constexpr std::size_t limit = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  backend handler;
  control::subscription sub;
  std::size_t overlong = 0;
  quecsim::line_splitter splitter(limit);
  const auto on_line = [&](std::string_view line) {
    FUZZ_CHECK(line.size() <= limit);
    FUZZ_CHECK(line.find('\n') == std::string_view::npos);
    const auto reply = control::answer_line(line, sub, handler);
    if (!reply) return;
    FUZZ_CHECK(reply->find('\n') == std::string::npos);
    const auto j = json::parse(*reply);
    FUZZ_CHECK(j.is_object() && j.contains("ok") && j["ok"].is_boolean());
    FUZZ_CHECK(j["ok"] == true || (j.contains("error") && j["error"].is_string()));
    if (j.contains("kinds") && j["ok"] == true) FUZZ_CHECK(sub.active && sub.kinds != 0);
  };
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // Chunks of varying size, as reads deliver them.
  std::size_t chunk = 1;
  while (!rest.empty()) {
    const auto n = std::min(chunk, rest.size());
    splitter.feed(rest.substr(0, n), on_line, [&] { ++overlong; });
    rest.remove_prefix(n);
    // One byte of slack: the CR of a CRLF line exactly at the limit.
    FUZZ_CHECK(splitter.held() <= limit + 1);
    chunk = chunk * 3 % 1021 + 1;
  }
  // An overlong line is reported once, however it was split.
  FUZZ_CHECK(overlong <= size / (limit + 1));
  return 0;
}
