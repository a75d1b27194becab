// The scenario loader (JSON text → validated scenario) fed arbitrary text. Bad input of any
// kind must end in a scenario_error that names the source first, never in anything else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "quecsim/fault/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string source = "fuzz.json";
  try {
    const auto doc = quecsim::fault::parse_json_text(text, source);
    const auto s = quecsim::fault::parse_scenario(doc, source);
    FUZZ_CHECK(s.source == source);
    for (const auto& e : s.events) {
      FUZZ_CHECK(!e.actions.empty());
      FUZZ_CHECK(e.count == -1 || e.count >= 1);
      FUZZ_CHECK(e.every >= 1);
      FUZZ_CHECK(e.probability >= 0.0 && e.probability <= 1.0);
      // Every action, as validated, validates again to itself (defaults are stable).
      for (const auto& a : e.actions) {
        const auto again = quecsim::fault::parse_action(a.params, source, a.pointer);
        FUZZ_CHECK(again.name == a.name && again.params == a.params);
      }
    }
  } catch (const quecsim::fault::scenario_error& e) {
    FUZZ_CHECK(std::string(e.what()).rfind(source + ":", 0) == 0);
  }
  return 0;
}
