// quecsim replay: a transcript's host side played against a fresh module.
//
//   transcript ──▶ config record ──▶ quecsim (child, same flags) ◀──pty── host side (this thread)
//                  ftp_tx/ftp_rx ──▶ replay_server (io thread) ◀──TCP── the child's FTP client
//                  socket tx/rx  ──▶ socket_peer   (io thread) ◀──TCP── the child's sockets
//
// The host side walks the records in order: an rx record is sent once every tx record before
// it has been matched and at least the recorded time since the previous such point has passed
// (guard times, timeouts and boot delays depend on it; --speed N divides that time and the
// module's clock alike); a tx record is matched byte for byte
// against what the module sends; a live fault is applied through the child's control socket.

#include "replay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <strings.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "quecsim/core/transcript.hpp"
#include "quecsim/core/unique_fd.hpp"
#include "replay_server.hpp"
#include "support/control_client.hpp"
#include "support/exit_codes.hpp"
#include "support/process.hpp"
#include "support/transcript_reader.hpp"

namespace quecsim::sim::replay {

using support::escape_bytes;
using support::latin1_from_utf8;
using support::transcript_error;
using support::transcript_reader;
using support::transcript_record;

namespace {

using nlohmann::json;
using steady = std::chrono::steady_clock;
namespace exit_code = support::exit_code;

// The transcript cannot be replayed (not a divergence): exit 3 with the reason.
struct unreplayable : std::runtime_error {
  using runtime_error::runtime_error;
};
// The module to replay against could not be started: exit 4.
struct start_failure : std::runtime_error {
  using runtime_error::runtime_error;
};

std::string quoted(const std::string& bytes) {
  return "\"" + escape_bytes(bytes) + "\"";
}

double seconds(steady::duration d) {
  return std::chrono::duration<double>(d).count();
}

// ---- the transcript as replay needs it ----------------------------------------------------

struct loaded {
  json config;
  double config_t = 0;                     // when the module recorded its configuration
  std::vector<transcript_record> records;  // everything after the config record
};

// Every record of the transcript, and the modules it holds in the order their configuration
// records come (one for a single module; with --modules N, one per module).
struct transcript_file {
  std::vector<transcript_record> records;
  std::vector<int> modules;
};

transcript_file read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw transcript_error("cannot read " + path);
  transcript_reader reader(in, path);
  transcript_file f;
  transcript_record r;
  while (reader.next(r)) {
    if (r.event == "info" && r.source == "config" &&
        std::find(f.modules.begin(), f.modules.end(), r.module) == f.modules.end()) {
      f.modules.push_back(r.module);
    }
    f.records.push_back(std::move(r));
  }
  if (f.records.empty()) throw unreplayable(path + ": empty: nothing to replay");
  const auto& first = f.records.front();
  if (first.event != "info" || first.source != "config") {
    throw unreplayable(path +
                       ":1: no config record (the transcript was written by a quecsim "
                       "that did not record its configuration, or is not one)");
  }
  return f;
}

// Module `module`'s part of the transcript: its configuration and its records.
loaded select(const std::string& path, const transcript_file& f, int module) {
  loaded l;
  auto it = std::find_if(f.records.begin(), f.records.end(), [module](const auto& r) {
    return r.module == module && r.event == "info" && r.source == "config";
  });
  if (it == f.records.end()) {
    throw unreplayable(path + ": no config record of module " + std::to_string(module));
  }
  const auto config_line = path + ":" + std::to_string(it->line);
  l.config = json::parse(it->data, nullptr, false);
  l.config_t = it->t;
  if (l.config.is_discarded() || !l.config.is_object()) {
    throw transcript_error(config_line + ": the config record's data is not a JSON object");
  }
  // The storage the module started with: paths inside the state folder, every file's bytes.
  if (l.config.contains("storage")) {
    const auto& storage = l.config["storage"];
    if (!storage.is_array()) throw transcript_error(config_line + ": \"storage\" is not an array");
    for (const auto& f : storage) {
      const auto text = [&f](const char* key) {
        return f.is_object() && f.contains(key) && f[key].is_string();
      };
      const auto p = text("path") ? f["path"].get<std::string>() : std::string();
      const std::filesystem::path rel(p);
      bool inside = !p.empty() && rel.is_relative();
      for (const auto& part : rel) inside = inside && part != "..";
      if (!inside ||
          (!text("link") && !(f.contains("data") && (text("data") || f["data"].is_null())))) {
        throw transcript_error(path +
                               ":1: a storage entry that is not a file inside the state "
                               "folder: " +
                               f.dump());
      }
      if (!text("link") && !text("data")) {
        throw unreplayable(config_line + ": the storage file " + p + " (" +
                           f.value("size", json(0)).dump() +
                           " bytes) was not recorded: the module started with more than the "
                           "transcript keeps");
      }
    }
  }
  // Scenarios loaded and unloaded through the control socket: each "scenario loaded" beyond
  // the command line's is followed by the control record holding its JSON (a quecsim before
  // those records wrote only the first).
  std::size_t loads = 0, unloads = 0;
  std::size_t control_loads = 0, control_unloads = 0;
  std::optional<std::string> first_load, first_unload;
  const std::size_t scenarios_given =
      l.config.contains("scenarios") ? l.config["scenarios"].size() : 0;
  for (auto rec = std::next(it); rec != f.records.end(); ++rec) {
    const auto& r = *rec;
    if (r.module != module) continue;
    const auto where = path + ":" + std::to_string(r.line) + ": ";
    if (r.event == "info" && r.source == "fault") {
      if (r.data.rfind("scenario loaded: ", 0) == 0 && ++loads > scenarios_given &&
          loads - scenarios_given > control_loads && !first_load) {
        first_load = where + "a scenario loaded through the control socket (" + r.data +
                     "): its JSON is not in the transcript";
      }
      if (r.data.rfind("scenario unloaded: ", 0) == 0 && ++unloads > control_unloads &&
          !first_unload) {
        first_unload = where + "a scenario unloaded through the control socket (" + r.data +
                       ") without its request recorded";
      }
    }
    if (r.event == "info" && r.source == "control") {
      const auto request = json::parse(r.data, nullptr, false);
      const auto op = request.is_object() ? request.value("op", "") : "";
      if (op == "load" && request.contains("scenario") && request["scenario"].is_object()) {
        ++control_loads;
        if (first_load && loads - scenarios_given <= control_loads) first_load.reset();
      } else if (op == "unload" && request.contains("name")) {
        ++control_unloads;
        if (first_unload && unloads <= control_unloads) first_unload.reset();
      } else {
        throw transcript_error(where + "a control record that is not a load or an unload");
      }
    }
    if (r.event == "fault") {
      const auto f = json::parse(r.data, nullptr, false);
      if (f.is_object() && f.value("event", "") == "live" && !f.contains("params")) {
        throw unreplayable(where +
                           "a fault applied through the control socket without its "
                           "action recorded (a transcript of an older quecsim)");
      }
    }
    l.records.push_back(r);
  }
  if (first_load) throw unreplayable(*first_load);
  if (first_unload) throw unreplayable(*first_unload);
  return l;
}

// The recorded FTP conversation, and the bytes of each download the transcript kept: the
// module's data-mode output for a transfer to the UART, its "stored" records for one into its
// storage (zeros for what neither kept: a transcript of an older quecsim).
void build_ftp_script(const std::vector<transcript_record>& records, std::vector<ftp_step>& steps,
                      std::map<std::size_t, std::string>& downloads) {
  std::optional<std::size_t> download;  // step index of the running download command
  std::uint64_t down_bytes = 0;
  std::string span_tx;
  std::string stored;
  bool in_data_mode = false, span_seen = false, collecting = false;
  auto finish = [&] {
    if (!download) return;
    // The data follows the CONNECT result (verbose or numeric); what the module did not pass
    // on (a transfer to its storage, or cut short) is zeros.
    std::string content = span_tx;
    if (content.rfind("\r\nCONNECT\r\n", 0) == 0) {
      content.erase(0, 11);
    } else if (content.rfind("1\r", 0) == 0) {
      content.erase(0, 2);
    }
    if (!span_seen) content = stored;
    content.resize(down_bytes, '\0');
    downloads[*download] = std::move(content);
    download.reset();
  };
  for (const auto& r : records) {
    if (r.event == "ftp_tx") {
      finish();
      steps.push_back({ftp_step::command, r.data, r.line, r.t});
      std::string verb;
      for (const char c : r.data) {
        if (c == ' ') break;
        verb.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      }
      if (verb == "RETR" || verb == "LIST" || verb == "NLST" || verb == "MLSD") {
        download = steps.size() - 1;
        down_bytes = 0;
        span_tx.clear();
        stored.clear();
        span_seen = collecting = false;
      }
    } else if (r.event == "ftp_rx") {
      steps.push_back({ftp_step::reply, r.data, r.line, r.t});
    } else if (r.event == "info" && r.source == "net" && r.data.rfind("connect ", 0) == 0 &&
               r.data.find(" -> ") != std::string::npos) {
      finish();
      steps.push_back({ftp_step::open, r.data, r.line, r.t});
    } else if (r.event == "info" && r.source == "net" && r.data.rfind("connect to ", 0) == 0 &&
               r.data.find(" failed") != std::string::npos && !steps.empty() &&
               steps.back().what == ftp_step::open) {
      steps.pop_back();  // the connect was refused: no conversation follows
    } else if (r.event == "info" && r.source == "ftp" &&
               r.data.rfind("control connection: ", 0) == 0) {
      steps.push_back({ftp_step::closed, r.data, r.line, r.t});
    } else if (r.event == "data" && download && r.data.rfind("down ", 0) == 0) {
      down_bytes += std::stoull(r.data.substr(5));
    } else if (r.event == "info" && r.source == "stored" && download) {
      stored += r.data;  // a download into the module's storage: its bytes
    } else if (r.event == "state" && r.source == "uart") {
      if (r.data == "data" && download && !span_seen) {
        in_data_mode = true;
        collecting = true;
        span_seen = true;
      } else if (r.data == "command") {
        in_data_mode = false;  // what was on its way still follows, before the host speaks
      }
    } else if (r.event == "state" && r.source == "module") {
      // A restart or power-down ends data mode too; the data on its way still follows.
      in_data_mode = false;
    } else if (r.event == "rx" && !in_data_mode) {
      collecting = false;  // the host speaks again: the data is all out
    } else if (r.event == "tx" && collecting && download) {
      span_tx += r.data;
    }
  }
  finish();
}

// Host names the module reached a server under ("connect NAME:PORT -> ADDR:PORT"): those go
// to the recorded server; names it failed to reach keep the original flags, and fail again.
std::vector<std::string> connected_hosts(const std::vector<transcript_record>& records) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (r.event != "info" || r.source != "net" || r.data.rfind("connect ", 0) != 0) continue;
    // "connect to ADDR failed: ..." right after it: the name led nowhere.
    bool failed = false;
    for (std::size_t j = i + 1; j < records.size(); ++j) {
      const auto& n = records[j];
      if (n.event != "info" || n.source != "net") continue;
      failed = n.data.rfind("connect to ", 0) == 0 && n.data.find(" failed") != std::string::npos;
      break;
    }
    if (failed) continue;
    const auto arrow = r.data.find(" -> ");
    if (arrow == std::string::npos) continue;
    const auto colon = r.data.rfind(':', arrow);
    if (colon == std::string::npos || colon < 8) continue;
    std::string name = r.data.substr(8, colon - 8);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// The recorded TCP connections of the socket service ("socket" info records: "<i> open TCP
// HOST:PORT", "<i> tx BYTES", "<i> rx BYTES"; "tcpip" states: "<i> connected", "<i> closed by
// peer" ...), in the order they connected. UDP and connects that failed are left out: they
// meet the original addresses again.
std::vector<socket_script> build_socket_scripts(const std::vector<transcript_record>& records) {
  std::vector<socket_script> scripts;
  std::map<int, socket_script> opening;  // by socket index, until connected
  std::map<int, std::size_t> live;       // socket index -> its script
  const auto index_of = [](const std::string& text, std::string& rest) {
    const auto space = text.find(' ');
    if (space == std::string::npos || space == 0 || space > 2) return -1;
    rest = text.substr(space + 1);
    return static_cast<int>(std::strtol(text.substr(0, space).c_str(), nullptr, 10));
  };
  for (const auto& r : records) {
    std::string rest;
    if (r.event == "info" && r.source == "socket") {
      const int i = index_of(r.data, rest);
      if (i < 0) continue;
      if (rest.rfind("open TCP ", 0) == 0) {
        const auto target = rest.substr(9);
        socket_script sc;
        sc.host = target.substr(0, target.rfind(':'));
        sc.t = r.t;
        opening[i] = std::move(sc);
        live.erase(i);
      } else if (rest.rfind("peer ", 0) == 0 && opening.count(i) != 0) {
        const auto colon = rest.rfind(':');
        opening[i].peer_port =
            static_cast<std::uint16_t>(std::strtoul(rest.substr(colon + 1).c_str(), nullptr, 10));
      } else if (rest.rfind("open ", 0) == 0) {
        opening.erase(i);
        live.erase(i);
      } else if (live.count(i) != 0 && rest.size() >= 3 &&
                 (rest.rfind("tx ", 0) == 0 || rest.rfind("rx ", 0) == 0)) {
        std::string bytes = rest.substr(3);  // the reader made the record's text bytes again
        auto& steps = scripts[live[i]].steps;
        const auto what = rest[0] == 't' ? socket_step::from_module : socket_step::from_peer;
        if (what == socket_step::from_module && !steps.empty() && steps.back().what == what) {
          steps.back().bytes += bytes;  // one expectation for what the module sent in a row
        } else {
          steps.push_back({what, std::move(bytes), r.t});
        }
      }
    } else if (r.event == "state" && r.source == "tcpip") {
      const int i = index_of(r.data, rest);
      if (i < 0) continue;
      if (rest == "connected" && opening.count(i) != 0) {
        scripts.push_back(std::move(opening[i]));
        scripts.back().t = r.t;
        opening.erase(i);
        live[i] = scripts.size() - 1;
      } else if (rest == "closed by peer" && live.count(i) != 0) {
        scripts[live[i]].steps.push_back({socket_step::peer_close, {}, r.t});
        live.erase(i);
      } else if (rest != "connected") {
        opening.erase(i);
        live.erase(i);
      }
    }
  }
  return scripts;
}

// ---- the module under replay --------------------------------------------------------------

class child_module {
 public:
  child_module(const std::vector<std::string>& argv, const std::filesystem::path& dir) try
      : process_(argv, (dir / "stderr").string()) {
  } catch (const std::exception& e) {
    throw start_failure(e.what());
  }
  child_module(const child_module&) = delete;
  child_module& operator=(const child_module&) = delete;
  ~child_module() = default;

