"""Helpers for the FTP service's integration tests: a quecsim with its embedded FTP server
serving a private folder, and the AT exchanges every FTP test repeats."""

import hashlib
import json
import os
import shutil
import tempfile

from harness import QuecsimTestCase, crlf

OK = crlf(b"OK")
ERROR = crlf(b"ERROR")
CONNECT = crlf(b"CONNECT")


def open_as_in_4_1(sim):
    """The manual's 4.1 up to +QFTPOPEN:0: context settings, account, open."""
    sim.command(b"AT+QIFGCNT=0", OK)
    sim.command(b'AT+QICSGP=1,"CMNET"', OK)
    sim.command(b'AT+QFTPUSER="quectel"', OK)
    sim.command(b'AT+QFTPPASS="123456"', OK)
    sim.command(b'AT+QFTPOPEN="quectel.3322.org",21', OK)
    sim.expect(crlf(b"+QFTPOPEN:0"))


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def payload(size, seed=1):
    """Deterministic bytes of every value (0x00-0xFF, CR, LF, '+', 'A', 'T' included), so a
    transfer that loses, adds or reinterprets any byte is caught."""
    out = bytearray()
    x = seed
    while len(out) < size:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


class FtpTestCase(QuecsimTestCase):
    """A test with a served folder (`self.root`) and helpers for the AT+QFTP* exchanges."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="quecsim-ftp-root-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def start_ftp(self, *args, faults=None, echo_off=True, scale="0.02", **kwargs):
        """A module whose embedded FTP server serves self.root; `faults` (a list of rule dicts)
        go to the server as a --ftp-faults file. Simulated time runs at `scale`."""
        extra = ["--ftp-root", self.root, "--time-scale", scale]
        if "--state-dir" not in args:
            # A private storage folder, not the shared one beside a temporary FTP root.
            state = tempfile.mkdtemp(prefix="quecsim-state-")
            self.addCleanup(shutil.rmtree, state, True)
            extra += ["--state-dir", state]
        if faults is not None:
            path = os.path.join(tempfile.mkdtemp(prefix="quecsim-faults-"), "faults.json")
            self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
            with open(path, "w") as f:
                json.dump({"rules": faults}, f)
            extra += ["--ftp-faults", path]
        sim = self.start("--no-power-up-lines", *extra, *args, **kwargs)
        if echo_off:
            sim.echo_off()
        return sim

    def result(self, sim, line, urc, timeout=None):
        """Sends an AT+QFTP command and expects OK and then its result line."""
        kwargs = {} if timeout is None else {"timeout": timeout}
        sim.command(line, OK)
        sim.expect(crlf(urc), **kwargs)

    def open_service(self, sim, host=b"ftp.example.com", port=b"21"):
        self.result(sim, b'AT+QFTPOPEN="' + host + b'",' + port, b"+QFTPOPEN:0")

    def served(self, name):
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()

    def serve(self, name, data):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def ftp_commands(self, sim):
        """The FTP control lines the module sent, from its transcript."""
        return [r["data"] for r in sim.transcript_records() if r["event"] == "ftp_tx"]
