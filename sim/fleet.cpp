#include "fleet.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <ostream>

namespace quecsim::sim {
namespace {

// Descriptors one idle module holds: the pty's master and slave, its three storage folders,
// its control socket, the TCP server's reserved port; a transfer adds its connections and the
// server's ends of them.
constexpr std::uint64_t descriptors_per_module = 7;
constexpr std::uint64_t descriptors_spare = 64;

std::uint64_t read_number(const char* path) {
  std::ifstream in(path);
  std::uint64_t n = 0;
  if (!(in >> n)) throw std::runtime_error(std::string("cannot read ") + path);
  return n;
}

}  // namespace

std::string expand(const std::string& pattern, int n) {
  std::string out = pattern;
  const std::string number = std::to_string(n);
  for (auto at = out.find("{n}"); at != std::string::npos; at = out.find("{n}", at)) {
    out.replace(at, 3, number);
    at += number.size();
  }
  return out;
}

std::string module_address(int n) {
  return "127.1." + std::to_string(n / 256) + "." + std::to_string(n % 256);
}

void check_fleet(int modules, const std::string& link, const std::string& control) {
  const std::string flag = "--modules " + std::to_string(modules);
  if (modules > 1) {
    if (!link.empty() && link.find("{n}") == std::string::npos) {
      throw fleet_usage_error("--link " + link + ": with " + flag +
                              " the path needs {n}, the module's number (e.g. /tmp/modem{n})");
    }
    if (!control.empty() && control.find("{n}") == std::string::npos) {
      throw fleet_usage_error("--control " + control + ": with " + flag +
                              " the path needs {n}, the module's number (e.g. /tmp/modem{n}.ctl)");
    }
  }
  // Every module is a pty: ask before opening any, so the message says which limit it is.
  const auto most = read_number("/proc/sys/kernel/pty/max");
  const auto used = read_number("/proc/sys/kernel/pty/nr");
  const auto room = most > used ? most - used : 0;
  if (static_cast<std::uint64_t>(modules) > room) {
    throw fleet_usage_error(flag + ": the kernel has room for " + std::to_string(room) +
                            " more ptys (/proc/sys/kernel/pty/max is " + std::to_string(most) +
                            ", " + std::to_string(used) + " in use)");
  }
  // Descriptors: take all the hard limit allows, then see whether that is enough.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &files);
    (void)::getrlimit(RLIMIT_NOFILE, &files);
  }
  const std::uint64_t needed = descriptors_per_module * modules + descriptors_spare;
  if (files.rlim_cur != RLIM_INFINITY && needed > files.rlim_cur) {
    throw fleet_usage_error(flag + ": needs about " + std::to_string(needed) +
                            " file descriptors, and the limit is " +
                            std::to_string(files.rlim_cur) + " (ulimit -Hn)");
  }
}

fleet::fleet(boost::asio::io_context& io, const clock& clk,
             std::vector<station::station_options> modules,
             std::vector<std::vector<fault::scenario>> scenarios,
             const std::vector<fault::scenario>& all, const std::string& transcript) {
  if (!transcript.empty()) record_ = std::make_unique<quecsim::transcript>(transcript, clk);
  const station::station_options& first = modules.front();
  if (first.embedded_ftp) {
    auto cfg = station::station::server_config(first, all);
    // Each module holds a control session of its own at most, each from its own address.
    cfg.limits.max_sessions = std::max<std::size_t>(cfg.limits.max_sessions, 2 * modules.size());
    server_ = std::make_unique<ftpd::server>(io, cfg, clk);
    server_->start();
  }
  stations_.reserve(modules.size());
  for (std::size_t i = 0; i < modules.size(); ++i) {
    auto& opts = modules[i];
    opts.shared_transcript = record_.get();
    stations_.push_back(std::make_unique<station::station>(
        io, clk, std::move(opts), std::move(scenarios[i]), server_.get(), static_cast<int>(i)));
  }
}

serial::endpoint_options module_endpoint(serial::endpoint_options e, int n) {
  using kind = serial::endpoint_options::kind;
  if ((e.type == kind::tcp_listen || e.type == kind::tcp_connect) && e.port != 0) {
    const int port = e.port + n;
    if (port > 65535) {
      throw fleet_usage_error(std::string(serial::flag_name(e.type)) + " " + e.address + ":" +
                              std::to_string(e.port) + ": module " + std::to_string(n) +
                              " would need port " + std::to_string(port) + ", past 65535");
    }
    e.port = static_cast<std::uint16_t>(port);
  }
  if (e.type == kind::device || e.type == kind::attach_pty) {
    if (e.path.find("{n}") == std::string::npos) {
      throw fleet_usage_error(std::string(serial::flag_name(e.type)) + " " + e.path +
                              ": with --modules each module needs its own; put {n} in the path");
    }
    e.path = expand(e.path, n);
  }
  return e;
}

fleet::~fleet() {
  // The stations go first: they use the server and the transcript.
  stations_.clear();
}

nlohmann::json fleet::ready_json() const {
  auto list = nlohmann::json::array();
  for (std::size_t i = 0; i < stations_.size(); ++i) {
    const auto& s = *stations_[i];
    auto entry = nlohmann::json{
        {"module", i},
        {"pty", s.pty_path().empty() ? nlohmann::json() : nlohmann::json(s.pty_path())},
        {"link", s.link().empty() ? nlohmann::json() : nlohmann::json(s.link())},
        {"control", s.control_path().empty() ? nlohmann::json() : nlohmann::json(s.control_path())},
        {"model", s.model()},
        {"state_dir", s.state_dir().lexically_normal().string()},
        {"tcpip_server", s.tcpip_json(false)}};
    if (s.pty_path().empty()) entry["endpoint"] = s.endpoint_json();
    list.push_back(std::move(entry));
  }
  return {{"pid", ::getpid()},
          {"ftp", server_ ? nlohmann::json{{"address", "127.0.0.1"},
                                           {"port", server_->endpoint().port()},
                                           {"root", server_->cfg().root.string()}}
                          : nlohmann::json()},
          {"modules", std::move(list)}};
}

void fleet::describe(std::ostream& out) const {
  for (std::size_t i = 0; i < stations_.size(); ++i) {
    const auto& s = *stations_[i];
    out << "quecsim: module " << i << ": " << s.model() << " on " << s.uart_name();
    if (!s.link().empty()) out << " (link " << s.link() << ")";
    if (!s.control_path().empty()) out << "; control socket " << s.control_path();
    out << '\n';
  }
  if (server_) {
    out << "quecsim: embedded FTP server on 127.0.0.1:" << server_->endpoint().port() << " serving "
        << server_->cfg().root.string() << ", shared by the " << stations_.size()
        << " modules; every host name AT+QFTPOPEN gives goes to it\n";
  }
  out.flush();
}

void fleet::stop() {
  if (server_) server_->stop();
}

void fleet::check(std::ostream& err, verdict_sheet& sheet) {
  for (std::size_t i = 0; i < stations_.size(); ++i) {
    for (const auto& v : stations_[i]->check()) {
      err << "quecsim: module " << i << ": " << station::station::describe(v) << '\n';
      sheet.add(v, static_cast<int>(i));
    }
  }
}

}  // namespace quecsim::sim
