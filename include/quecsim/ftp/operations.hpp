#pragma once
// The FTP client's operations without I/O (the shape of Boost.MySQL's sans-io steps): each
// one is fed what happened (a reply, a connect or accept completing, the data ending, a
// timer, a failure) and answers the next thing to do (send a line, connect, listen, start
// moving data, wait, or done with a result). `ftp::client` drives them over `net`; a unit
// test drives them from a script and fails them at every step without sockets.

#include "quecsim/ftp/reply_parser.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>

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

/// What the operations share about the logged-in control connection.
struct session {
  char type = 0;    ///< the TYPE the server is in, 0 unknown
  bool v6 = false;  ///< the control connection runs over IPv6: EPSV instead of PASV
};

/// What happened, fed to an operation's `resume`.
struct op_event {
  /// The kinds of happenings.
  enum class kind {
    start,          ///< the operation begins
    reply,          ///< a complete control reply arrived (`r`)
    connected,      ///< the control or data connect completed (`ec`)
    listened,       ///< listening for the data connection (`ec`, `address`, `port`)
    accepted,       ///< the server's data connection arrived (`ec`)
    data_moved,     ///< `bytes` went over the data connection
    data_end,       ///< the download reached its end, or the upload's sending side closed
    data_error,     ///< the data connection failed while moving bytes (`ec`)
    cancel,         ///< the host ended a download early (+++, a time limit)
    control_error,  ///< the control connection failed or the server closed it (`ec`)
    timeout,        ///< the deadline the operation asked for passed
  };
  kind what = kind::start;
  reply r;                       ///< reply
  boost::system::error_code ec;  ///< connected, listened, accepted, data_error, control_error
  std::string address;           ///< listened: where the module listens
  std::uint16_t port = 0;        ///< listened
  std::uint64_t bytes = 0;       ///< data_moved
};

/// What an operation asks of its driver with a deadline: leave it, stop it, or (re)start it
/// with one of the `timeouts`.
enum class deadline { keep, cancel, connect, reply, data };

/// The next thing to do, answered by an operation's `resume`.
struct op_step {
  /// The kinds of requests.
  enum class kind {
    wait,          ///< nothing to do until the next event
    connect,       ///< open the control connection to `host`:`port`
    send,          ///< send `line` (without CR LF) on the control connection
    connect_data,  ///< connect the data connection to the control peer's address, `port`
    listen,        ///< listen for the data connection; answer with `listened`
    start_data,    ///< the transfer began: open the sink or source and move bytes
    done,          ///< finished with `res`
  };
  kind what = kind::wait;
  std::string line;        ///< send
  std::string host;        ///< connect
  std::uint16_t port = 0;  ///< connect, connect_data
  deadline reply_timer = deadline::keep;
  deadline data_timer = deadline::keep;
  result res;                 ///< done
  bool drop_control = false;  ///< done: the control connection is to be dropped
  bool logged_in = false;     ///< done: the session is open (login succeeded)
  bool ignored = false;       ///< wait: a reply came that nothing awaited; it was ignored
};

/// The common part of every operation: the failures that end any of them the same way,
/// and the bookkeeping of whether a reply is awaited.
class operation {
 public:
  virtual ~operation() = default;
  operation() = default;
  operation(const operation&) = delete;
  operation& operator=(const operation&) = delete;

  /// Feeds one event; returns what to do next. After `done`, every event answers `done`
  /// again with the same result (the operation is finished and stays so).
  op_step resume(const op_event& e);
  /// Whether the operation has finished.
  bool finished() const { return finished_; }
  /// Whether a control reply is awaited now.
  bool awaiting_reply() const { return awaiting_; }

 protected:
  /// The operation's own handling of `e` (failures common to all are handled before).
  virtual op_step on_event(const op_event& e) = 0;
  /// The result a failure ends the operation with (`code` and what it has counted).
  virtual result failed(int code) const { return {code, 0}; }
  /// Whether the operation ends every failure with 0 (close).
  virtual bool always_succeeds() const { return false; }

  /// Sends `line` and awaits its reply within the reply deadline.
  op_step send(std::string line);
  /// Awaits a reply: within the reply deadline if `timed`, else without one.
  op_step expect(bool timed = true);
  /// Ends with `r`; `drop` drops the control connection.
  op_step done(result r, bool drop = false);
  /// Ends with the failure `code`, dropping the control connection when the code says it is
  /// out of step with the server (-9) or gone (-6, -8).
  op_step fail(int code);

 private:
  bool finished_ = false;
  bool awaiting_ = false;
  op_step last_;
};

