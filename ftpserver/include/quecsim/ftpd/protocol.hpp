#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quecsim/core/line_splitter.hpp"
#include "quecsim/core/unique_fd.hpp"
#include "quecsim/ftpd/config.hpp"
#include "quecsim/ftpd/fault.hpp"
#include "quecsim/ftpd/fault_filter.hpp"
#include "quecsim/ftpd/jail.hpp"

// The FTP server's protocol core, without sockets: a control-connection state machine fed
// command bytes, producing replies and actions that the Asio layer carries out (open a
// passive listener, run a transfer, close). Unit tests drive it line by line.

namespace quecsim::ftpd {

/// Server-wide registry of files being read or written, so that two sessions cannot write
/// one file at once (the second is refused with 450) nor read a file while it is written.
class file_locks {
 public:
  /// An acquired lock; releases on destruction.
  class lock {
   public:
    lock() = default;
    lock(lock&& o) noexcept : owner_(o.owner_), key_(std::move(o.key_)), write_(o.write_) {
      o.owner_ = nullptr;
    }
    lock& operator=(lock&& o) noexcept;
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    ~lock() { reset(); }
    /// Releases now.
    void reset();
    /// Whether it holds anything.
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class file_locks;
    lock(file_locks* o, std::string k, bool w) : owner_(o), key_(std::move(k)), write_(w) {}
    file_locks* owner_ = nullptr;
    std::string key_;
    bool write_ = false;
  };

  /// A shared (read) lock on `key`, or an empty lock if someone writes it.
  lock try_read(const std::string& key);
  /// An exclusive (write) lock on `key`, or an empty lock if anyone reads or writes it.
  lock try_write(const std::string& key);
  /// Whether anyone holds `key`.
  bool busy(const std::string& key) const { return state_.count(key) != 0; }

 private:
  // >0: that many readers; -1: one writer.
  std::map<std::string, int> state_;
};

/// Network-ASCII conversion for TYPE A, outgoing: bare LF becomes CRLF.
class ascii_encoder {
 public:
  /// Appends the converted `in` to `out`.
  void encode(std::string_view in, std::string& out);

 private:
  bool last_cr_ = false;
};

/// Network-ASCII conversion for TYPE A, incoming: CRLF becomes LF; a lone CR is kept.
class ascii_decoder {
 public:
  /// Appends the converted `in` to `out`; a trailing CR waits for the next chunk.
  void decode(std::string_view in, std::string& out);
  /// Flushes a held CR at the end of the data.
  void finish(std::string& out);

 private:
  bool pending_cr_ = false;
};

/// One command line taken off the control connection.
struct command_line {
  std::string text;       ///< without CRLF, Telnet IAC sequences removed
  bool overlong = false;  ///< longer than the limit: the text was discarded
};

/// Splits control-connection bytes into command lines (LF or CRLF ended) over the project's
/// line splitter: an overlong line is discarded as it arrives, so it costs no memory, and is
/// reported at its end, in order with the other lines; Telnet IAC sequences are removed.
class command_splitter {
 public:
  /// `max_line`: the longest line kept, CR/LF excluded.
  explicit command_splitter(std::size_t max_line)
      : lines_(max_line, line_splitter::report::at_end) {}
  /// Consumes `bytes`, appending complete lines to `out`.
  void feed(std::string_view bytes, std::deque<command_line>& out);

