// quecsim campaign: one fresh module per scenario run, a host command against it, reports.
//
//   campaign ──spawn──▶ quecsim --ready-json --scenario F --seed S ...   (run folder)
//       │  ◀──ready line (pty, control socket, FTP root)──┘
//       ├──spawn (own process group, QUECSIM_* env)──▶ host command ──▶ exit code
//       │        killed as a group at --timeout
//       └──SIGTERM──▶ module ──▶ exit code (3: the scenario's expectations failed)
//
// Runs are independent, so --jobs N worker threads each take the next run from a shared
// index; a run only spawns processes and waits for them (posix_spawn, safe from threads).

#include "campaign.hpp"

#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "echo_peer.hpp"
#include "quecsim/fault/scenario.hpp"
#include "support/exit_codes.hpp"
#include "support/process.hpp"
#include "verdict_sheet.hpp"

namespace quecsim::sim::campaign {

namespace {

namespace fs = std::filesystem;
namespace exit_code = support::exit_code;
using nlohmann::json;
using steady = std::chrono::steady_clock;

// Lines of the transcript and of the host's output quoted in a failure.
constexpr std::size_t tail_lines = 20;
// The host's output kept in the JUnit system-out (its end).
constexpr std::size_t output_limit = std::size_t{64} * 1024;
// How long a module may take to print its ready line, and to exit after SIGTERM.
constexpr std::chrono::seconds module_start_limit{30};
constexpr std::chrono::seconds module_stop_limit{15};
// The name every module resolves to its run's echo peer (`--host`), so a host can open its
// socket by name as production firmware does.
constexpr const char* peer_name = "echo.campaign.test";

struct usage_error : std::runtime_error {
  using runtime_error::runtime_error;
};

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int /*signal*/) {
  interrupted = true;
}

struct options {
  std::vector<std::string> scenarios;
  std::vector<std::string> host;
  unsigned jobs = 1;
  std::string shard;
  unsigned repeat = 1;
  std::optional<std::uint64_t> seed;
  double timeout = 300;
  std::string junit;
  std::string json_report;
  std::string out = "quecsim-campaign";
  std::vector<std::string> module_args;  // forwarded to every module, in order
};

struct run_spec {
  std::size_t index = 0;  // in the whole campaign (every shard), from 0
  std::string id;         // the run folder's name: NNN-name[-rR]
  std::string name;       // the scenario's name
  std::string file;
  unsigned repeat = 1;
  std::uint64_t seed = 1;
};

struct run_result {
  bool passed = false;
  std::string reason;  // why it failed, empty when it passed
  double seconds = 0;
  std::optional<int> host_exit;
  std::optional<int> host_signal;
  bool timed_out = false;
  std::optional<int> module_exit;
  bool module_refused = false;  // exit 2 before the ready line: a usage error for the campaign
  std::string module_message;
  std::uint16_t peer_port = 0;  // the run's echo peer
  fs::path dir, transcript, host_output, module_log, verdicts;
};

// ---- small helpers ---------------------------------------------------------------------------

std::string seconds_text(double s) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(s < 100 ? 1 : 0) << s;
  return o.str();
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

// The last `n` lines of `text` (a final line break does not count as an empty line).
std::string last_lines(const std::string& text, std::size_t n) {
  if (text.empty()) return {};
  std::size_t end = text.size();
  if (text[end - 1] == '\n') --end;
  std::size_t at = end;
  for (std::size_t seen = 0; at > 0; --at) {
    if (text[at - 1] == '\n' && ++seen == n) break;
  }
  return text.substr(at, end - at) + "\n";
}

// Text safe inside an XML 1.0 document: markup escaped (quotes too in an attribute); bytes
// that are not UTF-8 or are control characters XML forbids written as \xNN, so any host
// output fits.
std::string xml_text(const std::string& in, bool attribute = false) {
  std::string out;
  out.reserve(in.size());
  const auto hex = [&out](unsigned char c) {
    static const char digits[] = "0123456789abcdef";
    out += "\\x";
    out += digits[c >> 4];
    out += digits[c & 15];
  };
  for (std::size_t i = 0; i < in.size();) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += attribute ? "&quot;" : "\"";
          break;
        case '\'':
          out += attribute ? "&apos;" : "'";
          break;
        default:
          if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            hex(c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence is copied whole when it is well formed.
    const std::size_t len = c >= 0xf0 && c < 0xf5   ? 4
                            : c >= 0xe0             ? 3
                            : c >= 0xc2 && c < 0xe0 ? 2
                                                    : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    }
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      hex(c);
      ++i;
    }
  }
  return out;
}

