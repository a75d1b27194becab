// quecsim-ftpd: serves a folder over FTP on loopback, for tests. Wires the CLI to the library.
#include <csignal>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>

#include "quecsim/cli/unknown_flags.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/ftpd/server.hpp"

namespace {

// Exit codes (documented in ftpserver/README.md).
constexpr int exit_ok = 0;
constexpr int exit_usage = 2;    // a flag or a file given is wrong
constexpr int exit_runtime = 3;  // could not listen (address in use, ...)

}  // namespace

namespace {

int run(int argc, char** argv) {
  namespace ftpd = quecsim::ftpd;
  CLI::App app{"quecsim-ftpd: the bundled FTP server of quecsim, for tests"};
  ftpd::config cfg;
  std::string root;
  std::vector<std::string> user_specs;
  std::string users_file;
  std::string faults_file;
  std::string record_file;
  bool ready_json = false;
  double time_scale = 1.0;
  double idle_s = 300, data_idle_s = 300, passive_s = 30, login_s = 300;
  app.add_option("--root", root, "Folder to serve")->required();
  app.add_option("--address", cfg.address, "Address to listen on (non-loopback needs users)")
      ->capture_default_str();
  app.add_option("--port", cfg.port, "Port to listen on; 0 picks a free one")
      ->capture_default_str();
  app.add_option("--user", user_specs, "NAME:PASS account (repeatable); makes logins strict");
  app.add_option("--users-file", users_file, "JSON users file; makes logins strict");
  app.add_flag("--anonymous", cfg.anonymous, "With users: also accept anonymous (read-only)");
  app.add_option("--faults", faults_file, "JSON fault rules file");
  app.add_option("--record", record_file,
                 "Append every command, reply and fault as JSON Lines to this file");
  app.add_flag("--ready-json", ready_json,
               "Print one JSON line {address,port,root} once accepting connections");
  app.add_option("--time-scale", time_scale, "Multiply every timeout and fault delay")
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_s, "Control idle timeout, seconds")->capture_default_str();
  app.add_option("--data-timeout", data_idle_s, "Data idle timeout, seconds")
      ->capture_default_str();
  app.add_option("--passive-timeout", passive_s, "Passive accept timeout, seconds")
      ->capture_default_str();
  app.add_option("--login-timeout", login_s,
                 "Seconds from connecting until the client must have logged in")
      ->capture_default_str();
  app.add_option("--max-sessions", cfg.limits.max_sessions, "Control connections at once")
      ->capture_default_str();
  app.add_option("--max-sessions-per-address", cfg.limits.max_sessions_per_address,
                 "Control connections from one address")
      ->capture_default_str();
  app.add_option("--max-line", cfg.limits.max_line, "Longest command line accepted")
      ->capture_default_str();
  app.add_option("--banner", cfg.banner, "Greeting text after 220")->capture_default_str();
  try {
    quecsim::cli::refuse_unknown_flags(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? exit_ok : exit_usage;
  }

  std::unique_ptr<quecsim::clock> clk;
  std::ofstream record;
  try {
    if (!(time_scale > 0.0)) throw ftpd::config_error("--time-scale: must be greater than zero");
    for (auto [name, value] :
         {std::pair{"--idle-timeout", idle_s}, std::pair{"--data-timeout", data_idle_s},
          std::pair{"--passive-timeout", passive_s}, std::pair{"--login-timeout", login_s}}) {
      if (!(value > 0.0) || value > 1e7)
        throw ftpd::config_error(std::string(name) + ": must be between 0 and 1e7 seconds");
    }
    clk = std::make_unique<quecsim::clock>(time_scale);
    auto ms = [](double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); };
    cfg.timeouts.control_idle = ms(idle_s);
    cfg.timeouts.data_idle = ms(data_idle_s);
    cfg.timeouts.passive_accept = ms(passive_s);
    cfg.timeouts.login = ms(login_s);
    cfg.root = root;
    for (const auto& spec : user_specs) cfg.users.push_back(ftpd::parse_user_spec(spec, "--user"));
    if (!users_file.empty()) {
      auto more = ftpd::load_users_file(users_file, cfg.anonymous);
      cfg.users.insert(cfg.users.end(), more.begin(), more.end());
    }
    if (!faults_file.empty()) cfg.faults = ftpd::load_fault_file(faults_file);
    if (!record_file.empty()) {
      record.open(record_file, std::ios::app);
      if (!record) throw ftpd::config_error("--record: cannot open '" + record_file + "'");
    }
  } catch (const std::exception& e) {
    std::cerr << "quecsim-ftpd: " << e.what() << "\n";
    return exit_usage;
  }

  boost::asio::io_context io(1);
  ftpd::server srv(io, cfg, *clk);
  if (record.is_open()) {
    srv.set_observer([&record](const ftpd::record_event& e) {
      static const char* kinds[] = {"command", "reply", "fault"};
      nlohmann::json j = {{"session", e.session},
                          {"kind", kinds[static_cast<int>(e.kind)]},
                          {"text", std::string(e.text)}};
      record << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      record.flush();
    });
  }
  try {
    srv.start();
  } catch (const ftpd::config_error& e) {
    std::cerr << "quecsim-ftpd: " << e.what() << "\n";
    return exit_usage;
  } catch (const std::exception& e) {
    std::cerr << "quecsim-ftpd: cannot listen on " << cfg.address << ":" << cfg.port << ": "
              << e.what() << "\n";
    return exit_runtime;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    srv.stop();
  });
  std::signal(SIGPIPE, SIG_IGN);
  auto ep = srv.endpoint();
  if (ready_json) {
    nlohmann::json j = {{"address", ep.address().to_string()},
                        {"port", ep.port()},
                        {"root", std::filesystem::canonical(cfg.root).string()}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << "quecsim-ftpd: serving " << cfg.root.string() << " on " << ep << "\n";
  }
  io.run();
  return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "quecsim-ftpd: " << e.what() << "\n";
    return exit_runtime;
  }
}
