"""Hosts that meet quecsim other than through its own pty (docs/attach.md): a pyserial port
(`socket://` for --tcp-listen, a tty for --device and --attach-pty) or a bare descriptor (a
socket accepted for --tcp-connect, a pty master for --attach-pty), driven with the harness's
send/expect/command, and the chapter 4 flow of the manual that every endpoint must carry."""

import os
import re
import select
import socket
import subprocess
import time

import serial

from ftp_support import CONNECT, OK, FtpTestCase, crlf, open_as_in_4_1, payload, sha256
from harness import TIMEOUT, Quecsim


class PyserialHost(Quecsim):
    """A Quecsim whose host is a pyserial port opened with serial_for_url (`open_url`)."""

    def __init__(self, *args, **kwargs):
        self.port = None
        super().__init__(*args, open_port=False, **kwargs)

    def open_url(self, url, **kwargs):
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0, **kwargs)
        self._pending = b""

    def close_port(self):
        if self.port is not None:
            self.port.close()
            self.port = None
        super().close_port()

    def send(self, data):
        if isinstance(data, str):
            raise TypeError("send() takes bytes, not str")
        self.port.write(data)
        self.port.flush()

    def _read(self, limit, timeout):
        self.port.timeout = max(0.0, timeout)
        first = self.port.read(1)
        if not first:
            return b""
        more = min(limit - 1, self.port.in_waiting)
        return first + (self.port.read(more) if more > 0 else b"")


def endpoint(sim, module=0):
    """The ready line's endpoint of module `module`."""
    return sim.modules[module]["endpoint"]


def wait_for_stderr(sim, text, timeout=TIMEOUT):
    """Waits until quecsim's stderr holds `text` (a log line is written as the event happens:
    this awaits it, bounded) and returns the stderr."""
    deadline = time.monotonic() + timeout
    while True:
        err = sim.stderr()
        if text in err:
            return err
        if time.monotonic() > deadline:
            raise AssertionError("quecsim never wrote %r on stderr; it wrote %r" % (text, err))
        time.sleep(0.02)


class SocatPair:
    """Two ptys joined by socat: a null-modem cable between quecsim (`a`) and the host (`b`)."""

    def __init__(self, folder):
        self.a = os.path.join(folder, "module-side")
        self.b = os.path.join(folder, "host-side")
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", "pty,raw,echo=0,link=" + self.a, "pty,raw,echo=0,link=" + self.b],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # socat says "starting data transfer loop" once both ptys exist.
        deadline = time.monotonic() + TIMEOUT
        said = b""
        while b"starting data transfer loop" not in said:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stderr], [], [], left)[0]:
                self.close()
                raise AssertionError("socat made no pty pair: %r" % said)
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                self.close()
                raise AssertionError("socat exited: %r" % said)
            said += chunk
        self.ptys = re.findall(rb"PTY is (\S+)", said)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()
        self.proc.stderr.close()


class ChapterFour(FtpTestCase):
    """The manual's chapter 4 over any endpoint: 4.1 open, 4.2.1 upload and 4.3.1 download
    through /COM/, then close and deactivate, byte for byte as on the pty."""

    def chapter_four(self, sim):
        open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPPATH="/"', b"+QFTPPATH:0")
        up = payload(1587)
        sim.command(b'AT+QFTPPUT="up.ini",1587,200', OK)
        sim.expect(CONNECT)
        sim.send(up)
        sim.expect(crlf(b"+QFTPPUT:1587"))
        self.assertEqual(sha256(self.served("up.ini")), sha256(up))
        down = payload(17765, seed=7)
        self.serve("sscom.ini", down)
        sim.command(b'AT+QFTPGET="sscom.ini"', OK)
        sim.expect(CONNECT)
        self.assertEqual(sha256(sim.expect(down)), sha256(down))
        sim.expect(crlf(b"+QFTPGET:17765"))
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        sim.command(b"AT+QIDEACT", crlf(b"DEACT OK"))


def listening_socket():
    """A TCP server socket of the test on 127.0.0.1, any port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    return s


def accept(server, timeout=TIMEOUT):
    """The next connection to `server`, awaited (bounded)."""
    server.settimeout(timeout)
    conn, _ = server.accept()
    conn.setblocking(False)
    return conn
