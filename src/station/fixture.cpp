#include "quecsim/station/fixture.hpp"

#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <future>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "quecsim/core/clock.hpp"
#include "quecsim/fault/scenario.hpp"
#include "quecsim/station/station.hpp"

namespace quecsim::station {
namespace {

// A fresh folder of the run under the system's temporary folder.
std::filesystem::path make_run_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "quecsim-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

}  // namespace

struct fixture::impl {
  std::filesystem::path run_dir;
  boost::asio::io_context io;
  clock clk;
  std::unique_ptr<station> st;
  std::filesystem::path ftp_root;
  std::filesystem::path state_dir;
  std::optional<ftp_address> endpoint;  // read once, before the io thread runs
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  std::thread thread;
  bool running = false;

  explicit impl(double scale) : run_dir(make_run_dir()), clk(scale) {}

  ~impl() {
    std::error_code ignored;
    std::filesystem::remove_all(run_dir, ignored);
  }

  // Runs `f` on the io thread and waits for its result; rethrows what it threw.
  template <typename F>
  auto call(F f) -> decltype(f()) {
    if (!running) throw std::logic_error("quecsim::fixture: the module is not running");
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return result.get();
  }
};

fixture::fixture(fixture_options opts) : impl_(std::make_unique<impl>(opts.time_scale)) {
  auto& d = *impl_;
  station_options so;
  so.model = opts.model;
  if (!opts.profile_dir.empty()) so.profile_dirs.push_back(opts.profile_dir);
  so.embedded_ftp = opts.embedded_ftp;
  so.ftp_root = (opts.ftp_root.empty() ? d.run_dir / "ftp" : opts.ftp_root).string();
  so.state_dir = (opts.state_dir.empty() ? d.run_dir / "state" : opts.state_dir).string();
  so.transcript = opts.transcript.string();
  so.control = (d.run_dir / "control.sock").string();
  so.power_up_lines = opts.power_up_lines;
  so.power_up_at_start = opts.power_up_at_start;
  so.realistic_boot = opts.realistic_boot;
  so.boot_delay_ms = opts.boot_delay_ms;
  so.baud = opts.baud;
  so.latency_ms = opts.latency_ms;
  so.seed = opts.seed;
  // The served folder exists even before the server makes it, so a test may fill it first.
  std::filesystem::create_directories(so.ftp_root);
  std::vector<fault::scenario> scenarios;
  for (const auto& file : opts.scenarios) scenarios.push_back(fault::load_scenario(file));

  d.st = std::make_unique<station>(d.io, d.clk, std::move(so), scenarios);
  d.ftp_root = opts.embedded_ftp ? d.st->ftp_root() : std::filesystem::absolute(d.run_dir / "ftp");
  d.state_dir = d.st->state_dir();
  if (const auto ep = d.st->ftp_endpoint()) d.endpoint = {ep->address().to_string(), ep->port()};
  d.thread = std::thread([&d] {
    try {
      d.io.run();
    } catch (const std::exception& e) {
      // Nothing inside the module throws once it runs; if something does, say so and stop.
      std::cerr << "quecsim::fixture: " << e.what() << '\n';
    }
  });
  d.running = true;
}

fixture::~fixture() {
  auto& d = *impl_;
  boost::asio::post(d.io, [&d] {
    d.st->stop();
    d.io.stop();
  });
  d.work.reset();
  d.thread.join();
  d.running = false;
  // The io thread has ended: the station's objects are destroyed here, its handlers with the
  // io_context after it.
  d.st.reset();
}

const std::string& fixture::pty_path() const {
  return impl_->st->pty_path();
}

ftp_address fixture::ftp_endpoint() const {
  if (!impl_->endpoint) {
    throw std::logic_error("quecsim::fixture: no embedded FTP server (embedded_ftp off)");
  }
  return *impl_->endpoint;
}

const std::filesystem::path& fixture::ftp_root() const {
  return impl_->ftp_root;
}

const std::filesystem::path& fixture::state_dir() const {
  return impl_->state_dir;
}

const std::string& fixture::model() const {
  return impl_->st->model();
}

bool fixture::check(std::vector<std::string>* lines) {
  auto verdicts = impl_->call([this] { return impl_->st->check(); });
  bool all_held = true;
  for (const auto& v : verdicts) {
    if (lines) lines->push_back(station::describe(v));
    all_held = all_held && v.passed();
  }
  return all_held;
}

nlohmann::json fixture_control::request(const nlohmann::json& req) {
  auto& d = *owner_.impl_;
  return d.call([&d, &req] { return d.st->request(req); });
}

std::string fixture_control::apply(const nlohmann::json& action) {
  const auto reply = request({{"op", "apply"}, {"action", action}});
  if (!reply.value("ok", false)) {
    throw std::runtime_error("quecsim::fixture: apply refused: " +
                             reply.value("error", std::string("no reason given")));
  }
  return reply.value("did", std::string());
}

nlohmann::json fixture_control::state() {
  return request({{"op", "state"}});
}

std::string fixture_control::path() const {
  return owner_.impl_->st->control_path();
}

}  // namespace quecsim::station
