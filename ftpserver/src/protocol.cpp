#include "quecsim/ftpd/protocol.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include <boost/asio/ip/address.hpp>

namespace quecsim::ftpd {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Small owned resources

file_locks::lock& file_locks::lock::operator=(lock&& o) noexcept {
  if (this != &o) {
    reset();
    owner_ = o.owner_;
    key_ = std::move(o.key_);
    write_ = o.write_;
    o.owner_ = nullptr;
  }
  return *this;
}

void file_locks::lock::reset() {
  if (!owner_) return;
  auto it = owner_->state_.find(key_);
  if (it != owner_->state_.end()) {
    if (write_ || --it->second <= 0) owner_->state_.erase(it);
  }
  owner_ = nullptr;
}

file_locks::lock file_locks::try_read(const std::string& key) {
  auto& n = state_[key];
  if (n < 0) return {};
  ++n;
  return lock(this, key, false);
}

file_locks::lock file_locks::try_write(const std::string& key) {
  auto it = state_.find(key);
  if (it != state_.end()) return {};
  state_[key] = -1;
  return lock(this, key, true);
}

// ---------------------------------------------------------------------------------------------
// Network ASCII

void ascii_encoder::encode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size() + in.size() / 16);
  for (char c : in) {
    if (c == '\n' && !last_cr_) out += '\r';
    out += c;
    last_cr_ = c == '\r';
  }
}

void ascii_decoder::decode(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (char c : in) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c == '\n') {
        out += '\n';
        continue;
      }
      out += '\r';
    }
    if (c == '\r')
      pending_cr_ = true;
    else
      out += c;
  }
}

void ascii_decoder::finish(std::string& out) {
  if (pending_cr_) out += '\r';
  pending_cr_ = false;
}

// ---------------------------------------------------------------------------------------------
// Lines

namespace {

// Telnet IAC sequences (IP, DM before ABOR; option negotiation) are not command text.
std::string without_telnet(std::string_view line) {
  std::string clean;
  clean.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c != 0xff) {
      clean += line[i];
      continue;
    }
    if (i + 1 < line.size()) {
      auto cmd = static_cast<unsigned char>(line[i + 1]);
      if (cmd == 0xff) {
        clean += line[i];
        ++i;
      } else if (cmd >= 0xfb && cmd <= 0xfe) {
        i += 2;
      } else {
        ++i;
      }
    }
  }
  return clean;
}

}  // namespace

void command_splitter::feed(std::string_view bytes, std::deque<command_line>& out) {
  lines_.feed(
      bytes,
      [&out](std::string_view line) {
        out.push_back({without_telnet(line), false});
      },
      [&out] {
        out.push_back({std::string(), true});
      });
}

// ---------------------------------------------------------------------------------------------
// The command table

enum class arg_rule { required, forbidden, optional };

struct protocol::command_spec {
  handler run;
  arg_rule arg;
  bool login;
  const char* help;
};

