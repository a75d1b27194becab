#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace quecsim::sim::support {

namespace {

using steady = std::chrono::steady_clock;

// How often waits look at their child again.
constexpr std::chrono::milliseconds poll_step{10};

// argv/envp arrays for posix_spawn, built before the spawn so the child only execs.
struct c_strings {
  explicit c_strings(const std::vector<std::string>& v) : owned(v) {
    for (auto& s : owned) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> owned;
  std::vector<char*> ptrs;
};

bool stopped(const std::atomic<bool>* stop) {
  return stop != nullptr && stop->load();
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const spawn_setup& s) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (s.stdout_pipe >= 0) {
    posix_spawn_file_actions_adddup2(&fa, s.stdout_pipe, 1);
  } else if (!s.stdout_file.empty()) {
    posix_spawn_file_actions_addopen(&fa, 1, s.stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  if (s.stderr_file.empty()) {
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, s.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  if (s.own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  c_strings a(argv);
  c_strings e(env);
  pid_t pid = -1;
  const int rc = s.search_path
                     ? posix_spawnp(&pid, a.ptrs[0], &fa, &attr, a.ptrs.data(), e.ptrs.data())
                     : posix_spawn(&pid, a.ptrs[0], &fa, &attr, a.ptrs.data(), e.ptrs.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

std::vector<std::string> own_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

std::string own_executable() {
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error("cannot find the quecsim binary (/proc/self/exe)");
  return std::string(path, static_cast<std::size_t>(n));
}

std::optional<int> wait_until(pid_t pid, steady::time_point deadline,
                              const std::atomic<bool>* stop) {
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;
    if (steady::now() >= deadline || stopped(stop)) return std::nullopt;
    std::this_thread::sleep_for(poll_step);
  }
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* n = ::strsignal(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) +
           (n ? std::string(" (") + n + ")" : "");
  }
  return "ended with status " + std::to_string(status);
}

bool read_line(int fd, steady::time_point deadline, std::string& line,
               const std::atomic<bool>* stop) {
  for (;;) {
    const auto nl = line.find('\n');
    if (nl != std::string::npos) {
      line.resize(nl);
      return true;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    if (left <= 0 || stopped(stop)) return false;
    pollfd p{fd, POLLIN, 0};
    // Short polls, so a stop is seen soon.
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (n < 0 && errno != EINTR) return false;
    if (n <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) return false;
    line.append(buf, static_cast<std::size_t>(got));
  }
}

module_process::module_process(const std::vector<std::string>& argv, const std::string& stderr_file)
    : stderr_file_(stderr_file) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("cannot make a pipe: ") + std::strerror(errno));
  }
  stdout_.reset(out[0]);
  const unique_fd write_end(out[1]);  // the child's copy is all that stays open
  spawn_setup s;
  s.stdout_pipe = write_end.get();
  s.stderr_file = stderr_file;
  pid_ = spawn(argv, own_environment(), s);
}

module_process::~module_process() {
  if (pid_ > 0) stop(std::chrono::seconds(15));
}

module_process::start_error module_process::wait_ready(steady::time_point deadline,
                                                       std::string& line,
                                                       const std::atomic<bool>* stop) {
  line.clear();
  if (!read_line(stdout_.get(), deadline, line, stop)) {
    // The pipe ends when the child does: EOF says it ended, else the time ran out.
    return steady::now() >= deadline || stopped(stop) ? start_error::timed_out : start_error::ended;
  }
  return line.empty() || line.front() != '{' ? start_error::not_json : start_error::none;
}

std::pair<int, bool> module_process::stop(steady::duration limit) {
  if (pid_ <= 0) return {0, true};
  ::kill(pid_, SIGTERM);
  auto status = wait_until(pid_, steady::now() + limit);
  const bool in_time = status.has_value();
  if (!status) {
    ::kill(pid_, SIGKILL);
    status = reap(pid_);
  }
  pid_ = -1;
  return {*status, in_time};
}

int module_process::kill() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGKILL);
  const int status = reap(pid_);
  pid_ = -1;
  return status;
}

std::optional<int> module_process::poll_exit() {
  int status = 0;
  if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return status;
  }
  return std::nullopt;
}

std::string module_process::stderr_text() const {
  std::ifstream in(stderr_file_, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace quecsim::sim::support
