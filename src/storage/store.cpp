#include "quecsim/storage/store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace quecsim::storage {
namespace {

constexpr std::size_t chunk = 65536;

int index(area a) {
  return static_cast<int>(a);
}

// A descriptor closed when it leaves scope.
// Opens a folder that must be a real folder (not a symbolic link to one).
int open_folder(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  const int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    throw std::runtime_error("storage folder " + p.string() + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

void checksum::add(std::string_view bytes) {
  for (const char c : bytes) {
    const auto b = static_cast<std::uint16_t>(static_cast<unsigned char>(c));
    value_ ^= odd_ ? b : static_cast<std::uint16_t>(b << 8);
    odd_ = !odd_;
  }
}

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative matching with one backtrack point: linear in practice, no recursion.
  std::size_t p = 0;
  std::size_t n = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

store::store(std::filesystem::path state_dir, storage::limits limits)
    : root_(std::move(state_dir)), limits_(std::move(limits)) {
  dirs_[index(area::ufs)].reset(open_folder(root_ / "ufs"));
  dirs_[index(area::ram)].reset(open_folder(root_ / "ram"));
  unique_fd(open_folder(root_ / "sd"));  // the card's folder holds the area's
  dirs_[index(area::sd)].reset(open_folder(root_ / "sd" / limits_.sd_folder));
  clear_ram();
}

store::~store() = default;

bool store::has(area a) const {
  switch (a) {
    case area::ufs:
      return true;
    case area::ram:
      return limits_.has_ram;
    case area::sd:
      return limits_.has_sd;
  }
  return false;
}

int store::dir(area a) const {
  return dirs_[index(a)].get();
}

errc store::check_name(area a, std::string_view name, bool pattern) const {
  if (!has(a)) return errc::no_area;
  if (name.empty() || name.size() > limits_.name_max) return errc::invalid_name;
  if (name == "." || name == "..") return errc::invalid_name;
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return errc::invalid_name;
    if (pattern && (c == '*' || c == '?')) continue;
    if (limits_.name_forbidden.find(c) != std::string::npos) return errc::invalid_name;
  }
  // Never a way out of the folder, whatever the profile forbids.
  if (name.find('/') != std::string_view::npos) return errc::invalid_name;
  return errc::ok;
}

errc store::parse(std::string_view spec, file_ref& out, bool pattern) const {
  auto starts = [&spec](const std::string& prefix) {
    if (prefix.empty() || spec.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(spec[i])) !=
          std::toupper(static_cast<unsigned char>(prefix[i]))) {
        return false;
      }
    }
    return true;
  };
  out = {};
  if (starts(limits_.ram_prefix)) {
    out.where = area::ram;
    spec.remove_prefix(limits_.ram_prefix.size());
  } else if (starts(limits_.sd_prefix)) {
    out.where = area::sd;
    spec.remove_prefix(limits_.sd_prefix.size());
  }
  out.name = std::string(spec);
  return check_name(out.where, out.name, pattern);
}

std::string store::display(const file_ref& f) const {
  switch (f.where) {
    case area::ram:
      return limits_.ram_prefix + f.name;
    case area::sd:
      return limits_.sd_prefix + f.name;
    case area::ufs:
      break;
  }
  return f.name;
}