const std::map<std::string, protocol::command_spec, std::less<>>& protocol::table() {
  using p = protocol;
  static const std::map<std::string, command_spec, std::less<>> t = {
      {"ABOR", {&p::cmd_abor, arg_rule::forbidden, true, "ABOR (abort transfer)."}},
      {"ACCT", {&p::cmd_not_implemented, arg_rule::optional, false, "ACCT (not implemented)."}},
      {"ALLO", {&p::cmd_allo, arg_rule::required, true, "ALLO <SP> bytes (noop)."}},
      {"APPE", {&p::cmd_appe, arg_rule::required, true, "APPE <SP> file-name (append)."}},
      {"CDUP", {&p::cmd_cdup, arg_rule::forbidden, true, "CDUP (go to parent directory)."}},
      {"CWD", {&p::cmd_cwd, arg_rule::required, true, "CWD <SP> dir-name (change directory)."}},
      {"DELE", {&p::cmd_dele, arg_rule::required, true, "DELE <SP> file-name (delete file)."}},
      {"EPRT", {&p::cmd_eprt, arg_rule::required, true, "EPRT <SP> |proto|ip|port| (active)."}},
      {"EPSV", {&p::cmd_epsv, arg_rule::optional, true, "EPSV [<SP> proto/\"ALL\"] (passive)."}},
      {"FEAT", {&p::cmd_feat, arg_rule::forbidden, false, "FEAT (list all new features)."}},
      {"HELP", {&p::cmd_help, arg_rule::optional, false, "HELP [<SP> cmd] (show help)."}},
      {"LIST", {&p::cmd_list, arg_rule::optional, true, "LIST [<SP> path] (list files)."}},
      {"MDTM", {&p::cmd_mdtm, arg_rule::required, true, "MDTM <SP> path (modification time)."}},
      {"MKD", {&p::cmd_mkd, arg_rule::required, true, "MKD <SP> path (create directory)."}},
      {"MLSD", {&p::cmd_mlsd, arg_rule::optional, true, "MLSD [<SP> path] (list directory)."}},
      {"MLST", {&p::cmd_mlst, arg_rule::optional, true, "MLST [<SP> path] (show path)."}},
      {"MODE", {&p::cmd_mode, arg_rule::required, true, "MODE <SP> mode (transfer mode)."}},
      {"NLST", {&p::cmd_nlst, arg_rule::optional, true, "NLST [<SP> path] (list names)."}},
      {"NOOP", {&p::cmd_noop, arg_rule::forbidden, false, "NOOP (no operation)."}},
      {"OPTS", {&p::cmd_opts, arg_rule::required, false, "OPTS <SP> option (set option)."}},
      {"PASS", {&p::cmd_pass, arg_rule::optional, false, "PASS [<SP> password]."}},
      {"PASV", {&p::cmd_pasv, arg_rule::forbidden, true, "PASV (open passive data port)."}},
      {"PORT", {&p::cmd_port, arg_rule::required, true, "PORT <SP> h,h,h,h,p,p (active)."}},
      {"PWD", {&p::cmd_pwd, arg_rule::forbidden, true, "PWD (print working directory)."}},
      {"QUIT", {&p::cmd_quit, arg_rule::optional, false, "QUIT (quit current session)."}},
      {"REIN", {&p::cmd_not_implemented, arg_rule::forbidden, false, "REIN (not implemented)."}},
      {"REST", {&p::cmd_rest, arg_rule::required, true, "REST <SP> offset (restart)."}},
      {"RETR", {&p::cmd_retr, arg_rule::required, true, "RETR <SP> file-name (download)."}},
      {"RMD", {&p::cmd_rmd, arg_rule::required, true, "RMD <SP> dir-name (remove directory)."}},
      {"RNFR", {&p::cmd_rnfr, arg_rule::required, true, "RNFR <SP> file-name (rename from)."}},
      {"RNTO", {&p::cmd_rnto, arg_rule::required, true, "RNTO <SP> file-name (rename to)."}},
      {"SITE", {&p::cmd_not_implemented, arg_rule::optional, true, "SITE (not implemented)."}},
      {"SIZE", {&p::cmd_size, arg_rule::required, true, "SIZE <SP> file-name (file size)."}},
      {"SMNT", {&p::cmd_not_implemented, arg_rule::optional, true, "SMNT (not implemented)."}},
      {"STAT", {&p::cmd_stat, arg_rule::optional, false, "STAT [<SP> path] (status)."}},
      {"STOR", {&p::cmd_stor, arg_rule::required, true, "STOR <SP> file-name (upload)."}},
      {"STOU", {&p::cmd_stou, arg_rule::optional, true, "STOU [<SP> name] (store unique)."}},
      {"STRU", {&p::cmd_stru, arg_rule::required, true, "STRU <SP> type (file structure)."}},
      {"SYST", {&p::cmd_syst, arg_rule::forbidden, false, "SYST (system type)."}},
      {"TYPE", {&p::cmd_type, arg_rule::required, true, "TYPE <SP> [A | I | L 8] (type)."}},
      {"USER", {&p::cmd_user, arg_rule::required, false, "USER <SP> user-name."}},
      {"XCUP", {&p::cmd_cdup, arg_rule::forbidden, true, "XCUP (obsolete CDUP)."}},
      {"XCWD", {&p::cmd_cwd, arg_rule::required, true, "XCWD <SP> dir-name (obsolete CWD)."}},
      {"XMKD", {&p::cmd_mkd, arg_rule::required, true, "XMKD <SP> path (obsolete MKD)."}},
      {"XPWD", {&p::cmd_pwd, arg_rule::forbidden, true, "XPWD (obsolete PWD)."}},
      {"XRMD", {&p::cmd_rmd, arg_rule::required, true, "XRMD <SP> dir-name (obsolete RMD)."}},
  };
  return t;
}

