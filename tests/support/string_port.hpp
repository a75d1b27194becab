#pragma once
// The host side of a module's UART in memory, for unit tests that drive a module without a pty.

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "quecsim/serial/host_port.hpp"

namespace quecsim::test {

/// Keeps what the module wrote; never full, never slow; records pauses and the baud rate.
class string_port : public serial::host_port {
 public:
  void write(std::string_view bytes) override { out.append(bytes); }
  std::size_t queued() const override { return 0; }
  void when_drained(std::function<void()> ready) override { ready(); }
  void pause_input() override { paused = true; }
  void resume_input() override { paused = false; }
  void set_baud(unsigned b) override { baud = b; }

  /// What the module wrote since the last take.
  std::string take() { return std::exchange(out, {}); }

  std::string out;
  bool paused = false;
  unsigned baud = 0;
};

}  // namespace quecsim::test
