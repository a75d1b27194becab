#include "quecsim/module/profile.hpp"

#include <stdexcept>

namespace quecsim::module {

profile profile::named(std::string_view model) {
  profile p;
  if (model == "M95") return p;
  if (model == "M10") {
    p.model = "M10";
    p.revision = "M10EBR01A12";
    p.storage.ufs_capacity = 1048576;
    return p;
  }
  if (model == "M33") {
    p.model = "M33";
    p.revision = "M33CR01A03";
    p.storage.has_ram = true;
    p.storage.has_sd = true;
    return p;
  }
  throw std::invalid_argument("unknown model '" + std::string(model) + "' (one of M10, M95, M33)");
}

std::vector<std::string> profile::names() {
  return {"M10", "M95", "M33"};
}

}  // namespace quecsim::module
