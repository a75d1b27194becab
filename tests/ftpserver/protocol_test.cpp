// The protocol core, driven line by line without sockets.
#include "quecsim/ftpd/protocol.hpp"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <sstream>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace quecsim::ftpd;

namespace {

fs::path fresh_dir(const std::string& tag) {
  static std::atomic<int> n{0};
  auto p = fs::temp_directory_path() /
           ("quecsim-ftpd-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

void write_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary) << content;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  for (int i = 0; i < 1000; ++i) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// A served root ("root/") beside a folder that must never be touched ("outside/").
struct fixture {
  fs::path base = fresh_dir("unit");
  fs::path dir = base / "root";
  fs::path outside = base / "outside";
  config cfg;
  std::optional<jail> root;
  fault_book faults;
  file_locks locks;
  std::unique_ptr<protocol> p;
  std::vector<std::string> records;

  explicit fixture(std::vector<user> users = {}, bool anonymous = false) {
    fs::create_directories(dir / "sub");
    fs::create_directories(outside);
    write_file(outside / "secret.txt", "SECRET");
    write_file(dir / "a.txt", "hello\n");
    cfg.root = dir;
    cfg.users = std::move(users);
    cfg.anonymous = anonymous;
    cfg.limits.max_line = 64;
    root.emplace(dir);
    p = make();
  }
  ~fixture() {
    p.reset();
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  std::unique_ptr<protocol> make() {
    auto q = std::make_unique<protocol>(
        session_context{cfg, *root, faults, locks, "127.0.0.1", "127.0.0.1"});
    q->set_observer([this](record_kind k, std::string_view t) {
      if (k == record_kind::command) records.emplace_back(t);
    });
    q->start();
    return q;
  }
  // Feeds raw bytes and runs every line that may run; returns the actions.
  std::vector<action> raw(const std::string& bytes, protocol* s = nullptr) {
    s = s ? s : p.get();
    s->feed(bytes);
    std::vector<action> all;
    for (int i = 0; i < 100; ++i) {
      auto a = s->step();
      if (a.empty()) break;
      for (auto& x : a) all.push_back(std::move(x));
    }
    return all;
  }
  std::vector<action> acts(const std::string& line, protocol* s = nullptr) {
    return raw(line + "\r\n", s);
  }
  // The replies a line produces, concatenated.
  std::string say(const std::string& line, protocol* s = nullptr) { return replies(acts(line, s)); }
  static std::string replies(const std::vector<action>& acts) {
    std::string out;
    for (const auto& a : acts)
      if (a.what == action::kind::reply) out += a.text;
    return out;
  }
  void login(protocol* s = nullptr, const std::string& u = "u", const std::string& pw = "p") {
    say("USER " + u, s);
    REQUIRE(say("PASS " + pw, s) == "230 Login successful.\r\n");
  }
  // PASV answered on port 4660; returns nothing.
  void passive(protocol* s = nullptr) {
    s = s ? s : p.get();
    auto a = acts("PASV", s);
    REQUIRE(a.size() == 1);
    REQUIRE(a[0].what == action::kind::open_passive);
    REQUIRE(replies(s->passive_opened(4660)) == "227 Entering passive mode (127,0,0,1,18,52).\r\n");
  }
  static const action* find(const std::vector<action>& acts, action::kind k) {
    for (const auto& a : acts)
      if (a.what == k) return &a;
    return nullptr;
  }
};

}  // namespace

TEST_CASE("the greeting is 220 with the banner") {
  fixture f;
  protocol q(session_context{f.cfg, *f.root, f.faults, f.locks, "127.0.0.1", "127.0.0.1"});
  REQUIRE(fixture::replies(q.start()) == "220 quecsim-ftpd ready.\r\n");
}

TEST_CASE("an unknown command is answered 500 naming it") {
  fixture f;
  REQUIRE(f.say("FOO bar") == "500 Command \"FOO\" not understood.\r\n");
  REQUIRE(f.say("") == "500 Command \"\" not understood.\r\n");
  REQUIRE(f.say("R\x01TR x") == "500 Command \"R?TR\" not understood.\r\n");
}

TEST_CASE("commands that need a login are refused with 530 before it") {
  fixture f;
  for (const char* c : {"PWD",
                        "CWD x",
                        "CDUP",
                        "TYPE I",
                        "MODE S",
                        "STRU F",
                        "PASV",
                        "EPSV",
                        "PORT 127,0,0,1,4,1",
                        "EPRT |1|127.0.0.1|1025|",
                        "REST 0",
                        "RETR a",
                        "STOR a",
                        "APPE a",
                        "STOU",
                        "SIZE a",
                        "MDTM a",
                        "DELE a",
                        "MKD a",
                        "RMD a",
                        "RNFR a",
                        "RNTO a",
                        "LIST",
                        "NLST",
                        "MLSD",
                        "MLST",
                        "ABOR",
                        "XPWD",
                        "XCWD x",
                        "XCUP",
                        "XMKD a",
                        "XRMD a",
                        "STAT a",
                        "ALLO 1"}) {
    INFO(c);
    REQUIRE(f.say(c) == "530 Log in with USER and PASS first.\r\n");
  }
  for (const char* c : {"NOOP", "SYST", "FEAT", "HELP", "STAT", "OPTS UTF8 ON"}) {
    INFO(c);
    REQUIRE(f.say(c).substr(0, 1) == "2");
  }
}

TEST_CASE("a command missing its required argument is answered 501") {
  fixture f;
  f.login();
  for (const char* c : {"CWD",  "XCWD", "TYPE", "MODE", "STRU", "PORT", "EPRT", "REST",
                        "RETR", "STOR", "APPE", "SIZE", "MDTM", "DELE", "MKD",  "XMKD",
                        "RMD",  "XRMD", "RNFR", "RNTO", "USER", "OPTS", "ALLO"}) {
    INFO(c);
    REQUIRE(f.say(c) == "501 Syntax error: command needs an argument.\r\n");
  }
}

TEST_CASE("a command given a forbidden argument is answered 501") {
  fixture f;
  f.login();
  for (const char* c : {"PWD x", "XPWD x", "CDUP x", "XCUP x", "PASV x", "NOOP x", "SYST x",
                        "FEAT x", "ABOR x", "REIN x"}) {
    INFO(c);
    REQUIRE(f.say(c) == "501 Syntax error: command does not accept arguments.\r\n");
  }
}

TEST_CASE("verbs are case-insensitive and a bare LF ends a line") {
  fixture f;
  f.say("user a");
  REQUIRE(f.say("pass b") == "230 Login successful.\r\n");
  REQUIRE(fixture::replies(f.raw("pWd\n")) == "257 \"/\" is the current directory.\r\n");
}

TEST_CASE("with no users any USER and PASS pair logs in, anonymous too") {
  fixture f;
  REQUIRE(f.say("USER anonymous") == "331 Username ok, send password.\r\n");
  REQUIRE(f.say("PASS") == "230 Login successful.\r\n");
  REQUIRE(f.say("PASS again") == "503 User already authenticated.\r\n");
  REQUIRE(f.say("USER other") == "331 Username ok, send password.\r\n");
  REQUIRE(f.say("PASS x") == "230 Login successful.\r\n");
}

TEST_CASE("PASS without USER is a bad sequence") {
  fixture f;
  REQUIRE(f.say("PASS x") == "503 Login with USER first.\r\n");
}

TEST_CASE("with users configured a wrong password is refused and the third failure disconnects") {
  fixture f({user{"alice", "pw", "/", true}});
  f.say("USER alice");
  REQUIRE(f.say("PASS bad") == "530 Authentication failed.\r\n");
  f.say("USER anonymous");
  REQUIRE(f.say("PASS x") == "530 Authentication failed.\r\n");
  f.say("USER alice");
  auto a = f.acts("PASS nope");
  REQUIRE(fixture::replies(a) == "530 Maximum login attempts. Disconnecting.\r\n");
  REQUIRE(fixture::find(a, action::kind::close_control));
  REQUIRE(f.p->closing());
}

TEST_CASE("a user logs in with the right password") {
  fixture f({user{"alice", "pw:with:colons", "/", true}});
  f.login(nullptr, "alice", "pw:with:colons");
}

TEST_CASE("anonymous beside configured users is read-only") {
  fixture f({user{"alice", "pw", "/", true}}, true);
  f.login(nullptr, "anonymous", "me@x");
  f.passive();
  for (const char* c :
       {"STOR new", "APPE a.txt", "STOU", "DELE a.txt", "MKD d", "RMD sub", "RNFR a.txt"}) {
    INFO(c);
    REQUIRE(f.say(c) == "550 Not enough privileges.\r\n");
  }
  REQUIRE(fs::exists(f.dir / "a.txt"));
  REQUIRE(f.say("MLST a.txt").find(";perm=r;") != std::string::npos);
}

TEST_CASE("a user's home folder becomes its root") {
  fixture f({user{"bob", "pw", "/sub", true}});
  write_file(f.dir / "sub" / "mine.txt", "bob's");
  f.login(nullptr, "bob", "pw");
  REQUIRE(f.say("SIZE mine.txt") == "213 5\r\n");
  REQUIRE(f.say("SIZE /a.txt") == "550 Not a regular file.\r\n");
  REQUIRE(f.say("SIZE ../a.txt") == "550 Not a regular file.\r\n");
  REQUIRE(f.say("CDUP") == "250 \"/\" is the current directory.\r\n");
}

TEST_CASE("the commands received are recorded with the password masked") {
  fixture f;
  f.login(nullptr, "u", "secret");
  f.say("NOOP");
  REQUIRE(f.records == std::vector<std::string>{"USER u", "PASS ****", "NOOP"});
}

TEST_CASE("an overlong line is answered 500 and the next line works") {
  fixture f;
  f.login();
  std::string big(100000, 'A');
  auto a = f.raw("NOOP " + big);  // no end of line yet: nothing kept, nothing answered
  REQUIRE(a.empty());
  a = f.raw(big + "\r\nNOOP\r\n");
  REQUIRE(fixture::replies(a) == "500 Command too long.\r\n200 NOOP command successful.\r\n");
  // Exactly at the limit (64) is fine.
  REQUIRE(f.say("NOOP" + std::string(60, ' ')).substr(0, 3) == "501");
}

TEST_CASE("line splitter keeps no more than the limit of an overlong line") {
  command_splitter s(8);
  std::deque<command_line> out;
  s.feed("0123456789", out);
  s.feed("abc\r\nok\r\n", out);
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].overlong);
  REQUIRE(out[0].text.empty());
  REQUIRE(out[1].text == "ok");
  s.feed("12345678\r\n", out);  // exactly max, with CR
  REQUIRE(out.size() == 3);
  REQUIRE_FALSE(out[2].overlong);
}

