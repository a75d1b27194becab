"""What both reference hosts share: the AT line reader over pyserial, the jobs' fixed data (the
FTP job's files, the socket job's messages) and the FTP job's final check against the FTP root
and the module's storage.

Standard library and Debian's python3-serial only (run /usr/bin/python3). The hosts read
where the module is from the environment `quecsim campaign` gives them (QUECSIM_PTY,
QUECSIM_FTP_ROOT, QUECSIM_STATE_DIR); see docs/campaigns.md.
"""

import argparse
import os
import re
import select
import sys
import time

import serial

# The job's files. The host places the two downloads in the FTP root first (it plays the
# server's operator too); the report and the blob are what it uploads.
FW_NAME, FW_SIZE = "fw.bin", 24576
CONFIG_NAME, CONFIG_SIZE = "config.txt", 2000
REPORT_NAME, REPORT_SIZE = "report.txt", 600
BLOB_NAME, BLOB_SIZE = "blob.bin", 12000

# The socket job: messages of these sizes go to the campaign's echo peer one at a time, each
# echoed back whole before the next (1460: the most one AT+QISEND takes).
MESSAGE_SIZES = (32, 512, 1460, 1460, 100, 8)
SOCKET = 0  # the socket index (AT+QIMUX=1), as TinyGSM's first client

POWER_LINES = ("RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready")
FINALS = ("OK", "ERROR")

_GET_END = re.compile(rb"\r\n\+QFTPGET:(-?\d+)\r\n$")
_POWER_DOWN = re.compile(rb"\r\n(UNDER-VOLTAGE POWER DOWN|NORMAL POWER DOWN)[^\r\n]*\r\n")


def payload(size, seed):
    """Deterministic bytes of every value (CR, LF, '+' and 'A' 'T' included)."""
    out = bytearray()
    x = seed
    while len(out) < size:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


def job_files():
    """{name: bytes} of the four files of the job."""
    return {FW_NAME: payload(FW_SIZE, 11), CONFIG_NAME: payload(CONFIG_SIZE, 12),
            REPORT_NAME: payload(REPORT_SIZE, 13), BLOB_NAME: payload(BLOB_SIZE, 14)}


def environment():
    """The campaign's variables; exits 2 when one is missing (the host was started by hand)."""
    need = ("QUECSIM_PTY", "QUECSIM_FTP_ROOT", "QUECSIM_STATE_DIR")
    missing = [n for n in need if not os.environ.get(n)]
    if missing:
        sys.stderr.write("host: %s not set: run me under quecsim campaign\n" % ", ".join(missing))
        sys.exit(2)
    return {n: os.environ[n] for n in need}


def messages():
    """The socket job's messages, in order (seeded bytes of every value, like the files)."""
    return [payload(size, 20 + i) for i, size in enumerate(MESSAGE_SIZES)]


def start_job(doc):
    """What both reference hosts do first: read --job and --dwell, the campaign's variables
    and, for the FTP job, the files, putting the downloads on the server. Returns (args, env,
    files)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--job", choices=("ftp", "socket"), default="ftp",
                        help="the FTP job (default) or the socket job against the campaign's "
                             "echo peer (QUECSIM_PEER)")
    parser.add_argument("--dwell", type=float, default=1.5,
                        help="seconds the session (or socket) stays idle after it opens "
                             "(default 1.5)")
    args = parser.parse_args()
    env = environment()
    if args.job == "socket":
        if not os.environ.get("QUECSIM_PEER"):
            sys.stderr.write("host: QUECSIM_PEER not set: run me under quecsim campaign\n")
            sys.exit(2)
        env["QUECSIM_PEER"] = os.environ["QUECSIM_PEER"]
        env["QUECSIM_PEER_NAME"] = os.environ.get("QUECSIM_PEER_NAME", "")
        return args, env, None
    files = job_files()
    place_downloads(env["QUECSIM_FTP_ROOT"], files)
    return args, env, files


def peer(env):
    """(host, port) the socket job opens: the peer's name when the campaign gave one (the
    module's host map resolves it), else its address."""
    address, port = env["QUECSIM_PEER"].rsplit(":", 1)
    return env.get("QUECSIM_PEER_NAME") or address, int(port)


