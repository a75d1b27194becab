#pragma once

#include <iosfwd>
#include <string>

#include "support/transcript_reader.hpp"

namespace quecsim::sim::report {

/// Writes the HTML page of a transcript read from `in` (called `name` in messages and on the
/// page) to `out`: one self-contained file, the records as JSON in a <script>, data-mode spans
/// collapsed. Throws transcript_error on a malformed line.
void write_report(std::istream& in, const std::string& name, std::ostream& out);

/// `quecsim report TRANSCRIPT [-o FILE]`. `argv[1]` is "report". Returns 0 when the page was
/// written, 1 when the output cannot be written, 2 for a bad command line or a transcript that
/// cannot be read (the message names the file and the line).
int run(int argc, char** argv);

}  // namespace quecsim::sim::report
