"""quecsim-ftpd under a hostile client: slowloris, ten thousand connections, PORT bounce
attempts, path attacks and oversized lines. Throughout, the server's memory stays bounded and
a normal client (Python's ftplib) keeps listing, getting and putting files.

Run with /usr/bin/python3; QUECSIM_FTPD names the executable. QUECSIM_TIMEOUT_FACTOR (4 under
the sanitizers) stretches every bound on waiting and the memory allowances (ASan's shadow
memory and quarantine); passing tests take no longer.
"""
import ftplib
import io
import os
import resource
import selectors
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftpd_harness import Server  # noqa: E402

FACTOR = float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1"))
# These tests measure the server's memory. Under AddressSanitizer freed blocks wait in a
# quarantine (256 MiB by default) that would read as growth: the servers started here run without.
_asan = os.environ.get("ASAN_OPTIONS", "")
os.environ["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + "quarantine_size_mb=0"
MIB = 1024 * 1024
# The normal client comes from another loopback address, so that the attacker's connections
# (from 127.0.0.1) do not count against its per-address limit.
BYSTANDER = "127.0.0.2"


def rss(pid):
    """The process's resident set size in bytes, from /proc/<pid>/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def bystander(server):
    c = ftplib.FTP(timeout=10 * FACTOR)
    c.connect("127.0.0.1", server.port, source_address=(BYSTANDER, 0))
    c.login("u", "p")
    return c


def check_served(testcase, c, tag):
    """The normal client lists, puts and gets a file, exactly."""
    data = os.urandom(4096) + tag.encode()
    c.storbinary("STOR " + tag, io.BytesIO(data))
    got = io.BytesIO()
    c.retrbinary("RETR " + tag, got.write)
    testcase.assertEqual(got.getvalue(), data)
    testcase.assertIn(tag, c.nlst())


def raise_nofile(want):
    """Raises this process's descriptor soft limit towards `want`; returns what it got."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def read_until_closed(sel, socks, deadline):
    """Reads every socket until the server closes it (or the deadline); returns bytes each."""
    got = {s: b"" for s in socks}
    open_ = set(socks)
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    while open_ and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[s] += chunk
            else:
                sel.unregister(s)
                open_.discard(s)
    for s in open_:
        sel.unregister(s)
    return got, open_


class TestSlowloris(unittest.TestCase):
    def test_lines_dripped_a_byte_at_a_time_are_cut_at_the_idle_timeout(self):
        # 10 s of idle time at a tenth of real time: 1 s. Bytes that never finish a line do
        # not count as activity.
        with Server("--time-scale", "0.1", "--idle-timeout", "10") as s:
            normal = bystander(s)
            socks = []
            for _ in range(200):
                sock, f = s.raw()
                sock.sendall(b"NOO")
                socks.append(sock)
            started = time.monotonic()
            closed = {}
            deadline = started + 10 * FACTOR
            while len(closed) < len(socks) and time.monotonic() < deadline:
                for sock in socks:
                    if sock in closed:
                        continue
                    try:
                        sock.sendall(b"O")
                    except OSError:
                        pass
                    sock.setblocking(False)
                    try:
                        data = sock.recv(4096)
                        closed[sock] = data
                    except BlockingIOError:
                        pass
                    except ConnectionResetError:
                        closed[sock] = b"reset"
                    sock.setblocking(True)
                # The normal client's NOOPs keep it alive while the drip goes on.
                self.assertEqual(normal.sendcmd("NOOP"), "200 NOOP command successful.")
                time.sleep(0.1)
            self.assertEqual(len(closed), len(socks), "connections still open at the deadline")
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            for data in closed.values():
                self.assertIn(data, (b"421 Control connection timed out.\r\n", b"reset"))
            check_served(self, normal, "after-drip")
            normal.quit()
            for sock in socks:
                sock.close()

    def test_a_client_that_never_logs_in_is_closed_at_the_login_timeout(self):
        # NOOPs and wrong passwords keep the idle timer from firing, but not the login one:
        # 10 s at a tenth of real time.
        with Server("--time-scale", "0.1", "--login-timeout", "10", "--user", "u:p") as s:
            normal = bystander(s)
            socks = [s.raw() for _ in range(50)]
            started = time.monotonic()
            deadline = started + 10 * FACTOR
            ended = []
            while len(ended) < len(socks) and time.monotonic() < deadline:
                for sock, f in socks:
                    if sock in ended:
                        continue
                    try:
                        sock.sendall(b"NOOP\r\n")
                        line = f.readline()
                    except OSError:
                        line = b""
                    if line == b"421 Login timed out.\r\n":
                        self.assertEqual(f.readline(), b"")
                        ended.append(sock)
                    else:
                        self.assertEqual(line, b"200 NOOP command successful.\r\n")
                self.assertEqual(normal.sendcmd("NOOP"), "200 NOOP command successful.")
                time.sleep(0.1)
            self.assertEqual(len(ended), len(socks))
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            # Logged in before the login time passed: not affected.
            check_served(self, normal, "after-login-timeout")
            normal.quit()
            for sock, f in socks:
                sock.close()


class TestConnectionFlood(unittest.TestCase):
    def test_ten_thousand_connections_keep_memory_bounded_and_others_served(self):
        wanted = 10000
        # Each connection costs a descriptor here and one in the server.
        have = raise_nofile(wanted + 256)
        count = min(wanted, have - 256)
        if count < wanted:
            print("descriptor limit %d: %d connections instead of %d" % (have, count, wanted))
        limit = str(count + 16)
        with Server("--max-sessions", limit, "--max-sessions-per-address", limit,
                    nofile=have) as s:
            normal = bystander(s)
            check_served(self, normal, "before")
            before = rss(s.proc.pid)
            peaks = []
            for round_ in range(2):
                socks = []
                batch = 500
                while len(socks) < count:
                    opened = []
                    for _ in range(min(batch, count - len(socks))):
                        sock = socket.create_connection(("127.0.0.1", s.port),
                                                        timeout=10 * FACTOR)
                        opened.append(sock)
                    for sock in opened:
                        got = b""
                        while not got.endswith(b"\r\n"):
                            chunk = sock.recv(64)
                            self.assertTrue(chunk, "closed before the greeting")
                            got += chunk
                        self.assertEqual(got, b"220 quecsim-ftpd ready.\r\n")
                    socks.extend(opened)
                peaks.append(rss(s.proc.pid))
                # At the peak, the normal client is still served.
                check_served(self, normal, "peak-%d" % round_)
                for sock in socks:
                    sock.close()
                # The server has seen every close once a fresh session's command is answered
                # after them (one thread, events in order); give it a moment in any case.
                deadline = time.monotonic() + 10 * FACTOR
                while time.monotonic() < deadline:
                    probe = bystander(s)
                    probe.quit()
                    if rss(s.proc.pid) <= peaks[-1]:
                        break
            after = rss(s.proc.pid)
            per_connection = (peaks[0] - before) / count
            print("RSS before %.1f MiB, peak %.1f MiB (%.1f KiB a connection), second peak "
                  "%.1f MiB, after %.1f MiB" % (before / MIB, peaks[0] / MIB,
                                                per_connection / 1024, peaks[1] / MIB,
                                                after / MIB))
            # A session is its socket, a 4 KiB read buffer, timers and its record.
            self.assertLess(per_connection, 24 * 1024 * FACTOR)
            # Closed sessions give their memory back for reuse: a second flood does not grow
            # the process beyond the first.
            self.assertLess(peaks[1], peaks[0] * 1.15 + 4 * MIB)
            self.assertLessEqual(after, peaks[1] + 4 * MIB)
            check_served(self, normal, "after")
            normal.quit()

    def test_beyond_the_limits_connections_are_refused_with_421(self):
        with Server("--max-sessions", "300", "--max-sessions-per-address", "100") as s:
            socks = [socket.create_connection(("127.0.0.1", s.port), timeout=10 * FACTOR)
                     for _ in range(400)]
            answers = []
            for sock in socks:
                f = sock.makefile("rb")
                answers.append(f.readline())
            self.assertEqual(answers[:100], [b"220 quecsim-ftpd ready.\r\n"] * 100)
            self.assertEqual(answers[100:],
                             [b"421 Too many connections from the same IP address.\r\n"] * 300)
            normal = bystander(s)
            check_served(self, normal, "beside-the-flood")
            normal.quit()
            for sock in socks:
                sock.close()


class TestBounce(unittest.TestCase):
    def test_port_and_eprt_to_a_third_party_are_refused_and_nothing_connects_there(self):
        third_party = socket.socket()
        third_party.bind((BYSTANDER, 0))
        third_party.listen(8)
        third_party.settimeout(0.2)
        tp_port = third_party.getsockname()[1]
        with Server(files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            own_host = "127,0,0,1"
            attempts = [
                ("PORT 127,0,0,2,%d,%d" % (tp_port // 256, tp_port % 256),
                 "501 Rejected data connection to foreign address 127.0.0.2:%d." % tp_port),
                ("PORT 10,0,0,1,0,25", "501 Rejected data connection to foreign address "
                                       "10.0.0.1:25."),
                ("PORT %s,0,25" % own_host, "501 Rejected data connection to privileged port."),
                ("PORT %s,0,0" % own_host, "501 Rejected data connection to privileged port."),
                ("PORT 127,0,0,1,256,1", "501 Invalid PORT format."),
                ("PORT 127,0,0,1,1", "501 Invalid PORT format."),
                ("EPRT |1|127.0.0.2|%d|" % tp_port,
                 "501 Rejected data connection to foreign address 127.0.0.2:%d." % tp_port),
                ("EPRT |1|127.0.0.1|21|", "501 Rejected data connection to privileged port."),
                ("EPRT |2|::1|5000|", "501 Rejected data connection to foreign address ::1:5000."),
                ("EPRT |1|::1|5000|", "501 Invalid EPRT format."),
                ("EPRT |3|127.0.0.1|5000|", "522 Network protocol not supported, use (1,2)."),
            ]
            for command, reply in attempts:
                with self.subTest(command=command):
                    try:
                        got = c.sendcmd(command)
                    except (ftplib.error_perm, ftplib.error_reply) as e:
                        got = str(e)
                    self.assertEqual(got, reply)
                    # No data channel is set: a transfer now has none to use.
                    with self.assertRaisesRegex(ftplib.error_temp, "^425 Use PORT or PASV first"):
                        c.sendcmd("RETR a.txt")
            with self.assertRaises(socket.timeout):
                third_party.accept()
            third_party.close()
            # Active mode back to the client itself still works.
            got = io.BytesIO()
            c.set_pasv(False)
            c.retrbinary("RETR a.txt", got.write)
            self.assertEqual(got.getvalue(), b"abc")
            c.quit()


class TestPathAttacks(unittest.TestCase):
    def test_nul_long_absolute_and_escaping_paths_stay_confined(self):
        with Server("--max-line", "8192", files={"a.txt": b"abc", "sub/b.txt": b"b"}) as s:
            os.symlink(s.outside, s.path("out"))
            os.symlink("/", s.path("slash"))
            normal = bystander(s)
            sock, f = s.raw()
            sock.sendall(b"USER u\r\nPASS p\r\n")
            self.assertEqual(f.readline()[:4], b"331 ")
            self.assertEqual(f.readline()[:4], b"230 ")
            attacks = [b"a.txt\x00../../outside/secret.txt", b"/../outside/secret.txt",
                       b"../" * 1000 + b"etc/passwd", b"/etc/passwd", b"out/secret.txt",
                       b"slash/etc/passwd", b"sub/../../outside/secret.txt",
                       b"a/" * 3000 + b"x", b"x" * 8000, b"\x01\x02", b"sub\r/b.txt"]
            for attack in attacks:
                for verb in (b"SIZE", b"MDTM", b"CWD", b"RETR", b"DELE", b"MKD", b"RNFR", b"STAT",
                             b"LIST", b"MLST", b"STOR"):
                    with self.subTest(verb=verb, attack=attack[:40]):
                        sock.sendall(verb + b" " + attack + b"\r\n")
                        line = f.readline()
                        self.assertNotIn(b"SECRET", line)
                        self.assertNotIn(b"root:", line)
                        # Multi-line replies (STAT) are read to their end.
                        if line[3:4] == b"-":
                            code = line[:3]
                            while True:
                                more = f.readline()
                                self.assertNotIn(b"root:", more)
                                self.assertNotIn(b"secret", more.lower())
                                if more.startswith(code + b" ") or not more:
                                    break
                        self.assertRegex(line, rb"^(5\d\d|425|450) ")
            sock.sendall(b"PWD\r\n")
            self.assertEqual(f.readline(), b'257 "/" is the current directory.\r\n')
            sock.close()
            self.assertEqual(sorted(os.listdir(s.outside)), ["secret.txt"])
            check_served(self, normal, "after-paths")
            normal.quit()


class TestOversizedLines(unittest.TestCase):
    def test_a_mebibyte_line_costs_no_memory_and_is_answered_500(self):
        with Server() as s:
            normal = bystander(s)
            before = rss(s.proc.pid)
            sock, f = s.raw()
            chunk = b"A" * 65536
            for _ in range(16 * 16):  # 16 MiB in one line, never ended
                sock.sendall(chunk)
            during = rss(s.proc.pid)
            self.assertEqual(normal.sendcmd("NOOP"), "200 NOOP command successful.")
            sock.sendall(b"\r\nNOOP\r\n")
            self.assertEqual(f.readline(), b"500 Command too long.\r\n")
            self.assertEqual(f.readline(), b"200 NOOP command successful.\r\n")
            # A 1 MiB line, then the client goes away without ending it.
            sock.sendall(b"B" * MIB)
            sock.close()
            print("RSS before %.1f MiB, during a 16 MiB line %.1f MiB" % (before / MIB,
                                                                           during / MIB))
            self.assertLess(during - before, 2 * MIB * FACTOR)
            check_served(self, normal, "after-long-line")
            normal.quit()

    def test_a_flood_of_commands_keeps_memory_bounded(self):
        with Server() as s:
            normal = bystander(s)
            sock, f = s.raw()
            sock.sendall(b"USER u\r\nPASS p\r\n")
            self.assertEqual(f.readline()[:4], b"331 ")
            self.assertEqual(f.readline()[:4], b"230 ")
            before = rss(s.proc.pid)
            lines = 200000
            batch = b"NOOP\r\n" * 1000
            answered = 0
            for _ in range(lines // 1000):
                sock.sendall(batch)
                for _ in range(1000):
                    self.assertEqual(f.readline(), b"200 NOOP command successful.\r\n")
                    answered += 1
            after = rss(s.proc.pid)
            print("RSS before %.1f MiB, after %d commands %.1f MiB" % (before / MIB, answered,
                                                                       after / MIB))
            self.assertLess(after - before, 4 * MIB * FACTOR)
            sock.close()
            check_served(self, normal, "after-flood")
            normal.quit()


if __name__ == "__main__":
    unittest.main()