namespace {

std::string quote_path(const std::string& p) {
  std::string out;
  for (char c : p) {
    out += c;
    if (c == '"') out += '"';  // RFC 959: a quote in a 257 path is doubled
  }
  return out;
}

// What may be echoed back of client text: printable, short.
std::string printable(std::string_view s, std::size_t max = 32) {
  std::string out;
  for (char c : s.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool parse_uint(std::string_view s, std::uint64_t& v, std::size_t max_digits = 19) {
  if (s.empty() || s.size() > max_digits) return false;
  v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

std::string mtime_string(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return {};
  std::tm tm{};
  gmtime_r(&st.st_mtime, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

bool same_address(const std::string& a, const std::string& b) {
  boost::system::error_code e1, e2;
  auto x = boost::asio::ip::make_address(a, e1);
  auto y = boost::asio::ip::make_address(b, e2);
  if (e1 || e2) return false;
  auto v4 = [](boost::asio::ip::address ad) {
    if (ad.is_v6() && ad.to_v6().is_v4_mapped())
      return boost::asio::ip::address(
          boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ad.to_v6()));
    return ad;
  };
  return v4(x) == v4(y);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The session

protocol::protocol(session_context ctx)
    : ctx_(std::move(ctx)),
      splitter_(ctx_.cfg.limits.max_line),
      faults_(ctx_.faults, ctx_.peer_address) {}

void protocol::note(record_kind k, std::string_view text) const {
  if (observer_) observer_(k, text);
}

void protocol::reply(std::vector<action>& out, std::string text) {
  if (text.size() < 2 || text.compare(text.size() - 2, 2, "\r\n") != 0) text += "\r\n";
  std::string_view v = text;
  v.remove_suffix(2);
  note(record_kind::reply, v);
  action a;
  a.what = action::kind::reply;
  a.text = std::move(text);
  out.push_back(std::move(a));
}

std::vector<action> protocol::start() {
  std::vector<action> out;
  reply(out, "220 " + ctx_.cfg.banner);
  return out;
}

void protocol::feed(std::string_view bytes) {
  splitter_.feed(bytes, pending_);
}

std::vector<action> protocol::step() {
  if (pending_.empty() || closing_) return {};
  auto it = pending_.begin();
  if (busy_) {
    // During a transfer only these run; the rest wait their turn.
    it = std::find_if(pending_.begin(), pending_.end(), [](const command_line& l) {
      if (l.overlong) return false;
      auto verb = upper(std::string_view(l.text).substr(0, l.text.find(' ')));
      return verb == "ABOR" || verb == "STAT" || verb == "QUIT" || verb == "NOOP";
    });
    if (it == pending_.end()) return {};
  }
  command_line line = std::move(*it);
  pending_.erase(it);
  return run_line(line);
}

std::vector<action> protocol::run_line(const command_line& line) {
  std::vector<action> out;
  ++commands_;
  std::string verb;
  std::string arg;
  if (line.overlong) {
    note(record_kind::command, "<overlong line discarded>");
    reply(out, "500 Command too long.");
  } else {
    auto sp = line.text.find(' ');
    verb = upper(std::string_view(line.text).substr(0, sp));
    if (sp != std::string::npos) arg = line.text.substr(sp + 1);
    note(record_kind::command, verb == "PASS" ? std::string("PASS ****") : line.text);

    if (const auto f = faults_.reply_instead(verb, arg)) {
      note(record_kind::fault, f.label);
      action a;
      a.what = action::kind::reply;
      a.text = f.rule->text;
      note(record_kind::reply, std::string_view(a.text).substr(0, a.text.size() - 2));
      out.push_back(std::move(a));
    } else {
      const auto& t = table();
      auto spec = t.find(verb);
      if (spec == t.end()) {
        reply(out, "500 Command \"" + printable(verb) + "\" not understood.");
      } else if (spec->second.arg == arg_rule::required && arg.empty()) {
        reply(out, "501 Syntax error: command needs an argument.");
      } else if (spec->second.arg == arg_rule::forbidden && !arg.empty()) {
        reply(out, "501 Syntax error: command does not accept arguments.");
      } else if (!logged_in_ && (spec->second.login || (verb == "STAT" && !arg.empty()))) {
        reply(out, "530 Log in with USER and PASS first.");
      } else {
        if (verb != "RNTO" && verb != "RNFR") rename_from_.reset();
        (this->*spec->second.run)(arg, out);
      }
      if (const auto f = faults_.delay_reply(verb, arg)) {
        note(record_kind::fault, f.label);
        action d;
        d.what = action::kind::delay;
        d.after = f.rule->after;
        out.insert(out.begin(), std::move(d));
      }
    }
  }
  if (const auto f = faults_.close_after(commands_, verb)) {
    note(record_kind::fault, f.label);
    closing_ = true;
    action c;
    c.what = action::kind::close_control;
    out.push_back(std::move(c));
  }
  return out;
}

void protocol::fault_transfer(transfer& x, const std::string& verb, const std::string& arg) {
  const auto f = faults_.on_transfer(verb, arg);
  if (f.silence) {
    note(record_kind::fault, f.silence.label);
    x.fault = transfer::fault_kind::silence;
  } else if (f.drop) {
    note(record_kind::fault, f.drop.label);
    x.fault = transfer::fault_kind::drop;
    x.drop_after = f.drop.rule->bytes;
  }
  if (f.shape) {
    note(record_kind::fault, f.shape.label);
    x.bytes_per_second = f.shape.rule->bytes_per_second;
    x.latency = f.shape.rule->latency;
  }
}

// ----------------------------------------------------------------------------- login

void protocol::cmd_user(const std::string& arg, std::vector<action>& out) {
  logged_in_ = false;
  jail_.reset();
  cwd_ = "/";
  user_ = arg;
  user_given_ = true;
  reply(out, "331 Username ok, send password.");
}

void protocol::cmd_pass(const std::string& arg, std::vector<action>& out) {
  if (logged_in_) return reply(out, "503 User already authenticated.");
  if (!user_given_) return reply(out, "503 Login with USER first.");
  const auto& cfg = ctx_.cfg;
  std::string home = "/";
  bool ok = false;
  bool write = true;
  if (cfg.users.empty()) {
    ok = true;
  } else {
    for (const auto& u : cfg.users) {
      if (u.name == user_ && u.password == arg) {
        ok = true;
        home = u.home;
        write = u.can_write;
        break;
      }
    }
    if (!ok && cfg.anonymous && (user_ == "anonymous" || user_ == "ftp")) {
      ok = true;
      write = false;
    }
  }
  if (ok) {
    auto real = ctx_.root.resolve(jail::normalize("/", home).value_or("/"));
    std::error_code ec;
    if (!real || !fs::is_directory(*real, ec)) {
      ok = false;
    } else {
      try {
        jail_.emplace(*real);
      } catch (const fs::filesystem_error&) {
        ok = false;
      }
    }
  }
  if (!ok) {
    user_given_ = false;
    if (++login_failures_ >= 3) {
      reply(out, "530 Maximum login attempts. Disconnecting.");
      closing_ = true;
      action c;
      c.what = action::kind::close_control;
      out.push_back(std::move(c));
      return;
    }
    return reply(out, "530 Authentication failed.");
  }
  logged_in_ = true;
  can_write_ = write;
  cwd_ = "/";
  reply(out, "230 Login successful.");
}

void protocol::cmd_quit(const std::string&, std::vector<action>& out) {
  if (busy_) {
    quit_pending_ = true;  // RFC 959: answer the transfer first, then close
    return;
  }
  reply(out, "221 Goodbye.");
  closing_ = true;
  action c;
  c.what = action::kind::close_control;
  out.push_back(std::move(c));
}

// ----------------------------------------------------------------------------- information

void protocol::cmd_noop(const std::string&, std::vector<action>& out) {
  reply(out, "200 NOOP command successful.");
}

void protocol::cmd_syst(const std::string&, std::vector<action>& out) {
  reply(out, "215 UNIX Type: L8");
}

void protocol::cmd_feat(const std::string&, std::vector<action>& out) {
  reply(out,
        "211-Features supported:\r\n EPRT\r\n EPSV\r\n MDTM\r\n MLST "
        "type*;size*;modify*;perm*;unique*;\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n"
        "211 End FEAT.");
}

void protocol::cmd_opts(const std::string& arg, std::vector<action>& out) {
  auto sp = arg.find(' ');
  auto name = upper(std::string_view(arg).substr(0, sp));
  auto value = sp == std::string::npos ? std::string() : upper(arg.substr(sp + 1));
  if (name == "UTF8" || name == "UTF-8") {
    if (value.empty() || value == "ON") return reply(out, "200 Always in UTF8 mode.");
    if (value == "OFF") return reply(out, "504 UTF8 cannot be disabled.");
    return reply(out, "501 Invalid OPTS UTF8 argument.");
  }
  if (name == "MLST") {
    // Every fact is always sent; accept the request and say which facts are known.
    std::string facts;
    const std::string& v = value;
    std::size_t i = 0;
    while (i < v.size()) {
      auto j = v.find(';', i);
      if (j == std::string::npos) j = v.size();
      auto f = v.substr(i, j - i);
      for (const char* known : {"TYPE", "SIZE", "MODIFY", "PERM", "UNIQUE"})
        if (f == known) {
          std::string lower = f;
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          facts += lower + ";";
        }
      i = j + 1;
    }
    return reply(out, "200 MLST OPTS " + facts);
  }
  reply(out, "501 Invalid OPTS argument.");
}

void protocol::cmd_help(const std::string& arg, std::vector<action>& out) {
  if (!arg.empty()) {
    auto it = table().find(upper(arg));
    if (it == table().end()) return reply(out, "501 Unrecognized command.");
    return reply(out, std::string("214 Syntax: ") + it->second.help);
  }
  std::string text = "214-The following commands are recognized:\r\n";
  std::string line;
  for (const auto& [name, spec] : table()) {
    line += " " + name;
    if (line.size() > 60) {
      text += line + "\r\n";
      line.clear();
    }
  }
  if (!line.empty()) text += line + "\r\n";
  reply(out, text + "214 Help command successful.");
}

void protocol::cmd_stat(const std::string& arg, std::vector<action>& out) {
  if (arg.empty()) {
    std::string text = "211-FTP server status:\r\n Connected to: " + ctx_.peer_address + "\r\n";
    text += logged_in_ ? " Logged in as: " + printable(user_, 64) + "\r\n" : " Not logged in.\r\n";
    text += std::string(" TYPE: ") + (ascii_ ? "ASCII" : "Binary") +
            "; STRUcture: File; MODE: Stream\r\n";
    text += busy_ ? " Transfer in progress.\r\n" : " Data connection closed.\r\n";
    return reply(out, text + "211 End of status.");
  }
  if (busy_) return reply(out, "450 STAT with an argument is refused during a transfer.");
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  std::string text = "213-Status of \"" + quote_path(vpath) + "\":\r\n";
  if (fs::is_directory(*real, ec)) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(*real, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      auto r = jail_->resolve(jail::normalize(vpath, n).value_or("/"));
      if (r) text += " " + list_line(n, *r);
    }
  } else if (fs::exists(*real, ec)) {
    text += " " + list_line(real->filename().string(), *real);
  } else {
    return reply(out, "550 No such file or directory.");
  }
  reply(out, text + "213 End of status.");
}

// ----------------------------------------------------------------------------- folders

std::optional<fs::path> protocol::real_path(const std::string& arg, std::string* vpath,
                                            std::vector<action>& out) {
  auto norm = jail::normalize(cwd_, arg);
  if (!norm) {
    reply(out, "501 Invalid path: control characters are not allowed.");
    return std::nullopt;
  }
  auto real = jail_->resolve(*norm);
  if (!real) {
    reply(out, "550 Permission denied: the path leaves the served root.");
    return std::nullopt;
  }
  if (vpath) *vpath = *norm;
  return real;
}

bool protocol::need_write(std::vector<action>& out) {
  if (can_write_) return true;
  reply(out, "550 Not enough privileges.");
  return false;
}

void protocol::cmd_pwd(const std::string&, std::vector<action>& out) {
  reply(out, "257 \"" + quote_path(cwd_) + "\" is the current directory.");
}

void protocol::cmd_cwd(const std::string& arg, std::vector<action>& out) {
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  if (!fs::is_directory(*real, ec)) return reply(out, "550 No such directory.");
  cwd_ = vpath;
  reply(out, "250 \"" + quote_path(cwd_) + "\" is the current directory.");
}

void protocol::cmd_cdup(const std::string&, std::vector<action>& out) {
  cmd_cwd("..", out);
}

void protocol::cmd_mkd(const std::string& arg, std::vector<action>& out) {
  if (!need_write(out)) return;
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(*real, ec))) return reply(out, "550 File exists.");
  if (!fs::create_directory(*real, ec) || ec)
    return reply(out, "550 Cannot create directory: " + ec.message() + ".");
  reply(out, "257 \"" + quote_path(vpath) + "\" directory created.");
}

void protocol::cmd_rmd(const std::string& arg, std::vector<action>& out) {
  if (!need_write(out)) return;
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  if (vpath == "/") return reply(out, "550 Can't remove root directory.");
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(*real, ec))) return reply(out, "550 No such directory.");
  if (!fs::remove(*real, ec) || ec) {
    if (ec == std::errc::directory_not_empty) return reply(out, "550 Directory not empty.");
    return reply(out, "550 Cannot remove directory: " + ec.message() + ".");
  }
  reply(out, "250 Directory removed.");
}

// ----------------------------------------------------------------------------- files

void protocol::cmd_dele(const std::string& arg, std::vector<action>& out) {
  if (!need_write(out)) return;
  auto real = real_path(arg, nullptr, out);
  if (!real) return;
  std::error_code ec;
  auto st = fs::symlink_status(*real, ec);
  if (!fs::exists(st)) return reply(out, "550 No such file or directory.");
  if (fs::is_directory(st)) return reply(out, "550 Is a directory (use RMD).");
  if (ctx_.locks.busy(real->string()))
    return reply(out, "450 File busy: another session is using it.");
  if (!fs::remove(*real, ec) || ec) return reply(out, "550 Cannot delete: " + ec.message() + ".");
  reply(out, "250 File removed.");
}

void protocol::cmd_rnfr(const std::string& arg, std::vector<action>& out) {
  if (!need_write(out)) return;
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(*real, ec)))
    return reply(out, "550 No such file or directory.");
  if (vpath == "/") return reply(out, "550 Can't rename home directory.");
  rename_from_ = *real;
  reply(out, "350 Ready for destination name.");
}

