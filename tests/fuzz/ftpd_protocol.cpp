// quecsim-ftpd's command core (the socket-free session state machine) fed arbitrary control
// bytes, with the data channel simulated: passive listeners open, transfers complete at once.
// The served root is a fresh temporary folder with a file, a subfolder and a symlink that
// points out of it; the account is read-only so that runs do not fill the disk.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "quecsim/ftpd/protocol.hpp"

namespace {

namespace fs = std::filesystem;
using namespace quecsim::ftpd;

constexpr const char* peer = "127.0.0.1";

struct environment {
  environment() {
    std::string tmpl = (fs::temp_directory_path() / "quecsim-fuzz-ftpd-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    base = tmpl;
    fs::create_directories(base / "root" / "sub");
    fs::create_directories(base / "outside");
    std::ofstream(base / "root" / "a.txt") << "abc\n";
    std::ofstream(base / "root" / "sub" / "b.txt") << "b\n";
    std::ofstream(base / "outside" / "secret.txt") << "SECRET\n";
    fs::create_symlink(base / "outside", base / "root" / "out");
    cfg.root = base / "root";
    cfg.users.push_back(user{"fuzz", "pw", "/", false});
    cfg.anonymous = true;
    cfg.limits.max_line = 512;
    root.emplace(cfg.root);
  }
  ~environment() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  fs::path base;
  config cfg;
  std::optional<jail> root;
  fault_book faults;
  file_locks locks;
};

environment& env() {
  static environment e;
  return e;
}

// The real file an open descriptor refers to.
fs::path path_of(int fd) {
  std::array<char, 4096> buf{};
  const auto link = "/proc/self/fd/" + std::to_string(fd);
  const auto n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return {};
  return fs::path(std::string(buf.data(), static_cast<std::size_t>(n)));
}

struct driver {
  protocol& core;
  std::deque<std::shared_ptr<transfer>> transfers;
  bool closed = false;

  void run(std::vector<action> acts) {
    for (auto& a : acts) {
      if (closed) return;
      switch (a.what) {
        case action::kind::reply: {
          const auto& t = a.text;
          FUZZ_CHECK(t.size() >= 5 && t.compare(t.size() - 2, 2, "\r\n") == 0);
          FUZZ_CHECK(t[0] >= '1' && t[0] <= '5' && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' &&
                     t[2] <= '9' && (t[3] == ' ' || t[3] == '-'));
          break;
        }
        case action::kind::set_active:
          // Bounce protection: active mode only ever connects back to the client, never to
          // a privileged port.
          FUZZ_CHECK(a.host == peer);
          FUZZ_CHECK(a.port >= 1024);
          break;
        case action::kind::open_passive:
          run(core.passive_opened(50000));
          break;
        case action::kind::start_transfer:
          FUZZ_CHECK(a.xfer != nullptr);
          if (a.xfer->file.get() >= 0) {
            // Confinement: whatever file a transfer opened lies under the served root.
            FUZZ_CHECK(env().root->contains(path_of(a.xfer->file.get())));
          }
          transfers.push_back(std::move(a.xfer));
          break;
        case action::kind::close_control:
          closed = true;
          break;
        default:
          break;
      }
    }
  }

  void settle() {
    // Each step takes one waiting line off a bounded queue; transfers end at once.
    for (int i = 0; i < 10000 && !closed; ++i) {
      auto acts = core.step();
      if (acts.empty()) {
        if (transfers.empty() || !core.busy()) break;
        transfers.pop_front();
        run(core.transfer_done(transfer_result::ok, 0));
        continue;
      }
      run(std::move(acts));
      FUZZ_CHECK(!core.cwd().empty() && core.cwd().front() == '/');
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& e = env();
  protocol core(session_context{e.cfg, *e.root, e.faults, e.locks, peer, "127.0.0.1"});
  driver d{core, {}, false};
  d.run(core.start());
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // Fed as the session reads: only while the core wants input, at most a buffer at a time.
  constexpr std::size_t read_size = 1024;
  while (!rest.empty() && !d.closed) {
    if (!core.wants_input()) {
      d.settle();
      if (!core.wants_input()) break;
      continue;
    }
    const auto n = std::min(read_size, rest.size());
    core.feed(rest.substr(0, n));
    rest.remove_prefix(n);
    d.settle();
  }
  if (!d.closed) d.run(core.idle_timeout());
  return 0;
}
