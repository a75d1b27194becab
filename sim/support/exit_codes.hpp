#pragma once

// quecsim's exit codes, every subcommand's in one place (docs/flags.md lists them for users).
// 0 and 2 mean the same everywhere; 1, 3 and 4 mean what their subcommand says.

namespace quecsim::sim::support::exit_code {

/// Every subcommand: it did what was asked.
constexpr int ok = 0;
/// Every subcommand: a flag, an argument or a file given is wrong (the message names it).
constexpr int usage = 2;

/// quecsim, report: it could not start or failed while running (a port taken, a file unreadable).
constexpr int runtime = 1;
/// quecsim: a scenario's expectations did not hold.
constexpr int expectations = 3;

/// ctl: an error reply or no connection; campaign: a run failed.
constexpr int failed = 1;

/// replay: the module did not do what the transcript recorded.
constexpr int diverged = 1;
/// replay: the transcript cannot be replayed (unreadable, or from something replay cannot rebuild).
constexpr int unreplayable = 3;
/// replay: the module under replay did not start.
constexpr int start = 4;

}  // namespace quecsim::sim::support::exit_code