void protocol::cmd_rnto(const std::string& arg, std::vector<action>& out) {
  if (!rename_from_) return reply(out, "503 Bad sequence of commands: use RNFR first.");
  auto from = *rename_from_;
  rename_from_.reset();
  if (!need_write(out)) return;
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  if (vpath == "/") return reply(out, "550 Can't overwrite the root directory.");
  if (ctx_.locks.busy(from.string()) || ctx_.locks.busy(real->string()))
    return reply(out, "450 File busy: another session is using it.");
  std::error_code ec;
  fs::rename(from, *real, ec);
  if (ec) return reply(out, "550 Cannot rename: " + ec.message() + ".");
  reply(out, "250 Renaming ok.");
}

void protocol::cmd_size(const std::string& arg, std::vector<action>& out) {
  auto real = real_path(arg, nullptr, out);
  if (!real) return;
  std::error_code ec;
  if (!fs::is_regular_file(*real, ec)) return reply(out, "550 Not a regular file.");
  auto size = fs::file_size(*real, ec);
  if (ec) return reply(out, "550 Cannot read the size.");
  if (ascii_) {
    // The size as it will be transferred: bare LFs become CRLF. Read in bounded chunks.
    unique_fd f(::open(real->c_str(), O_RDONLY | O_CLOEXEC));
    if (f.get() < 0) return reply(out, "550 Cannot open the file.");
    std::uint64_t n = 0;
    char buf[65536];
    char last = 0;
    for (;;) {
      auto got = ::read(f.get(), buf, sizeof buf);
      if (got <= 0) break;
      for (ssize_t i = 0; i < got; ++i) {
        if (buf[i] == '\n' && last != '\r') ++n;
        last = buf[i];
        ++n;
      }
    }
    size = n;
  }
  reply(out, "213 " + std::to_string(size));
}

