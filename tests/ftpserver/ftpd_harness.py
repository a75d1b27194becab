"""Starts quecsim-ftpd for a test: a fresh root, port 0, --ready-json, a JSON Lines record.

Used by the interop tests; run them with /usr/bin/python3 (Debian's interpreter).
"""
import ftplib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile

FTPD = os.environ.get("QUECSIM_FTPD", "")


class Server:
    """quecsim-ftpd in a child process. `with Server(...) as s:` starts it and, on exit,
    stops it with SIGTERM and checks that it ended cleanly (exit status 0)."""

    def __init__(self, *args, root=None, files=None, nofile=None):
        if not FTPD or not os.access(FTPD, os.X_OK):
            raise RuntimeError("QUECSIM_FTPD must name the quecsim-ftpd executable")
        self.args = list(args)
        self.base = tempfile.mkdtemp(prefix="quecsim-ftpd-it-")
        self.root = root or os.path.join(self.base, "root")
        self.outside = os.path.join(self.base, "outside")
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(self.outside, exist_ok=True)
        with open(os.path.join(self.outside, "secret.txt"), "wb") as f:
            f.write(b"SECRET")
        for name, data in (files or {}).items():
            path = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        self.record = os.path.join(self.base, "record.jsonl")
        self.proc = None
        self.port = None
        self.nofile = nofile

    def __enter__(self):
        cmd = [FTPD, "--root", self.root, "--port", "0", "--ready-json", "--record",
               self.record] + self.args
        limit = None
        if self.nofile:
            import resource

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=limit)
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read().decode()
            self.proc.wait(5)
            raise RuntimeError("quecsim-ftpd did not start: " + err)
        ready = json.loads(line)
        assert ready["address"] == "127.0.0.1", ready
        assert ready["root"] == os.path.realpath(self.root), ready
        self.port = ready["port"]
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
        return False

    def stop(self):
        """SIGTERM, then the exit status must be 0 and nothing more on stdout."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("quecsim-ftpd did not end on SIGTERM")
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        self.proc = None
        assert rc == 0, "quecsim-ftpd exited %d" % rc
        assert rest == b"", rest

    @property
    def url(self):
        return "ftp://127.0.0.1:%d" % self.port

    def path(self, name):
        return os.path.join(self.root, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)

    def events(self):
        """Every record line so far, as dicts {session, kind, text}."""
        out = []
        if not os.path.exists(self.record):
            return out
        with open(self.record, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
        return out

    def commands(self, session=None):
        return [e["text"] for e in self.events()
                if e["kind"] == "command" and (session is None or e["session"] == session)]

    def sessions(self):
        return sorted({e["session"] for e in self.events()})

    def faults(self):
        return [e["text"] for e in self.events() if e["kind"] == "fault"]

    def ftp(self, user="u", passwd="p", timeout=10):
        c = ftplib.FTP(timeout=timeout)
        c.connect("127.0.0.1", self.port)
        c.login(user, passwd)
        return c

    def raw(self, timeout=10):
        """A raw control connection, greeting read."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        f = s.makefile("rb")
        greeting = f.readline()
        assert greeting == b"220 quecsim-ftpd ready.\r\n", greeting
        return s, f


def run(cmd, timeout=30, **kw):
    """Runs a client; returns CompletedProcess with bytes."""
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          **kw)