  json ready(double timeout) {
    std::string line;
    const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(
                                              std::chrono::duration<double>(timeout));
    switch (process_.wait_ready(deadline, line)) {
      case support::module_process::start_error::timed_out:
        throw start_failure("quecsim gave no ready line within " + std::to_string(timeout) +
                            " s; its stderr: " + stderr_text());
      case support::module_process::start_error::ended:
        throw start_failure("quecsim ended before it was ready: " + stderr_text());
      default:
        break;
    }
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object()) throw start_failure("quecsim's ready line is not JSON: " + line);
    return j;
  }

  void open(const std::string& path) {
    pty_.reset(::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!pty_) throw start_failure("cannot open " + path + ": " + strerror(errno));
    termios t{};
    ::tcgetattr(pty_.get(), &t);
    ::cfmakeraw(&t);
    ::tcsetattr(pty_.get(), TCSANOW, &t);
  }
  bool is_open() const { return static_cast<bool>(pty_); }

  // Appends what the module sent within `wait` to `into`; false once the module is gone.
  bool read(std::string& into, steady::duration wait) {
    if (!pty_) {
      std::this_thread::sleep_for(wait);
      return true;
    }
    pollfd p{pty_.get(), POLLIN, 0};
    const int ms = std::max(0, static_cast<int>(seconds(wait) * 1000));
    if (::poll(&p, 1, ms) <= 0) return true;
    char buf[65536];
    const auto n = ::read(pty_.get(), buf, sizeof buf);
    if (n > 0) {
      // Masked as the transcript masked the module's bytes, so a password (or anything that
      // looks like one) compares as the stars it was recorded as.
      std::string bytes(buf, static_cast<std::size_t>(n));
      masker_.mask(bytes);
      into += bytes;
      return true;
    }
    return n < 0 && errno == EAGAIN;
  }

