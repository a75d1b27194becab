#!/usr/bin/python3
"""Throughput of the module's socket service, against socat moving the same bytes between a pty
and TCP in the same run. A benchmark, not a test: run it by hand after a build.

    /usr/bin/python3 bench/tcpip/socket_throughput.py [build/sim/quecsim] [--mib 16] [--runs 3]

Four figures, each against socat in the same direction (same pty code, same TCP peers, the
peers in their own processes; quecsim with --baud 0 --latency 0):
  transparent down: AT+QIMODE=1, AT+QIOPEN, CONNECT; from telling the peer to send until the
                    pty reader has every byte;
  transparent up:   after CONNECT, from the first write into the pty until the peer has every
                    byte;
  QIRD down:        AT+QINDI=1; the peer sends; the host reads with AT+QIRD=0,1,0,1500 until it
                    has every byte (an empty read waits for the next +QIRDI);
  QISEND up:        AT+QISEND=1460 chunks, each answered SEND OK (a SEND FAIL is counted and
                    the chunk sent again), until the peer has every byte.
Also printed for the command-driven pair: commands per second and the mean time per command,
which is where the time goes (one command = one round trip over the pty and at most 1460
bytes). Every transfer's SHA-256 is checked on the receiving side.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ftp"))
import com_throughput as com  # noqa: E402  (the pty side and socat's peers, shared)

DEFAULT_BINARY = os.path.normpath(os.path.join(HERE, "..", "..", "build", "sim", "quecsim"))
CHUNK = 1460
OK = b"\r\nOK\r\n"


class Module:
    """quecsim with --baud 0 --latency 0, echo off, one socket to 127.0.0.1:`port`."""

    def __init__(self, binary, tmp, port, transparent):
        self.proc = subprocess.Popen(
            [binary, "--ready-json", "--baud", "0", "--latency", "0", "--no-power-up-lines",
             "--power-up-at-start", "--boot-delay", "0", "--state-dir", os.path.join(tmp, "state"),
             "--ftp-root", tmp], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        ready = json.loads(self.proc.stdout.readline())
        self.fd = com.open_pty(ready["pty"])
        self.reader = com.PtyReader(self.fd)
        self.command(b"ATE0", b"ATE0\r\r\nOK\r\n")
        if transparent:
            self.command(b"AT+QIMODE=1", OK)
        else:
            self.command(b"AT+QINDI=1", OK)
        self.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % port, OK)
        self.reader.expect(b"\r\nCONNECT\r\n" if transparent else b"\r\nCONNECT OK\r\n")

    def command(self, line, response):
        com.write_all(self.fd, line + b"\r")
        self.reader.expect(response)

    def line(self):
        """The next "\\r\\n...\\r\\n" line's text."""
        self.reader.expect(b"\r\n")
        while b"\r\n" not in self.reader.pending:
            self.reader._fill(time.monotonic() + com.TIMEOUT)
        text, self.reader.pending = self.reader.pending.split(b"\r\n", 1)
        return text

    def close(self):
        os.close(self.fd)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(10)


def transparent_down(binary, tmp, path, size, digest):
    sender, port = com.helper("--serve-send", path)
    module = Module(binary, tmp, port, transparent=True)
    try:
        start = time.monotonic()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        got = module.reader.consume(size)
        elapsed = time.monotonic() - start
    finally:
        module.close()
        com.stop(sender)
    if got != digest:
        raise RuntimeError("transparent down: SHA-256 mismatch")
    return elapsed, 0


def transparent_up(binary, tmp, data, digest):
    receiver, port = com.helper("--serve-receive", len(data))
    module = Module(binary, tmp, port, transparent=True)
    try:
        start = time.monotonic()
        com.write_all(module.fd, data)
        report = json.loads(receiver.stdout.readline())
    finally:
        module.close()
        com.stop(receiver)
    if report["left"] or report["sha256"] != digest:
        raise RuntimeError("transparent up: %d bytes missing or SHA-256 mismatch" % report["left"])
    return report["end"] - start, 0


HEADER = re.compile(rb"\+QIRD: [0-9.]+:\d+,TCP,(\d+)")