// ---- one run ---------------------------------------------------------------------------------

class runner {
 public:
  runner(options o, std::vector<run_spec> runs, std::size_t total)
      : o_(std::move(o)), runs_(std::move(runs)), total_(total), results_(runs_.size()) {}

  int run();

 private:
  run_result execute(const run_spec& r);
  // The pieces of one run: the module started up to its ready line (false, with the reason in
  // `res`, when it did not start), the host run to its end, the module stopped and judged.
  bool start_module(const run_spec& r, run_result& res,
                    std::unique_ptr<support::module_process>& module, json& ready);
  std::string run_host(const run_spec& r, run_result& res, const json& ready,
                       steady::time_point start);
  std::string stop_module(run_result& res, support::module_process& module);
  void finished(std::size_t slot, const run_result& res);
  void summary(double wall) const;
  void write_junit(double wall) const;
  void write_json(double wall) const;
  std::vector<std::string> environment(const run_result& res, const json& ready,
                                       const run_spec& r) const;

  options o_;
  std::vector<run_spec> runs_;  // this shard's runs, in order
  std::size_t total_;           // runs of the whole campaign, every shard
  std::vector<run_result> results_;
  std::vector<bool> done_ = std::vector<bool>(runs_.size(), false);
  std::string self_;
  fs::path out_;
  std::mutex mutex_;
  std::size_t finished_ = 0;
  double busy_seconds_ = 0;
  std::string started_at_;
};

