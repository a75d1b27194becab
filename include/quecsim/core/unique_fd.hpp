#pragma once

#include <unistd.h>

#include <utility>

namespace quecsim {

/// Owns one file descriptor and closes it when dropped: the one way the project holds a raw
/// descriptor (a folder, a file, a pty, a pipe, a socket outside Asio).
class unique_fd {
 public:
  unique_fd() = default;
  /// Takes ownership of `fd` (-1 for none).
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }

  /// The descriptor, -1 if none.
  int get() const noexcept { return fd_; }
  /// Whether it holds one.
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the one held, if any, and takes `fd`.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace quecsim