TEST_CASE("Telnet IP and DM before ABOR are ignored") {
  fixture f;
  f.login();
  REQUIRE(fixture::replies(f.raw("\xff\xf4\xff\xf2"
                                 "ABOR\r\n")) == "225 No transfer to abort.\r\n");
  REQUIRE(fixture::replies(f.raw("\xff\xfb\x01NOOP\r\n")) == "200 NOOP command successful.\r\n");
}

TEST_CASE("TYPE accepts A, A N, I and L 8 and refuses the rest with 504") {
  fixture f;
  f.login();
  REQUIRE(f.say("TYPE A") == "200 Type set to: ASCII.\r\n");
  REQUIRE(f.say("TYPE a n") == "200 Type set to: ASCII.\r\n");
  REQUIRE(f.say("TYPE I") == "200 Type set to: Binary.\r\n");
  REQUIRE(f.say("TYPE L 8") == "200 Type set to: Binary.\r\n");
  REQUIRE(f.say("TYPE E") == "504 Unsupported type 'E'.\r\n");
  REQUIRE(f.say("TYPE L 7") == "504 Unsupported type 'L 7'.\r\n");
  REQUIRE(f.say("TYPE A T") == "504 Unsupported type 'A T'.\r\n");
}

TEST_CASE("MODE S and STRU F are the only ones") {
  fixture f;
  f.login();
  REQUIRE(f.say("MODE S") == "200 Transfer mode set to: S\r\n");
  REQUIRE(f.say("MODE B") == "504 Unimplemented MODE type.\r\n");
  REQUIRE(f.say("MODE Z") == "501 Unrecognized MODE type.\r\n");
  REQUIRE(f.say("STRU F") == "200 File transfer structure set to: F.\r\n");
  REQUIRE(f.say("STRU R") == "504 Unimplemented STRU type.\r\n");
  REQUIRE(f.say("STRU Q") == "501 Unrecognized STRU type.\r\n");
}

