// The AT line discipline, the command-line splitter and the argument parser fed arbitrary
// bytes. Input: four setting bytes (S3, S4, S5, echo), then the bytes the host sends.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "quecsim/at/args.hpp"
#include "quecsim/at/command_line.hpp"
#include "quecsim/at/line_discipline.hpp"

namespace {

using namespace quecsim::at;

// Parameter lists of the shapes the command table uses (AT+QFTPOPEN, AT+QFTPCFG, AT+QFTPGET).
const std::vector<std::vector<param>>& param_lists() {
  static const std::vector<std::vector<param>> lists = {
      {param::string(50), param::integer(1, 65535, true)},
      {param::integer(0, 6), param::either(50)},
      {param::string(200), param::integer(0, 1000000, true), param::integer(0, 1, true)},
      {param::integer(-5, 5, true), param::integer(0, 0, true), param::string(0, true)},
  };
  return lists;
}

void check_args(std::string_view text) {
  for (const auto& params : param_lists()) {
    auto values = parse_args(text, params);
    if (!values) continue;
    FUZZ_CHECK(values->size() <= params.size());
    for (std::size_t i = 0; i < values->size(); ++i) {
      const auto& v = (*values)[i];
      const auto& p = params[i];
      if (v.omitted()) {
        FUZZ_CHECK(p.optional);
      } else if (v.is_integer()) {
        FUZZ_CHECK(p.kind != param::type::string);
        FUZZ_CHECK(p.kind == param::type::any || (v.number >= p.min && v.number <= p.max));
      } else {
        FUZZ_CHECK(p.kind != param::type::integer);
        FUZZ_CHECK(v.text.size() <= p.max_length);
      }
    }
    // Every required parameter is present.
    for (std::size_t i = values->size(); i < params.size(); ++i) FUZZ_CHECK(params[i].optional);
  }
}

void check_line(std::string_view body) {
  auto commands = split_commands(body);
  if (!commands) return;
  for (const auto& c : *commands) {
    FUZZ_CHECK(!c.name.empty());
    for (const char ch : c.name) FUZZ_CHECK(!(ch >= 'a' && ch <= 'z'));
    if (c.kind == form::write) check_args(c.args);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  line_settings settings;
  settings.s3 = static_cast<char>(data[0]);
  settings.s4 = static_cast<char>(data[1]);
  settings.s5 = static_cast<char>(data[2]);
  settings.echo = (data[3] & 1) != 0;
  line_discipline discipline(settings);
  std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  // Each call makes progress, so this ends within size calls.
  while (!rest.empty()) {
    auto r = discipline.feed(rest);
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= rest.size());
    FUZZ_CHECK(r.complete || r.consumed == rest.size());
    // With echo on every byte comes back as it was sent; with echo off none does.
    FUZZ_CHECK(r.echo == (settings.echo ? rest.substr(0, r.consumed) : std::string_view()));
    if (r.complete) {
      FUZZ_CHECK(r.command.body.size() <= max_line_length);
      FUZZ_CHECK(!r.command.overflow || r.command.body.empty());
      FUZZ_CHECK(!r.command.repeat || r.command.body.empty());
      if (!r.command.overflow && !r.command.repeat) check_line(r.command.body);
    }
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
