/* The TCP floor for bench/at/tcp_rtt.py: the least a TCP responder can do. It listens on
 * 127.0.0.1 (any port), prints the port on one line, takes one connection (TCP_NODELAY, as
 * quecsim's --tcp-listen), then answers "\r\nOK\r\n" to every CR it reads, with blocking
 * read/write and nothing else: the raw loopback round trip. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in at = {0};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof at;
  if (server < 0 || bind(server, (struct sockaddr *)&at, sizeof at) != 0 || listen(server, 1) != 0 ||
      getsockname(server, (struct sockaddr *)&at, &len) != 0)
    return perror("listen"), 1;
  printf("%d\n", ntohs(at.sin_port));
  fflush(stdout);
  int host = accept(server, NULL, NULL);
  if (host < 0) return perror("accept"), 1;
  int one = 1;
  setsockopt(host, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static const char ok[] = "\r\nOK\r\n";
  char buf[4096];
  for (;;) {
    ssize_t n = read(host, buf, sizeof buf);
    if (n <= 0) return 0;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\r' && write(host, ok, sizeof ok - 1) != (ssize_t)(sizeof ok - 1)) return 1;
    }
  }
}