 private:
  line_splitter lines_;
};

/// A transfer the Asio layer must run over the data connection.
struct transfer {
  /// Which way the bytes go.
  enum class kind {
    send_file,     ///< RETR: file → client
    receive_file,  ///< STOR, APPE, STOU: client → file
    send_bytes,    ///< LIST, NLST, MLSD: `bytes` → client
  };
  /// A fault shaping this transfer.
  enum class fault_kind {
    none,
    silence,  ///< do nothing at all until aborted or closed
    drop,     ///< close the data connection after `drop_after` bytes
  };
  kind what = kind::send_bytes;
  std::string command;  ///< the verb that started it
  std::string path;     ///< virtual path (empty for listings of the current folder)
  unique_fd file;       ///< open, positioned file (send_file / receive_file)
  std::string bytes;    ///< send_bytes payload (already CRLF-terminated lines)
  bool ascii = false;   ///< TYPE A conversion applies
  fault_kind fault = fault_kind::none;
  std::uint64_t drop_after = 0;          ///< fault_kind::drop
  std::uint64_t bytes_per_second = 0;    ///< data shaping (0: unlimited)
  std::chrono::milliseconds latency{0};  ///< data shaping: added before each write
  file_locks::lock lock;                 ///< held for the transfer's life
};

/// How a transfer ended, as the Asio layer reports it.
enum class transfer_result {
  ok,              ///< every byte moved, data connection closed cleanly
  connect_failed,  ///< active mode: could not connect (425)
  accept_timeout,  ///< passive mode: no connection came in time (421)
  data_timeout,    ///< no byte moved for the data idle time (421, control closed)
  peer_closed,     ///< the client broke the data connection (426)
  dropped,         ///< a data_drop fault closed it (426)
  local_error,     ///< reading or writing the file failed (451)
  aborted,         ///< ABOR (the core has already answered)
};

/// Something the Asio layer must do, in order.
struct action {
  /// What to do.
  enum class kind {
    reply,           ///< send `text` on the control connection
    delay,           ///< wait `after` before carrying out the following actions
    open_passive,    ///< open a listener; call passive_opened() or passive_failed()
    set_active,      ///< connect to `host`:`port` when the next transfer starts
    close_data,      ///< drop any listener or data connection (no transfer is running)
    start_transfer,  ///< run `xfer`; call transfer_done() when it ends
    abort_transfer,  ///< stop the running transfer without calling transfer_done()
    close_control,   ///< close the control connection once earlier replies are sent
  };
  kind what = kind::reply;
  std::string text;                    ///< reply
  std::chrono::milliseconds after{0};  ///< delay
  std::string host;                    ///< set_active
  std::uint16_t port = 0;              ///< set_active
  std::shared_ptr<transfer> xfer;      ///< start_transfer
};

/// What the core tells its observer (records and transcripts).
enum class record_kind {
  command,  ///< a command line received (PASS argument masked)
  reply,    ///< a reply sent
  fault,    ///< a fault rule fired: "<action> <command>" or the rule's name
};

/// What a session's core needs from the server. References outlive the core.
struct session_context {
  const config& cfg;          ///< server configuration
  const jail& root;           ///< the served root
  fault_book& faults;         ///< live fault rules
  file_locks& locks;          ///< server-wide file locks
  std::string peer_address;   ///< client's IP as text (bounce protection)
  std::string local_address;  ///< our IP on the control connection (PASV reply)
};

/// The control connection of one session as a state machine. Feed bytes with `feed()`, take
/// actions with `step()` until it returns none, report data-channel events back.
class protocol {
 public:
  /// Observer of commands, replies and fired faults.
  using observer = std::function<void(record_kind, std::string_view)>;

  /// A fresh session, not logged in, at "/".
  explicit protocol(session_context ctx);

  /// The greeting (220) to send on connect.
  std::vector<action> start();
  /// Appends control bytes; complete lines wait for `step()`.
  void feed(std::string_view bytes);
  /// Whether the Asio layer should keep reading (few enough lines waiting).
  bool wants_input() const { return pending_.size() < 64 && !closing_; }
  /// Handles the next waiting line if it may run now (during a transfer only ABOR, STAT,
  /// QUIT and NOOP run; others wait). Empty when nothing to do.
  std::vector<action> step();
  /// Whether any line is waiting.
  bool has_pending() const { return !pending_.empty(); }

  /// The listener asked for by open_passive is up on `port`.
  std::vector<action> passive_opened(std::uint16_t port);
  /// The listener could not be opened.
  std::vector<action> passive_failed();
  /// No connection came to the passive listener in time (no transfer waiting on it).
  std::vector<action> passive_timeout();
  /// The running transfer ended (not called after abort_transfer).
  std::vector<action> transfer_done(transfer_result r, std::uint64_t bytes);
  /// The control connection was idle for `control_idle()`.
  std::vector<action> idle_timeout();
  /// The login time (`timeouts.login`) since connecting has passed: closes the session
  /// unless it has logged in (then nothing to do).
  std::vector<action> login_timeout();
  /// A `close_control` rule's time came.
  std::vector<action> close_timer_fired(fault_book::rule_id id);

  /// The idle time allowed now: the configured one, or shorter if an idle_timeout rule says.
  std::chrono::milliseconds control_idle() const;
  /// Time-based close_control rules not yet handed out, with their delays.
  std::vector<std::pair<fault_book::rule_id, std::chrono::milliseconds>> new_close_timers();
  /// Control shaping in force: {bytes per second (0: unlimited), latency}.
  std::pair<std::uint64_t, std::chrono::milliseconds> control_shape() const;

  /// Whether a transfer is running.
  bool busy() const { return busy_; }
  /// Whether the session has asked to close.
  bool closing() const { return closing_; }
  /// Whether USER/PASS succeeded.
  bool logged_in() const { return logged_in_; }
  /// The user name given (empty before USER).
  const std::string& user_name() const { return user_; }
  /// The current virtual folder.
  const std::string& cwd() const { return cwd_; }
  /// Sets the observer of commands, replies and faults.
  void set_observer(observer o) { observer_ = std::move(o); }

 private:
  /// Which store command: STOR (truncate or restart), APPE (append), STOU (a fresh name).
  enum class store_mode { store, append, unique };
  /// Which listing command: LIST (`ls -l` lines), NLST (names), MLSD (fact lines).
  enum class listing_style { list, names, facts };
  struct command_spec;
  using handler = void (protocol::*)(const std::string& arg, std::vector<action>& out);

