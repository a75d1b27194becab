#!/usr/bin/python3
"""Throughput of /COM/ data mode: a 64 MiB AT+QFTPGET and AT+QFTPPUT through quecsim's pty
(--baud 0 --latency 0, against its embedded FTP server), and in the same run the reference:
socat relaying the same direction between a pty and TCP. The pty side is the same code for
both (PtyReader / write_all), so the only difference is what sits between the pty and the
TCP peer. A benchmark, not a test: run it by hand after a build.

    /usr/bin/python3 bench/ftp/com_throughput.py [build/sim/quecsim] [--mib 64] [--runs 3]

Timing:
  quecsim GET: from the CONNECT line to the end of the `+QFTPGET:<n>` line;
  quecsim PUT: from the CONNECT line to the end of the `+QFTPPUT:<n>` line (the server has the
               file by then: the module waits for its 226);
  socat down:  a TCP server (own process) sends the file once told to; from then until the
               pty reader has every byte;
  socat up:    from the first write into the pty until a TCP server (own process) has every
               byte.
Every transfer's SHA-256 is checked on the receiving side.
"""

import argparse
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BINARY = os.path.normpath(os.path.join(HERE, "..", "..", "build", "sim", "quecsim"))
READ_SIZE = 1 << 20
WRITE_SIZE = 64 * 1024
TIMEOUT = 120.0


# ---- the pty side, shared by quecsim and socat ----------------------------------------------

def open_pty(path):
    """The host end of a pty, raw, blocking (TCSANOW: keep what is already waiting)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    return fd


class PtyReader:
    """Reads the pty with large reads; `expect` checks exact bytes, `consume` hashes a count."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            raise RuntimeError("pty: nothing within %.0fs (have %r)" % (TIMEOUT, self.pending[:80]))
        chunk = os.read(self.fd, READ_SIZE)
        if not chunk:
            raise RuntimeError("pty closed")
        self.pending += chunk

    def expect(self, expected):
        deadline = time.monotonic() + TIMEOUT
        while len(self.pending) < len(expected):
            if not expected.startswith(self.pending):
                break
            self._fill(deadline)
        got, self.pending = self.pending[:len(expected)], self.pending[len(expected):]
        if got != expected:
            raise RuntimeError("pty: expected %r, got %r" % (expected, got + self.pending[:80]))

    def consume(self, n):
        """Reads exactly n bytes and returns their SHA-256."""
        digest = hashlib.sha256()
        deadline = time.monotonic() + TIMEOUT
        left = n
        while left:
            if not self.pending:
                left_time = deadline - time.monotonic()
                if left_time <= 0 or not select.select([self.fd], [], [], left_time)[0]:
                    raise RuntimeError("pty: stalled with %d of %d bytes left" % (left, n))
                chunk = os.read(self.fd, min(READ_SIZE, left))
                if not chunk:
                    raise RuntimeError("pty closed with %d bytes left" % left)
            else:
                chunk, self.pending = self.pending[:left], self.pending[left:]
            digest.update(chunk)
            left -= len(chunk)
        return digest.hexdigest()


def write_all(fd, data):
    """Writes all of data into the pty in WRITE_SIZE pieces (blocking)."""
    view = memoryview(data)
    for at in range(0, len(view), WRITE_SIZE):
        piece = view[at:at + WRITE_SIZE]
        while piece:
            piece = piece[os.write(fd, piece):]


# ---- TCP peers for socat, each in its own process (no GIL shared with the pty side) ---------

def serve_send(path):
    """Helper process: listen, accept one connection, wait for "go" on stdin, send the file."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
        sys.stdin.readline()
        with conn, open(path, "rb") as f:
            conn.sendfile(f)
            conn.shutdown(socket.SHUT_WR)


def serve_receive(n):
    """Helper process: listen, accept one connection, hash n bytes, print the monotonic time
    when the last one arrived and the digest."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
        digest = hashlib.sha256()
        buf = bytearray(READ_SIZE)
        left = n
        with conn:
            while left:
                got = conn.recv_into(buf, min(len(buf), left))
                if not got:
                    break
                digest.update(memoryview(buf)[:got])
                left -= got
        print(json.dumps({"end": time.monotonic(), "left": left, "sha256": digest.hexdigest()}),
              flush=True)


# ---- the runs ---------------------------------------------------------------------------------

def helper(mode, arg):
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), mode, str(arg)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, port


