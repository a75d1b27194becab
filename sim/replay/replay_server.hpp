#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace quecsim::sim::replay {

/// One step of the FTP conversation a transcript recorded, as the server saw it.
struct ftp_step {
  enum kind {
    open,     ///< the module opened a control connection ("connect NAME:PORT -> ...")
    command,  ///< a control line from the module (ftp_tx)
    reply,    ///< a control line from the server (ftp_rx)
    closed,   ///< the control connection ended ("control connection: ...")
  };
  kind what = command;
  std::string text;
  std::size_t line = 0;  ///< the transcript line, for messages
  double t = 0;          ///< when it happened, in the transcript's seconds
};

/// The recorded FTP server, played back: it answers each control line the module sends with
/// the replies the transcript recorded after it, rewrites PASV/EPSV replies to a data port of
/// its own (or connects to the module's PORT), and serves each download the bytes the
/// transcript kept of it. It runs on its io_context's thread only.
class replay_server {
 public:
  /// `steps` in transcript order; `downloads` maps the index of a RETR/LIST/NLST step to the
  /// bytes its data connection carried.
  replay_server(boost::asio::io_context& io, std::vector<ftp_step> steps,
                std::map<std::size_t, std::string> downloads);

  /// Listens on 127.0.0.1, any port; returns the port.
  std::uint16_t start();

  /// Control lines the module sent that were not the recorded ones, as "line N: recorded
  /// 'X', sent 'Y'" (read once the io_context has stopped).
  const std::vector<std::string>& mismatches() const { return mismatches_; }

 private:
  using socket_ptr = std::shared_ptr<boost::asio::ip::tcp::socket>;
  enum class transfer { none, download, upload };

  void accept_control();
  void read_control(const socket_ptr& s);
  void on_line(const std::string& line);
  void advance();
  void send(const std::string& line);
  void write_next();
  std::string data_reply(const std::string& text);
  void with_data(std::function<void()> fn);
  void data_ready(socket_ptr s);
  void serve_download();
  void drain_upload(bool abort);
  void close_data();
  void close_control();

  boost::asio::io_context& io_;
  std::vector<ftp_step> steps_;
  std::map<std::size_t, std::string> downloads_;
  boost::asio::ip::tcp::acceptor control_acceptor_;
  boost::asio::ip::tcp::acceptor data_acceptor_;
  boost::asio::steady_timer close_timer_;
  socket_ptr control_;
  socket_ptr data_;
  std::string control_in_;
  std::deque<std::string> control_out_;
  bool writing_ = false;
  bool close_after_write_ = false;
  std::size_t cursor_ = 0;
  std::size_t accepted_ = 0;  // control connections accepted, not yet matched to an open step
  bool blocked_ = false;      // waiting for the data connection of a transfer
  transfer transfer_ = transfer::none;
  std::size_t transfer_step_ = 0;
  std::function<void()> on_data_;
  std::vector<std::string> mismatches_;
};

/// One step of a TCP connection of the socket service, as the transcript recorded it.
struct socket_step {
  enum kind {
    from_module,  ///< bytes the module sent to the peer ("<i> tx")
    from_peer,    ///< bytes the peer sent to the module ("<i> rx")
    peer_close,   ///< the peer ended the connection ("<i> closed by peer")
  };
  kind what = from_module;
  std::string bytes;
  double t = 0;  ///< when it happened, in the transcript's seconds
};

/// One recorded TCP connection of the socket service: where AT+QIOPEN went and what moved.
struct socket_script {
  std::string host;             ///< the host as AT+QIOPEN named it (an address or a name)
  std::uint16_t peer_port = 0;  ///< the port the module reached (0: not recorded)
  double t = 0;                 ///< when it connected
  std::vector<socket_step> steps;
};

/// The recorded socket peers, played back as replay_server plays the FTP server: the module's
/// connections are taken in the order the transcript opened them, each sent the peer's bytes
/// once the module's bytes recorded before them have come (and not before their recorded time
/// since the connection, divided by the replay's speed), and closed where the peer closed it.
/// It runs on its io_context's thread only.
class socket_peer {
 public:
  socket_peer(boost::asio::io_context& io, std::vector<socket_script> scripts, double speed);

  /// Listens on 127.0.0.1 on every port the recorded connections reached, so the module's
  /// addresses (the +QIRD header, AT+QISTAT) are the recorded ones. Returns 0 when it got
  /// them all, else the port of a listener of its own the module must be sent to instead.
  std::uint16_t start();

  /// Bytes the module sent that were not the recorded ones, as "connection N: ..." (read once
  /// the io_context has stopped).
  const std::vector<std::string>& mismatches() const { return mismatches_; }

 private:
  struct connection;
  using connection_ptr = std::shared_ptr<connection>;

  void accept(boost::asio::ip::tcp::acceptor& a);
  void advance(const connection_ptr& c);
  void read(const connection_ptr& c);

  boost::asio::io_context& io_;
  std::vector<socket_script> scripts_;
  double speed_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::size_t accepted_ = 0;
  std::vector<connection_ptr> open_;
  std::vector<std::string> mismatches_;
};

}  // namespace quecsim::sim::replay