  void write(const std::string& bytes, std::string& received) {
    std::size_t done = 0;
    const auto deadline = steady::now() + std::chrono::seconds(10);
    while (done < bytes.size()) {
      const auto n = ::write(pty_.get(), bytes.data() + done, bytes.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN)
        throw start_failure("writing to the pty: " + std::string(strerror(errno)));
      if (steady::now() > deadline) throw start_failure("the module stopped taking bytes");
      // Read meanwhile: a module that paces its output may wait for us to read.
      read(received, std::chrono::milliseconds(5));
    }
  }

  std::string exit_description() {
    if (const auto status = process_.poll_exit()) {
      return WIFEXITED(*status) ? "exited with code " + std::to_string(WEXITSTATUS(*status))
                                : "was killed by signal " + std::to_string(WTERMSIG(*status));
    }
    return "stopped answering";
  }

  std::string stderr_text() const { return process_.stderr_text(); }

 private:
  support::module_process process_;
  unique_fd pty_;
  secret_masker masker_;
};

// One request on the child's control socket, its reply.
json control_request(const std::string& path, const json& request) {
  try {
    support::control_client c(path);
    return c.request(request);
  } catch (const support::control_error&) {
    throw start_failure("cannot reach the module's control socket " + path);
  }
}

// ---- the replay ---------------------------------------------------------------------------