def start_socat(port, link):
    proc = subprocess.Popen(["socat", "-d", "pty,raw,echo=0,link=%s" % link,
                             "tcp:127.0.0.1:%d" % port], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(link):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("socat did not make %s" % link)
        time.sleep(0.005)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def socat_download(tmp, path, size, digest):
    sender, port = helper("--serve-send", path)
    link = os.path.join(tmp, "socat-down")
    socat = start_socat(port, link)
    fd = open_pty(link)
    try:
        reader = PtyReader(fd)
        start = time.monotonic()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        got = reader.consume(size)
        elapsed = time.monotonic() - start
    finally:
        os.close(fd)
        stop(socat)
        stop(sender)
    if got != digest:
        raise RuntimeError("socat download: SHA-256 mismatch")
    return elapsed


def socat_upload(tmp, data, digest):
    receiver, port = helper("--serve-receive", len(data))
    link = os.path.join(tmp, "socat-up")
    socat = start_socat(port, link)
    fd = open_pty(link)
    try:
        start = time.monotonic()
        write_all(fd, data)
        report = json.loads(receiver.stdout.readline())
    finally:
        os.close(fd)
        stop(socat)
        stop(receiver)
    if report["left"] or report["sha256"] != digest:
        raise RuntimeError("socat upload: %d bytes missing or SHA-256 mismatch" % report["left"])
    return report["end"] - start


class Module:
    """quecsim with --baud 0 --latency 0 and its embedded FTP server serving `root`."""

    def __init__(self, binary, root, extra=()):
        self.proc = subprocess.Popen(
            [binary, "--ready-json", "--baud", "0", "--latency", "0", "--no-power-up-lines",
             "--power-up-at-start", "--boot-delay", "0",
             "--ftp-root", root, *extra], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        ready = json.loads(self.proc.stdout.readline())
        self.fd = open_pty(ready["pty"])
        self.reader = PtyReader(self.fd)
        self.command(b"ATE0", b"ATE0\r\r\nOK\r\n")

    def command(self, line, response):
        write_all(self.fd, line + b"\r")
        self.reader.expect(response)

    def close(self):
        os.close(self.fd)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def crlf(text):
    return b"\r\n" + text + b"\r\n"


def quecsim_download(module, size, digest):
    module.command(b'AT+QFTPGET="down.bin"', crlf(b"OK"))
    module.reader.expect(crlf(b"CONNECT"))
    start = time.monotonic()
    got = module.reader.consume(size)
    module.reader.expect(crlf(b"+QFTPGET:%d" % size))
    elapsed = time.monotonic() - start
    if got != digest:
        raise RuntimeError("quecsim download: SHA-256 mismatch")
    return elapsed


def quecsim_upload(module, root, data, digest):
    module.command(b'AT+QFTPPUT="up.bin",%d,900' % len(data), crlf(b"OK"))
    module.reader.expect(crlf(b"CONNECT"))
    start = time.monotonic()
    write_all(module.fd, data)
    module.reader.expect(crlf(b"+QFTPPUT:%d" % len(data)))
    elapsed = time.monotonic() - start
    with open(os.path.join(root, "up.bin"), "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != digest:
            raise RuntimeError("quecsim upload: SHA-256 mismatch on the server")
    os.unlink(os.path.join(root, "up.bin"))
    return elapsed


def parse_args(doc, default_binary, mib, transfers):
    """The throughput benchmarks' command line: the binary, --mib and --runs; exits when the
    binary or socat is missing."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", default=default_binary, help="the quecsim binary")
    parser.add_argument("--mib", type=int, default=mib, help="transfer size in MiB (%d)" % mib)
    parser.add_argument("--runs", type=int, default=3,
                        help="rounds of the %s transfers (3)" % transfers)
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit("quecsim binary not found: %s (build first, or pass its path)" % args.binary)
    if not shutil.which("socat"):
        sys.exit("socat not found (Debian package socat)")
    return args


def main():
    args = parse_args(__doc__, DEFAULT_BINARY, 64, "four")

    size = args.mib << 20
    tmp = tempfile.mkdtemp(prefix="quecsim-bench-")
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    try:
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        down_path = os.path.join(root, "down.bin")
        with open(down_path, "wb") as f:
            f.write(data)

        module = Module(args.binary, root)
        try:
            module.command(b'AT+QFTPOPEN="ftp.example.com",21', crlf(b"OK"))
            module.reader.expect(crlf(b"+QFTPOPEN:0"))
            mb = size / 1e6
            rows = {"quecsim GET": [], "socat down": [], "quecsim PUT": [], "socat up": []}
            for run in range(1, args.runs + 1):
                # Each direction: quecsim and socat back to back, the first of the pair
                # alternating between runs, so a drift in the machine's load favours neither.
                pairs = [[("quecsim GET", lambda: quecsim_download(module, size, digest)),
                          ("socat down", lambda: socat_download(tmp, down_path, size, digest))],
                         [("quecsim PUT", lambda: quecsim_upload(module, root, data, digest)),
                          ("socat up", lambda: socat_upload(tmp, data, digest))]]
                for pair in pairs:
                    for name, transfer in (pair if run % 2 else reversed(pair)):
                        rows[name].append(mb / transfer())
                print("run %d: GET %.1f MB/s (socat %.1f, ratio %.2f)   PUT %.1f MB/s "
                      "(socat %.1f, ratio %.2f)" % (
                          run, rows["quecsim GET"][-1], rows["socat down"][-1],
                          rows["quecsim GET"][-1] / rows["socat down"][-1],
                          rows["quecsim PUT"][-1], rows["socat up"][-1],
                          rows["quecsim PUT"][-1] / rows["socat up"][-1]), flush=True)
        finally:
            module.close()
        ratio_get = [q / r for q, r in zip(rows["quecsim GET"], rows["socat down"])]
        ratio_put = [q / r for q, r in zip(rows["quecsim PUT"], rows["socat up"])]
        med = {k: statistics.median(v) for k, v in rows.items()}
        print("median of %d runs, %d MiB each (MB = 10^6 bytes; ratio: median of the runs' "
              "ratios, min-max):" % (args.runs, args.mib))
        print("  download: quecsim %.1f MB/s, socat %.1f MB/s, quecsim/socat %.2f (%.2f-%.2f)"
              % (med["quecsim GET"], med["socat down"], statistics.median(ratio_get),
                 min(ratio_get), max(ratio_get)))
        print("  upload:   quecsim %.1f MB/s, socat %.1f MB/s, quecsim/socat %.2f (%.2f-%.2f)"
              % (med["quecsim PUT"], med["socat up"], statistics.median(ratio_put),
                 min(ratio_put), max(ratio_put)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-send":
        serve_send(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--serve-receive":
        serve_receive(int(sys.argv[2]))
    else:
        main()
