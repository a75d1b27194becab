// Listing lines: `ls -l` style for LIST (the format curl, lftp and ftplib parse, as pyftpdlib
// writes it) and RFC 3659 facts for MLSD/MLST.
#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "quecsim/ftpd/protocol.hpp"

namespace quecsim::ftpd {

namespace {

std::string perms(mode_t m) {
  std::string s = S_ISDIR(m) ? "d" : S_ISLNK(m) ? "l" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (m & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

}  // namespace

std::string list_line(const std::string& name, const std::filesystem::path& real) {
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return {};
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&st.st_mtime, &tm);
  char when[32];
  const bool recent = now - st.st_mtime < 180L * 24 * 3600;
  std::strftime(when, sizeof when, recent ? "%b %d %H:%M" : "%b %d  %Y", &tm);
  char head[160];
  std::snprintf(head, sizeof head, "%s %3lu %-8s %-8s %8llu %s ", perms(st.st_mode).c_str(),
                static_cast<unsigned long>(st.st_nlink), "owner", "group",
                static_cast<unsigned long long>(st.st_size), when);
  return head + name + "\r\n";
}

std::string mlsx_line(const std::string& name, const std::filesystem::path& real, bool writable) {
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return {};
  std::tm tm{};
  gmtime_r(&st.st_mtime, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
  std::string type = S_ISDIR(st.st_mode) ? "dir" : "file";
  if (name == ".") type = "cdir";
  char facts[256];
  std::snprintf(facts, sizeof facts, "type=%s;size=%llu;modify=%s;perm=%s;unique=%llxg%llx;",
                type.c_str(), static_cast<unsigned long long>(st.st_size), when,
                S_ISDIR(st.st_mode) ? (writable ? "elcmp" : "el") : (writable ? "radfw" : "r"),
                static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return std::string(facts) + " " + name + "\r\n";
}

}  // namespace quecsim::ftpd
