#include "quecsim/station/station.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <system_error>
#include <utility>

#include "quecsim/control/server.hpp"
#include "quecsim/core/transcript.hpp"
#include "quecsim/ftp/service.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/ftpd/server.hpp"
#include "quecsim/module/file_commands.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/serial/close_watch.hpp"
#include "quecsim/serial/endpoint.hpp"
#include "quecsim/serial/open_watch.hpp"
#include "quecsim/serial/pty.hpp"
#include "quecsim/serial/uart.hpp"
#include "quecsim/station/control_backend.hpp"
#include "quecsim/storage/store.hpp"
#include "quecsim/tcpip/service.hpp"

namespace quecsim::station {
namespace {

// Bytes as a JSON string the way the transcript writes them: each byte one Latin-1 code point.
std::string utf8_from_latin1(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// The files the module starts with, for the transcript's configuration record: UFS and the SD
// card keep theirs across runs (RAM starts empty), and a replay needs the same ones. Symbolic
// links are recorded as links (the module never follows them). Files past `budget` bytes in
// all are named with their size but no content, and make the transcript unreplayable.
nlohmann::json storage_snapshot(const std::filesystem::path& state_dir) {
  namespace fs = std::filesystem;
  constexpr std::uintmax_t budget = 16u << 20;
  nlohmann::json files = nlohmann::json::array();
  std::uintmax_t kept = 0;
  for (const char* area : {"ufs", "sd"}) {
    std::error_code ec;
    std::vector<fs::path> paths;
    for (fs::recursive_directory_iterator it(state_dir / area, ec), end; !ec && it != end;
         it.increment(ec)) {
      paths.push_back(it->path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      const auto rel = p.lexically_relative(state_dir).generic_string();
      const auto st = fs::symlink_status(p, ec);
      if (ec) continue;
      if (fs::is_symlink(st)) {
        files.push_back({{"path", rel}, {"link", fs::read_symlink(p, ec).string()}});
      } else if (fs::is_regular_file(st)) {
        const auto size = fs::file_size(p, ec);
        if (ec) continue;
        nlohmann::json entry{{"path", rel}, {"size", size}, {"data", nullptr}};
        if (kept + size <= budget) {
          std::ifstream in(p, std::ios::binary);
          const std::string bytes((std::istreambuf_iterator<char>(in)), {});
          if (bytes.size() == size) {
            entry["data"] = utf8_from_latin1(bytes);
            kept += size;
          }
        }
        files.push_back(std::move(entry));
      }
    }
  }
  return files;
}

// Files a scenario places on the embedded server, random ones from the seed.
void place_server_files(const std::vector<fault::scenario>& scenarios,
                        const std::filesystem::path& root, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  for (const auto& s : scenarios) {
    for (const auto& f : s.files) {
      const auto path = root / f.path;
      std::filesystem::create_directories(path.parent_path());
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      if (f.text) {
        out << *f.text;
      } else {
        std::string block(std::size_t{1} << 16, '\0');
        for (std::uint64_t left = f.size; left > 0;) {
          for (auto& c : block) c = static_cast<char>(rng() & 0xff);
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, block.size()));
          out.write(block.data(), static_cast<std::streamsize>(n));
          left -= n;
        }
      }
      if (!out) throw std::runtime_error(s.source + ": cannot write server file " + path.string());
    }
  }
}

bool names_a_file(const std::string& model) {
  return model.find('/') != std::string::npos ||
         (model.size() > 5 && model.substr(model.size() - 5) == ".json");
}

quecsim::module::profile find_profile(const std::string& model,
                                      const std::vector<std::filesystem::path>& dirs) {
  if (!names_a_file(model)) {
    for (const auto& dir : dirs) {
      const auto file = dir / (model + ".json");
      std::error_code ec;
      if (std::filesystem::is_regular_file(file, ec)) return quecsim::module::profile::load(file);
    }
  }
  return quecsim::module::profile::find(model);
}

}  // namespace

ftpd::config station::server_config(const station_options& opts,
                                    const std::vector<fault::scenario>& scenarios) {
  ftpd::config fc;
  std::filesystem::create_directories(opts.ftp_root);
  fc.root = std::filesystem::canonical(opts.ftp_root);
  fc.port = opts.ftp_port;
  for (const auto& u : opts.ftp_users) {
    try {
      fc.users.push_back(ftpd::parse_user_spec(u, "--ftp-user"));
    } catch (const ftpd::config_error& e) {
      throw station_usage_error(e.what());
    }
  }
  if (!opts.ftp_faults.empty()) fc.faults = ftpd::load_fault_file(opts.ftp_faults);
  for (const auto& s : scenarios) fc.users.insert(fc.users.end(), s.users.begin(), s.users.end());
  place_server_files(scenarios, fc.root, opts.seed);
  return fc;
}

std::filesystem::path station::resolve_state_dir() const {
  if (opts_.state_dir.empty()) {
    auto root = std::filesystem::absolute(opts_.ftp_root).lexically_normal();
    if (!root.has_filename()) root = root.parent_path();  // "dir/" names dir
    return root.parent_path() / "quecsim-state";
  }
  return std::filesystem::absolute(opts_.state_dir).lexically_normal();
}

station::station(boost::asio::io_context& io, const clock& clk, station_options opts,
                 const std::vector<fault::scenario>& scenarios, ftpd::server* server, int module_id)
    : opts_(std::move(opts)), id_(module_id) {
  // In the order each piece needs the ones before it.
  open_transcript(clk);
  open_host_side(io);
  const storage::limits limits = make_module(io, clk);
  start_server(io, clk, server, scenarios);
  make_network(io, clk);
  make_services(limits);
  open_control(io, clk);
  attach_host(io);
  make_injector(io, clk, scenarios);
  power_up(io);
}

void station::open_transcript(const clock& clk) {
  if (opts_.shared_transcript != nullptr) {
    opts_.shared_transcript->attach(bus_);
  } else if (!opts_.transcript.empty()) {
    record_ = std::make_unique<transcript>(opts_.transcript, clk);
    record_->attach(bus_);
  }
  if (opts_.shared_transcript != nullptr || record_) {
    if (!opts_.transcript_config.empty()) {
      auto config = nlohmann::json::parse(opts_.transcript_config, nullptr, false);
      if (config.is_object()) {
        config["storage"] = storage_snapshot(resolve_state_dir());
        bus_.publish({events::kind::info, id_, "config", config.dump()});
      } else {
        bus_.publish({events::kind::info, id_, "config", opts_.transcript_config});
      }
    }
  }
  state_dir_ = resolve_state_dir();
}

void station::open_host_side(boost::asio::io_context& io) {
  if (!own_pty() && !opts_.link.empty()) {
    throw station_usage_error("--link names quecsim's own pty, which " +
                              std::string(serial::flag_name(opts_.endpoint.type)) +
                              " replaces; give --control for the control socket");
  }
  if (own_pty()) {
    pty_ = std::make_unique<serial::pty>();
    if (!opts_.link.empty()) pty_->make_link(opts_.link);
  } else {
    // Opened first, so a device that is missing or busy, or a port taken, stops the start
    // before anything else is made.
    try {
      endpoint_ = serial::endpoint::make(io, bus_, id_, opts_.baud, opts_.endpoint);
    } catch (const serial::endpoint_usage_error& e) {
      throw station_usage_error(e.what());
    }
  }
}

storage::limits station::make_module(boost::asio::io_context& io, const clock& clk) {
  quecsim::module::options mo;
  mo.id = id_;
  try {
    mo.model = find_profile(opts_.model, opts_.profile_dirs);
  } catch (const quecsim::module::profile_error& e) {
    // A model name nobody knows is a bad option; a broken profile file is a file refused (its
    // message names the file and the JSON pointer).
    const std::string what = "--model " + opts_.model + ": " + e.what();
    if (names_a_file(opts_.model)) throw std::runtime_error(what);
    throw station_usage_error(what);
  }
  if (opts_.boot_delay_ms) mo.model.boot_delay = std::chrono::milliseconds(*opts_.boot_delay_ms);
  if (!opts_.imei.empty()) mo.model.imei = opts_.imei;
  mo.power_up_lines = opts_.power_up_lines;
  // --baud 0 turns pacing off; the module still reports the default fixed rate.
  mo.baud = opts_.autobaud ? 0 : opts_.baud == 0 ? 115200 : opts_.baud;
  module_ = std::make_unique<quecsim::module::module>(io, clk, bus_, mo);
  quecsim::module::add_basic_commands(*module_);
  quecsim::module::add_general_commands(*module_);
  quecsim::module::add_context_commands(*module_);
  return mo.model.storage;
}

void station::start_server(boost::asio::io_context& io, const clock& clk, ftpd::server* server,
                           const std::vector<fault::scenario>& scenarios) {
  // The embedded FTP server: every host name AT+QFTPOPEN names reaches it by default, so
  // firmware with a production host name works unchanged.
  server_ = server;
  if (!server_ && opts_.embedded_ftp) {
    own_server_ = std::make_unique<ftpd::server>(io, server_config(opts_, scenarios), clk);
    own_server_->start();
    server_ = own_server_.get();
  }
}

void station::make_network(boost::asio::io_context& io, const clock& clk) {
  net::network_config nc;
  nc.mode = opts_.resolve.empty() ? (server_ ? net::host_mode::embedded : net::host_mode::map)
                                  : net::parse_host_mode(opts_.resolve);
  if (nc.mode == net::host_mode::embedded && !server_) {
    throw station_usage_error("--resolve embedded needs the embedded FTP server");
  }
  if (server_) nc.embedded = {"127.0.0.1", server_->endpoint().port()};
  for (const auto& h : opts_.hosts) {
    try {
      nc.hosts.insert(net::parse_host_entry(h));
    } catch (const std::invalid_argument& e) {
      throw station_usage_error("--host " + h + ": " + e.what());
    }
  }
  nc.round_trip = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double, std::milli>(opts_.latency_ms));
  nc.bandwidth = opts_.bandwidth;
  if (!opts_.source_address.empty()) {
    nc.source_address = opts_.source_address;
    nc.listen_address = opts_.source_address;  // PORT names the address the server sees
  }
  net_ = std::make_unique<net::network>(io, module_->context(), clk, bus_, id_, nc);
}

