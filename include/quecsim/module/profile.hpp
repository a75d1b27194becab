#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quecsim::module {

/// What distinguishes one module model from another, as the host can observe it.
struct profile {
  std::string model = "M95";  ///< M10, M95 or M33
  std::string manufacturer = "Quectel_Ltd";
  std::string revision = "M95FAR02A08";  ///< AT+GMR / AT+CGMR / ATI text after "Revision: "
  std::string imei = "867273020123456";
  bool has_ram = false;  ///< /RAM/ local position (M33; later M95 firmware)
  bool has_sd = false;   ///< /SD/ local position (M33 only)

  /// The built-in profile of a model name (M10, M95, M33); throws std::invalid_argument for
  /// any other name, listing the valid ones.
  static profile named(std::string_view model);
  /// The model names `named` knows.
  static std::vector<std::string> names();
};

}  // namespace quecsim::module
