#include "quecsim/ftp/errors.hpp"

#include "quecsim/net/network.hpp"

#include <boost/asio/error.hpp>

namespace quecsim::ftp {

int from_reply(int reply_code) {
  switch (reply_code) {
    case 421:
    case 425:
    case 426:
    case 450:
    case 452:
    case 500:
    case 501:
    case 502:
    case 530:
    case 532:
    case 550:
    case 551:
    case 552:
    case 553:
      return -reply_code;
    default:
      break;
  }
  if (reply_code >= 400 && reply_code < 500) {
    if (reply_code < 430 && reply_code >= 420) return -421;
    if (reply_code < 440 && reply_code >= 430) return -530;  // 430 bad login (RFC 2228 era)
    return -450;
  }
  if (reply_code >= 500 && reply_code < 600) {
    if (reply_code == 504) return -502;  // command not implemented for that parameter
    if (reply_code >= 530 && reply_code < 540) return -530;
    if (reply_code >= 550 && reply_code < 560) return -550;
    return -500;
  }
  return error::unknown;
}

int from_network(const boost::system::error_code& ec, bool data_connection) {
  if (ec.category() == net::category()) {
    switch (static_cast<net::errc>(ec.value())) {
      case net::errc::dns_failed:
        return error::dns;
      case net::errc::connect_failed:
      case net::errc::context_inactive:
        return error::network;
      case net::errc::context_down:
        return error::context_down;
      case net::errc::timed_out:
        return error::timeout;
      case net::errc::connection_reset:
        return data_connection ? error::data_closed : error::control_closed;
    }
    return error::network;
  }
  namespace ae = boost::asio::error;
  // ENOTCONN: shutting down a socket the peer has already dropped.
  if (ec == ae::eof || ec == ae::connection_reset || ec == ae::connection_aborted ||
      ec == ae::broken_pipe || ec == ae::shut_down || ec == ae::not_connected)
    return data_connection ? error::data_closed : error::control_closed;
  if (ec == ae::timed_out) return error::timeout;
  if (ec == ae::host_not_found || ec == ae::host_not_found_try_again) return error::dns;
  return error::network;
}

}  // namespace quecsim::ftp