  std::vector<action> run_line(const command_line& line);
  void reply(std::vector<action>& out, std::string text);
  void note(record_kind k, std::string_view text) const;
  /// The seam where a data connection would be set up: whether a fault refuses it (then
  /// `out` has the refusal).
  bool fault_data_refuse(const std::string& verb, const std::string& arg, std::vector<action>& out);
  /// The seam where a transfer starts: the faults that act on it.
  void fault_transfer(transfer& x, const std::string& verb, const std::string& arg);
  std::optional<std::filesystem::path> real_path(const std::string& arg, std::string* vpath,
                                                 std::vector<action>& out);
  bool need_write(std::vector<action>& out);
  void begin_transfer(std::shared_ptr<transfer> x, const std::string& verb, const std::string& arg,
                      std::vector<action>& out, std::string preliminary);
  void store(const std::string& arg, std::vector<action>& out, store_mode mode);
  void listing(const std::string& arg, std::vector<action>& out, listing_style style);

  // Command handlers, one per verb (synonyms share).
  void cmd_user(const std::string& arg, std::vector<action>& out);
  void cmd_pass(const std::string& arg, std::vector<action>& out);
  void cmd_quit(const std::string& arg, std::vector<action>& out);
  void cmd_noop(const std::string& arg, std::vector<action>& out);
  void cmd_syst(const std::string& arg, std::vector<action>& out);
  void cmd_feat(const std::string& arg, std::vector<action>& out);
  void cmd_opts(const std::string& arg, std::vector<action>& out);
  void cmd_help(const std::string& arg, std::vector<action>& out);
  void cmd_stat(const std::string& arg, std::vector<action>& out);
  void cmd_pwd(const std::string& arg, std::vector<action>& out);
  void cmd_cwd(const std::string& arg, std::vector<action>& out);
  void cmd_cdup(const std::string& arg, std::vector<action>& out);
  void cmd_type(const std::string& arg, std::vector<action>& out);
  void cmd_mode(const std::string& arg, std::vector<action>& out);
  void cmd_stru(const std::string& arg, std::vector<action>& out);
  void cmd_pasv(const std::string& arg, std::vector<action>& out);
  void cmd_epsv(const std::string& arg, std::vector<action>& out);
  void cmd_port(const std::string& arg, std::vector<action>& out);
  void cmd_eprt(const std::string& arg, std::vector<action>& out);
  void cmd_rest(const std::string& arg, std::vector<action>& out);
  void cmd_retr(const std::string& arg, std::vector<action>& out);
  void cmd_stor(const std::string& arg, std::vector<action>& out);
  void cmd_appe(const std::string& arg, std::vector<action>& out);
  void cmd_stou(const std::string& arg, std::vector<action>& out);
  void cmd_size(const std::string& arg, std::vector<action>& out);
  void cmd_mdtm(const std::string& arg, std::vector<action>& out);
  void cmd_dele(const std::string& arg, std::vector<action>& out);
  void cmd_mkd(const std::string& arg, std::vector<action>& out);
  void cmd_rmd(const std::string& arg, std::vector<action>& out);
  void cmd_rnfr(const std::string& arg, std::vector<action>& out);
  void cmd_rnto(const std::string& arg, std::vector<action>& out);
  void cmd_list(const std::string& arg, std::vector<action>& out);
  void cmd_nlst(const std::string& arg, std::vector<action>& out);
  void cmd_mlsd(const std::string& arg, std::vector<action>& out);
  void cmd_mlst(const std::string& arg, std::vector<action>& out);
  void cmd_abor(const std::string& arg, std::vector<action>& out);
  void cmd_allo(const std::string& arg, std::vector<action>& out);
  void cmd_not_implemented(const std::string& arg, std::vector<action>& out);

  static const std::map<std::string, command_spec, std::less<>>& table();

  session_context ctx_;
  command_splitter splitter_;
  std::deque<command_line> pending_;
  observer observer_;
  fault_filter faults_;  ///< every fault rule acts through it

  std::string user_;
  bool user_given_ = false;
  bool logged_in_ = false;
  bool can_write_ = false;
  std::optional<jail> jail_;
  std::string cwd_ = "/";
  bool ascii_ = true;  // RFC 959 default TYPE is A
  enum class data_mode { none, passive, active } data_mode_ = data_mode::none;
  bool epsv_all_ = false;
  bool passive_pending_extended_ = false;
  std::uint64_t rest_ = 0;
  std::optional<std::filesystem::path> rename_from_;
  bool busy_ = false;
  bool closing_ = false;
  std::uint64_t commands_ = 0;
  bool quit_pending_ = false;
  int login_failures_ = 0;
};

/// One line of `ls -l`-style listing (CRLF-terminated) for `name` with status `st`.
std::string list_line(const std::string& name, const std::filesystem::path& real);
/// One MLSD/MLST fact line (CRLF-terminated, no leading space) for `name`; the perm fact
/// says what this session may do (`writable`: the user has write access).
std::string mlsx_line(const std::string& name, const std::filesystem::path& real,
                      bool writable = true);

}  // namespace quecsim::ftpd
