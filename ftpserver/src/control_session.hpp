#pragma once

#include <array>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "quecsim/ftpd/protocol.hpp"
#include "server_state.hpp"

namespace quecsim::ftpd {

/// One control connection and its data connection: moves bytes between sockets, files and the
/// protocol core, and runs the timers. All decisions are the core's.
///
///   socket ──read──▶ protocol::feed ──step()──▶ actions ──▶ replies (write queue)
///                                                  │──▶ passive listener / active connect
///                                                  └──▶ transfer ──done──▶ transfer_done()
class control_session : public std::enable_shared_from_this<control_session> {
 public:
  /// Takes an accepted socket.
  control_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state,
                  std::shared_ptr<session_record> record);
  /// Sends the greeting and starts reading.
  void run();
  /// Closes everything now (server stop, peer gone).
  void stop();
  /// The fault rules changed: arm timers of new time-based rules, re-arm the idle timer.
  void rules_changed();

 private:
  using tcp = boost::asio::ip::tcp;

  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void pump();
  void execute(action& a);
  void push_front(std::vector<action> acts);
  void push_back(std::vector<action> acts);

  void send(std::string text);
  void do_write();
  void do_write_now();
  void do_write_slice();
  void on_write(const boost::system::error_code& ec, std::size_t n);
  void close_control();

  void arm_idle();
  void disarm_idle();

  void open_passive();
  void do_accept();
  void close_data();
  void start_transfer(std::shared_ptr<transfer> x);
  void data_connected();
  void transfer_send();
  void transfer_sendfile();
  void transfer_receive();
  void pace(std::size_t n, std::function<void()> next);
  void arm_data_idle();
  void finish_transfer(transfer_result r);

  tcp::socket socket_;
  std::shared_ptr<server_state> state_;
  std::shared_ptr<session_record> record_;
  std::string peer_address_;
  protocol core_;
  bool stopped_ = false;

  // control reading and the action queue
  std::array<char, 4096> read_buf_{};
  bool reading_ = false;
  bool peer_eof_ = false;  // the client half-closed: finish answering, then close
  std::deque<action> queued_actions_;
  bool waiting_ = false;  // a delay or an asynchronous step holds the queue
  boost::asio::steady_timer delay_timer_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer login_timer_;
  std::uint64_t idle_gen_ = 0;
  std::list<boost::asio::steady_timer> close_timers_;

  // control writing
  std::deque<std::string> write_queue_;
  bool writing_ = false;
  bool close_after_write_ = false;
  boost::asio::steady_timer write_timer_;
  std::string in_flight_;
  std::chrono::steady_clock::time_point shape_start_{};
  std::uint64_t shape_bytes_ = 0;

  // data channel
  std::optional<tcp::acceptor> acceptor_;
  std::optional<tcp::socket> data_;
  std::optional<tcp::endpoint> active_target_;
  bool data_ready_ = false;
  int foreign_rejects_ = 0;
  boost::asio::steady_timer passive_timer_;
  boost::asio::steady_timer data_timer_;
  boost::asio::steady_timer pace_timer_;
  std::shared_ptr<transfer> xfer_;
  std::uint64_t xfer_gen_ = 0;
  std::uint64_t data_gen_ = 0;
  std::uint64_t moved_ = 0;
  std::uint64_t last_progress_ = 0;
  std::chrono::steady_clock::time_point xfer_start_{};
  std::vector<char> buf_;
  std::string out_;
  ascii_encoder encoder_;
  ascii_decoder decoder_;
  std::size_t bytes_offset_ = 0;
};

}  // namespace quecsim::ftpd
