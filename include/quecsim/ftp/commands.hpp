#pragma once
// The commands the module's FTP client sends: one definition, which the operations build
// their lines from and the documentation and tests refer to.

#include "quecsim/ftp/reply_parser.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace quecsim::ftp::commands {

/// Every verb the module's FTP client sends, in the order a session meets them.
inline constexpr std::array<std::string_view, 17> sent = {
    "USER", "PASS", "TYPE", "PASV", "EPSV", "PORT", "REST", "RETR", "STOR",
    "SIZE", "CWD",  "DELE", "MKD",  "RMD",  "RNFR", "RNTO", "QUIT"};

/// The verbs of a transfer that downloads and the one that uploads.
inline constexpr std::string_view retr = "RETR";
inline constexpr std::string_view stor = "STOR";

/// "VERB argument" (no CR LF: the driver adds it).
inline std::string with_argument(std::string_view verb, std::string_view argument) {
  std::string line(verb);
  line += ' ';
  line += argument;
  return line;
}

/// USER name.
inline std::string user(std::string_view name) {
  return with_argument("USER", name);
}
/// PASS password (the transcript masks it).
inline std::string pass(std::string_view password) {
  return with_argument("PASS", password);
}
/// TYPE I or TYPE A.
inline std::string type(char t) {
  return with_argument("TYPE", std::string_view(&t, 1));
}
/// PASV.
inline std::string pasv() {
  return "PASV";
}
/// EPSV (IPv6 control connections).
inline std::string epsv() {
  return "EPSV";
}
/// REST offset.
inline std::string rest(std::uint64_t offset) {
  return with_argument("REST", std::to_string(offset));
}
/// SIZE name.
inline std::string size(std::string_view name) {
  return with_argument("SIZE", name);
}
/// CWD path.
inline std::string cwd(std::string_view path) {
  return with_argument("CWD", path);
}
/// DELE name.
inline std::string dele(std::string_view name) {
  return with_argument("DELE", name);
}
/// MKD path.
inline std::string mkd(std::string_view path) {
  return with_argument("MKD", path);
}
/// RMD path.
inline std::string rmd(std::string_view path) {
  return with_argument("RMD", path);
}
/// RNFR name.
inline std::string rnfr(std::string_view name) {
  return with_argument("RNFR", name);
}
/// RNTO name.
inline std::string rnto(std::string_view name) {
  return with_argument("RNTO", name);
}
/// QUIT.
inline std::string quit() {
  return "QUIT";
}
/// PORT h1,h2,h3,h4,p1,p2 for an IPv4 address and port.
inline std::string port(const std::string& ipv4, unsigned port) {
  return with_argument("PORT", format_port(ipv4, port));
}
/// Whether `line` carries a password, which the transcript must not show.
inline bool is_pass(std::string_view line) {
  return line.substr(0, 5) == "PASS ";
}

}  // namespace quecsim::ftp::commands
