#pragma once

#include <boost/system/error_code.hpp>

namespace quecsim::ftp {

/// The negative codes of the manual's chapter 3 that do not come from a server reply.
namespace error {
constexpr int unknown = -1;           ///< anything without a better code
constexpr int busy = -3;              ///< an operation already runs
constexpr int dns = -4;               ///< the host name did not resolve
constexpr int network = -5;           ///< connect failed, context could not come up, send failed
constexpr int control_closed = -6;    ///< the server closed the control connection
constexpr int data_closed = -7;       ///< the server closed (reset) the data connection
constexpr int context_down = -8;      ///< the packet context went down
constexpr int timeout = -9;           ///< a connect, reply or data deadline passed
constexpr int local_not_found = -11;  ///< the local file (UFS, RAM, SD) is not there
constexpr int local_failed = -12;     ///< the local file cannot be used (short, full, in use)
}  // namespace error

/// Maps an FTP reply code to a chapter 3 code. Codes chapter 3 lists (421, 425, 426, 450,
/// 452, 500, 501, 502, 530, 532, 550, 551, 552, 553) map to their negative; other 4xx/5xx
/// map to the nearest listed code of their group (42x→-421, 43x→-530, 45x→-450, 50x→-500
/// except 502/504→-502, 53x→-530, 55x→-550, other 5xx→-500, other 4xx→-450); 1xx-3xx and
/// anything else (an unexpected reply where an error was due) → -1.
int from_reply(int reply_code);

/// Maps a network failure to a chapter 3 code: DNS -4, connect -5, context down -8, timeout
/// -9, the peer closing or resetting -6 on the control connection and -7 on a data
/// connection; anything else -5 (a failure to send or receive).
int from_network(const boost::system::error_code& ec, bool data_connection);

}  // namespace quecsim::ftp