void station::make_services(const storage::limits& limits) {
  // The module's storage: UFS, RAM and SD folders, shared by the file commands and the FTP
  // service's local positions.
  files_ = std::make_unique<storage::store>(state_dir_, limits);
  file_commands_ = std::make_unique<module::file_commands>(*module_, *files_);
  ftp_ = std::make_unique<ftp::service>(*module_, *net_, files_.get());
  tcpip::service_options to;
  to.server_port = opts_.tcpip_port;
  try {
    tcpip_ = std::make_unique<tcpip::service>(*module_, *net_, to);
  } catch (const std::runtime_error& e) {
    throw station_usage_error(std::string("--tcpip-port: ") + e.what());
  }
  try {
    quecsim::module::apply_command_table(*module_);
  } catch (const quecsim::module::profile_error& e) {
    throw std::runtime_error("--model " + opts_.model + ": " + e.what());
  }
}

void station::open_control(boost::asio::io_context& io, const clock& clk) {
  // The live control socket, by default beside the link.
  control_path_ = !opts_.control.empty() ? opts_.control
                  : opts_.link.empty()   ? std::string()
                                         : opts_.link + ".ctl";
  if (!control_path_.empty()) {
    control_backend_ = std::make_unique<control_backend>(*module_, *ftp_, bus_);
    control_ = std::make_unique<control::server>(io, control_path_, bus_, *control_backend_, &clk);
  }
}

