#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "quecsim/core/unique_fd.hpp"

namespace quecsim::sim::support {

/// Where a spawned child's standard streams go. Its stdin is always /dev/null.
struct spawn_setup {
  std::string stdout_file;   ///< empty: stdout_pipe, or inherited when that is -1 too
  int stdout_pipe = -1;      ///< a pipe's write end, dup'ed to the child's stdout
  std::string stderr_file;   ///< empty: the same as stdout
  bool own_group = false;    ///< a process group of its own, so it can be killed as a group
  bool search_path = false;  ///< look argv[0] up in PATH
};

/// Starts `argv` with environment `env` (posix_spawn, safe from threads); SIGINT, SIGTERM and
/// SIGPIPE are back to their defaults in the child. Throws std::runtime_error naming argv[0].
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const spawn_setup& setup);

/// This process's environment, as `spawn` takes it.
std::vector<std::string> own_environment();

/// This process's executable (/proc/self/exe resolved), to start another quecsim.
std::string own_executable();

/// Waits for `pid` until `deadline` or until `*stop` turns true; the wait status, or nothing
/// when it is still running.
std::optional<int> wait_until(pid_t pid, std::chrono::steady_clock::time_point deadline,
                              const std::atomic<bool>* stop = nullptr);

/// Waits for `pid` to end; its wait status.
int reap(pid_t pid);

/// "exited with N", "was killed by signal N (name)": a wait status in words.
std::string describe_status(int status);

/// Reads from `fd` until `line` holds a line break or `deadline` passes or `*stop` turns true;
/// `line` is then cut before the break. False on the deadline, a stop, EOF or an error.
bool read_line(int fd, std::chrono::steady_clock::time_point deadline, std::string& line,
               const std::atomic<bool>* stop = nullptr);

/// A `quecsim --ready-json` child: started with its stdout on a pipe and its stderr in a file,
/// read up to its ready line, ended with SIGTERM (then SIGKILL) when dropped.
class module_process {
 public:
  /// Starts `argv` (argv[0] is the executable); stderr goes to `stderr_file`.
  module_process(const std::vector<std::string>& argv, const std::string& stderr_file);
  ~module_process();
  module_process(const module_process&) = delete;
  module_process& operator=(const module_process&) = delete;

  /// Why the ready line did not come.
  enum class start_error { none, timed_out, ended, not_json };

  /// Waits up to `deadline` for the ready line; its text in `line` (without the break).
  start_error wait_ready(std::chrono::steady_clock::time_point deadline, std::string& line,
                         const std::atomic<bool>* stop = nullptr);

  /// Sends SIGTERM and waits up to `limit`, then SIGKILL; the wait status and whether it
  /// ended within the limit.
  std::pair<int, bool> stop(std::chrono::steady_clock::duration limit);
  /// Kills it (SIGKILL) and reaps it; the wait status.
  int kill();
  /// The wait status when it has ended already (reaped then), else nothing.
  std::optional<int> poll_exit();

  /// What it wrote on stderr so far.
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  unique_fd stdout_;
  std::string stderr_file_;
};

}  // namespace quecsim::sim::support
