#include "quecsim/serial/pty.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

namespace quecsim::serial {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

pty::pty() {
  master_.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master_) fail("posix_openpt");
  if (::grantpt(master_.get()) != 0 || ::unlockpt(master_.get()) != 0) fail("grantpt/unlockpt");
  char name[128];
  if (::ptsname_r(master_.get(), name, sizeof name) != 0) fail("ptsname");
  path_ = name;

  // Holding the slave open keeps the master readable when the host closes the device, and
  // lets us put the line in raw mode before any host sees it: a UART does no line editing.
  slave_.reset(::open(path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave_) fail("open " + path_);
  termios t{};
  if (::tcgetattr(slave_.get(), &t) != 0) fail("tcgetattr");
  ::cfmakeraw(&t);
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  ::cfsetispeed(&t, B115200);
  ::cfsetospeed(&t, B115200);
  if (::tcsetattr(slave_.get(), TCSANOW, &t) != 0) fail("tcsetattr");

  const int flags = ::fcntl(master_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master_.get(), F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl");
}

pty::~pty() {
  if (!link_.empty()) ::unlink(link_.c_str());
}

void pty::release_slave() {
  slave_.reset();
}

void pty::make_link(const std::string& link) {
  struct stat st {};
  if (::lstat(link.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      throw std::system_error(EEXIST, std::generic_category(),
                              link + " exists and is not a symlink");
    }
    ::unlink(link.c_str());
  }
  if (::symlink(path_.c_str(), link.c_str()) != 0) fail("symlink " + link);
  link_ = link;
}

}  // namespace quecsim::serial
