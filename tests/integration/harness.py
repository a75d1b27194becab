"""A harness that runs the real quecsim binary and talks to it over its real pty.

Standard library only, for Debian's /usr/bin/python3. ctest sets QUECSIM_BIN to the binary.

    from harness import QuecsimTestCase

    class EchoTest(QuecsimTestCase):
        def test_echo_is_on_after_power_up(self):
            sim = self.start("--no-power-up-lines")
            sim.send(b"AT\\r")
            sim.expect(b"AT\\r\\r\\nOK\\r\\n")

What it offers:
  - `Quecsim(*args, ...)` starts `quecsim --ready-json --boot-delay 0 <args>`, reads the ready
    line and opens the pty in raw mode without flushing it. The module answers from the start;
    its power-up lines follow the boot delay after that first open: at once.
  - `send(bytes)`, `expect(bytes, timeout)` (exact bytes, nothing before them, fails at the first
    wrong byte with both sides shown), `read_for(seconds)` (everything arriving in a window: use
    it only where silence must be proven), `expect_silence(seconds)`.
  - `reopen()` closes and reopens the pty as a restarted terminal program would; `close()` ends
    the process with SIGTERM (or another signal) and checks exit code 0 and the --link removal.
  - `transcript=True` passes `--transcript FILE` and `transcript_records()` reads it back.
  - `control` is the control socket's path from the ready line (None without one).
  - `run_quecsim(*args)` runs the binary to completion (CLI errors) and returns its result.
  - `QuecsimTestCase.start(...)` makes a `Quecsim` that is cleaned up even when a test fails.

Byte strings are compared exactly; every timeout is a bound, never a sleep: `expect` returns as
soon as the bytes arrive. Set QUECSIM_TIMEOUT_FACTOR (e.g. 5 under sanitizers) to stretch every
default timeout.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import termios
import time
import tty
import unittest

__all__ = ["Quecsim", "QuecsimTestCase", "quecsim_binary", "run_quecsim", "crlf", "TIMEOUT",
           "derived_profile"]

# Default bound for one expected response; generous because CI runs under sanitizers on 2 cores.
TIMEOUT = 5.0 * float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1"))
# How long a failing expect() keeps reading to show what else arrived.
_TAIL_AFTER_MISMATCH = 0.2


def quecsim_binary():
    """The quecsim binary under test: $QUECSIM_BIN (ctest sets it) or ../../build/sim/quecsim."""
    path = os.environ.get("QUECSIM_BIN")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "sim", "quecsim")
    if not os.access(path, os.X_OK):
        raise RuntimeError("quecsim binary not found at %r: set QUECSIM_BIN" % path)
    return path


def crlf(text):
    """A verbose-mode response line: `\\r\\n<text>\\r\\n` (text may be str or bytes)."""
    if isinstance(text, str):
        text = text.encode("latin-1")
    return b"\r\n" + text + b"\r\n"


def derived_profile(test, model, change):
    """The path of a profile file made from the shipped `model` with `change(profile)` applied
    to its JSON, in a folder removed when `test` ends."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "profiles",
                           model + ".json")) as f:
        profile = json.load(f)
    change(profile)
    folder = tempfile.mkdtemp(prefix="quecsim-profile-")
    test.addCleanup(shutil.rmtree, folder, True)
    path = os.path.join(folder, model + "-derived.json")
    with open(path, "w") as f:
        json.dump(profile, f)
    return path


def run_quecsim(*args, timeout=TIMEOUT, env=None):
    """Runs quecsim with `args` to completion (for command-line errors) and returns the
    subprocess.CompletedProcess with text stdout/stderr."""
    return subprocess.run([quecsim_binary(), *args], capture_output=True, text=True,
                          timeout=timeout, env=_environment(env), check=False)


def _environment(extra):
    env = dict(os.environ)
    if extra:
        env.update(extra)
    return env


