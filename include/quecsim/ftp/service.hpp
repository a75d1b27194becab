#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "quecsim/ftp/client.hpp"
#include "quecsim/ftp/states.hpp"
#include "quecsim/module/module.hpp"
#include "quecsim/net/network.hpp"
#include "quecsim/storage/store.hpp"

namespace quecsim::ftp {

/// Timings of the service itself, in simulated time.
struct service_timing {
  /// Between OK and the result line of a command that needs no network (AT+QFTPCFG): a real
  /// module answers in a separate burst, and drivers split replies on silence.
  std::chrono::milliseconds local_result{50};
};

/// Where AT+QFTPPUT takes its bytes and AT+QFTPGET puts them (AT+QFTPCFG=4).
struct local_position {
  bool com = true;        ///< "/COM/": the UART, in data mode
  storage::area where{};  ///< otherwise this area...
  std::string name;       ///< ...and this file; empty: the <fileName> of the command
};

/// The module's FTP service: the fifteen AT+QFTP* commands, their state model and data mode,
/// over a real FTP client. One per module.
class service {
 public:
  /// Adds the AT+QFTP* commands to `m`'s command table. `net` carries every connection;
  /// `files` (optional) is the module's storage, for the local positions other than /COM/.
  service(module::module& m, net::network& net, storage::store* files = nullptr,
          service_timing timing = {});
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// The state AT+QFTPSTAT reports.
  service_state state() const { return state_; }
  /// The FTP client underneath (for faults and tests).
  client& ftp() { return *client_; }
  /// Fault seam: opens a session without the host asking and without a result line, as a
  /// previous run of the firmware may have left one open (from IDLE or CLOSED only).
  void open_in_background(const std::string& host, std::uint16_t port, const std::string& user,
                          const std::string& password);

 private:
  class upload;
  class download;
  class file_upload;
  class file_download;
  using inv_ptr = std::shared_ptr<at::invocation>;

  // The command table, a piece per group of commands (service_commands.cpp).
  void add_commands();
  void add_open_close();
  void add_transfers();
  void add_path();
  void add_credentials();
  void add_cfg();
  std::string cfg_answer(int type, const at::value& v);
  void add_stat_len();
  void add_rename();
  void add_one_name_commands();
  void set_state(service_state s);
  void reset();
  // Answers OK now and `+QFTP<name>:<code>` later; false when the state forbids the command
  // (then the result line already carries the error).
  bool begin_session_command(const inv_ptr& inv, const std::string& name);
  void result(const std::string& name, std::int64_t code);
  void finish_operation(const std::string& name, const ftp::result& r);
  void after_operation();
  void open(const std::string& host, std::uint16_t port, bool announce = true);
  void put(const std::string& name, std::uint64_t size, std::chrono::seconds limit);
  void get(const std::string& name, std::uint64_t limit);
  // The positions other than /COM/: the file of the storage area, no data mode.
  bool parse_position(const std::string& text, local_position& out) const;
  bool local_file(const std::string& remote, storage::file_ref& out) const;
  void put_file(const std::string& name, std::uint64_t size, std::chrono::seconds limit);
  void get_file(const std::string& name, std::uint64_t limit);
  void close();
  void on_unsolicited(int code);
  transfer_options transfer() const;

  module::module& module_;
  net::network& net_;
  storage::store* files_;
  service_timing timing_;
  std::shared_ptr<client> client_;
  service_state state_ = service_state::idle;

  // Settings the host makes (AT+QFTPUSER/PASS/CFG/PATH) and what it last opened.
  std::string user_;
  std::string password_;
  std::string host_;
  std::uint16_t port_ = 21;
  std::string path_;
  bool passive_ = true;
  bool binary_ = true;
  std::uint64_t resume_ = 0;
  int cfg5_ = 0;  // AT+QFTPCFG type 5 of later firmware: taken and read back
  int cfg6_ = 0;  // AT+QFTPCFG type 6 (OpenCPU's RIL sends 6,1 before every open)
  std::string position_ = "/COM/";
  local_position local_;
  std::uint64_t last_length_ = 0;
  std::uint64_t open_attempt_ = 0;  // tells a stale context-activation timer from a live one

  std::unique_ptr<upload> upload_;
  std::unique_ptr<download> download_;
  std::unique_ptr<file_upload> file_upload_;
  std::unique_ptr<file_download> file_download_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace quecsim::ftp