std::vector<std::string> runner::environment(const run_result& res, const json& ready,
                                             const run_spec& r) const {
  static const std::set<std::string> ours{
      "QUECSIM_PTY",      "QUECSIM_CONTROL",  "QUECSIM_FTP_ROOT",   "QUECSIM_STATE_DIR",
      "QUECSIM_SCENARIO", "QUECSIM_SEED",     "QUECSIM_TRANSCRIPT", "QUECSIM_RUN_DIR",
      "QUECSIM_PEER",     "QUECSIM_PEER_NAME"};
  std::vector<std::string> env;
  for (auto& kv : support::own_environment()) {
    if (ours.count(kv.substr(0, kv.find('='))) == 0) env.push_back(std::move(kv));
  }
  const auto text = [](const json& v) {
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  env.push_back("QUECSIM_PTY=" + text(ready.value("pty", json())));
  env.push_back("QUECSIM_CONTROL=" + text(ready.value("control", json())));
  const json ftp = ready.value("ftp", json());
  env.push_back("QUECSIM_FTP_ROOT=" + (ftp.is_object() ? text(ftp.value("root", json())) : ""));
  env.push_back("QUECSIM_STATE_DIR=" + text(ready.value("state_dir", json())));
  env.push_back("QUECSIM_SCENARIO=" + fs::absolute(r.file).lexically_normal().string());
  env.push_back("QUECSIM_SEED=" + std::to_string(r.seed));
  env.push_back("QUECSIM_TRANSCRIPT=" + res.transcript.string());
  env.push_back("QUECSIM_RUN_DIR=" + res.dir.string());
  env.push_back("QUECSIM_PEER=127.0.0.1:" + std::to_string(res.peer_port));
  env.push_back(std::string("QUECSIM_PEER_NAME=") + peer_name);
  return env;
}

run_result runner::execute(const run_spec& r) {
  run_result res;
  const auto start = steady::now();
  res.dir = out_ / r.id;
  std::error_code ec;
  fs::remove_all(res.dir, ec);
  fs::create_directories(res.dir / "ftp-root", ec);
  fs::create_directories(res.dir / "state", ec);
  res.transcript = res.dir / "transcript.jsonl";
  res.host_output = res.dir / "host.log";
  res.module_log = res.dir / "module.log";
  res.verdicts = res.dir / "verdict.json";
  const auto done = [&] {
    res.seconds = std::chrono::duration<double>(steady::now() - start).count();
    return res;
  };
  if (ec) {
    res.reason = "cannot make the run folder " + res.dir.string() + ": " + ec.message();
    return done();
  }
  // The socket peer lives as long as the run: started before the module, whose host map
  // names it, and gone after the module stopped.
  std::unique_ptr<echo_peer> peer;
  try {
    peer = std::make_unique<echo_peer>();
  } catch (const std::exception& e) {
    res.reason = e.what();
    return done();
  }
  res.peer_port = peer->port();
  std::unique_ptr<support::module_process> module;
  json ready;
  if (!start_module(r, res, module, ready)) return done();
  const std::string host_failure = run_host(r, res, ready, start);
  const std::string module_failure = stop_module(res, *module);
  res.reason = host_failure;
  if (!module_failure.empty()) res.reason += (res.reason.empty() ? "" : "; ") + module_failure;
  res.passed = res.reason.empty();
  return done();
}

bool runner::start_module(const run_spec& r, run_result& res,
                          std::unique_ptr<support::module_process>& module, json& ready) {
  std::vector<std::string> argv{
      self_,
      "--ready-json",
      "--scenario",
      fs::absolute(r.file).string(),
      "--seed",
      std::to_string(r.seed),
      "--transcript",
      res.transcript.string(),
      "--verdict-json",
      res.verdicts.string(),
      "--ftp-root",
      (res.dir / "ftp-root").string(),
      "--state-dir",
      (res.dir / "state").string(),
      "--link",
      (res.dir / "modem").string(),
      "--host",
      std::string(peer_name) + "=127.0.0.1:" + std::to_string(res.peer_port)};
  argv.insert(argv.end(), o_.module_args.begin(), o_.module_args.end());
  try {
    module = std::make_unique<support::module_process>(argv, res.module_log.string());
  } catch (const std::exception& e) {
    res.reason = e.what();
    return false;
  }
  std::string line;
  const auto started = module->wait_ready(steady::now() + module_start_limit, line, &interrupted);
  if (started == support::module_process::start_error::none) {
    ready = json::parse(line, nullptr, false);
    if (ready.is_object()) return true;
  }
  const int status = module->kill();
  res.module_exit = WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
  res.module_message = last_lines(read_file(res.module_log), 5);
  res.module_refused = res.module_exit == exit_code::usage;
  res.reason = "the module did not start: it " + support::describe_status(status) +
               (res.module_message.empty() ? std::string() : ": " + res.module_message);
  if (!res.reason.empty() && res.reason.back() == '\n') res.reason.pop_back();
  return false;
}

std::string runner::run_host(const run_spec& r, run_result& res, const json& ready,
                             steady::time_point start) {
  // The host, in a process group of its own so a timeout ends everything it started.
  support::spawn_setup hs;
  hs.stdout_file = res.host_output.string();
  hs.own_group = true;
  hs.search_path = true;
  pid_t host_pid = -1;
  try {
    host_pid = support::spawn(o_.host, environment(res, ready, r), hs);
  } catch (const std::exception& e) {
    return e.what();
  }
  const auto deadline = start + std::chrono::duration_cast<steady::duration>(
                                    std::chrono::duration<double>(o_.timeout));
  auto status = support::wait_until(host_pid, deadline, &interrupted);
  if (!status) {
    res.timed_out = !interrupted;
    ::kill(-host_pid, SIGKILL);
    status = support::reap(host_pid);
  }
  // Whatever the host left running in its group goes with it.
  ::kill(-host_pid, SIGKILL);
  if (WIFEXITED(*status)) res.host_exit = WEXITSTATUS(*status);
  if (WIFSIGNALED(*status)) res.host_signal = WTERMSIG(*status);
  if (res.timed_out) {
    return "the host did not finish within " + seconds_text(o_.timeout) + " s and was killed";
  }
  if (interrupted) return "the campaign was interrupted";
  if (res.host_exit != 0) return "the host " + support::describe_status(*status);
  return {};
}

std::string runner::stop_module(run_result& res, support::module_process& module) {
  const auto [status, in_time] = module.stop(module_stop_limit);
  if (!in_time) {
    return "the module did not exit within " + std::to_string(module_stop_limit.count()) +
           " s of SIGTERM";
  }
  if (WIFEXITED(status)) res.module_exit = WEXITSTATUS(status);
  if (res.module_exit == 0) return {};
  if (res.module_exit == exit_code::expectations) {
    // The module's verdict sheet (--verdict-json) says which scenario failed, and why.
    std::string verdicts;
    try {
      const json sheet = verdict_sheet::read(res.verdicts.string());
      for (const auto& v : sheet["scenarios"]) {
        if (v.value("held", true)) continue;
        std::string line = "scenario " + v.value("scenario", std::string()) + ": FAILED";
        for (const auto& f : v.value("failures", json::array())) {
          line += "; " + f.get<std::string>();
        }
        verdicts += (verdicts.empty() ? "" : "; ") + line;
      }
    } catch (const std::exception& e) {
      verdicts = e.what();
    }
    return "the scenario's expectations did not hold: " + verdicts;
  }
  std::string failure = "the module " + support::describe_status(status) + ": " +
                        last_lines(read_file(res.module_log), 3);
  while (!failure.empty() && failure.back() == '\n') failure.pop_back();
  return failure;
}

void runner::finished(std::size_t slot, const run_result& res) {
  std::lock_guard<std::mutex> lock(mutex_);
  results_[slot] = res;
  done_[slot] = true;
  ++finished_;
  busy_seconds_ += res.seconds;
  const std::size_t left = runs_.size() - finished_;
  const double eta = left == 0 ? 0
                               : busy_seconds_ / static_cast<double>(finished_) *
                                     static_cast<double>(left) /
                                     static_cast<double>(std::min<std::size_t>(o_.jobs, left));
  const int width = static_cast<int>(std::to_string(runs_.size()).size());
  std::ostringstream line;
  line << '[' << std::setw(width) << finished_ << '/' << runs_.size() << "] "
       << (res.passed ? "PASS " : "FAIL ") << runs_[slot].id << " (" << seconds_text(res.seconds)
       << " s)";
  if (left > 0) line << " \u2014 about " << std::lround(std::ceil(eta)) << " s left";
  if (!res.passed) line << "\n        " << res.reason;
  std::cout << line.str() << std::endl;
}

int runner::run() {
  self_ = support::own_executable();
  out_ = fs::absolute(o_.out).lexically_normal();
  std::error_code ec;
  fs::create_directories(out_, ec);
  if (ec) throw usage_error("--out " + o_.out + ": cannot make the folder: " + ec.message());
  {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    started_at_ = buf;
  }

  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  const auto start = steady::now();
  std::atomic<std::size_t> next{0};
  std::atomic<bool> refused{false};
  const auto worker = [&] {
    for (;;) {
      if (interrupted || refused) return;
      const std::size_t slot = next++;
      if (slot >= runs_.size()) return;
      run_result res = execute(runs_[slot]);
      if (res.module_refused) refused = true;
      finished(slot, res);
    }
  };
  std::vector<std::thread> workers;
  const unsigned count = std::min<unsigned>(o_.jobs, static_cast<unsigned>(runs_.size()));
  for (unsigned i = 0; i < count; ++i) workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  const double wall = std::chrono::duration<double>(steady::now() - start).count();

  if (refused) {
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      if (done_[i] && results_[i].module_refused) {
        std::cerr << "quecsim campaign: the module refused its command line (run " << runs_[i].id
                  << "): " << results_[i].module_message;
        return exit_code::usage;
      }
    }
  }
  summary(wall);
  if (!o_.junit.empty()) write_junit(wall);
  if (!o_.json_report.empty()) write_json(wall);
  if (interrupted) {
    std::cerr << "quecsim campaign: interrupted; " << finished_ << " of " << runs_.size()
              << " runs finished\n";
    return exit_code::failed;
  }
  return std::all_of(results_.begin(), results_.end(), [](const run_result& r) { return r.passed; })
             ? exit_code::ok
             : exit_code::failed;
}