TEST_CASE("PWD, CWD, CDUP and the X synonyms move within the root") {
  fixture f;
  f.login();
  fs::create_directories(f.dir / "sub" / "de\"ep");
  REQUIRE(f.say("CWD sub") == "250 \"/sub\" is the current directory.\r\n");
  REQUIRE(f.say("XCWD de\"ep") == "250 \"/sub/de\"\"ep\" is the current directory.\r\n");
  REQUIRE(f.say("XPWD") == "257 \"/sub/de\"\"ep\" is the current directory.\r\n");
  REQUIRE(f.say("XCUP") == "250 \"/sub\" is the current directory.\r\n");
  REQUIRE(f.say("CDUP") == "250 \"/\" is the current directory.\r\n");
  REQUIRE(f.say("CDUP") == "250 \"/\" is the current directory.\r\n");
  REQUIRE(f.say("CWD nowhere") == "550 No such directory.\r\n");
  REQUIRE(f.say("CWD a.txt") == "550 No such directory.\r\n");
  REQUIRE(f.say("PWD") == "257 \"/\" is the current directory.\r\n");
}

TEST_CASE("no path attack leaves the root") {
  fixture f;
  fs::create_symlink(f.outside, f.dir / "out");
  fs::create_symlink(f.outside / "secret.txt", f.dir / "secret-link");
  fs::create_symlink(f.outside / "nonexistent", f.dir / "dangling");
  fs::create_symlink(f.dir / "a.txt", f.dir / "inside-link");
  f.login();
  const std::vector<std::string> attacks = {"../outside/secret.txt",
                                            "../../../../../../etc/passwd",
                                            "/../outside/secret.txt",
                                            "sub/../../outside/secret.txt",
                                            "./../outside/secret.txt",
                                            "....//outside/secret.txt",
                                            "%2e%2e/outside/secret.txt",
                                            "..%2fsecret.txt",
                                            "..\\..\\outside\\secret.txt",
                                            "out/secret.txt",
                                            "secret-link",
                                            "/out/secret.txt",
                                            "dangling",
                                            "out",
                                            "sub/../out/x",
                                            "\xc0\xae\xc0\xae/outside/secret.txt",
                                            "../outside",
                                            "//../outside/secret.txt",
                                            std::string("a\0b", 3),
                                            "a\x01",
                                            "/etc/passwd"};
  for (const auto& a : attacks) {
    INFO(a);
    // Reads: never the secret, never a file outside.
    f.passive();
    auto r = f.acts("RETR " + a);
    if (const auto* t = fixture::find(r, action::kind::start_transfer)) {
      REQUIRE(read_fd(t->xfer->file.get()) != "SECRET");
      f.p->transfer_done(transfer_result::ok, 0);
    } else {
      f.say("ABOR");
    }
    REQUIRE(f.say("SIZE " + a) != "213 6\r\n");
    REQUIRE(f.say("STAT " + a).find("secret") == std::string::npos);
    // Writes: nothing appears or disappears outside.
    f.passive();
    auto w = f.acts("STOR " + a);
    if (fixture::find(w, action::kind::start_transfer))
      f.p->transfer_done(transfer_result::ok, 0);
    else
      f.say("ABOR");
    f.say("APPE " + a);
    f.say("DELE " + a);
    f.say("MKD " + a + "-dir");
    f.say("RMD " + a);
    f.say("RNFR a.txt");
    f.say("RNTO " + a);
    if (!fs::exists(f.dir / "a.txt")) {
      // Renamed inside the root: put it back.
      f.say("RNFR " + a);
      REQUIRE(f.say("RNTO /a.txt") == "250 Renaming ok.\r\n");
    }
    f.say("RNFR " + a);
    f.say("RNTO /stolen");
    f.say("CWD " + a);
    REQUIRE(f.say("PWD").find("outside") == std::string::npos);
    f.say("CWD /");
  }
  // The outside folder holds exactly what it held, untouched.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(f.outside)) names.push_back(e.path().filename());
  REQUIRE(names == std::vector<std::string>{"secret.txt"});
  REQUIRE(read_file(f.outside / "secret.txt") == "SECRET");
  REQUIRE_FALSE(fs::exists(f.base / "stolen"));
  // A symlink that stays inside still works.
  REQUIRE(f.say("SIZE inside-link") == "213 7\r\n");  // TYPE A: "hello\r\n"
}

TEST_CASE("paths with control bytes are refused with 501") {
  fixture f;
  f.login();
  REQUIRE(f.say("CWD a\x7f") == "501 Invalid path: control characters are not allowed.\r\n");
  REQUIRE(f.say(std::string("SIZE a\0.txt", 11)) ==
          "501 Invalid path: control characters are not allowed.\r\n");
}

TEST_CASE("normalize resolves dot segments and clamps at the root") {
  REQUIRE(jail::normalize("/", "a/b/../c") == "/a/c");
  REQUIRE(jail::normalize("/x/y", "../../../..") == "/");
  REQUIRE(jail::normalize("/x", "/abs//./p/") == "/abs/p");
  REQUIRE(jail::normalize("/x", "") == "/x");
  REQUIRE(jail::normalize("/", "...") == "/...");
  REQUIRE_FALSE(jail::normalize("/", "a\nb"));
}

TEST_CASE("PASV opens a listener and answers 227 with the address and port") {
  fixture f;
  f.login();
  f.passive();
}