void protocol::cmd_mdtm(const std::string& arg, std::vector<action>& out) {
  auto real = real_path(arg, nullptr, out);
  if (!real) return;
  std::error_code ec;
  if (!fs::is_regular_file(*real, ec)) return reply(out, "550 Not a regular file.");
  reply(out, "213 " + mtime_string(*real));
}

// ----------------------------------------------------------------------------- parameters

void protocol::cmd_type(const std::string& arg, std::vector<action>& out) {
  auto t = upper(arg);
  if (t == "A" || t == "A N") {
    ascii_ = true;
    return reply(out, "200 Type set to: ASCII.");
  }
  if (t == "I" || t == "L 8" || t == "L8") {
    ascii_ = false;
    return reply(out, "200 Type set to: Binary.");
  }
  reply(out, "504 Unsupported type '" + printable(arg) + "'.");
}

void protocol::cmd_mode(const std::string& arg, std::vector<action>& out) {
  auto m = upper(arg);
  if (m == "S") return reply(out, "200 Transfer mode set to: S");
  if (m == "B" || m == "C") return reply(out, "504 Unimplemented MODE type.");
  reply(out, "501 Unrecognized MODE type.");
}

void protocol::cmd_stru(const std::string& arg, std::vector<action>& out) {
  auto s = upper(arg);
  if (s == "F") return reply(out, "200 File transfer structure set to: F.");
  if (s == "R" || s == "P") return reply(out, "504 Unimplemented STRU type.");
  reply(out, "501 Unrecognized STRU type.");
}

void protocol::cmd_allo(const std::string&, std::vector<action>& out) {
  reply(out, "202 No storage allocation necessary.");
}

void protocol::cmd_not_implemented(const std::string&, std::vector<action>& out) {
  reply(out, "502 Command not implemented.");
}

void protocol::cmd_rest(const std::string& arg, std::vector<action>& out) {
  std::uint64_t n = 0;
  if (!parse_uint(arg, n, 18)) return reply(out, "501 Invalid parameter.");
  rest_ = n;
  reply(out, "350 Restarting at position " + std::to_string(n) + ".");
}

// ----------------------------------------------------------------------------- data channel

bool protocol::fault_data_refuse(const std::string& verb, const std::string& arg,
                                 std::vector<action>& out) {
  const auto f = faults_.refuse_data(verb, arg);
  if (!f) return false;
  note(record_kind::fault, f.label);
  data_mode_ = data_mode::none;
  action c;
  c.what = action::kind::close_data;
  out.push_back(std::move(c));
  if (f.rule->code == 421) {
    reply(out, "421 Service not available, closing control connection.");
    closing_ = true;
    action cc;
    cc.what = action::kind::close_control;
    out.push_back(std::move(cc));
  } else {
    reply(out, "425 Can't open data connection.");
  }
  return true;
}

void protocol::cmd_pasv(const std::string& arg, std::vector<action>& out) {
  if (epsv_all_) return reply(out, "501 PASV not allowed after EPSV ALL.");
  boost::system::error_code ec;
  auto local = boost::asio::ip::make_address(ctx_.local_address, ec);
  if (ec || !(local.is_v4() || (local.is_v6() && local.to_v6().is_v4_mapped())))
    return reply(out, "425 PASV needs an IPv4 control connection; use EPSV.");
  if (fault_data_refuse("PASV", arg, out)) return;
  passive_pending_extended_ = false;
  action a;
  a.what = action::kind::open_passive;
  out.push_back(std::move(a));
}