void runner::summary(double wall) const {
  std::size_t name_width = 3;
  for (const auto& r : runs_) name_width = std::max(name_width, r.id.size());
  std::ostringstream t;
  t << '\n'
    << std::left << std::setw(8) << "verdict" << std::setw(static_cast<int>(name_width) + 2)
    << "run" << std::setw(12) << "seed" << std::right << std::setw(8) << "time"
    << "  reason\n";
  std::size_t passed = 0;
  std::size_t ran = 0;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!done_[i]) continue;
    ++ran;
    const auto& res = results_[i];
    if (res.passed) ++passed;
    t << std::left << std::setw(8) << (res.passed ? "PASS" : "FAIL")
      << std::setw(static_cast<int>(name_width) + 2) << runs_[i].id << std::setw(12)
      << runs_[i].seed << std::right << std::setw(6) << seconds_text(res.seconds) << " s"
      << (res.reason.empty() ? "" : "  " + res.reason) << '\n';
  }
  t << '\n'
    << ran << " run" << (ran == 1 ? "" : "s") << ": " << passed << " passed, " << ran - passed
    << " failed";
  if (!o_.shard.empty()) t << " (shard " << o_.shard << " of " << total_ << " runs)";
  t << " in " << seconds_text(wall) << " s; run folders in " << out_.string() << '\n';
  std::cout << t.str() << std::flush;
}

