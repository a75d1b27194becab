/* Example firmware: what a product does with a Quectel M95 on its UART, end to end.
 *
 * It waits for the module, brings up the packet context and opens an FTP session (the
 * manual's chapter 4), downloads one file through /COM/ (the bytes come over the UART),
 * checks its length and CRC-32 against the values it was given, closes, and reports PASS or
 * FAIL. Run in QEMU against quecsim (README.md): the file's name, length and CRC-32 come on
 * the semihosting command line, the report goes to the host's stdout, and QEMU's exit status
 * is 0 for PASS.
 *
 * Every wait is bounded: a module that never answers is a FAIL that says what it waited for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"

static char line[128];   /* the last line the module sent, without CR/LF */
static char report[200]; /* what went wrong, for the final FAIL line */

static int fail(const char* what) {
  snprintf(report, sizeof report, "%s", what);
  return 0;
}

/* One line from the module (CR or LF ends it; empty lines are skipped). 0 on timeout. */
static int read_line(uint32_t timeout_ms) {
  const uint32_t start = board_millis();
  size_t n = 0;
  while (board_millis() - start < timeout_ms) {
    const int c = uart_read_byte();
    if (c < 0) continue;
    if (c == '\r' || c == '\n') {
      if (n == 0) continue;
      line[n] = '\0';
      return 1;
    }
    if (n < sizeof line - 1) line[n++] = (char)c;
  }
  return 0;
}

/* Waits for a line starting with `want`. ERROR or +CME ERROR ends the wait as a failure;
 * anything else (the echo, unsolicited lines such as the power-up lines) is skipped. */
static int expect(const char* want, uint32_t timeout_ms) {
  const uint32_t start = board_millis();
  for (;;) {
    const uint32_t spent = board_millis() - start;
    if (spent >= timeout_ms || !read_line(timeout_ms - spent)) {
      snprintf(report, sizeof report, "no %s within %lu ms", want, (unsigned long)timeout_ms);
      return 0;
    }
    if (strncmp(line, want, strlen(want)) == 0) return 1;
    if (strcmp(line, "ERROR") == 0 || strncmp(line, "+CME ERROR", 10) == 0) {
      snprintf(report, sizeof report, "%s while waiting for %s", line, want);
      return 0;
    }
  }
}

/* The LF after a line's CR: before raw data it must not be taken for the first byte. */
static int skip_lf(uint32_t timeout_ms) {
  const uint32_t start = board_millis();
  while (board_millis() - start < timeout_ms) {
    if (uart_read_byte() == '\n') return 1;
  }
  return fail("no LF after CONNECT");
}

static void send(const char* command) {
  uart_write(command, strlen(command));
  uart_write("\r", 1);
}

/* A command whose answer is OK. */
static int at(const char* command, uint32_t timeout_ms) {
  send(command);
  return expect("OK", timeout_ms);
}

/* An FTP command: OK at once, then "+QFTPxxx:<n>" when the server has answered; n < 0 is an
 * error code (the manual's table). Returns 1 when n is 0. */
static int ftp(const char* command, const char* result, uint32_t timeout_ms) {
  if (!at(command, 5000) || !expect(result, timeout_ms)) return 0;
  const long n = strtol(line + strlen(result), NULL, 10);
  if (n != 0) {
    snprintf(report, sizeof report, "%s: %s", command, line);
    return 0;
  }
  return 1;
}

/* ---- the download through /COM/ ----------------------------------------------------------- */

static uint8_t file[256 * 1024];

/* Whether `buf` (n bytes) ends with the result line "\r\n+QFTPGET:<n>\r\n"; then *start is
 * where that line starts and *result its number. */
static int ends_with_result(const uint8_t* buf, size_t n, size_t* start, long* result) {
  static const char tag[] = "\r\n+QFTPGET:";
  const size_t tag_len = sizeof tag - 1;
  if (n < tag_len + 3 || buf[n - 2] != '\r') return 0;
  /* Back from the CR LF over the digits and a minus sign, then the tag must come before. */
  size_t at = n - 2;
  while (at > 0 && n - at < 14 && buf[at - 1] >= '0' && buf[at - 1] <= '9') --at;
  if (at == n - 2) return 0;
  if (buf[at - 1] == '-') --at;
  if (at < tag_len || memcmp(buf + at - tag_len, tag, tag_len) != 0) return 0;
  *start = at - tag_len;
  *result = strtol((const char*)buf + at, NULL, 10);
  return 1;
}

/* After CONNECT the module sends the file's raw bytes with no terminator, then
 * "\r\n+QFTPGET:<size>\r\n", or a negative error code when the transfer broke (BEHAVIOUR.md).
 * The file may hold any bytes, so the end is found by that line arriving at the end of the
 * stream. Returns the result number; *got is how many bytes came before it. */
