/* The floor for bench/at/rtt.py: the least a pty responder can do. It opens a pty pair as
 * quecsim does (raw, slave held open), prints the slave's path on one line, then answers
 * "\r\nOK\r\n" to every CR it reads, with blocking read/write and nothing else. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) return perror("pty"), 1;
  const char* path = ptsname(master);
  int slave = open(path, O_RDWR | O_NOCTTY);
  if (slave < 0) return perror("open slave"), 1;
  struct termios t;
  tcgetattr(slave, &t);
  cfmakeraw(&t);
  tcsetattr(slave, TCSANOW, &t);
  printf("%s\n", path);
  fflush(stdout);
  static const char ok[] = "\r\nOK\r\n";
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\r' && write(master, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1)) return 1;
    }
  }
}
