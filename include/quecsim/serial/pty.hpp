#pragma once

#include <string>

#include "quecsim/core/unique_fd.hpp"

namespace quecsim::serial {

/// A pseudo-terminal pair in raw mode. The module owns the master side; the host opens the
/// slave path (/dev/pts/N) like a UART. The pty keeps a slave descriptor of its own open, so a
/// host may close the device and open it again and find the module as it left it.
class pty {
 public:
  /// Opens the pair; throws std::system_error when the system refuses.
  pty();
  ~pty();
  pty(const pty&) = delete;
  pty& operator=(const pty&) = delete;

  /// The master descriptor (owned by this object).
  int master() const { return master_.get(); }
  /// The slave device path the host opens.
  const std::string& path() const { return path_; }

  /// Makes `link` a symlink to the slave path (replacing a stale symlink there; refusing to
  /// replace anything else); it is removed when the pty is destroyed.
  void make_link(const std::string& link);
  /// Closes the pty's own slave descriptor: from then on the master hangs up (POLLHUP) when the
  /// host closes its last one, and the host's descriptors alone keep the line open.
  void release_slave();
  /// The symlink made by `make_link`, or empty.
  const std::string& link() const { return link_; }

 private:
  unique_fd master_;
  unique_fd slave_;
  std::string path_;
  std::string link_;
};

}  // namespace quecsim::serial