TEST_CASE("EPSV answers 229, refuses other protocols and EPSV ALL locks out PASV and PORT") {
  fixture f;
  f.login();
  auto a = f.acts("EPSV");
  REQUIRE(fixture::find(a, action::kind::open_passive));
  REQUIRE(fixture::replies(f.p->passive_opened(5000)) ==
          "229 Entering extended passive mode (|||5000|).\r\n");
  REQUIRE(fixture::find(f.acts("EPSV 1"), action::kind::open_passive));
  REQUIRE(f.say("EPSV 2") == "522 Network protocol not supported, use (1).\r\n");
  REQUIRE(f.say("EPSV x") == "501 Invalid EPSV argument.\r\n");
  REQUIRE(f.say("EPSV ALL") == "200 EPSV ALL command successful.\r\n");
  REQUIRE(f.say("PASV") == "501 PASV not allowed after EPSV ALL.\r\n");
  REQUIRE(f.say("PORT 127,0,0,1,4,1") == "501 PORT not allowed after EPSV ALL.\r\n");
  REQUIRE(f.say("EPRT |1|127.0.0.1|1025|") == "501 EPRT not allowed after EPSV ALL.\r\n");
}

TEST_CASE("PORT to the client's address is accepted") {
  fixture f;
  f.login();
  auto a = f.acts("PORT 127,0,0,1,4,1");
  const auto* s = fixture::find(a, action::kind::set_active);
  REQUIRE(s);
  REQUIRE(s->host == "127.0.0.1");
  REQUIRE(s->port == 1025);
  REQUIRE(fixture::replies(a) == "200 PORT command successful.\r\n");
}

TEST_CASE("PORT and EPRT to another address are refused (bounce protection)") {
  fixture f;
  f.login();
  REQUIRE(f.say("PORT 10,0,0,1,4,1") ==
          "501 Rejected data connection to foreign address 10.0.0.1:1025.\r\n");
  REQUIRE(f.say("EPRT |1|192.168.1.1|2000|") ==
          "501 Rejected data connection to foreign address 192.168.1.1:2000.\r\n");
  REQUIRE(f.say("PORT 127,0,0,1,0,21") == "501 Rejected data connection to privileged port.\r\n");
}

TEST_CASE("malformed PORT arguments are answered 501") {
  fixture f;
  f.login();
  for (const char* c :
       {"PORT 127,0,0,1,4", "PORT 127,0,0,1,4,1,1", "PORT 256,0,0,1,4,1", "PORT 127,0,0,1,4,256",
        "PORT a,b,c,d,e,f", "PORT 127,,0,1,4,1", "PORT 127.0.0.1,4,1", "PORT -1,0,0,1,4,1",
        "PORT 127,0,0,1,4,1,", "PORT 0127,0,0,1,4,1", "PORT 127 ,0,0,1,4,1"}) {
    INFO(c);
    REQUIRE(f.say(c).substr(0, 4) == "501 ");
  }
}

TEST_CASE("EPRT accepts |1|addr|port| and refuses the malformed") {
  fixture f;
  f.login();
  auto a = f.acts("EPRT |1|127.0.0.1|2000|");
  REQUIRE(fixture::replies(a) == "200 EPRT command successful.\r\n");
  REQUIRE(fixture::find(a, action::kind::set_active)->port == 2000);
  REQUIRE(f.say("EPRT |3|127.0.0.1|2000|") == "522 Network protocol not supported, use (1,2).\r\n");
  for (const char* c : {"EPRT |1|127.0.0.1|2000", "EPRT |1|127.0.0.1|70000|", "EPRT |1|::1|2000|",
                        "EPRT |2|127.0.0.1|2000|", "EPRT |1|x|2000|", "EPRT 1|127.0.0.1|2000|",
                        "EPRT |1|127.0.0.1|0|", "EPRT |1|127.0.0.1|2000||"}) {
    INFO(c);
    REQUIRE(f.say(c).substr(0, 4) == "501 ");
  }
}

TEST_CASE("transfers without PASV or PORT first are answered 425") {
  fixture f;
  f.login();
  for (const char* c : {"RETR a.txt", "STOR b", "APPE b", "STOU", "LIST", "NLST", "MLSD"}) {
    INFO(c);
    REQUIRE(f.say(c) == "425 Use PORT or PASV first.\r\n");
  }
}

TEST_CASE("RETR of a missing file or of a folder is answered 550") {
  fixture f;
  f.login();
  f.passive();
  REQUIRE(f.say("RETR nope") == "550 No such file or directory.\r\n");
  REQUIRE(f.say("RETR sub") == "550 Is a directory.\r\n");
}

TEST_CASE("RETR answers 150, runs a transfer and 226 ends it") {
  fixture f;
  f.login();
  f.say("TYPE I");
  f.passive();
  auto a = f.acts("RETR a.txt");
  REQUIRE(fixture::replies(a) == "150 File status okay. About to open data connection.\r\n");
  const auto* t = fixture::find(a, action::kind::start_transfer);
  REQUIRE(t);
  REQUIRE(t->xfer->what == transfer::kind::send_file);
  REQUIRE_FALSE(t->xfer->ascii);
  REQUIRE(read_fd(t->xfer->file.get()) == "hello\n");
  REQUIRE(f.p->busy());
  REQUIRE(fixture::replies(f.p->transfer_done(transfer_result::ok, 6)) ==
          "226 Transfer complete.\r\n");
  REQUIRE_FALSE(f.p->busy());
  // The data connection served one transfer.
  REQUIRE(f.say("RETR a.txt") == "425 Use PORT or PASV first.\r\n");
}

TEST_CASE("during a transfer only ABOR, STAT, QUIT and NOOP run, the rest wait") {
  fixture f;
  f.login();
  f.passive();
  f.acts("RETR a.txt");
  auto a = f.raw("PWD\r\nNOOP\r\n");
  REQUIRE(fixture::replies(a) == "200 NOOP command successful.\r\n");
  REQUIRE(f.p->has_pending());
  f.p->transfer_done(transfer_result::ok, 6);
  REQUIRE(fixture::replies(f.p->step()) == "257 \"/\" is the current directory.\r\n");
}