void runner::write_junit(double wall) const {
  std::size_t tests = 0;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!done_[i]) continue;
    ++tests;
    if (!results_[i].passed) ++failures;
  }
  const auto attr = [](const std::string& s) { return xml_text(s, true); };
  std::ostringstream x;
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"quecsim campaign\" tests=\"" << tests << "\" failures=\"" << failures
    << "\" errors=\"0\" time=\"" << std::fixed << std::setprecision(3) << wall << "\">\n";
  x << "  <testsuite name=\"quecsim campaign" << (o_.shard.empty() ? "" : " shard " + o_.shard)
    << "\" tests=\"" << tests << "\" failures=\"" << failures
    << "\" errors=\"0\" skipped=\"0\" time=\"" << wall << "\" timestamp=\"" << started_at_
    << "\" hostname=\"" << attr(host) << "\">\n";
  x << "    <properties>\n";
  std::string command;
  for (const auto& a : o_.host) command += (command.empty() ? "" : " ") + a;
  const auto property = [&](const std::string& name, const std::string& value) {
    x << "      <property name=\"" << attr(name) << "\" value=\"" << attr(value) << "\"/>\n";
  };
  property("host", command);
  property("shard", o_.shard.empty() ? "1/1" : o_.shard);
  property("repeat", std::to_string(o_.repeat));
  if (o_.seed) property("seed", std::to_string(*o_.seed));
  x << "    </properties>\n";
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!done_[i]) continue;
    const auto& r = runs_[i];
    const auto& res = results_[i];
    std::string name = r.name;
    if (o_.repeat > 1) name += " [repeat " + std::to_string(r.repeat) + "]";
    x << "    <testcase name=\"" << attr(name) << "\" classname=\"quecsim.campaign." << attr(r.name)
      << "\" time=\"" << std::setprecision(3) << res.seconds << "\">\n";
    const std::string output = read_file(res.host_output);
    if (!res.passed) {
      std::string text = res.reason + "\nrun folder: " + res.dir.string() +
                         "\ntranscript: " + res.transcript.string() +
                         "\nseed: " + std::to_string(r.seed) +
                         "\n\nlast lines of the transcript:\n" +
                         last_lines(read_file(res.transcript), tail_lines) +
                         "\nlast lines of the host's output:\n" + last_lines(output, tail_lines);
      x << "      <failure message=\"" << attr(res.reason) << "\" type=\""
        << (res.timed_out ? "timeout" : "failure") << "\">" << xml_text(text) << "</failure>\n";
    }
    const std::string kept =
        output.size() > output_limit ? output.substr(output.size() - output_limit) : output;
    x << "      <system-out>" << xml_text(kept) << "</system-out>\n";
    x << "    </testcase>\n";
  }
  x << "  </testsuite>\n</testsuites>\n";
  std::ofstream f(o_.junit, std::ios::binary);
  f << x.str();
  if (!f) std::cerr << "quecsim campaign: --junit " << o_.junit << ": cannot write the file\n";
}