std::optional<std::uint64_t> store::stat_size(area a, const std::string& name) const {
  struct stat st {};
  if (::fstatat(dir(a), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

std::optional<std::uint64_t> store::size(const file_ref& f) const {
  if (check_name(f.where, f.name) != errc::ok) return std::nullopt;
  return stat_size(f.where, f.name);
}

std::vector<entry> store::list(area a, std::string_view pattern) const {
  std::vector<entry> out;
  if (!has(a)) return out;
  unique_fd copy(::openat(dir(a), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!copy) return out;
  DIR* d = ::fdopendir(copy.get());
  if (d == nullptr) return out;
  copy.release();  // closedir closes it
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!glob_match(pattern, name)) continue;
    const auto sz = stat_size(a, name);
    if (!sz) continue;  // folders, links and the like are not files of the module
    entry en;
    en.name = name;
    en.size = *sz;
    en.reserved = *sz;
    if (a == area::ram) {
      const auto it = ram_reserve_.find(name);
      if (it != ram_reserve_.end()) en.reserved = std::max(en.reserved, it->second);
    }
    out.push_back(std::move(en));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const entry& x, const entry& y) { return x.name < y.name; });
  return out;
}

std::uint64_t store::used(area a) const {
  std::uint64_t total = 0;
  for (const auto& e : list(a, "*")) total += e.reserved;
  return total;
}

space store::usage(area a) const {
  space s;
  switch (a) {
    case area::ufs:
      s.total = limits_.ufs_capacity;
      break;
    case area::ram:
      s.total = limits_.ram_capacity;
      break;
    case area::sd:
      s.total = limits_.sd_capacity;
      break;
  }
  const std::uint64_t u = used(a);
  s.free = u >= s.total ? 0 : s.total - u;
  return s;
}

std::uint64_t store::reserved(const file_ref& f) const {
  const auto sz = size(f).value_or(0);
  if (f.where != area::ram) return sz;
  const auto it = ram_reserve_.find(f.name);
  return it == ram_reserve_.end() ? sz : std::max(sz, it->second);
}

bool store::is_open(const file_ref& f) const {
  return std::any_of(handles_.begin(), handles_.end(),
                     [&f](const auto& h) { return h.second.file == f; });
}

errc store::remove(area a, std::string_view pattern) {
  if (!has(a)) return errc::no_area;
  const auto victims = list(a, pattern);
  if (victims.empty()) return errc::not_found;
  for (const auto& e : victims) {
    const file_ref f{a, e.name};
    if (is_open(f) || locked(f)) return errc::busy;
  }
  for (const auto& e : victims) {
    ::unlinkat(dir(a), e.name.c_str(), 0);
    if (a == area::ram) ram_reserve_.erase(e.name);
  }
  return errc::ok;
}

errc store::read(const file_ref& f, std::uint64_t offset, std::size_t n, std::string& out) const {
  out.clear();
  if (const errc e = check_name(f.where, f.name); e != errc::ok) return e;
  const unique_fd fd(::openat(dir(f.where), f.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return errc::not_found;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::not_found;
  const auto sz = static_cast<std::uint64_t>(st.st_size);
  if (offset >= sz) return errc::ok;
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, sz - offset));
  out.resize(n);
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd.get(), out.data() + got, std::min(chunk, n - got),
                              static_cast<off_t>(offset + got));
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return errc::ok;
}

errc store::room(const file_ref& f, std::uint64_t offset, std::uint64_t n) const {
  if (const errc e = check_name(f.where, f.name); e != errc::ok) return e;
  const std::uint64_t current = stat_size(f.where, f.name).value_or(0);
  if (offset > current) return errc::invalid_input;
  const std::uint64_t new_size = std::max<std::uint64_t>(current, offset + n);
  if (f.where == area::ram) {
    // A RAM file holds the space reserved when it was made, and never grows past it.
    return new_size > reserved(f) ? errc::no_space : errc::ok;
  }
  const space s = usage(f.where);
  return new_size > current && new_size - current > s.free ? errc::no_space : errc::ok;
}