struct settings {
  std::string transcript;
  double timeout = 5.0;
  std::string own_transcript;
  std::optional<int> module;  // --module: that module of a fleet's transcript only
  // --speed: the recorded time played this many times faster (the module's clock and the
  // host's gaps alike, so every timer keeps its place among the host's writes).
  double speed = 1.0;
};

// Puts back the files the recorded module started with (checked by load()).
void restore_storage(const json& c, const std::filesystem::path& state) {
  if (!c.contains("storage")) return;
  for (const auto& f : c["storage"]) {
    const auto file = state / f["path"].get<std::string>();
    std::filesystem::create_directories(file.parent_path());
    if (f.contains("link")) {
      std::filesystem::create_symlink(f["link"].get<std::string>(), file);
      continue;
    }
    std::string bytes;
    if (!latin1_from_utf8(f["data"].get<std::string>(), bytes)) {
      throw transcript_error("the storage file " + f["path"].get<std::string>() +
                             " holds characters beyond U+00FF");
    }
    std::ofstream(file, std::ios::binary) << bytes;
  }
}

std::vector<std::string> module_argv(const json& c, const std::filesystem::path& dir,
                                     const std::optional<std::uint16_t>& ftp_port,
                                     const std::vector<std::string>& hosts, const settings& s,
                                     const std::vector<std::string>& socket_hosts = {},
                                     std::uint16_t socket_port = 0) {
  std::vector<std::string> a{support::own_executable(),
                             "--ready-json",
                             "--control",
                             (dir / "ctl").string(),
                             "--ftp-root",
                             (dir / "ftp").string(),
                             "--state-dir",
                             (dir / "state").string()};
  const auto str = [&](const char* key) { return c.value(key, json()).dump(); };
  if (!s.own_transcript.empty()) a.insert(a.end(), {"--transcript", s.own_transcript});
  std::string model = c.value("model", "M95");
  if (c.contains("model_profile") && c["model_profile"].is_object()) {
    const auto file = dir / "profile.json";
    std::ofstream(file) << c["model_profile"].dump();
    model = file.string();
  }
  a.insert(a.end(), {"--model", model, "--baud", str("baud"), "--time-scale",
                     json(c.value("time_scale", 1.0) / s.speed).dump(), "--latency",
                     str("latency_ms"), "--bandwidth", str("bandwidth"), "--seed", str("seed")});
  if (!c.value("imei", "").empty()) a.insert(a.end(), {"--imei", c.value("imei", "")});
  if (c.value("autobaud", false)) a.emplace_back("--autobaud");
  if (!c.value("power_up_lines", true)) a.emplace_back("--no-power-up-lines");
  if (c.value("power_up_at_start", false)) a.emplace_back("--power-up-at-start");
  // A transcript without the key was recorded before the default start answered at once: its
  // module booted as --realistic-boot does now.
  if (c.value("realistic_boot", true)) a.emplace_back("--realistic-boot");
  if (c.contains("boot_delay_ms") && c["boot_delay_ms"].is_number()) {
    a.insert(a.end(), {"--boot-delay", str("boot_delay_ms")});
  }
  std::size_t n = 0;
  for (const auto& sc : c.value("scenarios", json::array())) {
    const auto file = dir / ("scenario-" + std::to_string(n++) + ".json");
    std::ofstream(file) << sc.dump();
    a.insert(a.end(), {"--scenario", file.string()});
  }
  const bool embedded = c.value("embedded_ftp", true);
  if (!embedded) a.emplace_back("--no-embedded-ftp");
  const std::string resolve = c.value("resolve", "");
  std::vector<std::string> host_flags = c.value("hosts", std::vector<std::string>{});
  if (ftp_port) {
    // Every name the module reached goes to the recorded server instead; the others keep
    // their --host entries and, in map mode, fail as they did.
    std::vector<std::string> flags;
    for (const auto& h : host_flags) {
      const auto name = h.substr(0, h.find('='));
      if (std::none_of(hosts.begin(), hosts.end(), [&](const std::string& n) {
            return strcasecmp(n.c_str(), name.c_str()) == 0;
          })) {
        flags.push_back(h);
      }
    }
    for (const auto& name : hosts) {
      flags.push_back(name + "=127.0.0.1:" + std::to_string(*ftp_port));
    }
    host_flags = flags;
    a.insert(a.end(), {"--resolve", "map"});
  } else if (!resolve.empty()) {
    a.insert(a.end(), {"--resolve", resolve});
  }
  if (socket_port != 0) {
    // The hosts the sockets reached go to the recorded peers instead (an address too: the
    // host map is asked before an address is taken as it is).
    std::vector<std::string> flags;
    for (const auto& h : host_flags) {
      const auto name = h.substr(0, h.find('='));
      if (std::none_of(socket_hosts.begin(), socket_hosts.end(), [&](const std::string& n) {
            return strcasecmp(n.c_str(), name.c_str()) == 0;
          })) {
        flags.push_back(h);
      }
    }
    for (const auto& name : socket_hosts) {
      flags.push_back(name + "=127.0.0.1:" + std::to_string(socket_port));
    }
    host_flags = flags;
  }
  for (const auto& h : host_flags) a.insert(a.end(), {"--host", h});
  return a;
}

