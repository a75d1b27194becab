#pragma once

#include <boost/system/error_code.hpp>
#include <type_traits>

namespace quecsim::storage {

/// The `+CME ERROR` codes of the file commands (the 4000 series of GSM_File_ATC; at::cme has
/// the same numbers and their texts). Only 4010 is seen in driver logs (AT+QFDWL of a missing
/// file); the others are the simulator's choice, listed in docs/storage.md. An `error_code`
/// enum of its own category, as net::errc is, so a storage failure travels through the
/// services' asynchronous paths as any other error does; `ok` is success.
enum class errc : int {
  ok = 0,
  invalid_input = 4000,  ///< a parameter out of range, a malformed pattern
  invalid_name = 4001,   ///< a name too long, empty, or with a forbidden character
  no_space = 4002,       ///< the area (or a RAM file's reservation) is full
  exists = 4003,         ///< AT+QFUPL onto a file that is there already
  too_many_open = 4004,  ///< every AT+QFOPEN handle is in use
  bad_handle = 4005,     ///< no open file has that handle
  read_only = 4006,      ///< a write through a handle opened with mode 2
  busy = 4007,           ///< the file is open, or an FTP transfer is using it
  no_area = 4008,        ///< the model has no such area (RAM:, SD:)
  past_end = 4009,       ///< AT+QFSEEK outside the file
  not_found = 4010,      ///< no such file
};

/// The error category of `errc` ("quecsim.storage").
const boost::system::error_category& category();

/// Makes an `error_code` of the storage category.
boost::system::error_code make_error_code(errc e);

}  // namespace quecsim::storage

namespace boost::system {
template <>
struct is_error_code_enum<quecsim::storage::errc> : std::true_type {};
}  // namespace boost::system
