#pragma once

#include <array>
#include <string>
#include <vector>

namespace quecsim::serial {

/// One UART rate quecsim knows.
struct uart_rate {
  unsigned bits_per_second;  ///< 0: no pacing (--baud, a scenario) or autobaud (AT+IPR)
  bool ipr;                  ///< whether AT+IPR sets it (the manual's list stops at 115200)
};

/// Every UART rate, the one list: --baud and a scenario's module.baud take all of them,
/// AT+IPR those marked `ipr`, listed by AT+IPR=? in this order.
inline constexpr std::array<uart_rate, 16> uart_rates = {{{0, true},
                                                          {300, true},
                                                          {600, true},
                                                          {1200, true},
                                                          {2400, true},
                                                          {4800, true},
                                                          {9600, true},
                                                          {14400, true},
                                                          {19200, true},
                                                          {28800, true},
                                                          {38400, true},
                                                          {57600, true},
                                                          {115200, true},
                                                          {230400, false},
                                                          {460800, false},
                                                          {921600, false}}};

/// The rates --baud and a scenario take, in order.
inline std::vector<unsigned> line_rates() {
  std::vector<unsigned> out;
  for (const auto& r : uart_rates) out.push_back(r.bits_per_second);
  return out;
}

/// Whether AT+IPR sets `rate`.
constexpr bool ipr_rate(long long rate) {
  for (const auto& r : uart_rates)
    if (r.ipr && r.bits_per_second == rate) return true;
  return false;
}

/// AT+IPR=?'s list of rates: "(0,300,...,115200)".
inline std::string ipr_rate_list() {
  std::string out;
  for (const auto& r : uart_rates)
    if (r.ipr) out += (out.empty() ? "(" : ",") + std::to_string(r.bits_per_second);
  return out + ")";
}

}  // namespace quecsim::serial
