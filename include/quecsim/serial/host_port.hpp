#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace quecsim::serial {

/// The module's side of its UART, as the module sees it (the module is attached to one): where its
/// bytes go and how it slows the host down. The serial layer implements it over a pty; unit tests
/// over a string.
class host_port {
 public:
  virtual ~host_port() = default;

  /// Queues bytes for the host.
  virtual void write(std::string_view bytes) = 0;
  /// Bytes queued and not yet taken by the host.
  virtual std::size_t queued() const = 0;
  /// Calls `ready` once the queue has drained below its low-water mark (at once if it has).
  virtual void when_drained(std::function<void()> ready) = 0;
  /// Stops taking bytes from the host (backpressure: the host's writes then block).
  virtual void pause_input() = 0;
  /// Takes bytes from the host again.
  virtual void resume_input() = 0;
  /// Changes the line rate (AT+IPR); 0 means no pacing.
  virtual void set_baud(unsigned baud) = 0;
};

}  // namespace quecsim::serial