static long download(size_t* got, int* pdp_lost) {
  const uint32_t idle_limit = 10000; /* ms without a byte: the module is gone */
  size_t n = 0;
  uint32_t last = board_millis();
  while (board_millis() - last < idle_limit) {
    const int c = uart_read_byte();
    if (c < 0) continue;
    last = board_millis();
    if (n == sizeof file) return -1000; /* larger than this firmware takes */
    file[n++] = (uint8_t)c;
    size_t start;
    long result;
    if (c == '\n' && ends_with_result(file, n, &start, &result)) {
      /* A network that drops the context says so in the stream just before the result. */
      static const char deact[] = "\r\n+PDP DEACT\r\n";
      const size_t dl = sizeof deact - 1;
      *pdp_lost = start >= dl && memcmp(file + start - dl, deact, dl) == 0;
      *got = *pdp_lost ? start - dl : start;
      return result;
    }
  }
  *got = n;
  return -1001; /* silence */
}

static uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t crc = 0xffffffffu;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
  }
  return ~crc;
}

/* ---- the product's job -------------------------------------------------------------------- */

static int run(const char* name, unsigned long want_size, unsigned long want_crc) {
  /* 1. The module answers AT once it has booted: ask every second, for at most 30 s. */
  int up = 0;
  for (int tries = 0; tries < 30 && !up; ++tries) {
    send("AT");
    up = expect("OK", 1000);
  }
  if (!up) return fail("the module never answered AT");
  if (!at("ATE0", 5000)) return 0; /* no echo: only answers come back */

  /* 2. The packet context and the FTP session (the manual, 4.1). */
  if (!at("AT+QIFGCNT=0", 5000) || !at("AT+QICSGP=1,\"CMNET\"", 5000)) return 0;
  if (!at("AT+QFTPUSER=\"quectel\"", 5000) || !at("AT+QFTPPASS=\"123456\"", 5000)) return 0;
  if (!ftp("AT+QFTPOPEN=\"ftp.example.com\",21", "+QFTPOPEN:", 60000)) return 0;
  if (!ftp("AT+QFTPPATH=\"/\"", "+QFTPPATH:", 30000)) return 0;

  /* 3. The download through the UART (the manual, 4.3.1). */
  char command[96];
  snprintf(command, sizeof command, "AT+QFTPGET=\"%s\"", name);
  send(command);
  if (!expect("OK", 5000) || !expect("CONNECT", 60000) || !skip_lf(5000)) return 0;
  size_t got = 0;
  int pdp_lost = 0;
  const long result = download(&got, &pdp_lost);
  const uint32_t crc = crc32(file, got);
  int ok = 1;
  if (result < 0) {
    snprintf(report, sizeof report, "download: +QFTPGET:%ld after %lu bytes%s", result,
             (unsigned long)got, pdp_lost ? " (+PDP DEACT)" : "");
    ok = 0;
  } else if ((unsigned long)result != want_size || got != want_size) {
    snprintf(report, sizeof report, "download: %lu bytes (+QFTPGET:%ld), expected %lu",
             (unsigned long)got, result, want_size);
    ok = 0;
  } else if (crc != want_crc) {
    snprintf(report, sizeof report, "download: CRC-32 0x%08lx, expected 0x%08lx",
             (unsigned long)crc, want_crc);
    ok = 0;
  }

  /* 4. Close the session and the context, whatever the download did. */
  if (!ftp("AT+QFTPCLOSE", "+QFTPCLOSE:", 30000) && ok) return 0;
  send("AT+QIDEACT");
  if (!expect("DEACT OK", 30000) && ok) return 0;
  if (ok) {
    snprintf(report, sizeof report, "%s %lu bytes CRC-32 0x%08lx", name, (unsigned long)got,
             (unsigned long)crc);
  }
  return ok;
}

int main(void) {
  /* The command line: PROGRAM FILE SIZE CRC32 (QEMU's -semihosting-config arg=...). */
  static char cmdline[160];
  if (host_cmdline(cmdline, sizeof cmdline) < 0) {
    host_print("quecsim-fw: FAIL no semihosting command line\n");
    return 1;
  }
  strtok(cmdline, " ");
  const char* name = strtok(NULL, " ");
  const char* size = strtok(NULL, " ");
  const char* crc = strtok(NULL, " ");
  if (!name || !size || !crc) {
    host_print("quecsim-fw: FAIL usage: PROGRAM FILE SIZE CRC32\n");
    return 1;
  }
  const int ok = run(name, strtoul(size, NULL, 0), strtoul(crc, NULL, 0));
  static char out[240];
  snprintf(out, sizeof out, "quecsim-fw: %s %s\n", ok ? "PASS" : "FAIL", report);
  host_print(out);
  return ok ? 0 : 1;
}
