#include "quecsim/module/module.hpp"

#include <utility>

namespace quecsim::module {
namespace {

// Host bytes the module keeps before it stops reading the UART.
constexpr std::size_t input_high_water = std::size_t{16} * 1024;
constexpr std::size_t input_low_water = std::size_t{4} * 1024;
// Echo and answers the host has not read yet. Past this much the module stops interpreting
// command-mode bytes until the UART has drained, so its input backs up to input_high_water
// and it stops reading: a host that floods the line without reading it blocks, as a UART
// without a reader would, instead of growing the module's output without bound.
constexpr std::size_t output_high_water = std::size_t{32} * 1024;

constexpr int result_ok = 0;
constexpr int result_connect = 1;
constexpr int result_error = 4;

}  // namespace

/// The invocation of one command of the line being executed.
class module::running final : public at::invocation {
 public:
  running(module& m, const at::command& c, std::vector<at::value> args)
      : module_(m), generation_(m.generation_), alive_(m.alive_), cmd_(c), args_(std::move(args)) {}

  const at::command& cmd() const override { return cmd_; }
  const std::vector<at::value>& args() const override { return args_; }

  void info(std::string text) override {
    if (stale() || finished_) return;
    module_.send_info(text);
  }
  void ok() override { finish(true, {}, false); }
  void error(at::cme code) override {
    if (stale() || finished_) return;
    code_ = code;
    finish(false, {}, false);
  }
  void final_text(std::string text) override { finish(true, std::move(text), false); }
  void after_final(std::string text) override {
    if (stale()) return;
    module_.after_final_.push_back(std::move(text));
  }
  void done_without_result() override { finish(true, {}, true); }
  bool finished() const override { return finished_; }

 private:
  bool stale() const { return alive_.expired() || module_.generation_ != generation_; }

  void finish(bool success, std::string text, bool no_result) {
    if (stale() || finished_) return;
    finished_ = true;
    if (!success) {
      module_.fail_line(code_);
      return;
    }
    module_.final_text_ = std::move(text);
    module_.no_result_ = no_result;
    module_.run_next_command();
  }

  module& module_;
  std::uint64_t generation_;
  std::weak_ptr<bool> alive_;
  at::command cmd_;
  std::vector<at::value> args_;
  at::cme code_ = at::cme::unknown;
  bool finished_ = false;
};

module::module(boost::asio::io_context& io, const clock& clk, events::bus& bus,
               options opts) :io_(io),
    clock_(clk), bus_(bus), opts_(std::move(opts)), escape_timer_(io), restart_timer_(io) {
  settings_.ipr = static_cast<int>(opts_.baud);
}

module::~module() {
  *alive_ = false;
}

void module::attach(serial::host_port& port) {
  port_ = &port;
}

void module::power_up() {
  powered_ = true;
  switched_on_ = true;
  // With autobaud the module cannot talk before the host's first AT has shown it the rate.
  unsynced_ = settings_.ipr == 0;
  publish_state("module", "ready");
  if (opts_.power_up_lines) send_power_up_lines();
  // Lines that came up while booting follow the power-up lines.
  flush_urcs();
}

void module::send_power_up_lines() {
  if (settings_.ipr != 0) urc("RDY");
  urc("+CFUN: 1");
  switch (radio_.sim()) {
    case sim_status::ready:
      urc("+CPIN: READY");
      urc("Call Ready");
      urc("SMS Ready");
      break;
    case sim_status::pin:
      urc("+CPIN: SIM PIN");
      break;
    case sim_status::puk:
      urc("+CPIN: SIM PUK");
      break;
    case sim_status::removed:
      urc("+CPIN: NOT INSERTED");
      break;
  }
}

void module::power_on() {
  if (switched_on_) return;
  switched_on_ = true;
  publish_state("module", "booting");
  // Without a boot delay the host's first bytes must already find the module on.
  if (opts_.model.boot_delay.count() == 0) return power_up();
  // A real module says nothing for its first seconds; bytes the host sends meanwhile are lost.
  restart_timer_.expires_after(clock_.scaled(opts_.model.boot_delay));
  restart_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired()) return;
    power_up();
  });
}

void module::power_on_answering() {
  if (switched_on_) return;
  publish_state("module", "booting");
  powered_ = true;
  switched_on_ = true;
  unsynced_ = settings_.ipr == 0;
  lines_held_ = true;
  publish_state("module", "ready");
}

