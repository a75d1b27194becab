#pragma once

namespace quecsim::sim::campaign {

/// `quecsim campaign --scenarios PATTERN... [options] -- HOST COMMAND...`: runs a host command
/// once per scenario (and repeat), each against a fresh quecsim process with its own FTP root,
/// storage and run folder, and reports every run as JUnit XML, JSON and a summary table.
/// `argv[1]` is "campaign". Returns 0 when every run passed, 1 when one failed (or the campaign
/// was interrupted), 2 on a bad command line, an unusable scenario or a module command line the
/// module refused.
int run(int argc, char** argv);

}  // namespace quecsim::sim::campaign
