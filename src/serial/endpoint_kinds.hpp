#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "quecsim/core/events.hpp"
#include "quecsim/serial/endpoint.hpp"

// The kinds of endpoint, built by serial::endpoint::make (private to src/serial).
namespace quecsim::serial::detail {

/// --tcp-listen: a TCP server; one host connection at a time, a second one refused.
std::unique_ptr<endpoint> make_tcp_listen(boost::asio::io_context& io, events::bus& bus,
                                          int module_id, unsigned baud,
                                          const endpoint_options& opts);
/// --tcp-connect: a TCP client that connects, and connects again after a drop.
std::unique_ptr<endpoint> make_tcp_connect(boost::asio::io_context& io, events::bus& bus,
                                           int module_id, unsigned baud,
                                           const endpoint_options& opts);
/// --device and --attach-pty: an existing tty, opened at once and reopened after a hangup.
std::unique_ptr<endpoint> make_device(boost::asio::io_context& io, events::bus& bus, int module_id,
                                      unsigned baud, const endpoint_options& opts);

}  // namespace quecsim::serial::detail