TEST_CASE("REST positions RETR and bad offsets are refused") {
  fixture f;
  f.login();
  f.passive();
  REQUIRE(f.say("REST 2") == "350 Restarting at position 2.\r\n");
  auto a = f.acts("RETR a.txt");
  REQUIRE(read_fd(fixture::find(a, action::kind::start_transfer)->xfer->file.get()) == "llo\n");
  f.p->transfer_done(transfer_result::ok, 4);
  f.passive();
  f.say("REST 7");
  REQUIRE(f.say("RETR a.txt") == "554 Invalid REST parameter.\r\n");
  for (const char* c : {"REST -1", "REST x", "REST 1.5", "REST 99999999999999999999", "REST  1"}) {
    INFO(c);
    REQUIRE(f.say(c) == "501 Invalid parameter.\r\n");
  }
}

TEST_CASE("STOR truncates, REST then STOR resumes at the offset, APPE appends") {
  fixture f;
  f.login();
  auto run = [&](const std::string& cmd, const std::string& data) {
    f.passive();
    auto a = f.acts(cmd);
    const auto* t = fixture::find(a, action::kind::start_transfer);
    REQUIRE(t);
    REQUIRE(::write(t->xfer->file.get(), data.data(), data.size()) ==
            static_cast<ssize_t>(data.size()));
    REQUIRE(fixture::replies(f.p->transfer_done(transfer_result::ok, data.size())) ==
            "226 Transfer complete.\r\n");
  };
  run("STOR new.bin", "0123456789");
  REQUIRE(read_file(f.dir / "new.bin") == "0123456789");
  run("STOR new.bin", "ab");
  REQUIRE(read_file(f.dir / "new.bin") == "ab");
  run("APPE new.bin", "cd");
  REQUIRE(read_file(f.dir / "new.bin") == "abcd");
  f.say("REST 1");
  run("STOR new.bin", "XY");
  REQUIRE(read_file(f.dir / "new.bin") == "aXY");
  f.say("REST 2");
  run("APPE new.bin", "Z");
  REQUIRE(read_file(f.dir / "new.bin") == "aXZ");
  f.passive();
  f.say("REST 10");
  REQUIRE(f.say("STOR new.bin") == "554 Invalid REST parameter.\r\n");
  REQUIRE(f.say("STOR sub") == "550 Is a directory.\r\n");
  REQUIRE(f.say("STOR nodir/x") == "550 No such file or directory.\r\n");
}

TEST_CASE("two sessions cannot write one file at once") {
  fixture f;
  auto other = f.make();
  f.login();
  f.login(other.get());
  f.passive();
  f.passive(other.get());
  auto a = f.acts("STOR shared.bin");
  REQUIRE(fixture::find(a, action::kind::start_transfer));
  REQUIRE(f.say("STOR shared.bin", other.get()) ==
          "450 File busy: another session is using it.\r\n");
  REQUIRE(f.say("RETR shared.bin", other.get()) ==
          "450 File busy: another session is writing it.\r\n");
  REQUIRE(f.say("DELE shared.bin", other.get()) ==
          "450 File busy: another session is using it.\r\n");
  f.p->transfer_done(transfer_result::ok, 0);
  a.clear();  // the Asio layer drops the transfer (and its lock) when it ends
  REQUIRE(fixture::find(f.acts("STOR shared.bin", other.get()), action::kind::start_transfer));
}

TEST_CASE("STOU stores under a fresh name and says which") {
  fixture f;
  f.login();
  f.passive();
  REQUIRE(f.say("STOU") == "150 FILE: stou.1\r\n");
  f.p->transfer_done(transfer_result::ok, 0);
  f.passive();
  REQUIRE(f.say("STOU a.txt") == "150 FILE: a.txt.1\r\n");
  f.p->transfer_done(transfer_result::ok, 0);
  f.say("REST 1");
  REQUIRE(f.say("STOU") == "450 Can't STOU while REST request is pending.\r\n");
  REQUIRE(fs::exists(f.dir / "stou.1"));
  REQUIRE(fs::exists(f.dir / "a.txt.1"));
}

TEST_CASE("SIZE counts the bytes as they will be transferred in the current TYPE") {
  fixture f;
  write_file(f.dir / "lines.txt", "a\nb\r\nc\n");
  f.login();
  REQUIRE(f.say("TYPE I") == "200 Type set to: Binary.\r\n");
  REQUIRE(f.say("SIZE lines.txt") == "213 7\r\n");
  f.say("TYPE A");
  REQUIRE(f.say("SIZE lines.txt") == "213 9\r\n");
  REQUIRE(f.say("SIZE sub") == "550 Not a regular file.\r\n");
  REQUIRE(f.say("SIZE none") == "550 Not a regular file.\r\n");
}

TEST_CASE("MDTM answers 213 with a UTC timestamp of 14 digits") {
  fixture f;
  f.login();
  auto r = f.say("MDTM a.txt");
  REQUIRE(r.size() == 4 + 14 + 2);
  REQUIRE(r.substr(0, 4) == "213 ");
  REQUIRE(r.find_first_not_of("0123456789", 4) == 18);
  REQUIRE(f.say("MDTM sub") == "550 Not a regular file.\r\n");
}

TEST_CASE("DELE removes files only") {
  fixture f;
  f.login();
  REQUIRE(f.say("DELE a.txt") == "250 File removed.\r\n");
  REQUIRE_FALSE(fs::exists(f.dir / "a.txt"));
  REQUIRE(f.say("DELE a.txt") == "550 No such file or directory.\r\n");
  REQUIRE(f.say("DELE sub") == "550 Is a directory (use RMD).\r\n");
}

TEST_CASE("MKD and RMD create and remove folders") {
  fixture f;
  f.login();
  REQUIRE(f.say("MKD new") == "257 \"/new\" directory created.\r\n");
  REQUIRE(f.say("XMKD new") == "550 File exists.\r\n");
  REQUIRE(f.say("MKD missing/child").substr(0, 4) == "550 ");
  write_file(f.dir / "new" / "f", "x");
  REQUIRE(f.say("RMD new") == "550 Directory not empty.\r\n");
  fs::remove(f.dir / "new" / "f");
  REQUIRE(f.say("XRMD new") == "250 Directory removed.\r\n");
  REQUIRE(f.say("RMD /") == "550 Can't remove root directory.\r\n");
  REQUIRE(f.say("RMD a.txt") == "550 No such directory.\r\n");
}

