#pragma once

#include "quecsim/core/clock.hpp"
#include "quecsim/core/events.hpp"
#include "quecsim/ftp/operations.hpp"
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

/// An asynchronous FTP client for one control connection, on one io_context thread: the thin
/// driver of the I/O-free operations of operations.hpp over `net` and the clock.
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
  bool busy() const { return op_ != nullptr; }

 private:
  enum class state { closed, connecting, ready, closing };
  enum class direction { none, download, upload };

  bool begin(done& d, bool needs_session);
  void run(std::unique_ptr<operation> op);
  void feed(const op_event& e);
  void perform(const op_step& s);
  void set_deadline(boost::asio::steady_timer& t, deadline d, bool data);
  void finish(result r);
  void drop_control();
  void drop_data();
  void notify_unsolicited(int code);
  void publish(events::kind k, std::string_view text) const;
  std::uint64_t bytes() const { return transfer_ ? transfer_->bytes() : 0; }

  // Control connection.
  void connect_control(const std::string& host, std::uint16_t port);
  void on_connected(boost::system::error_code ec);
  void do_ctrl_read();
  void on_ctrl_read(boost::system::error_code ec, std::size_t n);
  void on_ctrl_error(boost::system::error_code ec);
  void handle_reply(const reply& r);
  void send(const std::string& line);
  void do_ctrl_write();
  void on_ctrl_write(boost::system::error_code ec);

  // Transfers.
  void transfer(std::string_view verb, std::string name, transfer_options options);
  void connect_data(std::uint16_t port);
  void listen();
  void start_data();
  void do_data_read();
  void on_data_read(boost::system::error_code ec, std::size_t n);

  boost::asio::io_context& io_;
  net::network& net_;
  events::bus& bus_;
  const quecsim::clock& clock_;
  int module_;
  timeouts timeouts_;

  state state_ = state::closed;
  std::unique_ptr<operation> op_;    ///< the running operation, if any
  transfer_op* transfer_ = nullptr;  ///< op_ when it is a transfer
  done op_done_;
  std::uint64_t gen_ = 0;     ///< bumped by abort: stale handlers see it
  std::uint64_t op_seq_ = 0;  ///< bumped by each operation: its timers and connects see it
  std::function<void(int)> unsolicited_;
  session session_;

  std::shared_ptr<net::connection> ctrl_;
  reply_parser parser_;
  std::array<char, 4096> ctrl_buf_{};
  std::deque<std::string> ctrl_out_;
  bool ctrl_writing_ = false;
  boost::asio::steady_timer reply_timer_;

  // The running transfer's data path.
  direction dir_ = direction::none;
  download_sink* sink_ = nullptr;
  upload_source* source_ = nullptr;
  std::shared_ptr<net::connection> data_;
  std::shared_ptr<net::listener> listener_;
  boost::asio::steady_timer data_timer_;
  std::vector<char> data_buf_;
  bool data_reading_ = false;   ///< a data read is outstanding
  bool shutting_down_ = false;  ///< finish_upload runs: no more writes
};

}  // namespace quecsim::ftp
