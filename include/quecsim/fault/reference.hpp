#pragma once

#include <string>

namespace quecsim::fault {

/// scenarios/schema.json as generated from the action and trigger definitions (actions.hpp,
/// trigger_specs) and the UART rates, with a final newline.
std::string schema_text();

/// The Markdown table of every action (docs/faults.md, "Actions").
std::string actions_table();

/// The Markdown table of every trigger (docs/faults.md, "Triggers").
std::string triggers_table();

/// Replaces what stands between `<!-- generated: NAME -->` and `<!-- end generated -->` in
/// `document` with `content`; false when the markers are missing.
bool replace_generated(std::string& document, const std::string& name, const std::string& content);

}  // namespace quecsim::fault