TEST_CASE("RNFR then RNTO renames, RNTO alone is a bad sequence") {
  fixture f;
  f.login();
  REQUIRE(f.say("RNTO b.txt") == "503 Bad sequence of commands: use RNFR first.\r\n");
  REQUIRE(f.say("RNFR nope") == "550 No such file or directory.\r\n");
  REQUIRE(f.say("RNFR a.txt") == "350 Ready for destination name.\r\n");
  REQUIRE(f.say("RNTO sub/b.txt") == "250 Renaming ok.\r\n");
  REQUIRE(read_file(f.dir / "sub" / "b.txt") == "hello\n");
  REQUIRE(f.say("RNFR sub/b.txt") == "350 Ready for destination name.\r\n");
  f.say("NOOP");  // anything between forgets RNFR
  REQUIRE(f.say("RNTO c.txt") == "503 Bad sequence of commands: use RNFR first.\r\n");
  REQUIRE(f.say("RNFR /") == "550 Can't rename home directory.\r\n");
}

TEST_CASE("LIST, NLST and MLSD send the listing over the data connection") {
  fixture f;
  f.login();
  f.passive();
  auto a = f.acts("LIST -la");
  const auto* t = fixture::find(a, action::kind::start_transfer);
  REQUIRE(t);
  const auto& body = t->xfer->bytes;
  REQUIRE(body.find("-rw") == 0);
  REQUIRE(body.find(" a.txt\r\n") != std::string::npos);
  REQUIRE(body.find("\r\ndrwx") != std::string::npos);
  REQUIRE(body.substr(body.size() - 5) == "sub\r\n");
  f.p->transfer_done(transfer_result::ok, body.size());
  f.passive();
  a = f.acts("NLST");
  REQUIRE(fixture::find(a, action::kind::start_transfer)->xfer->bytes == "a.txt\r\nsub\r\n");
  f.p->transfer_done(transfer_result::ok, 0);
  f.passive();
  a = f.acts("MLSD");
  auto m = fixture::find(a, action::kind::start_transfer)->xfer->bytes;
  REQUIRE(m.find("type=file;size=6;modify=") == 0);
  REQUIRE(m.find("; a.txt\r\ntype=dir;") != std::string::npos);
  f.p->transfer_done(transfer_result::ok, 0);
  f.passive();
  REQUIRE(f.say("MLSD a.txt") == "501 No such directory.\r\n");
  REQUIRE(f.say("LIST nope") == "550 No such file or directory.\r\n");
  a = f.acts("LIST a.txt");
  REQUIRE(fixture::find(a, action::kind::start_transfer)->xfer->bytes.find(" a.txt\r\n") !=
          std::string::npos);
}

TEST_CASE("MLST answers on the control connection") {
  fixture f;
  f.login();
  auto r = f.say("MLST a.txt");
  REQUIRE(r.substr(0, 30) == "250-Listing /a.txt\r\n type=file");
  REQUIRE(r.find(" /a.txt\r\n250 End MLST.\r\n") != std::string::npos);
  REQUIRE(f.say("MLST nope") == "550 No such file or directory.\r\n");
}

TEST_CASE("ABOR without a transfer says so, during one it aborts with 426 then 226") {
  fixture f;
  f.login();
  REQUIRE(f.say("ABOR") == "225 No transfer to abort.\r\n");
  f.passive();
  auto closed = f.acts("ABOR");
  REQUIRE(fixture::find(closed, action::kind::close_data));
  REQUIRE(fixture::replies(closed) == "225 ABOR command successful; data channel closed.\r\n");
  f.passive();
  f.acts("RETR a.txt");
  auto a = f.acts("ABOR");
  REQUIRE(fixture::find(a, action::kind::abort_transfer));
  REQUIRE(fixture::replies(a) ==
          "426 Transfer aborted via ABOR.\r\n226 ABOR command successful.\r\n");
  REQUIRE_FALSE(f.p->busy());
}

TEST_CASE("QUIT says goodbye and closes, during a transfer it waits for the end") {
  fixture f;
  f.login();
  f.passive();
  f.acts("RETR a.txt");
  REQUIRE(f.acts("QUIT").empty());
  auto a = f.p->transfer_done(transfer_result::ok, 6);
  REQUIRE(fixture::replies(a) == "226 Transfer complete.\r\n221 Goodbye.\r\n");
  REQUIRE(fixture::find(a, action::kind::close_control));
  fixture g;
  auto q = g.acts("QUIT");
  REQUIRE(fixture::replies(q) == "221 Goodbye.\r\n");
  REQUIRE(fixture::find(q, action::kind::close_control));
}

TEST_CASE("informational commands answer as the RFCs give them") {
  fixture f;
  REQUIRE(f.say("SYST") == "215 UNIX Type: L8\r\n");
  auto feat = f.say("FEAT");
  REQUIRE(feat.substr(0, 24) == "211-Features supported:\r");
  for (const char* x : {" EPRT\r\n", " EPSV\r\n", " MDTM\r\n", " REST STREAM\r\n", " SIZE\r\n",
                        " UTF8\r\n", " MLST type*;size*;modify*;perm*;unique*;\r\n"})
    REQUIRE(feat.find(x) != std::string::npos);
  REQUIRE(feat.substr(feat.size() - 15) == "211 End FEAT.\r\n");
  REQUIRE(f.say("OPTS UTF8 ON") == "200 Always in UTF8 mode.\r\n");
  REQUIRE(f.say("OPTS utf8 off") == "504 UTF8 cannot be disabled.\r\n");
  REQUIRE(f.say("OPTS MLST type;size;bogus;") == "200 MLST OPTS type;size;\r\n");
  REQUIRE(f.say("OPTS FOO") == "501 Invalid OPTS argument.\r\n");
  auto help = f.say("HELP");
  REQUIRE(help.substr(0, 4) == "214-");
  REQUIRE(help.find(" RETR") != std::string::npos);
  REQUIRE(help.substr(help.size() - 30) == "214 Help command successful.\r\n");
  REQUIRE(f.say("HELP retr") == "214 Syntax: RETR <SP> file-name (download).\r\n");
  REQUIRE(f.say("HELP BOGUS") == "501 Unrecognized command.\r\n");
  REQUIRE(f.say("ALLO 10") == "530 Log in with USER and PASS first.\r\n");
  f.login();
  REQUIRE(f.say("ALLO 10") == "202 No storage allocation necessary.\r\n");
  REQUIRE(f.say("SITE CHMOD 777 a.txt") == "502 Command not implemented.\r\n");
  auto stat = f.say("STAT");
  REQUIRE(stat.substr(0, 24) == "211-FTP server status:\r\n");
  REQUIRE(stat.find(" Logged in as: u\r\n") != std::string::npos);
  REQUIRE(stat.substr(stat.size() - 20) == "211 End of status.\r\n");
  auto st = f.say("STAT a.txt");
  REQUIRE(st.substr(0, 26) == "213-Status of \"/a.txt\":\r\n ");
  REQUIRE(st.find(" a.txt\r\n213 End of status.\r\n") != std::string::npos);
}