def _shorten(data, around, width=160):
    """repr() of `data`, cut to `width` bytes around offset `around` when it is long."""
    if len(data) <= width:
        return repr(data)
    start = max(0, min(around - width // 2, len(data) - width))
    return "%s%r%s (%d bytes)" % ("..." if start else "", data[start:start + width],
                                  "..." if start + width < len(data) else "", len(data))


def _describe(expected, got, complete):
    """A failure message showing both byte strings (cut around the point where they part)."""
    at = 0
    while at < min(len(expected), len(got)) and expected[at] == got[at]:
        at += 1
    lines = ["expected: %s" % _shorten(expected, at),
             "received: %s%s" % (_shorten(got, at), "" if complete else " (then nothing)")]
    if at < len(got):
        lines.append("first difference at byte %d: expected %r, received %r"
                     % (at, expected[at:at + 1], got[at:at + 1]))
    else:
        lines.append("missing from byte %d: %s" % (at, _shorten(expected[at:], 0)))
    return "\n".join(lines)


class Quecsim:
    """One running quecsim process and the host's end of its pty.

    args:       extra command-line arguments (e.g. "--baud", "0", "--model", "M10").
    transcript: True for a transcript in a private temporary folder, or a path.
    link:       True for a --link symlink in a private temporary folder, or a path.
    env:        extra environment variables for the process.
    baud:       the --baud value (default 0: no pacing, so tests run fast); None passes none.
    boot_delay: the --boot-delay value in ms (default 0, so tests run fast: the power-up lines
                come the moment the harness opens the pty); None keeps the profile's delay.
    open_port:  open the pty at once (default); False to open it later with `open()`.
    """

    def __init__(self, *args, transcript=None, link=None, env=None, baud=0, open_port=True,
                 start_timeout=TIMEOUT, boot_delay=0):
        self.fd = None
        self.proc = None
        self._pending = b""  # bytes read from the pty and not yet consumed by expect()
        self._tmp = tempfile.mkdtemp(prefix="quecsim-it-")
        self.transcript_path = None
        self.link = None
        command = [quecsim_binary(), "--ready-json"]
        if baud is not None:
            command += ["--baud", str(baud)]
        if boot_delay is not None:
            command += ["--boot-delay", str(boot_delay)]
        if not transcript and os.environ.get("QUECSIM_REPLAY"):
            transcript = True  # every run is replayed: each needs its transcript
        if transcript:
            self.transcript_path = (os.path.join(self._tmp, "transcript.jsonl")
                                    if transcript is True else str(transcript))
            command += ["--transcript", self.transcript_path]
        if link:
            self.link = os.path.join(self._tmp, "modem") if link is True else str(link)
            command += ["--link", self.link]
        command += [str(a) for a in args]
        self.argv = command  # the full command line, for messages
        self._stderr = open(os.path.join(self._tmp, "stderr"), "w+b")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=_environment(env))
        try:
            self.ready = self._read_ready(start_timeout)
            # With --modules N the ready line lists the modules; the port is module 0's.
            self.modules = self.ready.get("modules", [self.ready])
            self.pty = self.modules[0]["pty"]
            self.pid = self.ready["pid"]
            self.model = self.ready.get("model")
            # The control socket's path (--control, or beside --link), None without one.
            self.control = self.ready.get("control")
            if open_port:
                self.open()
        except BaseException:
            self.kill()
            raise

    # ---- process ------------------------------------------------------------------------------

    def _read_ready(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        out = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            readable = select.select([out], [], [], max(0.0, left))[0] if left > 0 else []
            if not readable:
                raise AssertionError("quecsim printed no ready line within %.1fs (stdout %r, "
                                     "stderr %r)" % (timeout, line, self.stderr()))
            chunk = os.read(out, 4096)
            if not chunk:
                self.proc.wait(timeout)
                raise AssertionError("quecsim exited with %s before it was ready: %r"
                                     % (self.proc.returncode, self.stderr()))
            line += chunk
        if line.count(b"\n") != 1:
            raise AssertionError("--ready-json must print exactly one line, got %r" % line)
        return json.loads(line)

    def stderr(self):
        """Everything the process wrote on stderr so far."""
        self._stderr.flush()
        with open(self._stderr.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def running(self):
        """Whether the process is still alive."""
        return self.proc is not None and self.proc.poll() is None

    def close(self, sig=signal.SIGTERM, expect_code=0, timeout=TIMEOUT):
        """Closes the pty, ends the process with `sig` and waits for it. Checks the exit code
        (unless expect_code is None) and that the --link symlink is gone. Returns the code."""
        self.close_port()
        if self.running():
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("quecsim did not exit within %.1fs of %s"
                                 % (timeout, signal.Signals(sig).name))
        # The ready line was the only thing quecsim may print on stdout.
        extra = self.proc.stdout.read()
        self.proc.stdout.close()
        stderr = self.stderr()
        if expect_code is not None and code != expect_code:
            raise AssertionError("quecsim exited with %d after %s, expected %d; stderr: %r"
                                 % (code, signal.Signals(sig).name, expect_code, stderr))
        if extra:
            raise AssertionError("quecsim printed more than the ready line: %r" % extra)
        if self.link and os.path.lexists(self.link):
            raise AssertionError("the --link symlink %s is still there after exit" % self.link)
        return code

    def kill(self):
        """Ends the process at once if it still runs, and deletes the temporary folder (the
        transcript with it): test cleanup. Safe to call after close()."""
        self.close_port()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None and self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        try:
            if os.environ.get("QUECSIM_REPLAY"):
                self._replay()
        finally:
            self._cleanup_files()

    def _replay(self):
        """QUECSIM_REPLAY=1: replays the ended run's transcript with `quecsim replay` and fails
        on a divergence; a transcript that cannot be replayed is not a failure. With
        QUECSIM_REPLAY_LOG=FILE each outcome is appended to FILE as one JSON line instead, for
        the caller to judge."""
        path, self.transcript_path = self.transcript_path, None  # once per run
        if self.proc is None or not path or not os.path.exists(path) or not os.path.getsize(path):
            return
        # QUECSIM_REPLAY_SPEED=N replays N times faster (quecsim replay --speed).
        speed = ["--speed", os.environ["QUECSIM_REPLAY_SPEED"]] \
            if os.environ.get("QUECSIM_REPLAY_SPEED") else []
        done = subprocess.run([quecsim_binary(), "replay", path, "--timeout", str(TIMEOUT),
                               *speed], capture_output=True, text=True, timeout=600,
                              check=False)
        log = os.environ.get("QUECSIM_REPLAY_LOG")
        if log:
            with open(log, "a") as f:
                f.write(json.dumps({"test": getattr(self, "test_id", ""),
                                    "argv": self.argv, "code": done.returncode,
                                    "out": done.stdout + done.stderr}) + "\n")
        elif done.returncode not in (0, 3):
            raise AssertionError("quecsim replay %s: exit %d\n%s%s"
                                 % (path, done.returncode, done.stdout, done.stderr))

    def _cleanup_files(self):
        if self._stderr and not self._stderr.closed:
            self._stderr.close()
        if self._tmp and os.path.isdir(self._tmp) and not os.environ.get("QUECSIM_KEEP_TMP"):
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.close()
        finally:
            self.kill()

    # ---- the pty ------------------------------------------------------------------------------

    def open(self, path=None):
        """Opens the pty (or `path`, e.g. the link) in raw mode. TCSANOW, not TCSAFLUSH: bytes
        the module already sent (the power-up lines) must stay readable."""
        if self.fd is not None:
            raise RuntimeError("the pty is already open")
        self.fd = os.open(path or self.pty, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd, termios.TCSANOW)
        self._pending = b""

    def close_port(self):
        """Closes the host's end of the pty (the module keeps running)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self._pending = b""

    def reopen(self, path=None):
        """Closes the pty and opens it again, as a restarted terminal program does."""
        self.close_port()
        self.open(path)

    def send(self, data):
        """Writes all of `data` (bytes) to the module."""
        if isinstance(data, str):
            raise TypeError("send() takes bytes, not str")
        view = memoryview(data)
        deadline = time.monotonic() + TIMEOUT
        while view:
            try:
                n = os.write(self.fd, view)
                view = view[n:]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AssertionError("the module stopped taking bytes (%d left)" % len(view))
                select.select([], [self.fd], [], 0.05)

    def _read(self, limit, timeout):
        """Up to `limit` bytes, waiting at most `timeout`; b"" when nothing came."""
        if select.select([self.fd], [], [], max(0.0, timeout))[0]:
            try:
                return os.read(self.fd, limit)
            except BlockingIOError:
                return b""
        return b""

    def expect(self, expected, timeout=TIMEOUT):
        """Reads exactly len(expected) bytes and checks they are `expected`. Fails (an
        AssertionError showing what arrived) at the first wrong byte or when `timeout` passes.
        Returns the bytes."""
        if isinstance(expected, str):
            raise TypeError("expect() takes bytes, not str")
        deadline = time.monotonic() + timeout
        got = self._pending[:len(expected)]
        self._pending = self._pending[len(expected):]
        while True:
            if not expected.startswith(got):
                got += self._pending + self.read_for(_TAIL_AFTER_MISMATCH)
                self._pending = b""
                raise AssertionError("wrong bytes from the module\n" + _describe(expected, got, True))
            if len(got) == len(expected):
                return got
            left = deadline - time.monotonic()
            chunk = self._read(len(expected) - len(got), left) if left > 0 else b""
            if not chunk:
                raise AssertionError("timed out after %.1fs waiting for the module\n%s"
                                     % (timeout, _describe(expected, got, False)))
            got += chunk

    def read_for(self, seconds):
        """Everything that arrives within `seconds` (plus anything already read). Use only where
        silence (or an unbounded stream) must be observed; otherwise use expect()."""
        out, self._pending = self._pending, b""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            out += self._read(65536, left)

    def expect_silence(self, seconds=0.2):
        """Checks the module sends nothing for `seconds`."""
        extra = self.read_for(seconds)
        if extra:
            raise AssertionError("expected silence for %.2fs, received %r" % (seconds, extra))

    def command(self, line, response, echo=False, timeout=TIMEOUT):
        """Sends `line` + CR and expects `response` exactly (preceded by the echo of the line when
        `echo` is true). A shorthand for send() then expect()."""
        data = line + b"\r"
        self.send(data)
        return self.expect((data if echo else b"") + response, timeout)

    def skip_power_up(self, timeout=TIMEOUT):
        """Consumes the five power-up lines (RDY first)."""
        self.expect(POWER_UP_LINES, timeout)

    def echo_off(self):
        """Sends ATE0 (echo still on for this line) and consumes its answer."""
        self.command(b"ATE0", b"\r\nOK\r\n", echo=True)

    # ---- transcript ---------------------------------------------------------------------------

    def transcript_records(self):
        """The transcript as a list of dicts, each line checked to be one JSON object. Readable
        until kill() (or the test's cleanup) deletes the temporary folder; read it after close()
        to be sure the module's last records are in."""
        records = []
        with open(self.transcript_path, "rb") as f:
            for number, raw in enumerate(f, 1):
                if not raw.endswith(b"\n"):
                    raise AssertionError("transcript line %d is not terminated: %r" % (number, raw))
                try:
                    record = json.loads(raw)
                except ValueError as e:
                    raise AssertionError("transcript line %d is not JSON (%s): %r"
                                         % (number, e, raw))
                if not isinstance(record, dict):
                    raise AssertionError("transcript line %d is not an object: %r" % (number, raw))
                records.append(record)
        return records

    def transcript_bytes(self, event):
        """All bytes of one direction ("rx": host to module, "tx": module to host), joined."""
        return b"".join(record_bytes(r) for r in self.transcript_records() if r["event"] == event)


def record_bytes(record):
    """A transcript record's data as bytes (the transcript writes each byte as one Latin-1 code
    point, so this is lossless)."""
    return record["data"].encode("latin-1")


def _finish(sim):
    try:
        if sim.running():
            sim.close()
    finally:
        sim.kill()


POWER_UP_LINES = (b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n"
                  b"\r\nSMS Ready\r\n")


class QuecsimTestCase(unittest.TestCase):
    """A TestCase whose `start()` makes a Quecsim that is ended when the test ends, pass or fail:
    with SIGTERM and the exit-code check of close() if the test left it running (so a sanitizer
    report at exit fails the test), then kill() and its temporary files removed."""

    def start(self, *args, **kwargs):
        sim = Quecsim(*args, **kwargs)
        sim.test_id = self.id()  # names the run in a QUECSIM_REPLAY_LOG
        self.addCleanup(_finish, sim)
        return sim

    def start_quiet(self, *args, **kwargs):
        """A module without power-up lines and with echo off: only responses on the wire."""
        sim = self.start("--no-power-up-lines", *args, **kwargs)
        sim.echo_off()
        return sim