void station::attach_host(boost::asio::io_context& io) {
  if (own_pty()) port_ = std::make_unique<serial::uart>(io, pty_->master(), bus_, id_, opts_.baud);
  module_->attach(host());
  if (control_backend_) {
    control_backend_->endpoint_state = [this] { return endpoint_json(); };
    control_backend_->tcpip_state = [this] { return tcpip_json(true); };
  }
}

void station::make_injector(boost::asio::io_context& io, const clock& clk,
                            const std::vector<fault::scenario>& scenarios) {
  // The injector exists only when there is something to inject (a scenario, or a control
  // socket that may bring one): without it nothing listens for faults at all.
  if (!scenarios.empty() || control_) {
    fault::seams seams;
    seams.module = module_.get();
    seams.network = net_.get();
    seams.ftp = ftp_.get();
    seams.port = &host();
    seams.server = server_;
    seams.files = files_.get();
    seams.server_client = opts_.source_address;
    faults_ = std::make_unique<fault::injector>(io, clk, bus_, seams, opts_.seed, id_);
    for (const auto& s : scenarios) {
      // The injector names an action that needs the server by its pointer; users, files,
      // server rules and expected server files are the scenario's as a whole.
      faults_->load(s);
      if (s.needs_embedded_server() && !server_) {
        throw fault::scenario_error(
            s.source +
            ": the scenario acts through the embedded FTP server (its users, files, rules "
            "or expected server files), which --no-embedded-ftp turns off");
      }
    }
    if (control_backend_) {
      control_backend_->faults = [this](const nlohmann::json& request) {
        return fault_request(*faults_, request);
      };
      control_backend_->fault_state = [this] {
        return nlohmann::json{{"scenarios", faults_->loaded()},
                              {"faults_fired", faults_->faults_fired()}};
      };
    }
  }
}