errc store::write(const file_ref& f, std::uint64_t offset, std::string_view data) {
  if (const errc e = room(f, offset, data.size()); e != errc::ok) return e;
  const unique_fd fd(
      ::openat(dir(f.where), f.name.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errc::invalid_name;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::invalid_name;
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t w = ::pwrite(fd.get(), data.data() + done, std::min(chunk, data.size() - done),
                               static_cast<off_t>(offset + done));
    if (w <= 0) return errc::no_space;
    done += static_cast<std::size_t>(w);
  }
  return errc::ok;
}

errc store::create(const file_ref& f, std::uint64_t reserve_bytes) {
  if (const errc e = check_name(f.where, f.name); e != errc::ok) return e;
  if (f.where == area::ram) {
    if (reserve_bytes == 0) reserve_bytes = limits_.ram_default_reserve;
    const std::uint64_t held = reserved(f);
    const space s = usage(area::ram);
    if (reserve_bytes > held && reserve_bytes - held > s.free) return errc::no_space;
  }
  const unique_fd fd(::openat(dir(f.where), f.name.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) return errc::invalid_name;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::invalid_name;
  if (f.where == area::ram) ram_reserve_[f.name] = reserve_bytes;
  return errc::ok;
}

errc store::reserve(const file_ref& f, std::uint64_t reserve_bytes) {
  if (f.where != area::ram) return errc::ok;
  const std::uint64_t held = reserved(f);
  if (reserve_bytes <= held) return errc::ok;
  if (reserve_bytes - held > usage(area::ram).free) return errc::no_space;
  ram_reserve_[f.name] = reserve_bytes;
  return errc::ok;
}

errc store::truncate(const file_ref& f, std::uint64_t length) {
  if (const errc e = check_name(f.where, f.name); e != errc::ok) return e;
  const unique_fd fd(::openat(dir(f.where), f.name.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return errc::not_found;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::not_found;
  if (static_cast<std::uint64_t>(st.st_size) <= length) return errc::ok;
  if (::ftruncate(fd.get(), static_cast<off_t>(length)) != 0) return errc::invalid_input;
  return errc::ok;
}

void store::clear_ram() {
  ram_reserve_.clear();
  unique_fd copy(::openat(dir(area::ram), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!copy) return;
  DIR* d = ::fdopendir(copy.get());
  if (d == nullptr) return;
  copy.release();  // closedir closes it
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  // unlinkat removes a link itself, never what it points to; folders are left alone.
  for (const auto& n : names) ::unlinkat(dir(area::ram), n.c_str(), 0);
}

void store::restart() {
  handles_.clear();
  locked_.clear();
  clear_ram();
}

// ---- handles --------------------------------------------------------------------------------

errc store::open(const file_ref& f, open_mode mode, std::uint64_t ram_reserve, int& handle) {
  if (const errc e = check_name(f.where, f.name); e != errc::ok) return e;
  if (is_open(f) || locked(f)) return errc::busy;
  if (static_cast<int>(handles_.size()) >= limits_.max_open) return errc::too_many_open;
  const bool exists = size(f).has_value();
  switch (mode) {
    case open_mode::read_only:
      if (!exists) return errc::not_found;
      break;
    case open_mode::open_or_create:
      if (!exists) {
        if (const errc e = create(f, ram_reserve); e != errc::ok) return e;
      }
      break;
    case open_mode::create:
      if (const errc e = create(f, ram_reserve); e != errc::ok) return e;
      break;
  }
  handle = next_handle_++;
  handles_[handle] = handle_state{f, 0, mode == open_mode::read_only};
  return errc::ok;
}

const file_ref* store::file_of(int handle) const {
  const auto it = handles_.find(handle);
  return it == handles_.end() ? nullptr : &it->second.file;
}

errc store::read(int handle, std::size_t n, std::string& out) {
  out.clear();
  const auto it = handles_.find(handle);
  if (it == handles_.end()) return errc::bad_handle;
  const errc e = read(it->second.file, it->second.pos, n, out);
  if (e == errc::ok) it->second.pos += out.size();
  return e;
}

errc store::write(int handle, std::string_view data) {
  const auto it = handles_.find(handle);
  if (it == handles_.end()) return errc::bad_handle;
  if (it->second.read_only) return errc::read_only;
  const errc e = write(it->second.file, it->second.pos, data);
  if (e == errc::ok) it->second.pos += data.size();
  return e;
}

errc store::seek(int handle, std::int64_t offset, origin from) {
  const auto it = handles_.find(handle);
  if (it == handles_.end()) return errc::bad_handle;
  const auto sz = static_cast<std::int64_t>(size(it->second.file).value_or(0));
  std::int64_t base = 0;
  if (from == origin::current) base = static_cast<std::int64_t>(it->second.pos);
  if (from == origin::end) base = sz;
  const std::int64_t target = base + offset;
  if (target < 0 || target > sz) return errc::past_end;
  it->second.pos = static_cast<std::uint64_t>(target);
  return errc::ok;
}

errc store::position(int handle, std::uint64_t& pos) const {
  const auto it = handles_.find(handle);
  if (it == handles_.end()) return errc::bad_handle;
  pos = it->second.pos;
  return errc::ok;
}

errc store::truncate(int handle) {
  const auto it = handles_.find(handle);
  if (it == handles_.end()) return errc::bad_handle;
  if (it->second.read_only) return errc::read_only;
  return truncate(it->second.file, it->second.pos);
}

errc store::close(int handle) {
  return handles_.erase(handle) != 0 ? errc::ok : errc::bad_handle;
}

}  // namespace quecsim::storage