def place_downloads(ftp_root, files):
    for name in (FW_NAME, CONFIG_NAME):
        with open(os.path.join(ftp_root, name), "wb") as f:
            f.write(files[name])


def read_or_none(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def check(env, files, done, config_bytes):
    """Compares what the host claims it moved with what is really there; a list of mismatches."""
    wrong = []
    root, ufs = env["QUECSIM_FTP_ROOT"], os.path.join(env["QUECSIM_STATE_DIR"], "ufs")
    if "download-to-ufs" in done and read_or_none(os.path.join(ufs, FW_NAME)) != files[FW_NAME]:
        wrong.append("UFS %s differs from the server's" % FW_NAME)
    if "upload-report" in done and read_or_none(os.path.join(root, REPORT_NAME)) != files[REPORT_NAME]:
        wrong.append("the server's %s differs from the report" % REPORT_NAME)
    if "upload-blob" in done and read_or_none(os.path.join(root, BLOB_NAME)) != files[BLOB_NAME]:
        wrong.append("the server's %s differs from the blob" % BLOB_NAME)
    if "download-config" in done and config_bytes != files[CONFIG_NAME]:
        wrong.append("the downloaded %s differs from the server's" % CONFIG_NAME)
    return wrong


class Restarted(Exception):
    """The module powered down or up under the host."""


class Modem:
    """The host's end of the module's UART: lines in, commands and raw bytes out.

    Every line read goes through `note()` first, which keeps what unsolicited lines say:
    `session_lost` (+QFTPERROR, +PDP DEACT), `restarted` (power-down or power-up lines),
    `registered` (from +CGREG: n); for the socket job `socket_closed` (`<i>, CLOSED`) and
    `data_ready` (+QIRDI).
    """

    def __init__(self, path, log=None):
        self.port = serial.Serial(path, 115200, timeout=0)
        self.buf = b""
        self.skip_lf = False  # a line ended in CR: an LF right after it belongs to it
        self.log = log or (lambda text: None)
        self.session_lost = False
        self.restarted = False
        self.registered = True
        self.socket_closed = False
        self.data_ready = False

    def close(self):
        self.port.close()

    # ---- bytes --------------------------------------------------------------------------------

    def _fill(self, deadline):
        """Reads what arrives until `deadline`; False when nothing came."""
        left = max(0.0, deadline - time.monotonic())
        if not select.select([self.port.fileno()], [], [], left)[0]:
            return False
        chunk = self.port.read(max(1, self.port.in_waiting))
        self.buf += chunk
        return bool(chunk)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.log(">> %r" % (data if len(data) <= 80 else data[:40] + b"..."))
        self.port.write(data)
        self.port.flush()

    def read_line(self, deadline):
        """The next non-empty line (str, Latin-1), or None at `deadline`."""
        while True:
            if self.skip_lf and self.buf[:1] == b"\n":
                self.buf = self.buf[1:]
            if self.buf:
                self.skip_lf = False
            m = re.search(rb"[\r\n]", self.buf)
            if m:
                line, end = self.buf[:m.start()], m.start() + 1
                if self.buf[m.start():m.start() + 2] == b"\r\n":
                    end += 1
                elif self.buf[m.start():m.start() + 1] == b"\r":
                    self.skip_lf = end == len(self.buf)
                self.buf = self.buf[end:]
                if line:
                    text = line.decode("latin-1")
                    self.log("<< %s" % text)
                    self.note(text)
                    return text
                continue
            if not self._fill(deadline):
                return None

    def drain(self):
        """Handles every line already received (strays, unsolicited lines) without waiting."""
        while self.read_line(time.monotonic()) is not None:
            pass

    def note(self, line):
        if line.startswith("+QFTPERROR:") or line == "+PDP DEACT":
            self.session_lost = True
        elif line in POWER_LINES or line.startswith("UNDER-VOLTAGE") or "POWER DOWN" in line:
            self.restarted = True
            self.session_lost = True
        elif re.fullmatch(r"\+CGREG: \d", line):
            self.registered = line[-1] in "15"
        elif re.fullmatch(r"(\d, )?CLOSED", line):
            self.socket_closed = True
        elif line.startswith("+QIRDI:"):
            self.data_ready = True

    # ---- the socket job -----------------------------------------------------------------------

    def read_prompt(self, deadline):
        """After AT+QISEND: None when the `> ` prompt came (it has no line break after it), else
        the line that came instead, or "" at `deadline`."""
        while True:
            if self.skip_lf and self.buf[:1] == b"\n":
                self.buf = self.buf[1:]
            if self.buf:
                self.skip_lf = False
            rest = self.buf.lstrip(b"\r\n")
            if rest.startswith(b"> "):
                self.buf = rest[2:]
                self.log("<< > ")
                return None
            if re.search(rb"[\r\n]", rest):
                return self.read_line(deadline) or ""
            if not self._fill(deadline):
                return ""

    def read_bytes(self, size, deadline):
        """Exactly `size` raw bytes (the data after `+QIRD:`), or None at `deadline`."""
        if self.skip_lf and self.buf[:1] == b"\n":
            self.buf = self.buf[1:]
        self.skip_lf = False
        while len(self.buf) < size:
            if not self._fill(deadline):
                return None
        data, self.buf = self.buf[:size], self.buf[size:]
        self.log("<< %d bytes" % size)
        return data

    def qird(self, asked, deadline):
        """`AT+QIRD=0,1,<socket>,<asked>`: (bytes, final line). bytes is b"" when nothing was
        buffered (a bare OK) and None when the module answered ERROR (closed and empty) or
        nothing by `deadline`."""
        self.data_ready = False
        self.send("AT+QIRD=0,1,%d,%d\r" % (SOCKET, asked))
        data = b""
        while True:
            got = self.read_line(deadline)
            if got is None:
                return None, None
            if got.startswith("+QIRD: "):
                count = int(got.rsplit(",", 1)[1])
                data = self.read_bytes(count, deadline)
                if data is None:
                    return None, None
            elif got in FINALS or got.startswith("+CME ERROR:"):
                return (data if got == "OK" else None), got

    # ---- data mode ----------------------------------------------------------------------------

    def read_download(self, size, deadline):
        """Reads a download in data mode after CONNECT: `size` bytes and the +QFTPGET line, or
        what came before a +QFTPGET error line. Counts bytes: a +QFTPGET-like text inside the
        file is data. Returns (data, code); raises Restarted on power-down lines."""
        raw = b""
        pending_lf = self.skip_lf  # CONNECT's line break may not have arrived whole
        self.skip_lf = False
        while True:
            take, self.buf = self.buf, b""
            if pending_lf and take:
                take = take[1:] if take[:1] == b"\n" else take
                pending_lf = False
            raw += take
            if len(raw) >= size:
                self.buf = raw[size:]
                data = raw[:size]
                while True:
                    line = self.read_line(deadline)
                    if line is None:
                        return data, None
                    if line.startswith("+QFTPGET:"):
                        return data, int(line[9:])
                    if self.restarted:
                        raise Restarted()
            m = _GET_END.search(raw)
            if m and (int(m.group(1)) < 0 or int(m.group(1)) == m.start()):
                data = raw[:m.start()]
                if data.endswith(b"\r\n+PDP DEACT\r\n"):
                    data = data[:-len(b"\r\n+PDP DEACT\r\n")]
                    self.session_lost = True
                self.log("<< %d bytes, then +QFTPGET:%s" % (len(data), m.group(1).decode()))
                return data, int(m.group(1))
            if _POWER_DOWN.search(raw):
                self.log("<< %d bytes, then a power-down line" % len(raw))
                self.restarted = self.session_lost = True
                raise Restarted()
            if not self._fill(deadline):
                self.buf = raw
                return None, None
