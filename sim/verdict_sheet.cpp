#include "verdict_sheet.hpp"

#include <fstream>
#include <stdexcept>

namespace quecsim::sim {

void verdict_sheet::add(const fault::verdict& v, int module) {
  scenarios_.push_back({{"scenario", v.scenario},
                        {"module", module},
                        {"held", v.passed()},
                        {"failures", v.failures}});
  all_held_ = all_held_ && v.passed();
}

nlohmann::json verdict_sheet::json() const {
  return {{"held", all_held_}, {"scenarios", scenarios_}};
}

void verdict_sheet::write(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  if (!out) throw std::runtime_error("--verdict-json " + path + ": cannot write the file");
}

nlohmann::json verdict_sheet::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": no verdict file");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object() || !j.contains("scenarios") || !j["scenarios"].is_array()) {
    throw std::runtime_error(path + ": not a verdict file");
  }
  return j;
}

}  // namespace quecsim::sim