void module::release_power_up_lines(std::chrono::milliseconds delay) {
  if (!lines_held_) return;
  if (delay.count() > 0) {
    restart_timer_.expires_after(clock_.scaled(delay));
    restart_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
      if (ec || alive.expired()) return;
      release_power_up_lines();
    });
    return;
  }
  restart_timer_.cancel();
  lines_held_ = false;
  // The lines go before anything that queued up behind them (a scenario's URC, +CREG ...).
  std::deque<held_urc> behind;
  behind.swap(held_urcs_);
  if (opts_.power_up_lines) send_power_up_lines();
  for (auto& line : behind) held_urcs_.push_back(std::move(line));
  flush_urcs();
}

void module::power_down() {
  reset_to_power_up();
  switched_on_ = false;
  publish_state("module", "off");
}

void module::restore_defaults() {
  const settings fresh;
  settings_.verbose = fresh.verbose;
  settings_.quiet = fresh.quiet;
  settings_.cmee = fresh.cmee;
  settings_.s0 = fresh.s0;
  settings_.s7 = fresh.s7;
  settings_.s8 = fresh.s8;
  settings_.s10 = fresh.s10;
  settings_.s12 = fresh.s12;
  settings_.cscs = fresh.cscs;
  settings_.cmgf = fresh.cmgf;
  settings_.creg = fresh.creg;
  settings_.cgreg = fresh.cgreg;
  settings_.ifc_rx = fresh.ifc_rx;
  settings_.ifc_tx = fresh.ifc_tx;
  line_.settings() = at::line_settings{};
}

void module::save_settings() {
  saved_ = settings_;
  saved_line_ = line_.settings();
}

void module::restore_saved() {
  // ATZ brings back what AT&W stored; the UART rate stays as it is (AT+IPR owns it).
  const int ipr = settings_.ipr;
  const int cfun = settings_.cfun;
  const bool attached = settings_.attached;
  settings_ = saved_;
  settings_.ipr = ipr;
  settings_.cfun = cfun;
  settings_.attached = attached;
  line_.settings() = saved_line_;
}

void module::reset_to_power_up() {
  ++generation_;
  powered_ = false;
  lines_held_ = false;
  busy_ = false;
  line_commands_.clear();
  input_.clear();
  held_urcs_.clear();
  after_final_.clear();
  data_ = nullptr;
  escape_.reset();
  escape_timer_.cancel();
  restart_timer_.cancel();
  line_.reset();
  // What AT&W saved comes back at power-up; the UART rate is kept across restarts.
  const int ipr = settings_.ipr;
  settings_ = saved_;
  settings_.ipr = ipr;
  settings_.cfun = 1;
  settings_.attached = true;
  line_.settings() = saved_line_;
  context_.reset();
  radio_.reset();
  for (auto& l : restart_listeners_) l();
  update_input_pause();
}

void module::restart(std::optional<std::chrono::milliseconds> off) {
  reset_to_power_up();
  switched_on_ = true;
  publish_state("module", "restarting");
  restart_timer_.expires_after(clock_.scaled(off.value_or(opts_.model.restart)));
  restart_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
    if (ec || alive.expired()) return;
    power_up();
  });
}

void module::publish_state(std::string_view source, std::string_view state) {
  bus_.publish({events::kind::state, opts_.id, source, state});
}

void module::warn(std::string_view what) {
  bus_.publish({events::kind::warning, opts_.id, "host", what});
}

// ---- output ---------------------------------------------------------------------------------

void module::send_raw(std::string_view bytes) {
  if (port_ != nullptr) port_->write(bytes);
}

void module::send_info(std::string_view text) {
  if (bus_.active()) bus_.publish({events::kind::response, opts_.id, "module", text});
  const char s3 = line_.settings().s3;
  const char s4 = line_.settings().s4;
  std::string out;
  out.reserve(text.size() + 4);
  if (settings_.verbose) {
    out.push_back(s3);
    out.push_back(s4);
  }
  out.append(text);
  out.push_back(s3);
  out.push_back(s4);
  send_raw(out);
}

void module::send_result(int code, std::string_view text) {
  if (settings_.quiet) return;
  if (settings_.verbose) {
    send_info(text);
  } else {
    std::string out = std::to_string(code);
    out.push_back(line_.settings().s3);
    send_raw(out);
  }
}

void module::send_error(at::cme code) {
  if (bus_.active()) bus_.publish({events::kind::result, opts_.id, "module", "ERROR"});
  // +CME ERROR is a final result code like ERROR (27.007 9.2): ATQ1 suppresses it too.
  if (settings_.quiet) return;
  switch (settings_.cmee) {
    case 1:
      send_info("+CME ERROR: " + std::to_string(static_cast<int>(code)));
      break;
    case 2:
      send_info("+CME ERROR: " + std::string(at::cme_text(code)));
      break;
    default:
      send_result(result_error, "ERROR");
      break;
  }
}