void runner::write_json(double wall) const {
  json runs = json::array();
  std::size_t passed = 0;
  std::size_t ran = 0;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    if (!done_[i]) continue;
    const auto& r = runs_[i];
    const auto& res = results_[i];
    ++ran;
    if (res.passed) ++passed;
    const auto opt = [](const std::optional<int>& v) { return v ? json(*v) : json(); };
    runs.push_back({{"index", r.index + 1},
                    {"id", r.id},
                    {"scenario", r.name},
                    {"file", r.file},
                    {"repeat", r.repeat},
                    {"seed", r.seed},
                    {"verdict", res.passed ? "pass" : "fail"},
                    {"duration", std::round(res.seconds * 1000) / 1000},
                    {"reason", res.passed ? json() : json(res.reason)},
                    {"run_dir", res.dir.string()},
                    {"transcript", res.transcript.string()},
                    {"host_output", res.host_output.string()},
                    {"module_log", res.module_log.string()},
                    {"host_exit", opt(res.host_exit)},
                    {"host_signal", opt(res.host_signal)},
                    {"timed_out", res.timed_out},
                    {"module_exit", opt(res.module_exit)}});
  }
  json doc{{"campaign",
            {{"scenarios", o_.scenarios},
             {"host", o_.host},
             {"jobs", o_.jobs},
             {"shard", o_.shard.empty() ? json() : json(o_.shard)},
             {"repeat", o_.repeat},
             {"seed", o_.seed ? json(*o_.seed) : json()},
             {"timeout", o_.timeout},
             {"module_args", o_.module_args},
             {"out", out_.string()},
             {"started", started_at_ + "Z"},
             {"total_runs", total_}}},
           {"summary",
            {{"runs", ran},
             {"passed", passed},
             {"failed", ran - passed},
             {"time", std::round(wall * 1000) / 1000}}},
           {"runs", runs}};
  std::ofstream f(o_.json_report, std::ios::binary);
  f << doc.dump(2) << '\n';
  if (!f) std::cerr << "quecsim campaign: --json " << o_.json_report << ": cannot write the file\n";
}

// ---- the command line ------------------------------------------------------------------------

