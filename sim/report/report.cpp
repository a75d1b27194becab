#include "report.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <vector>

#include "quecsim/core/transcript.hpp"
#include "report_page.hpp"
#include "support/exit_codes.hpp"

namespace quecsim::sim::report {

using support::escape_bytes;
using support::latin1_from_utf8;
using support::transcript_error;
using support::transcript_reader;
using support::transcript_record;

namespace {

namespace exit_code = support::exit_code;

// What a row keeps of a record's bytes: enough to read and to see in hex, while a 100 MB
// transcript still makes a page a browser opens at once.
constexpr std::size_t row_bytes_kept = 1024;
constexpr std::size_t span_bytes_kept = 256;

// The kinds as the page numbers them (its KINDS array).
enum row_kind : int {
  k_rx,
  k_tx,
  k_ftp_tx,
  k_ftp_rx,
  k_data,
  k_fault,
  k_warning,
  k_state,
  k_info,
  k_span,
  k_other
};

int kind_of(const std::string& event) {
  static const std::map<std::string, int> kinds{
      {"rx", k_rx},           {"tx", k_tx},       {"ftp_tx", k_ftp_tx},
      {"ftp_rx", k_ftp_rx},   {"data", k_data},   {"fault", k_fault},
      {"warning", k_warning}, {"state", k_state}, {"info", k_info}};
  const auto it = kinds.find(event);
  return it == kinds.end() ? k_other : it->second;
}

struct row {
  std::size_t line = 0;
  double t = 0;
  int kind = k_other;
  std::string source;
  std::string head;  // the bytes kept (for a span: those to the host)
  std::uint64_t bytes = 0;
  // Data-mode spans only.
  std::string from_host_head;
  std::uint64_t from_host_bytes = 0;
  std::size_t end_line = 0;
  double end_t = 0;
  std::uint64_t to_host_chunks = 0;
  std::uint64_t from_host_chunks = 0;
};

// A JSON string that cannot end the <script> it stands in.
std::string script_string(const std::string& bytes) {
  std::string s = json_bytes(bytes);
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string number(double t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", t);
  return buf;
}

void append_head(std::string& head, const std::string& bytes, std::size_t limit) {
  if (head.size() < limit) head.append(bytes, 0, std::min(bytes.size(), limit - head.size()));
}

}  // namespace

void write_report(std::istream& in, const std::string& name, std::ostream& out) {
  transcript_reader reader(in, name);
  std::vector<row> rows;
  std::map<int, std::size_t> open_span;  // module -> index of its data-mode span row
  std::set<int> modules;
  std::uint64_t records = 0, spans = 0, faults = 0, warnings = 0;
  transcript_record r;
  while (reader.next(r)) {
    ++records;
    modules.insert(r.module);
    const int kind = kind_of(r.event);
    const auto span = open_span.find(r.module);
    if (span != open_span.end() && (kind == k_rx || kind == k_tx)) {
      row& s = rows[span->second];
      if (kind == k_tx) {
        append_head(s.head, r.data, span_bytes_kept);
        s.bytes += r.data.size();
        ++s.to_host_chunks;
      } else {
        append_head(s.from_host_head, r.data, span_bytes_kept);
        s.from_host_bytes += r.data.size();
        ++s.from_host_chunks;
      }
      s.end_line = r.line;
      s.end_t = r.t;
      continue;
    }
    row x;
    x.line = r.line;
    x.t = r.t;
    x.kind = kind;
    x.source = kind == k_other ? r.event + "/" + r.source : r.source;
    x.bytes = r.data.size();
    x.head = r.data.substr(0, row_bytes_kept);
    if (kind == k_fault) ++faults;
    if (kind == k_warning) ++warnings;
    // Data mode ends where the UART says so, or where the module stops (restart, power off).
    const bool uart_state = kind == k_state && r.source == "uart";
    if (span != open_span.end() &&
        ((uart_state && r.data == "command") || (kind == k_state && r.source == "module"))) {
      open_span.erase(span);
    }
    rows.push_back(std::move(x));
    if (uart_state && r.data == "data" && open_span.count(r.module) == 0) {
      row s;
      s.line = s.end_line = r.line;
      s.t = s.end_t = r.t;
      s.kind = k_span;
      s.source = "uart";
      open_span[r.module] = rows.size();
      rows.push_back(std::move(s));
      ++spans;
    }
  }

  out << report_page_head;
  out << "{\"file\":" << script_string(name) << ",\"records\":" << records << ",\"spans\":" << spans
      << ",\"faults\":" << faults << ",\"warnings\":" << warnings
      << ",\"modules\":" << modules.size() << ",\"rows\":[";
  bool first = true;
  for (const auto& x : rows) {
    out << (first ? "\n[" : ",\n[") << x.line << ',' << number(x.t) << ',' << x.kind << ','
        << script_string(x.source) << ',' << script_string(x.head) << ',' << x.bytes;
    if (x.kind == k_span) {
      out << ',' << script_string(x.from_host_head) << ',' << x.from_host_bytes << ',' << x.end_line
          << ',' << number(x.end_t) << ',' << x.to_host_chunks << ',' << x.from_host_chunks;
    }
    out << ']';
    first = false;
  }
  out << "]}" << report_page_tail;
}

int run(int argc, char** argv) {
  CLI::App app{"quecsim report: a transcript as one self-contained HTML page", "quecsim report"};
  std::string input;
  std::string output;
  app.add_option("TRANSCRIPT", input, "The transcript (JSON Lines) to show")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("-o,--output", output, "The HTML file to write (default: TRANSCRIPT.html)");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  }
  if (output.empty()) output = input + ".html";
  std::ifstream in(input, std::ios::binary);
  if (!in) {
    std::cerr << "quecsim report: cannot read " << input << '\n';
    return exit_code::usage;
  }
  // Written beside the target and renamed into place: a failed run leaves no half page.
  const std::string partial = output + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "quecsim report: cannot write " << output << '\n';
    return exit_code::runtime;
  }
  try {
    write_report(in, input, out);
  } catch (const transcript_error& e) {
    out.close();
    std::remove(partial.c_str());
    std::cerr << "quecsim report: " << e.what() << '\n';
    return exit_code::usage;
  }
  out.close();
  if (!out || std::rename(partial.c_str(), output.c_str()) != 0) {
    std::remove(partial.c_str());
    std::cerr << "quecsim report: cannot write " << output << '\n';
    return exit_code::runtime;
  }
  return exit_code::ok;
}

}  // namespace quecsim::sim::report