void station::power_up(boost::asio::io_context& io) {
  // By default the module answers from the start and its power-up lines wait for the host:
  // they go out the boot delay after its first open (so a library that flushes its input on
  // open still sees them), or at once when its first bytes come sooner, before their answer.
  // With realistic_boot a host opens its port before it powers the module: the module boots
  // at the first open (closing and reopening does not power-cycle it), deaf for the boot
  // delay. Bytes from the host prove an open too, whichever of the two events comes first.
  host_seen_ = opts_.power_up_at_start;
  auto from_host = [this](std::string_view bytes) {
    host_opened(true);
    module_->receive(bytes);
  };
  if (endpoint_) {
    // A connection made, a device opened: the host opened its port. Its end: the host closed.
    serial::endpoint::callbacks cb;
    cb.on_bytes = from_host;
    if (!opts_.power_up_at_start) cb.on_attached = [this] { host_opened(false); };
    cb.on_detached = opts_.on_host_closed;
    endpoint_->start(std::move(cb));
  } else {
    port_->start(from_host);
  }
  if (!opts_.realistic_boot) {
    module_->power_on_answering();
    if (opts_.power_up_at_start) module_->release_power_up_lines(module_->boot_delay());
  } else if (opts_.power_up_at_start) {
    module_->power_on();
  }
  if (!opts_.power_up_at_start && own_pty()) {
    try {
      first_open_ =
          std::make_unique<serial::open_watch>(io, pty_->path(), [this] { host_opened(false); });
    } catch (const std::system_error& e) {
      // Without inotify the open cannot be seen: power up at start, as before a host opens.
      std::cerr << "quecsim: " << e.what() << "; powering up at start\n";
      host_opened(false);
    }
  }
  if (opts_.on_host_closed && own_pty()) {
    // Where inotify is refused the close cannot be seen: refuse to start (a system error,
    // exit 1) rather than run a one-shot run that would never end.
    last_close_ = std::make_unique<serial::close_watch>(io, *pty_, opts_.on_host_closed);
  }
}

bool station::own_pty() const {
  return opts_.endpoint.type == serial::endpoint_options::kind::pty;
}

serial::host_port& station::host() const {
  if (port_) return *port_;
  return *endpoint_;
}

station::~station() = default;