// Every pattern expanded, sorted and deduplicated; JSON Schema documents are left out.
std::vector<std::pair<std::string, fault::scenario>> collect(
    const std::vector<std::string>& patterns) {
  std::set<std::string> files;
  for (const auto& p : patterns) {
    glob_t g{};
    // A folder that is missing or unreadable just matches nothing, like in the shell.
    const int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc != 0) {
      ::globfree(&g);
      throw usage_error("--scenarios " + p + ": matches no file");
    }
    std::size_t scenarios = 0;
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      const std::string f = g.gl_pathv[i];
      if (fs::is_directory(f)) continue;
      // A scenario folder holds its JSON Schema beside the scenarios: it is not one of them.
      std::ifstream in(f);
      const json doc = json::parse(in, nullptr, false);
      if (doc.is_object() && doc.value("$schema", json()).is_string() &&
          doc["$schema"].get<std::string>().find("json-schema.org") != std::string::npos) {
        continue;
      }
      files.insert(f);
      ++scenarios;
    }
    ::globfree(&g);
    if (scenarios == 0) throw usage_error("--scenarios " + p + ": matches no scenario file");
  }
  std::vector<std::pair<std::string, fault::scenario>> out;
  for (const auto& f : files) {
    try {
      out.emplace_back(f, fault::load_scenario(f));
    } catch (const fault::scenario_error& e) {
      throw usage_error(std::string("--scenarios: ") + e.what());
    }
  }
  return out;
}

std::pair<unsigned, unsigned> parse_shard(const std::string& s) {
  const auto slash = s.find('/');
  const auto number = [&s](const std::string& part) {
    if (part.empty() || part.size() > 6 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw usage_error("--shard " + s + ": expected K/N, two whole numbers with 1 <= K <= N");
    }
    return static_cast<unsigned>(std::stoul(part));
  };
  if (slash == std::string::npos) number("");
  const unsigned k = number(s.substr(0, slash));
  const unsigned n = number(s.substr(slash + 1));
  if (n < 1 || k < 1 || k > n) {
    throw usage_error("--shard " + s + ": K must be from 1 to N (got K=" + std::to_string(k) +
                      ", N=" + std::to_string(n) + ")");
  }
  return {k, n};
}

constexpr const char* description =
    "Runs HOST COMMAND once per scenario (and repeat), each against a fresh quecsim with its own\n"
    "FTP root, storage and run folder. The host finds the module through QUECSIM_PTY,\n"
    "QUECSIM_CONTROL, QUECSIM_FTP_ROOT, QUECSIM_STATE_DIR, QUECSIM_SCENARIO, QUECSIM_SEED,\n"
    "QUECSIM_TRANSCRIPT, QUECSIM_RUN_DIR and QUECSIM_PEER (a TCP echo peer, also reached by the\n"
    "name in QUECSIM_PEER_NAME). A run passes when the host exits 0 and the\n"
    "scenario's expectations hold. Exit codes: 0 all passed, 1 a run failed, 2 bad usage.";

}  // namespace

