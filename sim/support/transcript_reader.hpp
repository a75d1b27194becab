#pragma once

#include <cstdint>
#include <istream>
#include <stdexcept>
#include <string>

namespace quecsim::sim::support {

/// A transcript file that cannot be read as one: the message names the file and the line.
struct transcript_error : std::runtime_error {
  using runtime_error::runtime_error;
};

/// One record of a transcript, its `data` decoded back to the bytes it stands for.
struct transcript_record {
  std::size_t line = 0;  ///< 1-based line number in the file
  double t = 0;          ///< seconds since the module started
  int module = 0;
  std::string event;   ///< rx, tx, state, warning, ftp_tx, ftp_rx, data, fault, info, ...
  std::string source;  ///< the layer that published it
  std::string data;    ///< one byte per Latin-1 code point of the record's "data"
};

/// Reads a transcript one record at a time, so a file of any size is read in constant memory.
/// Every line must be a JSON object with `t` (number), `module` (integer), `event`, `source`
/// and `data` (strings); `data` may hold code points up to U+00FF only. Blank lines are not
/// allowed: a transcript has none.
class transcript_reader {
 public:
  /// `name` is what messages call the file.
  transcript_reader(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  /// The next record into `r`; false at the end of the file. Throws transcript_error
  /// ("FILE:LINE: ...") on a malformed line or a read error.
  bool next(transcript_record& r);

  /// The file's name as messages give it.
  const std::string& name() const { return name_; }

 private:
  std::istream& in_;
  std::string name_;
  std::string line_;
  std::size_t number_ = 0;
};

/// Bytes shown as the transcript's readers expect them: printable ASCII as is, \r \n \t, a
/// backslash doubled, any other byte as \xHH.
std::string escape_bytes(const std::string& bytes);

/// The transcript writes each byte as one code point (U+0000..U+00FF) in UTF-8: undoes that;
/// false when `utf8` holds anything else.
bool latin1_from_utf8(const std::string& utf8, std::string& bytes);

}  // namespace quecsim::sim::support