void module::urc(std::string text) {
  if (!switched_on_) return;  // a module that is off says nothing, later or now
  if (busy_ || data_ != nullptr || !powered_ || unsynced_ || lines_held_) {
    held_urcs_.push_back({std::move(text), false});
    return;
  }
  send_info(text);
}

void module::urc_bytes(std::string bytes) {
  if (!switched_on_) return;
  if (busy_ || data_ != nullptr || !powered_ || unsynced_ || lines_held_) {
    held_urcs_.push_back({std::move(bytes), true});
    return;
  }
  send_raw(bytes);
}

void module::flush_urcs() {
  while (!busy_ && data_ == nullptr && powered_ && !unsynced_ && !lines_held_ &&
         !held_urcs_.empty()) {
    const held_urc held = std::move(held_urcs_.front());
    held_urcs_.pop_front();
    if (held.raw) {
      send_raw(held.text);
    } else {
      send_info(held.text);
    }
  }
}

// ---- input ----------------------------------------------------------------------------------

void module::receive(std::string_view bytes) {
  if (bytes.empty()) return;
  const auto now = clock::now();
  if (!powered_) return;  // a restarting module hears nothing
  escape_.received(now, guard_time(), !input_.empty());
  input_.append(bytes);
  pump();
}

void module::update_input_pause() {
  if (port_ == nullptr) return;
  if (!input_paused_ && input_.size() >= input_high_water) {
    input_paused_ = true;
    port_->pause_input();
  } else if (input_paused_ && input_.size() <= input_low_water) {
    input_paused_ = false;
    port_->resume_input();
  }
}

void module::pump() {
  // Data mode may run inside a command that is still answering (AT+QFUPL, AT+QFWRITE: CONNECT,
  // the data, then the command's own result lines).
  while (!input_.empty() && (!busy_ || data_ != nullptr) && powered_) {
    if (data_ != nullptr) {
      pump_data();
      break;
    }
    if (port_ != nullptr && port_->queued() > output_high_water) {
      wait_for_output_drain();
      break;
    }
    const at::feed_result r = line_.feed(input_);
    input_.erase(0, r.consumed);
    if (!r.echo.empty()) send_raw(r.echo);
    if (r.complete) run_line(r.command);
  }
  // Bytes waiting while a command runs are a new command sent before its final result, a
  // host-behaviour warning (once per line), whether they came in the line's own read or later;
  // the LF of the line's CR LF is not, even when it arrives on its own.
  if (busy_ && data_ == nullptr && !bytes_while_busy_warned_ &&
      input_.find_first_not_of(line_.settings().s4) != std::string::npos) {
    bytes_while_busy_warned_ = true;
    warn("host sent bytes before the previous command's final result");
  }
  update_input_pause();
}

void module::wait_for_output_drain() {
  if (output_wait_) return;
  output_wait_ = true;
  port_->when_drained([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    output_wait_ = false;
    pump();
  });
}

quecsim::clock::duration module::guard_time() const {
  return clock_.scaled(std::chrono::milliseconds(settings_.s12 * 20));
}

void module::pump_data() {
  // In prompt mode (a socket's `> `) pluses are data: no escape is looked for.
  if (escape_enabled_) {
    const auto v = escape_.examine(input_, clock::now(), guard_time());
    if (v.arm) {
      escape_timer_.expires_at(v.check_at);
      escape_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](auto ec) {
        if (ec || alive.expired()) return;
        escape_check();
      });
    }
    if (v.disarm) escape_timer_.cancel();
    if (v.hold) return;
  }
  while (!input_.empty() && data_ != nullptr) {
    const std::size_t taken = data_->on_host_data(input_);
    input_.erase(0, taken);
    if (taken == 0) break;
  }
}

void module::escape_check() {
  if (data_ == nullptr) return;
  switch (escape_.expired(input_)) {
    case at::escape_detector::outcome::none:
      return;
    case at::escape_detector::outcome::escape:
      input_.clear();
      bus_.publish({events::kind::info, opts_.id, "uart", "escape +++"});
      data_->on_escape();
      return;
    case at::escape_detector::outcome::data:
      pump();
      return;
  }
}

void module::data_ready() {
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    pump();
  });
}

