#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "quecsim/fault/injector.hpp"

namespace quecsim::sim {

/// The scenarios' verdicts of a run, as `--verdict-json` writes them for a campaign or a
/// user's CI: {"held": bool, "scenarios": [{"scenario", "module", "held", "failures"}]}.
class verdict_sheet {
 public:
  /// Adds module `module`'s verdict of one scenario.
  void add(const fault::verdict& v, int module = 0);
  /// Whether every expectation of every scenario held (true with none).
  bool all_held() const { return all_held_; }
  /// The sheet as JSON.
  nlohmann::json json() const;
  /// Writes the sheet to `path`; throws std::runtime_error naming it.
  void write(const std::string& path) const;
  /// Reads a sheet `write` wrote; throws std::runtime_error naming the file.
  static nlohmann::json read(const std::string& path);

 private:
  nlohmann::json scenarios_ = nlohmann::json::array();
  bool all_held_ = true;
};

}  // namespace quecsim::sim
