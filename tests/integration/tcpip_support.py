"""Peers for the socket tests: a TCP server the test drives byte by byte, and a UDP echo."""

import re
import socket
import time
import threading

from harness import TIMEOUT


# What the socket tests share: a fast clock and the result lines every one of them checks.
FAST = ("--time-scale", "0.01")
OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"


def state(text):
    """AT+QISTAT's answer in single connection mode: OK, then the state line."""
    return OK + b"\r\nSTATE: " + text + b"\r\n"


class TcpPeer:
    """A TCP server on 127.0.0.1, port 0, that accepts one connection at a time and lets the
    test read and write on it exactly."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.accepted = []  # every connection, closed at the end

    def accept(self):
        """Waits for the module's connection."""
        self.listener.settimeout(TIMEOUT)
        self.conn, _ = self.listener.accept()
        self.accepted.append(self.conn)
        self.conn.settimeout(TIMEOUT)
        return self.conn

    def recv_exact(self, n):
        """Exactly `n` bytes from the module."""
        out = b""
        while len(out) < n:
            chunk = self.conn.recv(n - len(out))
            if not chunk:
                raise AssertionError("the module closed after %r" % out)
            out += chunk
        return out

    def expect_eof(self):
        """Checks the module closed its side with nothing more sent."""
        rest = self.conn.recv(1)
        if rest:
            raise AssertionError("expected EOF, got %r" % rest)

    def send(self, data):
        self.conn.sendall(data)

    def close_conn(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def close(self):
        self.close_conn()
        for conn in self.accepted:
            conn.close()
        self.listener.close()


class UdpEcho:
    """A UDP echo peer on 127.0.0.1, port 0: each datagram comes back as it is."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                continue
            self.received.append(data)
            self.sock.sendto(data, addr)

    def close(self):
        self._stop = True
        self.thread.join()
        self.sock.close()


def closed_port():
    """A loopback port nothing listens on."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- driving a socket from the host side, as firmware does (QINDI=1, AT+QIRD) --------------

def read_exact(sim, n, timeout=TIMEOUT):
    """Exactly `n` bytes from the module, whatever they are."""
    out, sim._pending = sim._pending[:n], sim._pending[n:]
    deadline = time.monotonic() + timeout
    while len(out) < n:
        left = deadline - time.monotonic()
        chunk = sim._read(n - len(out), left) if left > 0 else b""
        if not chunk:
            raise AssertionError("timed out reading %d bytes, got %r" % (n, out))
        out += chunk
    return out


def read_line(sim):
    """The next CR LF-ended line (without its CR LF); leading CR LFs are skipped."""
    line = b""
    while True:
        line += read_exact(sim, 1)
        if line == b"\r\n":
            line = b""
        elif line.endswith(b"\r\n"):
            return line[:-2]


QIRD_HEADER = re.compile(rb"\+QIRD: ([0-9.]+):(\d+),(TCP|UDP),(\d+)$")


def qird(sim, sid=0, length=1500):
    """One AT+QIRD: the bytes read (b"" when nothing was buffered), None on ERROR."""
    sim.send(b"AT+QIRD=0,1,%d,%d\r" % (sid, length))
    line = read_line(sim)
    # A notice of data or of the peer closing may come just before the answer.
    while line.startswith(b"+QIRDI:") or line.endswith(b"CLOSED"):
        sim.notices = getattr(sim, "notices", []) + [line]
        line = read_line(sim)
    if line == b"OK":
        return b""
    if line == b"ERROR":
        return None
    m = QIRD_HEADER.match(line)
    if not m:
        raise AssertionError("unexpected answer to AT+QIRD: %r" % line)
    data = read_exact(sim, int(m.group(4)))
    sim.expect(b"\r\nOK\r\n")
    return data


def qisend(sim, data, prefix=b""):
    """Sends `data` through AT+QISEND=<len> in pieces of at most 1460 bytes."""
    for i in range(0, len(data), 1460):
        piece = data[i:i + 1460]
        sim.command(b"AT+QISEND=" + prefix + b"%d" % len(piece), b"> ")
        sim.send(piece)
        sim.expect(b"\r\nSEND OK\r\n")


class Reader:
    """Reads a socket's bytes as TinyGSM does with AT+QINDI=1: wait for +QIRDI, then AT+QIRD
    until nothing is left; keeps what was read past what the caller asked for."""

    def __init__(self, sim, sid=0):
        self.sim = sim
        self.sid = sid
        self.buffer = b""
        self.closed = False

    def fill(self):
        """Waits for the next +QIRDI (or CLOSED) and drains the socket."""
        notices = getattr(self.sim, "notices", [])
        line = notices.pop(0) if notices else read_line(self.sim)
        if line.endswith(b"CLOSED"):
            self.closed = True
        elif not line.startswith(b"+QIRDI: 0,1,%d" % self.sid):
            raise AssertionError("expected +QIRDI, got %r" % line)
        while True:
            data = qird(self.sim, self.sid)
            if not data:
                return data is not None
            self.buffer += data

    def take(self, n):
        """Exactly `n` bytes from the socket."""
        while len(self.buffer) < n:
            if not self.fill() and self.closed and len(self.buffer) < n:
                raise AssertionError("socket ended after %r" % self.buffer)
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def until_closed(self):
        """Everything until the peer closes and the buffer is empty."""
        while not self.closed:
            self.fill()
        while True:
            data = qird(self.sim, self.sid)
            if data is None:
                break
            self.buffer += data
        out, self.buffer = self.buffer, b""
        return out