TEST_CASE("each way a transfer ends has its reply") {
  struct outcome {
    transfer_result r;
    const char* text;
    bool closes;
  };
  for (const auto& o : {
           outcome{transfer_result::connect_failed, "425 Can't open data connection.\r\n", false},
           outcome{transfer_result::accept_timeout, "421 Passive data channel timed out.\r\n",
                   false},
           outcome{transfer_result::data_timeout, "421 Data connection timed out.\r\n", true},
           outcome{transfer_result::peer_closed,
                   "426 Connection closed; transfer aborted after 3 bytes.\r\n", false},
           outcome{transfer_result::dropped,
                   "426 Connection closed; transfer aborted after 3 bytes.\r\n", false},
           outcome{transfer_result::local_error,
                   "451 Requested action aborted: local error in processing.\r\n", false},
       }) {
    fixture f;
    f.login();
    f.passive();
    f.acts("RETR a.txt");
    auto a = f.p->transfer_done(o.r, 3);
    INFO(o.text);
    REQUIRE(fixture::replies(a) == o.text);
    REQUIRE((fixture::find(a, action::kind::close_control) != nullptr) == o.closes);
  }
}

TEST_CASE("the control idle timeout answers 421 and closes") {
  fixture f;
  auto a = f.p->idle_timeout();
  REQUIRE(fixture::replies(a) == "421 Control connection timed out.\r\n");
  REQUIRE(fixture::find(a, action::kind::close_control));
  REQUIRE(f.p->control_idle() == std::chrono::seconds(300));
}

TEST_CASE("the passive accept timeout answers 421 and forgets the listener") {
  fixture f;
  f.login();
  f.passive();
  REQUIRE(fixture::replies(f.p->passive_timeout()) == "421 Passive data channel timed out.\r\n");
  REQUIRE(f.say("RETR a.txt") == "425 Use PORT or PASV first.\r\n");
}

TEST_CASE("TYPE A conversion turns bare LF into CRLF going out, across chunk borders") {
  ascii_encoder e;
  std::string out;
  e.encode("a\nb\r", out);
  e.encode("\nc\n", out);
  REQUIRE(out == "a\r\nb\r\nc\r\n");
}

TEST_CASE("TYPE A conversion turns CRLF into LF coming in, across chunk borders") {
  ascii_decoder d;
  std::string out;
  d.decode("a\r\nb\r", out);
  d.decode("\nc\rd\r", out);
  d.finish(out);
  REQUIRE(out == "a\nb\nc\rd\r");
}

TEST_CASE("glob patterns match with star and question mark") {
  REQUIRE(glob_match("*.bin", "big.bin"));
  REQUIRE_FALSE(glob_match("*.bin", "big.txt"));
  REQUIRE(glob_match("a?c", "abc"));
  REQUIRE(glob_match("*", ""));
  REQUIRE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  REQUIRE_FALSE(glob_match(std::string(30, '*') + "b", std::string(5000, 'a')));
}

// ----------------------------------------------------------------------------- fault rules

namespace {
fault_rule rule_of(const std::string& json) {
  return parse_fault_rule(nlohmann::json::parse(json), "test", "");
}
}  // namespace

TEST_CASE("fault: a reply rule replaces the answer, multi-line, for count times") {
  fixture f;
  f.faults.add(
      rule_of(R"({"action":"reply","command":"SYST","text":["215-first","215 Fake"],"count":1})"));
  REQUIRE(f.say("SYST") == "215-first\r\n215 Fake\r\n");
  REQUIRE(f.say("SYST") == "215 UNIX Type: L8\r\n");
}

TEST_CASE("fault: a reply rule matches the argument glob only") {
  fixture f;
  f.login();
  f.faults.add(
      rule_of(R"({"action":"reply","command":"size","argument":"*.bin","text":"550 Gone."})"));
  REQUIRE(f.say("SIZE a.txt").substr(0, 3) == "213");
  REQUIRE(f.say("SIZE x.bin") == "550 Gone.\r\n");
  REQUIRE(f.say("SIZE y.bin") == "550 Gone.\r\n");
}

TEST_CASE("fault: a delay rule holds the reply back") {
  fixture f;
  f.faults.add(rule_of(R"({"action":"delay","command":"NOOP","after_ms":1500})"));
  auto a = f.acts("NOOP");
  REQUIRE(a.size() == 2);
  REQUIRE(a[0].what == action::kind::delay);
  REQUIRE(a[0].after == std::chrono::milliseconds(1500));
  REQUIRE(a[1].text == "200 NOOP command successful.\r\n");
}

TEST_CASE("fault: data_refuse answers 425 or 421 and never opens the data connection") {
  fixture f;
  f.login();
  f.faults.add(rule_of(R"({"action":"data_refuse","command":"RETR","count":1})"));
  f.passive();
  auto a = f.acts("RETR a.txt");
  REQUIRE(fixture::replies(a) == "425 Can't open data connection.\r\n");
  REQUIRE(fixture::find(a, action::kind::close_data));
  REQUIRE_FALSE(fixture::find(a, action::kind::start_transfer));
  f.faults.add(rule_of(R"({"action":"data_refuse","command":"PASV","code":421})"));
  a = f.acts("PASV");
  REQUIRE(fixture::replies(a) == "421 Service not available, closing control connection.\r\n");
  REQUIRE(fixture::find(a, action::kind::close_control));
}