void module::enter_data_mode(data_mode_handler& handler) {
  data_ = &handler;
  escape_.reset();
  escape_enabled_ = true;
  send_result(result_connect, "CONNECT");
  publish_state("uart", "data");
  pump();
}

void module::enter_prompt_mode(data_mode_handler& handler, std::string_view prompt) {
  data_ = &handler;
  escape_.reset();
  escape_enabled_ = false;
  send_raw(prompt);
  publish_state("uart", "prompt");
  pump();
}

void module::leave_data_mode() {
  if (data_ == nullptr) return;
  data_ = nullptr;
  escape_.reset();
  escape_timer_.cancel();
  publish_state("uart", "command");
  flush_urcs();
  // Bytes that followed the data are commands; read them once the caller has said its piece.
  data_ready();
}

// ---- command execution ----------------------------------------------------------------------

void module::run_line(const at::line& l) {
  unsynced_ = false;
  // A fact, not a rule: the manual asks for S3, but Quectel's own OpenCPU SDK ends its
  // commands with LF and a real module accepts them.
  if (l.lf_only) {
    warn(
        "command line ended by LF alone, not S3 (CR): accepted, as a real module does "
        "(Quectel's OpenCPU SDK ends its commands with LF)");
  }
  if (l.overflow) {
    send_error(at::cme::unknown);
    return;
  }
  std::string body;
  if (l.repeat) {
    body = last_body_;
  } else {
    body = l.body;
    last_body_ = body;
  }
  auto cmds = at::split_commands(body);
  if (!cmds) {
    send_error(at::cme::unknown);
    return;
  }
  busy_ = true;
  bytes_while_busy_warned_ = false;
  line_commands_ = std::move(*cmds);
  next_command_ = 0;
  final_text_.clear();
  no_result_ = false;
  run_next_command();
}

void module::run_next_command() {
  if (next_command_ >= line_commands_.size()) {
    finish_line(final_text_, no_result_);
    return;
  }
  const at::command& c = line_commands_[next_command_++];
  const at::command_spec* spec = commands_.find(c.name);
  const at::handler* h = nullptr;
  if (spec != nullptr) {
    switch (c.kind) {
      case at::form::test:
        h = &spec->test;
        break;
      case at::form::read:
        h = &spec->read;
        break;
      case at::form::write:
        h = &spec->write;
        break;
      case at::form::exec:
        h = &spec->exec;
        break;
    }
  }
  if (h == nullptr || !*h) {
    fail_line(at::cme::unknown);
    return;
  }
  std::vector<at::value> args;
  if (c.kind == at::form::write && !spec->params.empty()) {
    auto parsed = at::parse_args(c.args, spec->params);
    if (!parsed) {
      fail_line(at::cme::incorrect_parameters);
      return;
    }
    args = std::move(*parsed);
  }
  final_text_.clear();
  no_result_ = false;
  if (bus_.active()) {
    std::string text = "AT" + c.name;
    switch (c.kind) {
      case at::form::test:
        text += "=?";
        break;
      case at::form::read:
        text += "?";
        break;
      case at::form::write:
        text += "=" + c.args;
        break;
      case at::form::exec:
        text += c.args;
        break;
    }
    bus_.publish({events::kind::command, opts_.id, "module", text});
  }
  auto inv = std::make_shared<running>(*this, c, std::move(args));
  (*h)(inv);
}

void module::fail_line(at::cme code) {
  // The first failing command ends the line: the commands after it are not run.
  line_commands_.clear();
  after_final_.clear();
  send_error(code);
  end_line();
}

void module::finish_line(const std::string& final_text, bool no_result) {
  if (bus_.active()) {
    // Not one conditional expression: mixing the literals with the string would make a
    // temporary std::string, and the view would outlive it.
    std::string_view result = final_text;
    if (no_result) {
      result = "";
    } else if (final_text.empty()) {
      result = "OK";
    }
    bus_.publish({events::kind::result, opts_.id, "module", result});
  }
  if (!no_result) {
    if (final_text.empty()) {
      send_result(result_ok, "OK");
    } else if (!settings_.quiet) {
      send_info(final_text);
    }
  }
  for (const auto& line : after_final_) send_info(line);
  after_final_.clear();
  end_line();
}

void module::end_line() {
  busy_ = false;
  flush_urcs();
  // Nothing followed the line and input flows: no turn of the loop to spend after the answer.
  if (input_.empty() && !input_paused_) return;
  // Carry on with the bytes that followed the line, outside the handler's call stack.
  boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    pump();
  });
}

}  // namespace quecsim::module
