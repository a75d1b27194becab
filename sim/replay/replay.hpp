#pragma once

namespace quecsim::sim::replay {

/// `quecsim replay TRANSCRIPT [--timeout S] [--transcript FILE]`: starts a fresh module with
/// the configuration the transcript's first record gives, sends it the host's bytes as
/// recorded, plays the recorded FTP server, and compares the module's answers byte for byte.
/// `argv[1]` is "replay". Returns 0 when every answer matched, 1 at the first divergence (its
/// line, the expected and the actual bytes), 2 for a bad command line or a malformed
/// transcript, 3 when the transcript cannot be replayed (the reason is printed), 4 when the
/// module to replay against could not be started.
int run(int argc, char** argv);

}  // namespace quecsim::sim::replay
