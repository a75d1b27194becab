#pragma once

// Shared by the quecsim and quecsim-ftpd command lines: CLI11 reports a bad value or a missing
// required flag before an unknown one, so a typo in a flag's name was hidden behind a complaint
// about something else. This check runs first.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <vector>

namespace quecsim::cli {

/// Throws CLI::ExtrasError naming the first argument of `argv` that looks like a flag
/// ("-x", "--name", "--name=value") and is none of `app`'s. Negative numbers are values, and
/// everything after "--" is left alone.
inline void refuse_unknown_flags(const CLI::App& app, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return;
    if (arg.size() < 2 || arg[0] != '-') continue;
    char* end = nullptr;
    std::strtod(arg.c_str(), &end);
    if (end != arg.c_str() && *end == '\0') continue;  // "-5": a value
    const std::string name = arg[1] == '-' ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
    if (app.get_option_no_throw(name) == nullptr) {
      throw CLI::ExtrasError(app.get_name(), std::vector<std::string>{arg});
    }
  }
}

}  // namespace quecsim::cli
