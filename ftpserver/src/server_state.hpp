#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "quecsim/ftpd/server.hpp"

namespace quecsim::ftpd {

class control_session;

/// What a server and its sessions share. Sessions hold it by shared_ptr, so handlers still
/// queued after the server object is gone find it alive.
struct server_state {
  server_state(boost::asio::io_context& i, config c, const quecsim::clock* external)
      : io(i),
        cfg(std::move(c)),
        own_clock(1.0),
        clk(external ? external : &own_clock),
        acceptor(i),
        retry_timer(i) {}

  boost::asio::io_context& io;
  config cfg;
  quecsim::clock own_clock;
  const quecsim::clock* clk;
  std::optional<jail> root;
  fault_book faults;
  file_locks locks;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer retry_timer;  ///< accept retry after an error (EMFILE, ...)
  bool running = false;
  std::uint64_t next_id = 1;
  std::set<std::shared_ptr<control_session>> sessions;
  std::map<std::string, std::size_t> per_address;
  std::deque<std::shared_ptr<session_record>> records;
  std::function<void(const record_event&)> observer;

  /// A simulated duration in real time.
  std::chrono::steady_clock::duration scaled(std::chrono::milliseconds d) const {
    return clk->scaled(std::chrono::duration_cast<quecsim::clock::duration>(d));
  }
  /// Drops the oldest closed records beyond the limit.
  void trim_records();
  /// Forgets a session that has ended.
  void session_ended(const std::shared_ptr<control_session>& s, const std::string& address);
};

}  // namespace quecsim::ftpd