// Replays one module; `label` names it in the summary line.
// The host side of one module's replay: walks the records, writes what the host wrote when it
// wrote it, matches what the module sends, and makes the control requests again.
class host_player {
 public:
  host_player(const settings& s, const loaded& l, child_module& module, std::string pty,
              std::string control)
      : s_(s),
        module_(module),
        pty_(std::move(pty)),
        control_(std::move(control)),
        // The module is ready a little after it recorded its configuration: counting from
        // there sends nothing earlier, in the module's time, than the host did.
        synced_at_(steady::now()),
        synced_t_(l.config_t) {}

  // The records in order; exit_code::ok when every one was reproduced.
  int play(const std::vector<transcript_record>& records) {
    for (const auto& r : records) {
      const bool host_side =
          r.event == "rx" || r.event == "tx" ||
          (r.event == "state" && r.source == "module" && r.data == "booting" && !module_.is_open());
      json fault;
      json request;  // a control client's load or unload, sent again
      if (r.event == "fault") {
        fault = json::parse(r.data, nullptr, false);
        if (!fault.is_object() || fault.value("event", "") != "live") continue;
      } else if (r.event == "info" && r.source == "control") {
        request = json::parse(r.data);
        if (request["op"] == "load") request = {{"op", "load"}, {"scenario", request["scenario"]}};
      } else if (!host_side) {
        continue;
      }
      // Not before the recorded time since the previous point both runs agree on.
      const auto not_before =
          synced_at_ + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(
                           std::max(0.0, r.t - synced_t_) / s_.speed));
      const int code = r.event == "tx" ? match(r, not_before) : act(r, not_before, fault, request);
      if (code != exit_code::ok) return code;
      synced_at_ = steady::now();
      synced_t_ = r.t;
    }
    return exit_code::ok;
  }

  // "N module writes (B bytes) matched byte for byte after M host writes[; ...]".
  void summary(std::ostream& out) const {
    out << tx_records_ << " module writes (" << tx_bytes_ << " bytes) matched byte for byte after "
        << rx_records_ << " host writes";
    if (faults_applied_ > 0) out << "; " << faults_applied_ << " live faults applied again";
    if (requests_made_ > 0) {
      out << "; " << requests_made_ << " scenario loads and unloads made again";
    }
  }

 private:
  // A tx record: the module's next bytes must be the recorded ones, within the timeout.
  int match(const transcript_record& r, steady::time_point not_before) {
    const std::size_t start = expected_end_;
    const auto deadline = not_before + std::chrono::duration_cast<steady::duration>(
                                           std::chrono::duration<double>(s_.timeout));
    while (true) {
      const std::size_t have = std::min(received_.size() - start, r.data.size());
      if (received_.compare(start, have, r.data, 0, have) != 0) {
        std::size_t at = 0;
        while (received_[start + at] == r.data[at]) ++at;
        return diverged(r, start, "byte " + std::to_string(at) + " of the record differs");
      }
      if (have == r.data.size()) break;
      const auto left = deadline - steady::now();
      if (left <= steady::duration::zero()) {
        return diverged(r, start,
                        "the module sent " + std::to_string(have) + " of " +
                            std::to_string(r.data.size()) + " bytes within " +
                            std::to_string(s_.timeout) + " s");
      }
      if (!module_.read(received_,
                        std::min<steady::duration>(left, std::chrono::milliseconds(50)))) {
        return diverged(r, start, "the module " + module_.exit_description());
      }
    }
    expected_end_ += r.data.size();
    ++tx_records_;
    tx_bytes_ += r.data.size();
    return exit_code::ok;
  }

  // Anything else: at its time, the host's write, its first open, or a control request.
  int act(const transcript_record& r, steady::time_point not_before, const json& fault,
          const json& request) {
    while (steady::now() < not_before) {
      module_.read(received_, std::min<steady::duration>(not_before - steady::now(),
                                                         std::chrono::milliseconds(50)));
    }
    if (r.event == "rx") {
      if (!module_.is_open()) module_.open(pty_);
      module_.write(r.data, received_);
      ++rx_records_;
      return exit_code::ok;
    }
    if (r.event == "state") {
      module_.open(pty_);  // the host's first open powers the module up
      return exit_code::ok;
    }
    if (!request.is_null()) {
      const json reply = control_request(control_, request);
      if (!reply.value("ok", false)) {
        std::cout << "quecsim replay: " << s_.transcript << ":" << r.line
                  << ": divergence: the control socket's " << request["op"].get<std::string>()
                  << " could not be made again: " << reply.value("error", std::string("?")) << '\n';
        return exit_code::diverged;
      }
      ++requests_made_;
      return exit_code::ok;
    }
    json action = fault.value("params", json::object());
    if (!action.contains("action")) action["action"] = fault.value("action", "");
    const json reply = control_request(control_, {{"op", "apply"}, {"action", action}});
    if (!reply.value("ok", false)) {
      std::cout << "quecsim replay: " << s_.transcript << ":" << r.line
                << ": divergence: the live fault could not be applied again: "
                << reply.value("error", std::string("?")) << '\n';
      return exit_code::diverged;
    }
    ++faults_applied_;
    return exit_code::ok;
  }

  int diverged(const transcript_record& r, std::size_t start, const std::string& why) const {
    const std::string actual =
        received_.size() > start ? received_.substr(start, r.data.size() + 64) : std::string();
    std::cout << "quecsim replay: " << s_.transcript << ":" << r.line << ": divergence (tx, t "
              << r.t << " s): " << why << "\n  expected: " << quoted(r.data)
              << "\n  actual:   " << quoted(actual) << '\n';
    return exit_code::diverged;
  }

  const settings& s_;
  child_module& module_;
  std::string pty_;
  std::string control_;
  std::string received_;          // the module's answers, concatenated
  std::size_t expected_end_ = 0;  // bytes of tx matched so far
  steady::time_point synced_at_;
  double synced_t_;
  std::size_t tx_records_ = 0, rx_records_ = 0, faults_applied_ = 0, requests_made_ = 0;
  std::uint64_t tx_bytes_ = 0;
};

