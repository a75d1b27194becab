#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "quecsim/at/command_table.hpp"
#include "quecsim/at/escape_detector.hpp"
#include "quecsim/at/line_discipline.hpp"
#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/module/profile.hpp"
#include "quecsim/module/radio.hpp"
#include "quecsim/net/packet_context.hpp"
#include "quecsim/serial/host_port.hpp"

namespace quecsim::module {

/// Where host bytes go while the UART is in data mode (after CONNECT).
class data_mode_handler {
 public:
  virtual ~data_mode_handler() = default;
  /// Host bytes in data mode. Returns how many it took; fewer than offered means "full":
  /// the module keeps the rest and offers them again after `module::data_ready()`.
  virtual std::size_t on_host_data(std::string_view bytes) = 0;
  /// The host sent the `+++` escape sequence with its guard times.
  virtual void on_escape() = 0;
};

/// The settings of a module that AT commands change, with their power-up values.
struct settings {
  bool verbose = true;       ///< ATV1: text results; ATV0: numeric
  bool quiet = false;        ///< ATQ1: no result codes
  int cmee = 0;              ///< AT+CMEE: 0 ERROR, 1 numeric, 2 verbose
  int s0 = 0;                ///< rings before auto-answer
  int s7 = 60;               ///< connection completion timeout (s)
  int s8 = 2;                ///< comma dial modifier time (s)
  int s10 = 15;              ///< automatic disconnect delay (1/10 s)
  int s12 = 50;              ///< escape guard time (1/50 s)
  int ifc_rx = 0;            ///< AT+IFC <dce_by_dte>: 2 = RTS
  int ifc_tx = 0;            ///< AT+IFC <dte_by_dce>: 2 = CTS
  int creg = 0;              ///< AT+CREG <n>
  int cgreg = 0;             ///< AT+CGREG <n>
  int cfun = 1;              ///< AT+CFUN <fun>
  bool attached = true;      ///< AT+CGATT: attached to the packet domain
  int ipr = 115200;          ///< AT+IPR: the UART rate (0 autobaud); kept across restarts
  int icf_format = 3;        ///< AT+ICF <format>: 3 = 8 data bits, 1 stop bit
  int icf_parity = 3;        ///< AT+ICF <parity>: 3 = space (none)
  std::string cscs = "GSM";  ///< AT+CSCS: the character set of strings in responses
  int cmgf = 0;              ///< AT+CMGF: 0 PDU, 1 text
  int clip = 0;              ///< AT+CLIP: calling line presentation
  int colp = 0;              ///< AT+COLP: connected line presentation
  int qnitz = 0;             ///< AT+QNITZ: network time synchronisation
  int ctzu = 0;              ///< AT+CTZU: automatic time zone update
  int qsimstat = 0;          ///< AT+QSIMSTAT <n>: SIM insertion URC
  int qsclk = 0;             ///< AT+QSCLK: slow clock (sleep) mode
  int cops_format = 0;       ///< AT+COPS <format>: 0 long, 1 short, 2 numeric
  int cops_mode = 0;  ///< AT+COPS <mode>: 0 automatic, 1 manual, 2 deregistered, 4 manual/auto
  int qidnsip = 0;    ///< AT+QIDNSIP: 0 address, 1 domain name
  int qimux = 0;      ///< AT+QIMUX: multiple connections
  int qimode = 0;     ///< AT+QIMODE: 0 normal, 1 transparent
  int qindi = 0;      ///< AT+QINDI: how received TCP/IP data is reported
  int qihead = 0;     ///< AT+QIHEAD: IPD header before received data
  int qiurc = 1;      ///< AT+QIURC: the TCP/IP initialisation URC (Call Ready)
  int qishowra = 0;   ///< AT+QISHOWRA: `RECV FROM:<ip>:<port>` before pushed data
  int qishowpt = 0;   ///< AT+QISHOWPT: the protocol in the IPD header
  int qishowla = 0;   ///< AT+QISHOWLA: `TO:<ip>` (the local address) before pushed data
  int qiprompt = 1;   ///< AT+QIPROMPT: 0 no `> `, 1 `> ` and SEND OK, 2 neither
  int qisde = 1;      ///< AT+QISDE: echo the data typed after AT+QISEND's prompt
  std::string dns_primary = "211.136.17.107";    ///< AT+QIDNSCFG
  std::string dns_secondary = "211.136.20.203";  ///< AT+QIDNSCFG
};

/// Timings of the module itself, in simulated time (scaled by the clock).
struct timing {
  std::chrono::milliseconds activate{800};    ///< AT+QIACT until OK
  std::chrono::milliseconds deactivate{300};  ///< AT+QIDEACT until DEACT OK
};

/// How a module is made.
struct options {
  profile model;               ///< identification, boot delay, supported commands, ...
  bool power_up_lines = true;  ///< RDY, +CFUN: 1, +CPIN: READY, Call Ready, SMS Ready
  unsigned baud = 115200;      ///< AT+IPR's rate at power-up (0: autobaud, no RDY)
  timing times;
  int id = 0;  ///< which module of the process, for events
};

/// One simulated module: the V.250 engine, its command table, unsolicited lines held back
/// while a command is answered, data mode, and the packet context the services stand on.
class module {
 public:
  module(boost::asio::io_context& io, const clock& clk, events::bus& bus, options opts);
  module(const module&) = delete;
  module& operator=(const module&) = delete;
  ~module();