void protocol::cmd_epsv(const std::string& arg, std::vector<action>& out) {
  auto a = upper(arg);
  if (a == "ALL") {
    epsv_all_ = true;
    return reply(out, "200 EPSV ALL command successful.");
  }
  boost::system::error_code ec;
  auto local = boost::asio::ip::make_address(ctx_.local_address, ec);
  const char* family = !ec && local.is_v6() && !local.to_v6().is_v4_mapped() ? "2" : "1";
  if (!a.empty() && a != family) {
    if (a == "1" || a == "2")
      return reply(out, std::string("522 Network protocol not supported, use (") + family + ").");
    return reply(out, "501 Invalid EPSV argument.");
  }
  if (fault_data_refuse("EPSV", arg, out)) return;
  passive_pending_extended_ = true;
  action o;
  o.what = action::kind::open_passive;
  out.push_back(std::move(o));
}

std::vector<action> protocol::passive_opened(std::uint16_t port) {
  std::vector<action> out;
  data_mode_ = data_mode::passive;
  if (passive_pending_extended_) {
    reply(out, "229 Entering extended passive mode (|||" + std::to_string(port) + "|).");
    return out;
  }
  boost::system::error_code ec;
  auto local = boost::asio::ip::make_address(ctx_.local_address, ec);
  boost::asio::ip::address_v4 v4;
  if (local.is_v6())
    v4 = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, local.to_v6());
  else
    v4 = local.to_v4();
  auto b = v4.to_bytes();
  reply(out, "227 Entering passive mode (" + std::to_string(b[0]) + "," + std::to_string(b[1]) +
                 "," + std::to_string(b[2]) + "," + std::to_string(b[3]) + "," +
                 std::to_string(port >> 8) + "," + std::to_string(port & 0xff) + ").");
  return out;
}

std::vector<action> protocol::passive_failed() {
  std::vector<action> out;
  data_mode_ = data_mode::none;
  reply(out, "425 Can't open passive connection.");
  return out;
}

std::vector<action> protocol::passive_timeout() {
  std::vector<action> out;
  data_mode_ = data_mode::none;
  reply(out, "421 Passive data channel timed out.");
  return out;
}

void protocol::cmd_port(const std::string& arg, std::vector<action>& out) {
  if (epsv_all_) return reply(out, "501 PORT not allowed after EPSV ALL.");
  std::uint64_t n[6];
  std::size_t i = 0;
  std::size_t k = 0;
  for (; k < 6; ++k) {
    auto j = arg.find(',', i);
    if ((j == std::string::npos) != (k == 5)) return reply(out, "501 Invalid PORT format.");
    auto part = std::string_view(arg).substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!parse_uint(part, n[k], 3) || n[k] > 255) return reply(out, "501 Invalid PORT format.");
    i = j + 1;
  }
  std::string host = std::to_string(n[0]) + "." + std::to_string(n[1]) + "." +
                     std::to_string(n[2]) + "." + std::to_string(n[3]);
  auto port = static_cast<std::uint16_t>(n[4] * 256 + n[5]);
  if (!same_address(host, ctx_.peer_address))
    return reply(out, "501 Rejected data connection to foreign address " + host + ":" +
                          std::to_string(port) + ".");
  if (port < 1024) return reply(out, "501 Rejected data connection to privileged port.");
  if (fault_data_refuse("PORT", arg, out)) return;
  data_mode_ = data_mode::active;
  action a;
  a.what = action::kind::set_active;
  a.host = host;
  a.port = port;
  out.push_back(std::move(a));
  reply(out, "200 PORT command successful.");
}

void protocol::cmd_eprt(const std::string& arg, std::vector<action>& out) {
  if (epsv_all_) return reply(out, "501 EPRT not allowed after EPSV ALL.");
  if (arg.size() < 7) return reply(out, "501 Invalid EPRT format.");
  char d = arg[0];
  if (d < 33 || d > 126) return reply(out, "501 Invalid EPRT format.");
  std::vector<std::string> f;
  std::size_t i = 1;
  while (i < arg.size() && f.size() < 4) {
    auto j = arg.find(d, i);
    if (j == std::string::npos) break;
    f.push_back(arg.substr(i, j - i));
    i = j + 1;
  }
  if (f.size() != 3 || i != arg.size()) return reply(out, "501 Invalid EPRT format.");
  if (f[0] != "1" && f[0] != "2")
    return reply(out, "522 Network protocol not supported, use (1,2).");
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(f[1], ec);
  if (ec || (f[0] == "1") != addr.is_v4()) return reply(out, "501 Invalid EPRT format.");
  std::uint64_t port = 0;
  if (!parse_uint(f[2], port, 5) || port == 0 || port > 65535)
    return reply(out, "501 Invalid EPRT format.");
  if (!same_address(f[1], ctx_.peer_address))
    return reply(out, "501 Rejected data connection to foreign address " + f[1] + ":" + f[2] + ".");
  if (port < 1024) return reply(out, "501 Rejected data connection to privileged port.");
  if (fault_data_refuse("EPRT", arg, out)) return;
  data_mode_ = data_mode::active;
  action a;
  a.what = action::kind::set_active;
  a.host = addr.to_string();
  a.port = static_cast<std::uint16_t>(port);
  out.push_back(std::move(a));
  reply(out, "200 EPRT command successful.");
}

void protocol::begin_transfer(std::shared_ptr<transfer> x, const std::string& verb,
                              const std::string& arg, std::vector<action>& out,
                              std::string preliminary) {
  x->command = verb;
  fault_transfer(*x, verb, arg);
  data_mode_ = data_mode::none;  // the data connection serves this one transfer
  reply(out, std::move(preliminary));
  busy_ = true;
  action a;
  a.what = action::kind::start_transfer;
  a.xfer = std::move(x);
  out.push_back(std::move(a));
}

