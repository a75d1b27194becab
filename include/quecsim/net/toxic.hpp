#pragma once
// The faults that shape or end the bytes of connections, in toxiproxy's vocabulary.

#include "quecsim/core/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace quecsim::net {

/// Which way bytes flow: upstream = module → server (writes), downstream = server → module
/// (reads); both = each way on its own (a limit counts each way separately).
enum class stream { upstream, downstream, both };

/// The kinds of toxic (toxiproxy's vocabulary) a network can put on its connections.
enum class toxic_type { latency, bandwidth, slicer, limit_data, timeout };

/// The stable name of a toxic type ("latency", "bandwidth", "slicer", "limit_data", "timeout").
const char* name(toxic_type t);
/// The stable name of a stream ("upstream", "downstream", "both").
const char* name(stream s);

/// A fault that shapes or ends the bytes of matching connections, from the moment it applies
/// to one. Durations are simulated (scaled by the clock). Only the fields of its type matter.
struct toxic {
  toxic_type type = toxic_type::latency;
  std::string role;  ///< "" every connection, else only connections of that role
  stream direction = stream::both;
  clock::duration latency{};       ///< latency: added one-way delay of every chunk
  clock::duration jitter{};        ///< latency: plus or minus a uniformly random extra
  std::uint64_t rate = 0;          ///< bandwidth: bytes per simulated second (> 0)
  std::size_t average_size = 0;    ///< slicer: split chunks into pieces of about this size
  std::size_t size_variation = 0;  ///< slicer: plus or minus this (< average_size)
  clock::duration delay{};         ///< slicer: delay between pieces
  std::uint64_t bytes = 0;         ///< limit_data: the stream ends after this many bytes
  /// limit_data/timeout: end with a reset (connection_reset) rather than orderly (limit_data:
  /// EOF to the module downstream, FIN to the server upstream).
  bool reset = false;
  /// timeout: nothing passes; after this long the connection fails with connection_reset
  /// (zero: never, the bytes just stop).
  clock::duration timeout{};
  /// How many new connections it applies to; -1: every connection, open ones included. A
  /// connection is new to a role-bound toxic when it takes the role (an accepted active-mode
  /// data connection gets "ftp-data" just after it exists).
  int count = -1;
};

}  // namespace quecsim::net