/// Connects, waits for the greeting (through 1xx), logs in: USER, then PASS on 331 (332,
/// an account wanted, gives -532). Any failure drops the control connection.
class open_op final : public operation {
 public:
  /// `o` names the server and the login.
  explicit open_op(open_options o) : options_(std::move(o)) {}

 private:
  op_step on_event(const op_event& e) override;
  op_step logged_in(const reply& r);

  enum class phase { start, connecting, greeting, user, pass };
  open_options options_;
  phase phase_ = phase::start;
};

/// One command whose 2xx reply is success (CWD, DELE, MKD, RMD), or a chain of them where
/// each but the last must answer `intermediate` (RNFR 350 then RNTO).
class command_op final : public operation {
 public:
  /// One command line.
  explicit command_op(std::string line) : first_(std::move(line)) {}
  /// `first` must answer `intermediate`, then `second` a 2xx.
  command_op(std::string first, int intermediate, std::string second)
      : first_(std::move(first)), second_(std::move(second)), intermediate_(intermediate) {}

 private:
  op_step on_event(const op_event& e) override;

  std::string first_;
  std::string second_;
  int intermediate_ = 0;
  int sent_ = 0;
};

/// TYPE I (unless the server is in it; vsftpd refuses SIZE in ASCII) then SIZE; the 213
/// reply's number is the result's value.
class size_op final : public operation {
 public:
  /// `s` must outlive the operation; its type is updated.
  size_op(std::string name, session& s) : name_(std::move(name)), session_(s) {}

 private:
  op_step on_event(const op_event& e) override;

  enum class phase { start, type, size };
  std::string name_;
  session& session_;
  phase phase_ = phase::start;
};

/// One transfer: TYPE, then PASV (EPSV over IPv6) and a data connect, or a listen and PORT;
/// REST when resuming; the verb (RETR, STOR, LIST, NLST); then the data and the final reply
/// in either order.
///
///   TYPE ─▶ PASV ─▶ connect data ─┐                      ┌─▶ data end ─┐
///        └▶ listen ─▶ PORT ───────┴▶ [REST] ─▶ verb ─▶ 1xx + data up ─▶ start_data ─┤
///                                                                  └─▶ final 2xx ─┴▶ done
///
/// An error reply or a data failure ends it at once, except that a download's bytes still
/// on their way when an error reply overtakes them are delivered first.
class transfer_op final : public operation {
 public:
  /// `download` says which way the bytes go; `s` must outlive the operation.
  transfer_op(std::string verb, std::string name, transfer_options o, bool download, session& s)
      : verb_(std::move(verb)),
        name_(std::move(name)),
        options_(o),
        download_(download),
        session_(s) {}

  /// Bytes moved so far.
  std::uint64_t bytes() const { return bytes_; }
  /// Whether `start_data` was asked (the sink or source was opened).
  bool started() const { return started_; }
  /// Whether the data connection has ended (download end, upload closed, cancel).
  bool data_ended() const { return data_end_; }
  /// Whether the host ended the transfer early.
  bool cancelling() const { return cancelling_; }
  /// Whether the data connection is up.
  bool data_connected() const { return data_connected_; }

 private:
  op_step on_event(const op_event& e) override;
  result failed(int code) const override { return {code, bytes_}; }
  op_step on_start();
  op_step on_reply(const reply& r);
  op_step on_pasv(const reply& r);
  op_step on_listened(const op_event& e);
  op_step after_type();
  op_step after_data_mode();
  op_step on_data_connected(const op_event& e);
  op_step on_accepted(const op_event& e);
  op_step on_final(const reply& r);
  op_step maybe_start(op_step s);
  op_step maybe_finish();

  enum class phase { start, type, pasv, connecting, port, rest, verb, transfer };
  std::string verb_;
  std::string name_;
  transfer_options options_;
  bool download_;
  session& session_;
  phase phase_ = phase::start;
  std::uint64_t bytes_ = 0;
  bool listening_ = false;       ///< active mode: an accept may come at any point
  bool data_connected_ = false;  ///< the data connection is up
  bool prelim_ = false;          ///< the verb's 1xx came
  bool started_ = false;         ///< start_data was asked
  bool data_end_ = false;        ///< the data connection ended
  bool cancelling_ = false;      ///< the host ended the download early
  bool has_final_ = false;       ///< the final reply came (kept in final_)
  reply final_;
};

/// QUIT and drop the control connection. Ends with 0 whatever happens.
class close_op final : public operation {
 private:
  op_step on_event(const op_event& e) override;
  bool always_succeeds() const override { return true; }
};

}  // namespace quecsim::ftp
