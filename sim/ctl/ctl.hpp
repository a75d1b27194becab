#pragma once

namespace quecsim::sim::ctl {

/// `quecsim ctl SOCKET ...`: sends one request to a running quecsim's control socket and
/// prints the reply (or, for subscribe, the events until interrupted). `argv[1]` is "ctl".
/// Returns 0 on an ok reply, 1 on an error reply or a connection failure, 2 on a bad command
/// line.
int run(int argc, char** argv);

}  // namespace quecsim::sim::ctl
