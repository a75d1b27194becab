#pragma once
// Test helpers: temporary folders, real FTP server processes on loopback (pyftpdlib through
// tests/support/pyftpd.py, vsftpd with a generated config), and running an io_context until
// a condition holds. Header-only so any test folder can include it.

#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace quecsim::test {

/// A fresh folder under /tmp, removed with everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = "/tmp/quecsim-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `bytes` to `p`.
inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The whole content of `p` (empty when missing).
inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// `n` bytes covering every byte value, so a transfer that alters any byte shows.
inline std::string pattern(std::size_t n, unsigned seed = 7) {
  std::string s(n, '\0');
  unsigned x = seed;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>((x >> 16) & 0xff);
  }
  return s;
}

/// A child process with its stdin and stdout on pipes; terminated at the end of the test
/// (and by the kernel if the test process dies: PR_SET_PDEATHSIG).
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~child_process() {
    if (stdin_ >= 0) close(stdin_);
    if (stdout_ >= 0) close(stdout_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The first line the child prints, waiting at most `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (poll(&p, 1, static_cast<int>(std::max<long long>(1, left.count()))) <= 0) continue;
      char c;
      if (::read(stdout_, &c, 1) != 1) return std::nullopt;
      if (c == '\n') return line;
      line.push_back(c);
    }
    return std::nullopt;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

/// The folder of this header: where pyftpd.py lives.
inline std::filesystem::path support_dir() {
  return std::filesystem::path(__FILE__).parent_path();
}

/// pyftpdlib serving `root` (anonymous with write rights, plus `user` when given).
class pyftpd {
 public:
  explicit pyftpd(const std::filesystem::path& root, const std::string& user = "",
                  const std::string& password = "", double idle_timeout = 300,
                  const std::string& address = "127.0.0.1") {
    std::vector<std::string> argv{"/usr/bin/python3",
                                  (support_dir() / "pyftpd.py").string(),
                                  root.string(),
                                  "--idle-timeout",
                                  std::to_string(idle_timeout),
                                  "--address",
                                  address};
    if (!user.empty()) {
      argv.insert(argv.end(), {"--user", user, "--password", password});
    }
    proc_.emplace(argv);
    const auto line = proc_->read_line(std::chrono::seconds(10));
    if (!line || line->rfind("PORT ", 0) != 0)
      throw std::runtime_error("pyftpd did not start: " + line.value_or("(no output)"));
    port_ = static_cast<std::uint16_t>(std::stoi(line->substr(5)));
  }
  std::uint16_t port() const { return port_; }

 private:
  std::optional<child_process> proc_;
  std::uint16_t port_ = 0;
};

/// A port nobody listens on now (bound, then released).
inline std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

/// A port on 127.0.0.1 that refuses connections for as long as this lives: bound and never
/// listening, so no other process (a test running in parallel) can take it and answer.
class refusing_port {
 public:
  refusing_port() : socket_(io_) {
    socket_.open(boost::asio::ip::tcp::v4());
    socket_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
};

/// The first line a server on 127.0.0.1:`port` sends ("" when nothing accepts or says a line
/// within a second).
inline std::string greeting(std::uint16_t port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return {};
  std::string line;
  boost::asio::streambuf buf;
  boost::asio::async_read_until(s, buf, '\n', [&](boost::system::error_code e, std::size_t n) {
    if (!e)
      line.assign(boost::asio::buffers_begin(buf.data()),
                  boost::asio::buffers_begin(buf.data()) + n);
  });
  io.run_for(std::chrono::seconds(1));
  return line;
}

/// Whether something accepts connections on 127.0.0.1:`port`.
inline bool accepting(std::uint16_t port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

/// vsftpd (Debian's) serving `dir`/root anonymously with a writable `pub` folder. Needs
/// root (vsftpd drops to the `ftp` user and chroots); `available()` says whether it runs.
class vsftpd {
 public:
  explicit vsftpd(const std::filesystem::path& dir) {
    if (geteuid() != 0 || access("/usr/sbin/vsftpd", X_OK) != 0) return;
    const auto root = dir / "root";
    std::filesystem::create_directories(root / "pub");
    std::filesystem::create_directories(dir / "empty");
    std::filesystem::permissions(dir, std::filesystem::perms(0755));
    std::filesystem::permissions(root, std::filesystem::perms(0755));
    // The anonymous user writes as `ftp`: give it the pub folder, not the chroot itself.
    if (system(("chown ftp " + (root / "pub").string() + " 2>/dev/null").c_str()) != 0) return;
    for (int attempt = 0; attempt < 5 && !port_; ++attempt) {
      const std::uint16_t port = free_port();
      const auto conf = dir / "vsftpd.conf";
      write_file(
          conf,
          "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=" +
              std::to_string(port) +
              "\nbackground=NO\nanonymous_enable=YES\nlocal_enable=NO\nanon_root=" + root.string() +
              "\nno_anon_password=YES\nwrite_enable=YES\nanon_upload_enable=YES\n"
              "anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\nanon_umask=022\n"
              "seccomp_sandbox=NO\nsecure_chroot_dir=" +
              (dir / "empty").string() +
              "\npasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\n"
              "ascii_upload_enable=YES\nascii_download_enable=YES\nxferlog_enable=NO\n");
      proc_.emplace(std::vector<std::string>{"/usr/sbin/vsftpd", conf.string()});
      // vsftpd says nothing when it listens: poll for it, briefly and boundedly.
      for (int i = 0; i < 200; ++i) {
        // vsftpd's own greeting: on a busy machine another test's server may have taken the
        // port between free_port() and vsftpd's bind (vsftpd then exits: try another port).
        if (greeting(port).rfind("220 (vsFTPd", 0) == 0) {
          port_ = port;
          break;
        }
        int status = 0;
        if (waitpid(proc_->pid(), &status, WNOHANG) != 0) break;  // died: port taken?
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!port_) proc_.reset();
    }
  }
  bool available() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }

 private:
  std::optional<child_process> proc_;
  std::uint16_t port_ = 0;
};

/// Runs `io` until `done()` holds or `limit` real time passed; returns `done()`.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace quecsim::test