  /// Connects the module to its UART; must be called before `power_up`.
  void attach(serial::host_port& port);
  /// Sends the power-up lines (when enabled) and starts taking commands, at once.
  void power_up();
  /// Powers the module on as a host meets it: silent for the profile's boot delay (scaled),
  /// then `power_up`. Does nothing when it is on already.
  void power_on();
  /// Switches the module on answering at once, its power-up lines (and any unsolicited line
  /// meanwhile) held until `release_power_up_lines`: the host-friendly start, where a host that
  /// speaks first is answered and still sees the lines before its first answer.
  void power_on_answering();
  /// Sends the power-up lines held by `power_on_answering` (then the lines held behind them),
  /// now or after `delay` (simulated); nothing when none are held. A later call with no delay
  /// sends them at once, whatever delay an earlier call set.
  void release_power_up_lines(std::chrono::milliseconds delay = std::chrono::milliseconds(0));
  /// The profile's boot delay (or --boot-delay): power-on to the power-up lines.
  std::chrono::milliseconds boot_delay() const { return opts_.model.boot_delay; }
  /// Powers the module off (AT+QPOWD, a scenario): it hears and says nothing until
  /// `power_on` or `restart`.
  void power_down();
  /// Whether the module is switched on (booting counts as on).
  bool switched_on() const { return switched_on_; }

  /// Bytes from the host. The module takes them all, and pauses the port when its own
  /// backlog grows (a command still running, data mode backpressure).
  void receive(std::string_view bytes);

  /// The command table: services add their commands here.
  at::command_table& commands() { return commands_; }
  /// The settings in force.
  settings& current() { return settings_; }
  /// The line discipline's settings (S3, S4, S5, echo).
  at::line_settings& line() { return line_.settings(); }
  const options& config() const { return opts_; }
  net::packet_context& context() { return context_; }
  const net::packet_context& context() const { return context_; }
  boost::asio::io_context& io() { return io_; }
  const clock& time() const { return clock_; }
  events::bus& bus() { return bus_; }
  serial::host_port& port() { return *port_; }

  /// An unsolicited line; held back while a command is answered or data mode runs.
  void urc(std::string text);
  /// Unsolicited bytes sent as they are, with no framing (received socket data pushed to the
  /// host); held back like `urc`, in order with the lines.
  void urc_bytes(std::string bytes);
  /// Bytes for the host as they are, now (what a command sends between its lines: AT+QIRD's
  /// data, AT+QISEND's `> ` prompt and data echo).
  void send_bytes(std::string_view bytes) { send_raw(bytes); }

  /// Sends CONNECT and routes host bytes to `handler` until `leave_data_mode`.
  void enter_data_mode(data_mode_handler& handler);
  /// Sends `prompt` as it is and routes host bytes to `handler` until `leave_data_mode`, with
  /// no CONNECT and no `+++` escape: the input stage of AT+QISEND (`> `), inside the command.
  void enter_prompt_mode(data_mode_handler& handler, std::string_view prompt);
  /// Back to command mode; held unsolicited lines follow, then pending host bytes are read as
  /// commands again.
  void leave_data_mode();
  /// Whether data mode is on.
  bool in_data_mode() const { return data_ != nullptr; }
  /// The data-mode handler can take bytes again after having said "full".
  void data_ready();

  /// Restarts the module as AT+CFUN=1,1 does: everything back to power-up, then the
  /// power-up lines after the restart time (`off`, simulated; the profile's when absent).
  void restart(std::optional<std::chrono::milliseconds> off = std::nullopt);
  /// Calls `listener` whenever the module restarts, so services return to power-up state.
  void on_restart(std::function<void()> listener) {
    restart_listeners_.push_back(std::move(listener));
  }

  /// Publishes a state change (`source` names the machine) to the event bus.
  void publish_state(std::string_view source, std::string_view state);
  /// Publishes a host-behaviour warning.
  void warn(std::string_view what);

