#include "quecsim/ftpd/jail.hpp"

#include <vector>

namespace quecsim::ftpd {

namespace fs = std::filesystem;

jail::jail(const fs::path& root) : root_(fs::canonical(root)) {
  if (!fs::is_directory(root_))
    throw fs::filesystem_error("not a folder", root_,
                               std::make_error_code(std::errc::not_a_directory));
}

std::optional<std::string> jail::normalize(std::string_view cwd, std::string_view arg) {
  for (unsigned char c : arg)
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  std::vector<std::string_view> parts;
  auto split_into = [&parts](std::string_view s) {
    std::size_t i = 0;
    while (i <= s.size()) {
      auto j = s.find('/', i);
      if (j == std::string_view::npos) j = s.size();
      auto part = s.substr(i, j - i);
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();  // ".." at "/" stays at "/"
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      i = j + 1;
    }
  };
  if (arg.empty() || arg.front() != '/') split_into(cwd);
  split_into(arg);
  std::string out;
  for (auto p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? std::string("/") : out;
}

bool jail::contains(const fs::path& real) const {
  const auto& r = root_.native();
  const auto& p = real.native();
  if (p.compare(0, r.size(), r) != 0) return false;
  return p.size() == r.size() || r.back() == '/' || p[r.size()] == '/';
}

std::optional<fs::path> jail::resolve(std::string_view virtual_path) const {
  auto norm = normalize("/", virtual_path);
  if (!norm) return std::nullopt;
  fs::path cur = root_;
  fs::path rest;
  bool missing = false;
  std::string_view v = *norm;
  std::size_t i = 1;
  while (i < v.size()) {
    auto j = v.find('/', i);
    if (j == std::string_view::npos) j = v.size();
    fs::path part(std::string(v.substr(i, j - i)));
    i = j + 1;
    if (missing) {
      rest /= part;
      continue;
    }
    fs::path next = cur / part;
    std::error_code ec;
    auto st = fs::symlink_status(next, ec);
    if (ec || !fs::exists(st)) {
      // Nothing below a missing entry exists: no symlink can hide there.
      missing = true;
      rest /= part;
      continue;
    }
    if (fs::is_symlink(st)) {
      auto target = fs::canonical(next, ec);  // fails for a dangling link: refuse it
      if (ec || !contains(target)) return std::nullopt;
      cur = target;
    } else {
      cur = next;
    }
  }
  fs::path out = rest.empty() ? cur : cur / rest;
  if (!contains(out)) return std::nullopt;
  return out;
}

}  // namespace quecsim::ftpd
