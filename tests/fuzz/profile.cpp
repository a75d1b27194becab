// The model profile loader (JSON text → profile) fed arbitrary text. Bad input of any kind
// must end in a profile_error that names the source first, never in anything else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "quecsim/module/profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string source = "fuzz.json";
  try {
    const auto p = quecsim::module::profile::parse(text, source);
    // Loading is a pure function of the text.
    const auto again = quecsim::module::profile::parse(text, source);
    FUZZ_CHECK(again.model == p.model && again.commands.size() == p.commands.size());
  } catch (const quecsim::module::profile_error& e) {
    FUZZ_CHECK(std::string(e.what()).rfind(source, 0) == 0);
  }
  return 0;
}