  /// Factory defaults for the settings that AT&F restores.
  void restore_defaults();
  /// AT&W: the current settings become the ones ATZ restores.
  void save_settings();
  /// ATZ: the settings AT&W saved (factory defaults until then).
  void restore_saved();

  /// The network side (registration, signal, SIM): what scenarios drive.
  radio& cellular() { return radio_; }
  const radio& cellular() const { return radio_; }

 private:
  class running;  // the invocation of one command
  friend class running;

  void pump();
  void pump_data();
  void wait_for_output_drain();
  void run_line(const at::line& l);
  void run_next_command();
  void fail_line(at::cme code);
  void finish_line(const std::string& final_text, bool no_result);
  void end_line();
  void send_info(std::string_view text);
  void send_result(int code, std::string_view text);
  void send_error(at::cme code);
  void send_raw(std::string_view bytes);
  void flush_urcs();
  void escape_check();
  quecsim::clock::duration guard_time() const;
  void update_input_pause();
  void reset_to_power_up();
  void send_power_up_lines();

  boost::asio::io_context& io_;
  const clock& clock_;
  events::bus& bus_;
  options opts_;
  serial::host_port* port_ = nullptr;

  at::command_table commands_;
  at::line_discipline line_;
  settings settings_;
  net::packet_context context_;
  settings saved_;
  at::line_settings saved_line_;
  radio radio_{*this};

  std::string input_;  // host bytes not yet interpreted
  bool input_paused_ = false;
  bool output_wait_ = false;      // command-mode input waits for the host to read our output
  bool powered_ = false;          // false while restarting: host bytes are dropped
  bool switched_on_ = false;      // power_on/power_up ran and no power_down since
  bool unsynced_ = false;         // autobaud: nothing is sent before the host's first AT
  bool lines_held_ = false;       // power_on_answering: the power-up lines wait for release
  std::uint64_t generation_ = 0;  // bumped by restart: stale completions are ignored

  // The command line being executed.
  bool busy_ = false;
  std::vector<at::command> line_commands_;
  std::size_t next_command_ = 0;
  std::string last_body_;   // for A/
  std::string final_text_;  // a final result other than OK (DEACT OK)
  bool no_result_ = false;
  std::vector<std::string> after_final_;
  bool bytes_while_busy_warned_ = false;

  struct held_urc {
    std::string text;
    bool raw = false;  // urc_bytes: sent as it is
  };
  std::deque<held_urc> held_urcs_;

  // Data mode and the +++ escape.
  data_mode_handler* data_ = nullptr;
  at::escape_detector escape_;
  boost::asio::steady_timer escape_timer_;  // armed when escape_ asks to look again
  bool escape_enabled_ = true;              // false in prompt mode: pluses are data
  boost::asio::steady_timer restart_timer_;

  std::vector<std::function<void()>> restart_listeners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// Adds V.250 and 27.007 basic commands: AT, ATE/V/Q/Z/I, AT&F, S-registers, AT+GMI/GMM/GMR,
/// AT+CGMI/CGMM/CGMR/CGSN, AT+CMEE, AT+IPR, AT+IFC, AT+CFUN, AT+CPIN, AT+CSQ, AT+CREG,
/// AT+CGREG, AT+CGATT.
void add_basic_commands(module& m);

/// Adds the general commands drivers send at start-up beyond the basic ones: AT+QGSN,
/// AT+CIMI, AT+QCCID, AT+CSCS, AT+CMGF, AT&W, AT&V, AT+ICF, AT+QSIMSTAT, AT+COPS, AT+QNITZ,
/// AT+CTZU, AT+CCLK, AT+CBC, AT+QPOWD, AT+QSCLK.
void add_general_commands(module& m);

/// Applies the profile's supported-command table: removes the commands the model lacks and
/// adds its fixed-text ones. Call after every service has added its commands. Throws
/// profile_error for a command marked supported that nothing implements.
void apply_command_table(module& m);

/// Adds the packet-context commands: AT+QIFGCNT, AT+QICSGP, AT+QIREGAPP, AT+QIACT,
/// AT+QIDEACT, AT+QILOCIP, AT+QISTAT, AT+QIDNSIP, AT+QIDNSCFG, AT+QIMUX, AT+QIMODE,
/// AT+QINDI, AT+QIHEAD.
void add_context_commands(module& m);

/// Brings the packet context up now with the module's address, as AT+QIACT does when its
/// activation succeeds (AT+QIOPEN from IP INITIAL activates it by itself too).
void activate_context(module& m);

/// The IP state AT+QISTAT shows for the packet context alone (IP INITIAL ... IP STATUS,
/// PDP DEACT), before any connection.
std::string context_state(const module& m);

}  // namespace quecsim::module