int run(int argc, char** argv) {
  options o;
  std::vector<std::string> before{"quecsim campaign"};
  bool separator = false;
  for (int i = 2; i < argc; ++i) {
    if (!separator && std::string(argv[i]) == "--") {
      separator = true;
    } else if (separator) {
      o.host.emplace_back(argv[i]);
    } else {
      before.emplace_back(argv[i]);
    }
  }
  CLI::App app(description, "quecsim campaign");
  app.add_option("--scenarios", o.scenarios,
                 "Scenario files or glob patterns (quote them); expanded, sorted, deduplicated")
      ->required()
      ->expected(1, -1);
  app.add_option("--jobs", o.jobs, "Runs at once")->check(CLI::Range(1u, 256u));
  app.add_option("--shard", o.shard,
                 "Run only share K of N: the runs whose index (from 0, over the sorted files "
                 "times repeats) mod N is K-1");
  app.add_option("--repeat", o.repeat,
                 "Run each scenario N times (the seed goes up by one each time)")
      ->check(CLI::Range(1u, 100000u));
  std::uint64_t seed = 0;
  auto* seed_option = app.add_option(
      "--seed", seed, "Seed of the first repeat of every scenario (default: each scenario's own)");
  app.add_option("--timeout", o.timeout, "Seconds a run may take before its host is killed")
      ->check(CLI::Range(0.001, 86400.0));
  app.add_option("--junit", o.junit, "Write a JUnit XML report to FILE");
  app.add_option("--json", o.json_report, "Write a JSON report to FILE");
  app.add_option("--out", o.out, "Folder of the run folders (transcripts, logs, FTP roots)");
  std::string time_scale, model, baud, boot_delay;
  app.add_option("--time-scale", time_scale, "Passed to every module (see quecsim --help)");
  app.add_option("--model", model, "Passed to every module");
  app.add_option("--baud", baud, "Passed to every module");
  app.add_option("--boot-delay", boot_delay, "Passed to every module");
  std::vector<std::string> module_args;
  app.add_option("--module-arg", module_args,
                 "One more argument for every module, e.g. --module-arg=--latency "
                 "--module-arg=0 (repeatable, in order)");
  std::vector<char*> cargv;
  cargv.reserve(before.size());
  for (auto& a : before) cargv.push_back(a.data());
  try {
    app.parse(static_cast<int>(cargv.size()), cargv.data());
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help()
              << "\nUsage: quecsim campaign --scenarios PATTERN... [options] -- "
                 "HOST COMMAND...\n";
    return exit_code::ok;
  } catch (const CLI::ParseError& e) {
    std::cerr << "quecsim campaign: " << e.what() << '\n';
    return exit_code::usage;
  }
  if (seed_option->count() > 0) o.seed = seed;
  try {
    if (!separator || o.host.empty()) {
      throw usage_error(
          "missing the host command: put it after --, e.g. quecsim campaign --scenarios "
          "'scenarios/*.json' -- ./host.py");
    }
    for (const auto& [flag, value] :
         {std::pair<std::string, std::string>{"--time-scale", time_scale},
          {"--model", model},
          {"--baud", baud},
          {"--boot-delay", boot_delay}}) {
      if (!value.empty()) {
        o.module_args.push_back(flag);
        o.module_args.push_back(value);
      }
    }
    o.module_args.insert(o.module_args.end(), module_args.begin(), module_args.end());
    unsigned shard_k = 1;
    unsigned shard_n = 1;
    if (!o.shard.empty()) std::tie(shard_k, shard_n) = parse_shard(o.shard);
    const auto scenarios = collect(o.scenarios);
    if (app.count("--out") == 0) {
      // A plain run writes into the current folder: say so, as quecsim does for its folders.
      std::cerr << "quecsim campaign: run folders go to ./" << o.out
                << " (emptied run by run; --out DIR to choose)\n";
    }

    std::vector<run_spec> all;
    const int width = static_cast<int>(std::to_string(scenarios.size() * o.repeat).size());
    for (const auto& [file, s] : scenarios) {
      for (unsigned rep = 1; rep <= o.repeat; ++rep) {
        run_spec r;
        r.index = all.size();
        r.name = s.name;
        r.file = file;
        r.repeat = rep;
        r.seed = (o.seed ? *o.seed : s.seed.value_or(1)) + (rep - 1);
        std::ostringstream id;
        id << std::setw(std::max(width, 3)) << std::setfill('0') << r.index + 1 << '-' << s.name;
        if (o.repeat > 1) id << "-r" << rep;
        r.id = id.str();
        all.push_back(std::move(r));
      }
    }
    std::vector<run_spec> mine;
    for (auto& r : all) {
      if (r.index % shard_n == shard_k - 1) mine.push_back(r);
    }
    if (mine.empty()) {
      std::cout << "quecsim campaign: shard " << o.shard << " takes none of the " << all.size()
                << " runs\n";
    }
    const std::size_t total = all.size();
    runner c(std::move(o), std::move(mine), total);
    return c.run();
  } catch (const usage_error& e) {
    std::cerr << "quecsim campaign: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim campaign: " << e.what() << '\n';
    return exit_code::failed;
  }
}

}  // namespace quecsim::sim::campaign