// A temporary folder, removed with everything in it when dropped.
struct temporary_folder {
  temporary_folder() {
    char tmpl[] = "/tmp/quecsim-replay-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw start_failure("cannot make a temporary folder");
    path = tmpl;
  }
  ~temporary_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temporary_folder(const temporary_folder&) = delete;
  temporary_folder& operator=(const temporary_folder&) = delete;
  std::filesystem::path path;
};

// The recorded FTP server, played back on an io_context of its own thread.
class server_thread {
 public:
  server_thread(std::vector<ftp_step> steps, std::map<std::size_t, std::string> downloads,
                std::vector<socket_script> scripts = {}, double speed = 1)
      : steps_(steps.size()), connections_(scripts.size()) {
    if (!steps.empty()) {
      server_.emplace(io_, std::move(steps), std::move(downloads));
      port_ = server_->start();
    }
    if (!scripts.empty()) {
      peer_.emplace(io_, std::move(scripts), speed);
      peer_port_ = peer_->start();
    }
    thread_ = std::thread([this] {
      auto work = boost::asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~server_thread() { stop(); }
  server_thread(const server_thread&) = delete;
  server_thread& operator=(const server_thread&) = delete;

  void stop() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::optional<std::uint16_t> port() const { return port_; }
  const replay_server* server() const { return server_ ? &*server_ : nullptr; }
  std::size_t steps() const { return steps_; }
  /// The socket peers' port (0: no connection to play back), and their player.
  std::uint16_t peer_port() const { return peer_port_; }
  const socket_peer* peer() const { return peer_ ? &*peer_ : nullptr; }
  std::size_t connections() const { return connections_; }

 private:
  boost::asio::io_context io_;
  std::optional<replay_server> server_;
  std::optional<socket_peer> peer_;
  std::optional<std::uint16_t> port_;
  std::uint16_t peer_port_ = 0;
  std::size_t steps_;
  std::size_t connections_;
  std::thread thread_;
};

int replay_module(const settings& s, const loaded& l, const std::string& label) {
  const auto& records = l.records;
  std::vector<ftp_step> steps;
  std::map<std::size_t, std::string> downloads;
  build_ftp_script(records, steps, downloads);
  auto scripts = build_socket_scripts(records);
  std::vector<std::string> socket_hosts;
  for (const auto& sc : scripts) {
    if (std::find(socket_hosts.begin(), socket_hosts.end(), sc.host) == socket_hosts.end()) {
      socket_hosts.push_back(sc.host);
    }
  }
  const temporary_folder dir;
  server_thread ftp(std::move(steps), std::move(downloads), std::move(scripts), s.speed);

  restore_storage(l.config, dir.path / "state");
  child_module module(module_argv(l.config, dir.path, ftp.port(), connected_hosts(records), s,
                                  socket_hosts, ftp.peer_port()),
                      dir.path);
  const json ready = module.ready(s.timeout * 2);
  const std::string pty = ready.value("pty", "");
  if (l.config.value("power_up_at_start", false)) module.open(pty);

  host_player host(s, l, module, pty, ready.value("control", ""));
  if (const int code = host.play(records); code != exit_code::ok) return code;
  std::cout << "quecsim replay: " << label << ": reproduced: " << records.size() + 1
            << " records; ";
  host.summary(std::cout);
  if (ftp.server() != nullptr) {
    std::cout << "; FTP server played back (" << ftp.steps() << " control steps)";
  }
  if (ftp.peer() != nullptr) {
    std::cout << "; socket peer played back (" << ftp.connections() << " connection"
              << (ftp.connections() == 1 ? "" : "s") << ")";
  }
  if (s.speed != 1.0) std::cout << "; played " << s.speed << " times faster than recorded";
  std::cout << '\n';
  ftp.stop();
  // The module's FTP commands are not what the host sees, but a change in them is worth
  // knowing: the host's bytes matched though the module spoke differently to the server.
  if (ftp.server() != nullptr) {
    for (const auto& m : ftp.server()->mismatches()) {
      std::cout << "quecsim replay: note: an FTP command differed at " << m << '\n';
    }
  }
  if (ftp.peer() != nullptr) {
    for (const auto& m : ftp.peer()->mismatches()) {
      std::cout << "quecsim replay: note: a socket differed: " << m << '\n';
    }
  }
  return exit_code::ok;
}

// Every module of the transcript in turn (or the one asked for), each against a fresh
// module; the first divergence ends the replay.
int replay(const settings& s) {
  const auto f = read_all(s.transcript);
  std::vector<int> modules = f.modules;
  if (s.module) {
    if (std::find(modules.begin(), modules.end(), *s.module) == modules.end()) {
      throw unreplayable(s.transcript + ": no module " + std::to_string(*s.module) +
                         " in the transcript");
    }
    modules = {*s.module};
  }
  // Every record must belong to a module replay can rebuild.
  for (const auto& r : f.records) {
    if (std::find(f.modules.begin(), f.modules.end(), r.module) == f.modules.end()) {
      throw unreplayable(s.transcript + ":" + std::to_string(r.line) + ": a record of module " +
                         std::to_string(r.module) + ", which has no config record");
    }
  }
  // Each module's part is checked before any is replayed.
  std::vector<loaded> parts;
  for (const int m : modules) parts.push_back(select(s.transcript, f, m));
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto label = f.modules.size() == 1
                           ? s.transcript
                           : s.transcript + ": module " + std::to_string(modules[i]);
    settings one = s;
    // Each module's replay writes a transcript of its own.
    if (f.modules.size() > 1 && !s.own_transcript.empty()) {
      one.own_transcript += "." + std::to_string(modules[i]);
    }
    const int code = replay_module(one, parts[i], label);
    if (code != exit_code::ok) return code;
  }
  return exit_code::ok;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"quecsim replay: a transcript's host side played against a fresh module",
               "quecsim replay"};
  settings s;
  app.add_option("TRANSCRIPT", s.transcript, "The transcript (JSON Lines) to replay")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--timeout", s.timeout,
                 "Seconds an expected answer may come later than it did (default 5)")
      ->check(CLI::PositiveNumber);
  app.add_option("--transcript", s.own_transcript,
                 "Write the replayed module's transcript to FILE (FILE.N for module N of "
                 "a --modules transcript)");
  app.add_option("--module", s.module,
                 "Replay only module N of a --modules transcript (default: each in turn)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--speed", s.speed,
                 "Play the recorded time N times faster: the module's clock runs N times faster "
                 "(its --time-scale divided by N) and the host keeps 1/N of each recorded gap, "
                 "so timeouts, guard times and boot delays keep their order (default 1: the "
                 "recorded timing; UART pacing at a --baud keeps its real rate)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return replay(s);
  } catch (const transcript_error& e) {
    std::cerr << "quecsim replay: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const unreplayable& e) {
    std::cerr << "quecsim replay: cannot replay: " << e.what() << '\n';
    return exit_code::unreplayable;
  } catch (const std::exception& e) {
    std::cerr << "quecsim replay: " << e.what() << '\n';
    return exit_code::start;
  }
}

}  // namespace quecsim::sim::replay