void protocol::cmd_retr(const std::string& arg, std::vector<action>& out) {
  auto rest = rest_;
  rest_ = 0;
  if (data_mode_ == data_mode::none) return reply(out, "425 Use PORT or PASV first.");
  std::string vpath;
  auto real = real_path(arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  if (fs::is_directory(*real, ec)) return reply(out, "550 Is a directory.");
  if (!fs::is_regular_file(*real, ec)) return reply(out, "550 No such file or directory.");
  auto lock = ctx_.locks.try_read(real->string());
  if (!lock) return reply(out, "450 File busy: another session is writing it.");
  unique_fd f(::open(real->c_str(), O_RDONLY | O_CLOEXEC));
  if (f.get() < 0) return reply(out, "550 Cannot open the file.");
  struct stat st {};
  if (::fstat(f.get(), &st) != 0) return reply(out, "550 Cannot open the file.");
  if (rest > static_cast<std::uint64_t>(st.st_size))
    return reply(out, "554 Invalid REST parameter.");
  if (rest && ::lseek(f.get(), static_cast<off_t>(rest), SEEK_SET) < 0)
    return reply(out, "554 Invalid REST parameter.");
  if (fault_data_refuse("RETR", arg, out)) return;
  auto x = std::make_shared<transfer>();
  x->what = transfer::kind::send_file;
  x->path = vpath;
  x->file = std::move(f);
  x->ascii = ascii_;
  x->lock = std::move(lock);
  begin_transfer(std::move(x), "RETR", arg, out,
                 "150 File status okay. About to open data connection.");
}

void protocol::store(const std::string& arg, std::vector<action>& out, store_mode mode) {
  const std::string verb = mode == store_mode::store    ? "STOR"
                           : mode == store_mode::append ? "APPE"
                                                        : "STOU";
  auto rest = rest_;
  rest_ = 0;
  if (!need_write(out)) return;
  if (mode == store_mode::unique && rest)
    return reply(out, "450 Can't STOU while REST request is pending.");
  if (data_mode_ == data_mode::none) return reply(out, "425 Use PORT or PASV first.");
  std::string vpath;
  std::optional<fs::path> real;
  unique_fd f;
  file_locks::lock lock;
  std::error_code ec;
  if (mode == store_mode::unique) {
    // A fresh name in the current folder (or from the given prefix), created exclusively.
    std::string base = arg.empty() ? "stou" : arg;
    for (int i = 0; i < 100 && f.get() < 0; ++i) {
      std::string name =
          i == 0 && !arg.empty() ? base : base + "." + std::to_string(arg.empty() ? i + 1 : i);
      vpath.clear();
      std::vector<action> scratch;
      real = real_path(name, &vpath, scratch);
      if (!real) {
        out.insert(out.end(), scratch.begin(), scratch.end());
        return;
      }
      f = unique_fd(
          ::open(real->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
      if (f.get() < 0 && errno != EEXIST) return reply(out, "550 Cannot create the file.");
    }
    if (f.get() < 0) return reply(out, "450 No unique name is free.");
    lock = ctx_.locks.try_write(real->string());
  } else {
    real = real_path(arg, &vpath, out);
    if (!real) return;
    if (fs::is_directory(*real, ec)) return reply(out, "550 Is a directory.");
    lock = ctx_.locks.try_write(real->string());
    if (!lock) return reply(out, "450 File busy: another session is using it.");
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
    if (mode == store_mode::append && !rest) flags |= O_APPEND;
    if (mode == store_mode::store && !rest) flags |= O_TRUNC;
    if (rest) {
      struct stat st {};
      if (::stat(real->c_str(), &st) != 0 || rest > static_cast<std::uint64_t>(st.st_size))
        return reply(out, "554 Invalid REST parameter.");
    }
    if (fault_data_refuse(verb, arg, out)) return;
    f = unique_fd(::open(real->c_str(), flags, 0644));
    if (f.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return reply(out, "550 No such file or directory.");
      return reply(out, "550 Cannot open the file for writing.");
    }
    if (rest && (::ftruncate(f.get(), static_cast<off_t>(rest)) != 0 ||
                 ::lseek(f.get(), static_cast<off_t>(rest), SEEK_SET) < 0))
      return reply(out, "554 Invalid REST parameter.");
  }
  auto x = std::make_shared<transfer>();
  x->what = transfer::kind::receive_file;
  x->path = vpath;
  x->file = std::move(f);
  x->ascii = ascii_;
  x->lock = std::move(lock);
  std::string name = vpath.substr(vpath.rfind('/') + 1);
  begin_transfer(std::move(x), verb, arg, out,
                 mode == store_mode::unique
                     ? "150 FILE: " + name
                     : "150 File status okay. About to open data connection.");
}

void protocol::cmd_stor(const std::string& arg, std::vector<action>& out) {
  store(arg, out, store_mode::store);
}
void protocol::cmd_appe(const std::string& arg, std::vector<action>& out) {
  store(arg, out, store_mode::append);
}
void protocol::cmd_stou(const std::string& arg, std::vector<action>& out) {
  store(arg, out, store_mode::unique);
}

void protocol::listing(const std::string& raw, std::vector<action>& out, listing_style style) {
  const std::string verb = style == listing_style::list    ? "LIST"
                           : style == listing_style::names ? "NLST"
                                                           : "MLSD";
  std::string arg = raw;
  if (style != listing_style::facts) {
    // `ls` options ("-la", "-a dir") that clients send are not paths.
    while (!arg.empty() && arg[0] == '-') {
      auto sp = arg.find(' ');
      arg = sp == std::string::npos ? std::string() : arg.substr(sp + 1);
    }
  }
  if (data_mode_ == data_mode::none) return reply(out, "425 Use PORT or PASV first.");
  std::string vpath;
  auto real = real_path(arg.empty() ? "." : arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  std::string body;
  if (fs::is_directory(*real, ec)) {
    std::vector<std::string> names;
    for (fs::directory_iterator it(*real, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      // Entries whose symlinks lead out of the root are not shown at all.
      auto r = jail_->resolve(jail::normalize(vpath, n).value_or("/"));
      if (!r) continue;
      if (style == listing_style::list) body += list_line(n, *r);
      if (style == listing_style::names) body += n + "\r\n";
      if (style == listing_style::facts) body += mlsx_line(n, *r, can_write_);
    }
  } else if (fs::exists(*real, ec)) {
    if (style == listing_style::facts) return reply(out, "501 No such directory.");
    if (style == listing_style::list) body += list_line(real->filename().string(), *real);
    if (style == listing_style::names) body += arg + "\r\n";
  } else {
    return reply(out, style == listing_style::facts ? "501 No such directory."
                                                    : "550 No such file or directory.");
  }
  if (fault_data_refuse(verb, raw, out)) return;
  auto x = std::make_shared<transfer>();
  x->what = transfer::kind::send_bytes;
  x->path = vpath;
  x->bytes = std::move(body);
  begin_transfer(std::move(x), verb, raw, out,
                 "150 File status okay. About to open data connection.");
}

void protocol::cmd_list(const std::string& arg, std::vector<action>& out) {
  listing(arg, out, listing_style::list);
}
void protocol::cmd_nlst(const std::string& arg, std::vector<action>& out) {
  listing(arg, out, listing_style::names);
}
void protocol::cmd_mlsd(const std::string& arg, std::vector<action>& out) {
  listing(arg, out, listing_style::facts);
}

void protocol::cmd_mlst(const std::string& arg, std::vector<action>& out) {
  std::string vpath;
  auto real = real_path(arg.empty() ? "." : arg, &vpath, out);
  if (!real) return;
  std::error_code ec;
  if (!fs::exists(*real, ec)) return reply(out, "550 No such file or directory.");
  auto line = mlsx_line(vpath, *real, can_write_);
  reply(out, "250-Listing " + vpath + "\r\n " + line + "250 End MLST.");
}

void protocol::cmd_abor(const std::string&, std::vector<action>& out) {
  if (!busy_) {
    if (data_mode_ != data_mode::none) {
      data_mode_ = data_mode::none;
      action c;
      c.what = action::kind::close_data;
      out.push_back(std::move(c));
      return reply(out, "225 ABOR command successful; data channel closed.");
    }
    return reply(out, "225 No transfer to abort.");
  }
  busy_ = false;
  action a;
  a.what = action::kind::abort_transfer;
  out.push_back(std::move(a));
  reply(out, "426 Transfer aborted via ABOR.");
  reply(out, "226 ABOR command successful.");
}

// ----------------------------------------------------------------------------- events

std::vector<action> protocol::transfer_done(transfer_result r, std::uint64_t bytes) {
  std::vector<action> out;
  if (!busy_) return out;
  busy_ = false;
  auto close = [&] {
    closing_ = true;
    action c;
    c.what = action::kind::close_control;
    out.push_back(std::move(c));
  };
  switch (r) {
    case transfer_result::ok:
      reply(out, "226 Transfer complete.");
      break;
    case transfer_result::connect_failed:
      reply(out, "425 Can't open data connection.");
      break;
    case transfer_result::accept_timeout:
      reply(out, "421 Passive data channel timed out.");
      break;
    case transfer_result::data_timeout:
      reply(out, "421 Data connection timed out.");
      close();
      return out;
    case transfer_result::peer_closed:
    case transfer_result::dropped:
      reply(out,
            "426 Connection closed; transfer aborted after " + std::to_string(bytes) + " bytes.");
      break;
    case transfer_result::local_error:
      reply(out, "451 Requested action aborted: local error in processing.");
      break;
    case transfer_result::aborted:
      break;
  }
  if (quit_pending_) {
    reply(out, "221 Goodbye.");
    close();
  }
  return out;
}

std::chrono::milliseconds protocol::control_idle() const {
  return faults_.idle_limit(ctx_.cfg.timeouts.control_idle);
}

std::vector<action> protocol::idle_timeout() {
  std::vector<action> out;
  if (const auto f = faults_.idle_fired(ctx_.cfg.timeouts.control_idle))
    note(record_kind::fault, f.label);
  reply(out, "421 Control connection timed out.");
  closing_ = true;
  action c;
  c.what = action::kind::close_control;
  out.push_back(std::move(c));
  return out;
}

std::vector<action> protocol::login_timeout() {
  std::vector<action> out;
  if (logged_in_ || closing_) return out;
  reply(out, "421 Login timed out.");
  closing_ = true;
  action c;
  c.what = action::kind::close_control;
  out.push_back(std::move(c));
  return out;
}

std::vector<std::pair<fault_book::rule_id, std::chrono::milliseconds>>
protocol::new_close_timers() {
  return faults_.new_close_timers();
}

std::vector<action> protocol::close_timer_fired(fault_book::rule_id id) {
  std::vector<action> out;
  const auto f = faults_.close_timer_fired(id);
  if (!f) return out;
  note(record_kind::fault, f.label);
  closing_ = true;
  action c;
  c.what = action::kind::close_control;
  out.push_back(std::move(c));
  return out;
}

std::pair<std::uint64_t, std::chrono::milliseconds> protocol::control_shape() const {
  return faults_.control_shape();
}

}  // namespace quecsim::ftpd