def qird_down(binary, tmp, path, size, digest):
    sender, port = com.helper("--serve-send", path)
    module = Module(binary, tmp, port, transparent=False)
    hasher = hashlib.sha256()
    commands = 0
    try:
        start = time.monotonic()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        left = size
        while left:
            com.write_all(module.fd, b"AT+QIRD=0,1,0,1500\r")
            commands += 1
            text = module.line()
            # A notification that raced the command, or the peer's close (it sent everything:
            # what is buffered stays readable).
            while text in (b"+QIRDI: 0,1,0", b"CLOSED"):
                text = module.line()
            if text == b"OK":  # nothing buffered yet: wait for the next notification
                while module.line() not in (b"+QIRDI: 0,1,0", b"CLOSED"):
                    pass
                continue
            match = HEADER.fullmatch(text)
            if not match:
                raise RuntimeError("QIRD down: unexpected %r" % text)
            n = int(match.group(1))
            while len(module.reader.pending) < n:
                module.reader._fill(time.monotonic() + com.TIMEOUT)
            hasher.update(module.reader.pending[:n])
            module.reader.pending = module.reader.pending[n:]
            module.reader.expect(OK)
            left -= n
        elapsed = time.monotonic() - start
    finally:
        module.close()
        com.stop(sender)
    if hasher.hexdigest() != digest:
        raise RuntimeError("QIRD down: SHA-256 mismatch")
    return elapsed, commands


def qisend_up(binary, tmp, data, digest):
    receiver, port = com.helper("--serve-receive", len(data))
    module = Module(binary, tmp, port, transparent=False)
    commands = 0
    fails = 0
    try:
        start = time.monotonic()
        view = memoryview(data)
        at = 0
        while at < len(view):
            piece = view[at:at + CHUNK]
            # CR LF as drivers send it: a LF right after the CR is the line's, so data that
            # starts with one is not mistaken for it.
            com.write_all(module.fd, b"AT+QISEND=%d\r\n" % len(piece))
            module.reader.expect(b"> ")
            com.write_all(module.fd, piece)
            commands += 1
            answer = module.line()
            if answer == b"SEND OK":
                at += len(piece)
            elif answer == b"SEND FAIL":
                fails += 1
            else:
                raise RuntimeError("QISEND up: unexpected %r" % answer)
        report = json.loads(receiver.stdout.readline())
    finally:
        module.close()
        com.stop(receiver)
    if report["left"] or report["sha256"] != digest:
        raise RuntimeError("QISEND up: %d bytes missing or SHA-256 mismatch" % report["left"])
    if fails:
        print("  (QISEND up: %d SEND FAIL answers, each chunk sent again)" % fails)
    return report["end"] - start, commands


def socat_down(tmp, path, size, digest):
    return com.socat_download(tmp, path, size, digest), 0


def socat_up(tmp, data, digest):
    return com.socat_upload(tmp, data, digest), 0


def main():
    args = com.parse_args(__doc__, DEFAULT_BINARY, 16, "eight")

    size = args.mib << 20
    tmp = tempfile.mkdtemp(prefix="quecsim-bench-")
    try:
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        path = os.path.join(tmp, "down.bin")
        with open(path, "wb") as f:
            f.write(data)
        transfers = {
            "transparent down": lambda: transparent_down(args.binary, tmp, path, size, digest),
            "transparent up": lambda: transparent_up(args.binary, tmp, data, digest),
            "QIRD down": lambda: qird_down(args.binary, tmp, path, size, digest),
            "QISEND up": lambda: qisend_up(args.binary, tmp, data, digest),
            "socat down": lambda: socat_down(tmp, path, size, digest),
            "socat up": lambda: socat_up(tmp, data, digest),
        }
        pairs = [("transparent down", "socat down"), ("transparent up", "socat up"),
                 ("QIRD down", "socat down"), ("QISEND up", "socat up")]
        mb = size / 1e6
        rows = {pair: [] for pair in pairs}  # per pair: (quecsim MB/s, socat MB/s, commands)
        for run in range(1, args.runs + 1):
            for pair in pairs:
                # quecsim and socat back to back, the first alternating between runs, so a drift
                # in the machine's load favours neither.
                got = {}
                for name in (pair if run % 2 else reversed(pair)):
                    got[name] = transfers[name]()
                (q_time, commands), (s_time, _) = got[pair[0]], got[pair[1]]
                rows[pair].append((mb / q_time, mb / s_time, commands / q_time,
                                   q_time / commands if commands else 0))
                print("run %d: %-16s %7.1f MB/s, socat %7.1f MB/s, ratio %.3f" % (
                    run, pair[0], mb / q_time, mb / s_time, s_time / q_time), flush=True)
        print("median of %d runs, %d MiB each (MB = 10^6 bytes; ratio: median of the runs' "
              "ratios, min-max):" % (args.runs, args.mib))
        for pair in pairs:
            ratios = [q / s for q, s, _, _ in rows[pair]]
            line = "  %-16s quecsim %7.1f MB/s, socat %7.1f MB/s, quecsim/socat %.3f (%.3f-%.3f)" % (
                pair[0], statistics.median(r[0] for r in rows[pair]),
                statistics.median(r[1] for r in rows[pair]), statistics.median(ratios),
                min(ratios), max(ratios))
            if rows[pair][0][2]:
                line += "; %.0f commands/s, %.1f us per command" % (
                    statistics.median(r[2] for r in rows[pair]),
                    statistics.median(r[3] for r in rows[pair]) * 1e6)
            print(line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
