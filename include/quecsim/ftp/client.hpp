#pragma once

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/ftp/reply_parser.hpp"
#include "quecsim/net/network.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quecsim::ftp {

/// How an operation ended: `code` 0 for success, else a negative chapter 3 code (see
/// errors.hpp); `value` the size (SIZE) or the bytes moved (transfers), also on failure.
struct result {
  int code = 0;
  std::uint64_t value = 0;
};

/// Where and as whom `client::open` logs in.
struct open_options {
  std::string host;  ///< a name or IP literal, looked up through net::network's host map
  std::uint16_t port = 21;
  std::string user;      ///< empty: anonymous
  std::string password;  ///< empty with anonymous: "quecsim@"
};

/// How one transfer runs (AT+QFTPCFG types 1-3).
struct transfer_options {
  bool passive = true;       ///< PASV, else PORT with the module listening
  bool binary = true;        ///< TYPE I, else TYPE A
  std::uint64_t offset = 0;  ///< REST offset when greater than zero
};

/// Deadlines, in simulated time (scaled by the clock). Any of them passing ends the running
/// operation with -9 and drops the control connection, because a late reply would be taken
/// for the answer to a later command.
struct timeouts {
  clock::duration connect = std::chrono::seconds(30);  ///< TCP connect, control or data
  clock::duration reply = std::chrono::seconds(30);    ///< each control reply
  clock::duration data = std::chrono::seconds(90);     ///< data silence while the client waits
};

/// Receives a download. The client reads the data socket again only after `ready` is
/// called, so a slow consumer (a UART) bounds memory rather than letting it grow.
class download_sink {
 public:
  virtual ~download_sink() = default;
  /// The data connection is open and the server started the transfer (print CONNECT).
  virtual void on_open() = 0;
  /// `n` bytes arrived (valid only during the call); call `ready()` when more may come. It
  /// may be called from inside on_data or later; calling it after the operation ended is
  /// harmless.
  virtual void on_data(const char* data, std::size_t n, std::function<void()> ready) = 0;
};

/// Feeds an upload. After `on_open` the caller pushes bytes with `client::write` (one at a
/// time: wait for its completion), then calls `client::finish_upload` (or
/// `client::cancel_transfer`).
class upload_source {
 public:
  virtual ~upload_source() = default;
  /// The data connection is open and the server is ready to take bytes (print CONNECT).
  virtual void on_open() = 0;
};

/// An asynchronous FTP client for one control connection, on one io_context thread.
/// One operation at a time: starting another while one runs completes with -3 (busy).
/// Every started operation's `done` fires exactly once, posted (never from inside the
/// call that started it), unless `abort()` is called first. Every control line sent and
/// received is published as ftp_tx / ftp_rx (PASS masked); data counts as data_bytes.
class client : public std::enable_shared_from_this<client> {
 public:
  /// Completion of an operation.
  using done = std::function<void(result)>;
  /// Completion of one `write` during an upload: 0, or the code the transfer fails with.
  using written = std::function<void(int code)>;

  /// The references must outlive the client. Create with std::make_shared.
  client(boost::asio::io_context& io, net::network& net, events::bus& bus,
         const quecsim::clock& clk, int module_id);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Sets the deadlines used by later operations.
  void set_timeouts(const timeouts& t) { timeouts_ = t; }
  const timeouts& get_timeouts() const { return timeouts_; }

  /// Connects, waits for 220, logs in (USER, then PASS on 331; 332 gives -532).
  void open(open_options options, done d);
  /// CWD.
  void cwd(std::string path, done d);
  /// TYPE I (vsftpd refuses SIZE in ASCII) then SIZE; `value` is the size.
  void size(std::string name, done d);
  /// DELE.
  void remove(std::string name, done d);
  /// MKD.
  void make_dir(std::string path, done d);
  /// RMD.
  void remove_dir(std::string path, done d);
  /// RNFR then RNTO.
  void rename(std::string from, std::string to, done d);

  /// RETR into `sink` (which must live until `d` fires); `value` = bytes received.
  void retrieve(std::string name, transfer_options options, download_sink& sink, done d);
  /// STOR from bytes pushed with `write` after `source.on_open()`; `value` = bytes sent.
  void store(std::string name, transfer_options options, upload_source& source, done d);
  /// Sends `n` bytes of an upload (copied at once); `w` fires when the link has room again.
  void write(const char* data, std::size_t n, written w);
  /// Ends an upload: closes the data connection's sending side; `done` of `store` fires
  /// with the server's final reply.
  void finish_upload();
  /// Ends a running transfer early (+++, a time limit). A download drops its data
  /// connection; an upload ends like `finish_upload` (what was written reaches the server,
  /// which keeps it). `done` fires with the server's final reply mapped (a download often
  /// gets -426, or 0 if the server had finished) and the bytes moved. Ignored before the
  /// sink's or source's `on_open`, and after the transfer ended.
  void cancel_transfer();