TEST_CASE("fault: data_silence answers 150 and the transfer does nothing") {
  fixture f;
  f.login();
  f.faults.add(rule_of(R"({"action":"data_silence","command":"LIST"})"));
  f.passive();
  auto a = f.acts("LIST");
  REQUIRE(fixture::replies(a) == "150 File status okay. About to open data connection.\r\n");
  REQUIRE(fixture::find(a, action::kind::start_transfer)->xfer->fault ==
          transfer::fault_kind::silence);
}

TEST_CASE("fault: data_drop marks the transfer to break after N bytes") {
  fixture f;
  f.login();
  f.faults.add(rule_of(R"({"action":"data_drop","command":"RETR","after_bytes":3})"));
  f.passive();
  auto a = f.acts("RETR a.txt");
  const auto* t = fixture::find(a, action::kind::start_transfer);
  REQUIRE(t->xfer->fault == transfer::fault_kind::drop);
  REQUIRE(t->xfer->drop_after == 3);
}

TEST_CASE("fault: close_control after N commands closes after the Nth reply") {
  fixture f;
  f.faults.add(rule_of(R"({"action":"close_control","after_commands":2})"));
  REQUIRE_FALSE(fixture::find(f.acts("NOOP"), action::kind::close_control));
  auto a = f.acts("NOOP");
  REQUIRE(fixture::replies(a) == "200 NOOP command successful.\r\n");
  REQUIRE(a.back().what == action::kind::close_control);
}

TEST_CASE("fault: an idle_timeout rule shortens the idle time") {
  fixture f;
  f.faults.add(rule_of(R"({"action":"idle_timeout","after_ms":250})"));
  REQUIRE(f.p->control_idle() == std::chrono::milliseconds(250));
  REQUIRE(fixture::replies(f.p->idle_timeout()) == "421 Control connection timed out.\r\n");
}

TEST_CASE("fault: close_control after a time hands out one timer per rule") {
  fixture f;
  auto id = f.faults.add(rule_of(R"({"action":"close_control","after_ms":700})"));
  auto t = f.p->new_close_timers();
  REQUIRE(t.size() == 1);
  REQUIRE(t[0].first == id);
  REQUIRE(t[0].second == std::chrono::milliseconds(700));
  REQUIRE(f.p->new_close_timers().empty());
  REQUIRE(f.p->close_timer_fired(id).back().what == action::kind::close_control);
}

TEST_CASE("fault: counts restart on a new control connection unless the rule is sticky") {
  fixture f;
  f.faults.add(rule_of(R"({"action":"reply","command":"NOOP","text":"500 plain","count":1})"));
  f.faults.add(rule_of(
      R"({"action":"reply","command":"SYST","text":"500 sticky","count":1,"sticky":true})"));
  REQUIRE(f.say("NOOP") == "500 plain\r\n");
  REQUIRE(f.say("SYST") == "500 sticky\r\n");
  auto next = f.make();
  REQUIRE(f.say("NOOP", next.get()) == "500 plain\r\n");
  REQUIRE(f.say("SYST", next.get()) == "215 UNIX Type: L8\r\n");
}

TEST_CASE("fault: shape rules give the data transfer its rate and the control its latency") {
  fixture f;
  f.login();
  f.faults.add(
      rule_of(R"({"action":"shape","channel":"data","bytes_per_second":1000,"latency_ms":5})"));
  f.faults.add(rule_of(R"({"action":"shape","channel":"control","latency_ms":20})"));
  REQUIRE(f.p->control_shape().second == std::chrono::milliseconds(20));
  f.passive();
  auto a = f.acts("RETR a.txt");
  const auto* t = fixture::find(a, action::kind::start_transfer);
  REQUIRE(t->xfer->bytes_per_second == 1000);
  REQUIRE(t->xfer->latency == std::chrono::milliseconds(5));
}

TEST_CASE("fault rules that are wrong name the JSON pointer and what was expected") {
  auto err = [](const std::string& json) -> std::string {
    try {
      parse_fault_rules(nlohmann::json::parse(json), "f.json");
    } catch (const fault_rule_error& e) {
      return e.what();
    }
    return "accepted";
  };
  REQUIRE(err(R"({"rules":[{"action":"reply"}]})") ==
          "f.json: /rules/0: expected \"text\" (the reply to send)");
  REQUIRE(err(R"({"rules":[{"action":"reply","text":"x"},{"action":"nope"}]})")
              .rfind("f.json: /rules/1/action: expected one of reply, delay,", 0) == 0);
  REQUIRE(err(R"([{"action":"delay","after_ms":-5}])") ==
          "f.json: /0/after_ms: expected an integer of at least 0, got the integer -5");
  REQUIRE(err(R"({"rules":[{"action":"data_refuse","code":500}]})") ==
          "f.json: /rules/0/code: expected 425 or 421");
  REQUIRE(err(R"({"rules":[{"action":"close_control"}]})") ==
          "f.json: /rules/0: expected exactly one of \"after_commands\" or \"after_ms\"");
  REQUIRE(err(R"({"rules":[{"action":"shape","channel":"both","latency_ms":1}]})") ==
          "f.json: /rules/0/channel: expected \"control\" or \"data\"");
  REQUIRE(err(R"({"rules":[{"action":"delay","after_ms":1,"text":"x"}]})")
              .rfind("f.json: /rules/0/text: unknown key for action \"delay\"", 0) == 0);
  REQUIRE(err(R"({"rule":[]})") == "f.json: /rule: unknown key (expected \"rules\")");
  REQUIRE(err(R"({"rules":[{"action":"reply","text":"x","count":0}]})") ==
          "f.json: /rules/0/count: expected an integer of at least 1, got the integer 0");
  REQUIRE(err(R"({"rules":[{"action":"reply","text":"x","command":"RE TR"}]})") ==
          "f.json: /rules/0/command: expected a command verb of letters such as \"RETR\" or \"*\"");
  REQUIRE(err(R"({"rules":[{"action":"reply","text":[]}]})") ==
          "f.json: /rules/0/text: expected at least one reply line");
  REQUIRE(err(R"({"rules":{}})") ==
          "f.json: /rules: expected an array of rules, got an empty object");
  REQUIRE(err(R"({"rules":[]})") == "accepted");
}
