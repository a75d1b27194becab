#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "quecsim/core/unique_fd.hpp"
#include "quecsim/storage/errc.hpp"
#include "quecsim/storage/limits.hpp"

namespace quecsim::storage {

/// The storage areas of a module.
enum class area { ufs, ram, sd };

/// One file: its area and its bare name.
struct file_ref {
  area where = area::ufs;
  std::string name;
  bool operator<(const file_ref& o) const {
    return where != o.where ? where < o.where : name < o.name;
  }
  bool operator==(const file_ref& o) const { return where == o.where && name == o.name; }
};

/// A file as AT+QFLST lists it.
struct entry {
  std::string name;            ///< bare name
  std::uint64_t size = 0;      ///< bytes in the file
  std::uint64_t reserved = 0;  ///< RAM: the space the file holds; elsewhere its size
};

/// Free and total bytes of an area (AT+QFLDS).
struct space {
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};

/// AT+QFOPEN's modes.
enum class open_mode {
  open_or_create = 0,  ///< open, creating the file when missing; read and write
  create = 1,          ///< create, or empty the file that is there; read and write
  read_only = 2,       ///< open a file that must exist, read only
};

/// AT+QFSEEK's origins.
enum class origin { start = 0, current = 1, end = 2 };

/// The 16-bit checksum of AT+QFUPL and AT+QFDWL: the XOR of the data taken as big-endian
/// 16-bit words, an odd last byte being the high half of a word whose low half is 0.
/// Feed it in pieces of any size.
class checksum {
 public:
  /// Adds bytes.
  void add(std::string_view bytes);
  /// The checksum of everything added.
  std::uint16_t value() const { return value_; }

 private:
  std::uint16_t value_ = 0;
  bool odd_ = false;  // the next byte is the low half of a word
};

/// Whether `name` matches `pattern` (`*` any run, `?` any one character).
bool glob_match(std::string_view pattern, std::string_view name);

/// A module's UFS, RAM and SD areas, each a host folder under the state folder:
/// `<state>/ufs` (kept across runs), `<state>/ram` (emptied at start and at every restart)
/// and `<state>/sd/<sd_folder>`. Every access goes through a descriptor of its area's folder
/// opened at start, by a bare name checked against the profile's rules, and never follows a
/// symbolic link, so nothing outside the folders is ever read, written or deleted.
/// Capacities are enforced before a byte is written. Also the AT+QFOPEN handles.
class store {
 public:
  /// Creates the folders when missing and empties RAM. Throws std::runtime_error naming the
  /// folder when one cannot be made or is not a plain folder.
  store(std::filesystem::path state_dir, storage::limits limits);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// The state folder.
  const std::filesystem::path& root() const { return root_; }
  /// The profile's storage part.
  const storage::limits& limits() const { return limits_; }
  /// Whether the model has the area.
  bool has(area a) const;

  /// Splits a file-command name (`name`, `RAM:name`, `SD:name`) into area and bare name.
  /// A bare name of "*" or with `?`/`*` is accepted only when `pattern` is true.
  errc parse(std::string_view spec, file_ref& out, bool pattern = false) const;
  /// Whether `name` is a usable bare name in `a` (the area exists, length, characters).
  errc check_name(area a, std::string_view name, bool pattern = false) const;
  /// A file's name as file commands print it (`RAM:name`).
  std::string display(const file_ref& f) const;

  /// The file's size, or nothing when it is not there (or is not a plain file).
  std::optional<std::uint64_t> size(const file_ref& f) const;
  /// Free and total bytes of an area.
  space usage(area a) const;
  /// The plain files of an area matching `pattern`, sorted by name.
  std::vector<entry> list(area a, std::string_view pattern) const;
  /// Deletes the files of `a` matching `pattern`; not_found when none matched, busy (and
  /// nothing deleted) when one is open or in a transfer.
  errc remove(area a, std::string_view pattern);

  /// Reads up to `n` bytes at `offset` into `out` (fewer at the end of the file).
  errc read(const file_ref& f, std::uint64_t offset, std::size_t n, std::string& out) const;
  /// Writes `data` at `offset` (at most the file's size), growing the file; no_space, and
  /// nothing written, when the area or the RAM reservation cannot hold the result.
  errc write(const file_ref& f, std::uint64_t offset, std::string_view data);
  /// Whether `n` bytes written at `offset` would fit: ok, no_space, or invalid_input when
  /// `offset` is past the file's end.
  errc room(const file_ref& f, std::uint64_t offset, std::uint64_t n) const;
  /// Creates the file empty (or empties it). In RAM it reserves `reserve` bytes
  /// (0: the profile's default); no_space when the area cannot.
  errc create(const file_ref& f, std::uint64_t reserve = 0);
  /// Cuts the file to `length` bytes (never grows it).
  errc truncate(const file_ref& f, std::uint64_t length);
  /// Makes a RAM file's reservation at least `reserve` bytes; no_space when RAM cannot.
  errc reserve(const file_ref& f, std::uint64_t reserve);
  /// The space a RAM file holds (its reservation, or its size when larger).
  std::uint64_t reserved(const file_ref& f) const;
  /// Empties RAM and closes every handle: a module restart.
  void restart();

  /// Marks a file as used by an FTP transfer (file commands then answer busy) or frees it.
  void lock(const file_ref& f) { locked_.insert(f); }
  void unlock(const file_ref& f) { locked_.erase(f); }
  /// Whether an FTP transfer uses the file.
  bool locked(const file_ref& f) const { return locked_.count(f) != 0; }
  /// Whether a handle has the file open.
  bool is_open(const file_ref& f) const;

  /// AT+QFOPEN: a handle on the file, its position at the start.
  errc open(const file_ref& f, open_mode mode, std::uint64_t ram_reserve, int& handle);
  /// AT+QFREAD: up to `n` bytes from the handle's position, which advances.
  errc read(int handle, std::size_t n, std::string& out);
  /// AT+QFWRITE: writes at the handle's position, which advances.
  errc write(int handle, std::string_view data);
  /// AT+QFSEEK: moves the position (never outside the file).
  errc seek(int handle, std::int64_t offset, origin from);
  /// AT+QFPOSITION.
  errc position(int handle, std::uint64_t& pos) const;
  /// AT+QFTUCAT: cuts the file at the handle's position.
  errc truncate(int handle);
  /// AT+QFCLOSE.
  errc close(int handle);
  /// The file a handle has open (nullptr when none).
  const file_ref* file_of(int handle) const;

 private:
  struct handle_state {
    file_ref file;
    std::uint64_t pos = 0;
    bool read_only = false;
  };

  int dir(area a) const;
  std::optional<std::uint64_t> stat_size(area a, const std::string& name) const;
  std::uint64_t used(area a) const;
  void clear_ram();

  std::filesystem::path root_;
  storage::limits limits_;
  unique_fd dirs_[3];
  std::map<std::string, std::uint64_t> ram_reserve_;  // reservation of each RAM file
  std::set<file_ref> locked_;
  std::map<int, handle_state> handles_;
  int next_handle_ = 1;
};

}  // namespace quecsim::storage