  /// QUIT and close. Valid in every state: a running operation first ends with -1 (its
  /// `done` fires), an opening is cancelled; with nothing open it completes at once. Always
  /// completes with code 0: afterwards the client is closed and may `open` again.
  void close(done d);
  /// Drops everything at once; no callback of any kind fires afterwards for what ran.
  void abort();

  /// Errors while no operation runs: a 421 reply gives -421; the server closing the control
  /// connection gives -6, the packet context going down -8 (the module prints
  /// +QFTPERROR:<code>). Also fires for a close that follows an operation's -421.
  void on_unsolicited(std::function<void(int code)> h) { unsolicited_ = std::move(h); }

  /// Whether the control connection is up and logged in.
  bool is_open() const { return state_ == state::ready; }
  /// Whether an operation runs.
  bool busy() const { return op_running_; }

 private:
  enum class state { closed, connecting, ready, closing };
  enum class direction { none, download, upload };
  using reply_handler = std::function<void(const reply&)>;

  bool begin(done& d, bool needs_session);
  void finish(result r);
  void fail(int code);
  void drop_control();
  void drop_data();
  void notify_unsolicited(int code);
  void publish(events::kind k, std::string_view text) const;

  // Control connection.
  void on_connected(boost::system::error_code ec);
  void on_greeting(const reply& r);
  void do_ctrl_read();
  void on_ctrl_read(boost::system::error_code ec, std::size_t n);
  void on_ctrl_error(boost::system::error_code ec);
  void handle_reply(const reply& r);
  void send(const std::string& line);
  void do_ctrl_write();
  void on_ctrl_write(boost::system::error_code ec);
  void expect(reply_handler h, bool timed = true);
  void command(const std::string& line, reply_handler h);
  void simple(const std::string& line, done d);
  void login();
  void ensure_type(char type, const std::function<void()>& next);
  void arm_reply_timer(clock::duration d);
  void arm_data_timer(clock::duration d);

  // Transfers.
  void start_transfer(const std::string& verb, std::string name, transfer_options options);
  void open_data(const std::function<void()>& next);
  void on_data_ready();
  void maybe_start();
  void do_data_read();
  void on_data_read(boost::system::error_code ec, std::size_t n);
  void on_final_reply(const reply& r);
  void maybe_finish_transfer();

  boost::asio::io_context& io_;
  net::network& net_;
  events::bus& bus_;
  const quecsim::clock& clock_;
  int module_;
  timeouts timeouts_;

  state state_ = state::closed;
  bool op_running_ = false;
  done op_done_;
  std::uint64_t gen_ = 0;  ///< bumped by abort and each operation: stale handlers see it
  std::function<void(int)> unsolicited_;

  std::shared_ptr<net::connection> ctrl_;
  reply_parser parser_;
  std::array<char, 4096> ctrl_buf_{};
  std::deque<std::string> ctrl_out_;
  bool ctrl_writing_ = false;
  reply_handler on_reply_;
  boost::asio::steady_timer reply_timer_;
  char type_ = 0;  ///< the TYPE the server is in, 0 unknown
  open_options open_;

  // The running transfer.
  direction dir_ = direction::none;
  download_sink* sink_ = nullptr;
  upload_source* source_ = nullptr;
  std::shared_ptr<net::connection> data_;
  std::shared_ptr<net::listener> listener_;
  boost::asio::steady_timer data_timer_;
  std::vector<char> data_buf_;
  std::uint64_t bytes_ = 0;
  bool prelim_ = false;  ///< the 1xx reply to RETR/STOR came
  bool data_connected_ = false;
  bool started_ = false;   ///< on_open was called
  bool data_eof_ = false;  ///< the data connection finished (download eof / upload sent)
  bool cancelling_ = false;
  bool data_reading_ = false;      ///< a data read is outstanding
  bool shutting_down_ = false;     ///< finish_upload runs: no more writes
  bool open_data_passive_ = true;  ///< the running transfer's data connection mode
  std::optional<reply> final_;     ///< the reply ending the transfer
};

}  // namespace quecsim::ftp