void station::host_opened(bool spoke) {
  if (!opts_.realistic_boot) {
    // The lines are sent once: release does nothing when they are gone already.
    if (spoke) {
      module_->release_power_up_lines();
    } else if (!host_seen_) {
      module_->release_power_up_lines(module_->boot_delay());
    }
    host_seen_ = true;
    return;
  }
  if (host_seen_) return;
  host_seen_ = true;
  module_->power_on();
}

const std::string& station::pty_path() const {
  static const std::string none;
  return pty_ ? pty_->path() : none;
}

std::string station::uart_name() const {
  return endpoint_ ? endpoint_->name() : pty_->path();
}

nlohmann::json station::endpoint_json() const {
  if (endpoint_) return endpoint_->describe();
  return {{"kind", "pty"}, {"path", pty_->path()}};
}

std::optional<boost::asio::ip::tcp::endpoint> station::ftp_endpoint() const {
  if (!server_) return std::nullopt;
  return server_->endpoint();
}

std::filesystem::path station::ftp_root() const {
  return server_ ? server_->cfg().root : std::filesystem::path();
}

const std::string& station::model() const {
  return module_->config().model.model;
}

nlohmann::json station::request(const nlohmann::json& req) {
  if (!control_backend_) return {{"ok", false}, {"error", "the station has no control socket"}};
  if (!req.is_object() || !req.contains("op") || !req["op"].is_string()) {
    return {{"ok", false}, {"error", "a request is an object with a string \"op\""}};
  }
  try {
    auto reply = control_backend_->handle(req);
    nlohmann::json out{{"ok", true}};
    if (reply.is_object()) out.update(reply);
    return out;
  } catch (const control::request_error& e) {
    return {{"ok", false}, {"error", e.what()}};
  } catch (const std::exception& e) {
    // As the control socket answers it: the op was valid but could not be carried out.
    return {{"ok", false}, {"error", std::string("op failed: ") + e.what()}};
  }
}

void station::stop() {
  if (own_server_) own_server_->stop();
}

std::vector<fault::verdict> station::check() {
  if (!faults_) return {};
  // Expected server files are looked for where the server serves, or where it would.
  const auto root = server_ ? server_->cfg().root : std::filesystem::path(opts_.ftp_root);
  auto verdicts = faults_->check(root);
  for (const auto& v : verdicts) bus_.publish({events::kind::info, id_, "fault", describe(v)});
  return verdicts;
}

std::string station::describe(const fault::verdict& v) {
  std::string line =
      "scenario " + v.scenario + ": " + (v.passed() ? "expectations held" : "FAILED");
  for (const auto& f : v.failures) line += "; " + f;
  return line;
}

nlohmann::json station::tcpip_json(bool live) const {
  const auto& ep = tcpip_->server_endpoint();
  auto j = nlohmann::json{{"address", ep.address().to_string()}, {"port", ep.port()}};
  if (!live) return j;
  const auto st = tcpip_->server().state();
  j["state"] = st == tcpip::listener_state::listening  ? "LISTENING"
               : st == tcpip::listener_state::starting ? "STARTING"
                                                       : "IDLE";
  j["module_port"] = tcpip_->server().port();
  j["clients"] = tcpip_->server_clients();
  return j;
}

nlohmann::json station::ready_json() const {
  auto ready =
      nlohmann::json{{"pty", pty_ ? nlohmann::json(pty_->path()) : nlohmann::json()},
                     {"link", opts_.link.empty() ? nlohmann::json() : nlohmann::json(opts_.link)},
                     {"pid", ::getpid()},
                     {"control", control_ ? nlohmann::json(control_path_) : nlohmann::json()},
                     {"model", model()},
                     {"ftp", server_ ? nlohmann::json{{"address", "127.0.0.1"},
                                                      {"port", server_->endpoint().port()},
                                                      {"root", server_->cfg().root.string()}}
                                     : nlohmann::json()},
                     {"state_dir", state_dir_.lexically_normal().string()},
                     {"tcpip_server", tcpip_json(false)}};
  // Only another endpoint is named: the pty's ready line keeps the shape it always had.
  if (endpoint_) ready["endpoint"] = endpoint_->describe();
  return ready;
}

}  // namespace quecsim::station
