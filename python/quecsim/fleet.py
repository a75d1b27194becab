"""Hosts for the modules of a `quecsim --modules N` process: each module's host is a small
script, and one selector loop per host thread drives them all; plus the process and its
/proc figures. bench/fleet/ (benchmark, soak, flood) and tests/integration/test_fleet.py use
it. Standard library only, for Debian's /usr/bin/python3.

A host script is a generator per module that yields what it wants from the module's pty:

    yield Send(b"AT\r")                 # queue bytes (written as the pty takes them)
    yield Expect(b"\r\nOK\r\n")          # exactly these bytes next, else the run fails
    line = yield Line()                  # the next CRLF-framed line outside data mode
    got, text = yield Data(expected, b"+QFTPGET:")   # data-mode bytes, then the result line
    yield Flush()                        # wait until the module has taken the queued bytes
    yield Discard(True)                  # drop (count) what the module sends from now on
    yield Quiet(0.3)                     # wait until the module has been silent that long

The loop writes only as fast as the pty takes bytes and reads whenever there is something, so
a module that stops reading never blocks the others, and echo never fills the pty's buffer.
Every wait has a deadline: a module silent for `timeout` seconds fails the run, naming the
module and what its host waited for.
"""

import hashlib
import json
import os
import random
import selectors
import signal
import subprocess
import termios
import threading
import time
import tty

OK = b"\r\nOK\r\n"
CONNECT = b"\r\nCONNECT\r\n"


def crlf(text):
    return b"\r\n" + text + b"\r\n"


class HostError(RuntimeError):
    """A module answered something else than its host expected, or nothing in time."""


# ---- what a host script yields --------------------------------------------------------------


class Send:
    def __init__(self, data):
        self.data = data


class Expect:
    def __init__(self, data):
        self.data = data


class Line:
    """The next line: skips empty ones, returns the text without CRLF."""


class Data:
    """Data mode after CONNECT: the bytes that follow are a prefix of `expected` (all of it when
    the transfer completes), then CRLF + `result` + <text> + CRLF. Returns (bytes, text): how
    many bytes of `expected` arrived and the result's text after `result`. A byte that differs
    from `expected` and does not start the result line fails the run (a lost or changed byte).
    """

    def __init__(self, expected, result):
        self.expected = expected
        self.result = crlf(result)[:-2]


class Flush:
    """Wait until every queued byte has been written (a flooder's pacing)."""


class Discard:
    """From now on (True) drop everything the module sends, counting it in `Host.discarded`;
    False keeps it again. A flooder reads the echo this way without storing it."""

    def __init__(self, on):
        self.on = on


class Quiet:
    """Wait until the module has sent nothing for this many seconds."""

    def __init__(self, seconds):
        self.seconds = seconds


class Sleep:
    """Wait this many seconds (a pause between cycles), reading meanwhile."""

    def __init__(self, seconds):
        self.seconds = seconds


# ---- one module's host ----------------------------------------------------------------------


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    tty.setraw(fd, termios.TCSANOW)
    return fd


class Host:
    """One module's pty and the script driving it."""

    def __init__(self, index, path, script, timeout):
        self.index = index
        self.path = path
        self.fd = open_raw(path)
        self.script = script
        self.timeout = timeout
        self.inbuf = bytearray()
        self.out = bytearray()
        self.want = None
        self.since = time.monotonic()
        self.done = False
        self.data_pos = 0  # Data: bytes of `expected` matched so far
        self.wake_at = None
        self.last_rx = time.monotonic()
        self.discarding = False
        self.discarded = 0
        self.written = 0

    def close(self):
        os.close(self.fd)

    def fail(self, why):
        shown = bytes(self.inbuf[:200])
        raise HostError("module %d (%s): %s; waiting for %s; received %r" %
                        (self.index, self.path, why, describe(self.want), shown))

    def start(self):
        self.resume(None)

    def resume(self, value):
        try:
            self.want = self.script.send(value)
        except StopIteration:
            self.want = None
            self.done = True
            return
        self.since = time.monotonic()
        self.data_pos = 0
        if isinstance(self.want, Sleep):
            self.wake_at = self.since + self.want.seconds

    def advance(self, now):
        """Satisfies as many requests as the buffered bytes allow."""
        while not self.done:
            w = self.want
            if isinstance(w, Send):
                self.out += w.data
                self.resume(None)
            elif isinstance(w, Expect):
                n = len(w.data)
                have = min(n, len(self.inbuf))
                if self.inbuf[:have] != w.data[:have]:
                    self.fail("unexpected bytes")
                if have < n:
                    return
                del self.inbuf[:n]
                self.resume(None)
            elif isinstance(w, Line):
                while self.inbuf.startswith(b"\r\n"):
                    del self.inbuf[:2]
                end = self.inbuf.find(b"\r\n")
                if end < 0:
                    if len(self.inbuf) > 4096:
                        self.fail("a line longer than 4096 bytes")
                    return
                text = bytes(self.inbuf[:end])
                del self.inbuf[:end + 2]
                self.resume(text)
            elif isinstance(w, Data):
                if not self.take_data(w):
                    return
            elif isinstance(w, Flush):
                if self.out:
                    return
                self.resume(None)
            elif isinstance(w, Discard):
                self.discarding = w.on
                self.discarded += len(self.inbuf) if w.on else 0
                if w.on:
                    del self.inbuf[:]
                self.resume(None)
            elif isinstance(w, Quiet):
                if now - self.last_rx < w.seconds:
                    return
                self.resume(None)
            elif isinstance(w, Sleep):
                if now < self.wake_at:
                    return
                self.wake_at = None
                self.resume(None)
            else:
                raise TypeError("a host script yielded %r" % (w,))

    def take_data(self, w):
        exp = w.expected
        pos = self.data_pos
        # Match as many buffered bytes as possible against the expected data.
        n = min(len(self.inbuf), len(exp) - pos)
        if n > 0 and self.inbuf[:n] == exp[pos:pos + n]:
            del self.inbuf[:n]
            pos += n
        elif n > 0:
            for i in range(n):
                if self.inbuf[i] != exp[pos + i]:
                    break
            del self.inbuf[:i]
            pos += i
        self.data_pos = pos
        # What does not match (or follows all of it) must be the result line.
        head = bytes(self.inbuf[:len(w.result)])
        if not w.result.startswith(head):
            self.fail("byte %d of the data differs from what was sent" % pos)
        if len(head) < len(w.result):
            return False
        end = self.inbuf.find(b"\r\n", len(w.result))
        if end < 0:
            return False
        text = bytes(self.inbuf[len(w.result):end])
        del self.inbuf[:end + 2]
        self.resume((pos, text))
        return True


def describe(want):
    if isinstance(want, Expect):
        return "%r" % want.data[:80]
    if isinstance(want, Line):
        return "a line"
    if isinstance(want, Data):
        return "data then %r" % want.result
    if isinstance(want, (Sleep, Quiet)):
        return "a pause"
    if isinstance(want, Flush):
        return "the module to take the bytes queued for it"
    return repr(want)


# ---- hosts that bench/fleet and the tests share ------------------------------------------------

FLOOD_CHUNK = 1 << 16
FLOOD_LINE = 1 << 20  # an overlong line: "AT", letters, CR


def flood_host(random_bytes, line_bytes, seed, state):
    """A flooding host: `random_bytes` of seeded random bytes, then `line_bytes` of overlong
    lines, into a module with echo on, reading and dropping everything it sends back; then a
    CR and ATE1V1Q0 (the random bytes may have held an ATE0, ATV0 or ATQ1), silence, and the
    next AT must be answered exactly. `state["phase"]` tells other hosts when it is over;
    `state["answer_s"]` is how long that AT took."""
    yield Discard(True)
    rng = random.Random(seed)
    sent = 0
    state["phase"] = "random"
    while sent < random_bytes:
        n = min(FLOOD_CHUNK, random_bytes - sent)
        yield Send(rng.randbytes(n))
        yield Flush()
        sent += n
    state["phase"] = "lines"
    line = b"AT" + b"Q" * (FLOOD_LINE - 3) + b"\r"
    sent = 0
    while sent < line_bytes:
        piece = line[:min(len(line), line_bytes - sent)]
        for at in range(0, len(piece), FLOOD_CHUNK):
            yield Send(piece[at:at + FLOOD_CHUNK])
            yield Flush()
        sent += len(piece)
    yield Send(b"\rATE1V1Q0\r")
    yield Flush()
    state["phase"] = "settling"
    yield Quiet(0.5)
    yield Discard(False)
    t = time.monotonic()
    yield Send(b"AT\r")
    yield Expect(b"AT\r" + OK)
    state["answer_s"] = time.monotonic() - t
    state["phase"] = "done"


def transfer_host(index, data, state, stats):
    """A transferring host: OPEN / PUT `data` / GET it back / CLOSE cycles until
    `state["phase"]` is "done" (one at least), every byte checked; the files are m<index>-<c>.bin
    (c < 8). Counts into `stats` ("cycles", "bytes") and leaves in stats["files"][index] the
    number of files and their SHA-256 for a check on the server."""
    size = len(data)
    yield Send(b"ATE0\r")
    yield Expect(b"ATE0\r" + OK)
    c = 0
    while c == 0 or state["phase"] != "done":
        name = b"m%d-%d.bin" % (index, c % 8)
        yield Send(b'AT+QFTPOPEN="flood.example",21\r')
        yield Expect(OK + crlf(b"+QFTPOPEN:0"))
        yield Send(b'AT+QFTPPUT="' + name + b'",%d\r' % size)
        yield Expect(OK + CONNECT)
        yield Send(data)
        yield Expect(crlf(b"+QFTPPUT:%d" % size))
        yield Send(b'AT+QFTPGET="' + name + b'"\r')
        yield Expect(OK + CONNECT)
        got, text = yield Data(data, b"+QFTPGET:")
        if got != size or text != b"%d" % size:
            raise HostError("module %d: GET ended after %d bytes: %r" % (index, got, text))
        yield Send(b"AT+QFTPCLOSE\r")
        yield Expect(OK + crlf(b"+QFTPCLOSE:0"))
        stats["cycles"] += 1
        stats["bytes"] += 2 * size
        c += 1
    stats["files"][index] = (min(c, 8), hashlib.sha256(data).hexdigest())


# ---- the loop -------------------------------------------------------------------------------


def drive(hosts, deadline=None):
    """Runs the hosts' scripts to their end on one selector; raises HostError on the first
    failure (after which the caller stops the process). Each round costs what its ready
    descriptors cost, not what the number of hosts does."""
    sel = selectors.DefaultSelector()
    registered = {}
    now = time.monotonic()
    for h in hosts:
        h.start()
        sel.register(h.fd, selectors.EVENT_READ, h)
        registered[h.fd] = selectors.EVENT_READ
    live = set(hosts)
    touched = set(hosts)  # hosts whose state may have moved since they were last advanced
    last_check = now
    while live:
        for h in touched:
            h.advance(now)
            if h.done and not h.out:
                live.discard(h)
                continue
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if h.out else 0)
            if registered[h.fd] != want:
                sel.modify(h.fd, want, h)
                registered[h.fd] = want
        touched = set()
        if not live:
            break
        timed = [h for h in live if isinstance(h.want, (Sleep, Quiet))]
        for key, mask in sel.select(0.01 if timed else 0.2):
            h = key.data
            touched.add(h)
            if mask & selectors.EVENT_WRITE and h.out:
                try:
                    n = os.write(h.fd, h.out[:65536])
                    del h.out[:n]
                    h.written += n
                    h.since = time.monotonic()  # a module taking bytes is not silent
                except BlockingIOError:
                    pass
            if mask & selectors.EVENT_READ:
                try:
                    chunk = os.read(h.fd, 65536)
                except BlockingIOError:
                    chunk = b""
                if chunk:
                    h.last_rx = time.monotonic()
                if h.discarding:
                    h.discarded += len(chunk)
                    if chunk:
                        h.since = time.monotonic()
                else:
                    h.inbuf += chunk
        now = time.monotonic()
        touched.update(timed)
        if now - last_check > 0.5:
            last_check = now
            for h in live:
                if isinstance(h.want, (Sleep, Quiet)):
                    continue
                if now - h.since > h.timeout:
                    h.fail("nothing more for %.1f s" % (now - h.since))
            if deadline is not None and now > deadline:
                raise HostError("the run passed its deadline with %d modules busy" % len(live))
    sel.close()


def drive_threads(hosts, threads):
    """Splits the hosts over `threads` host threads, each with its own selector loop."""
    if threads <= 1:
        return drive(hosts)
    errors = []

    def run(part):
        try:
            drive(part)
        except Exception as e:  # reported after every thread has ended
            errors.append(e)

    parts = [hosts[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=run, args=(p,)) for p in parts if p]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


# ---- the process ----------------------------------------------------------------------------


class Fleet:
    """`quecsim --modules N --ready-json` with any extra flags; `modules` lists the ready
    JSON's per-module objects (the whole object for N = 1)."""

    def __init__(self, binary, n, args, stderr=None):
        argv = [binary, "--ready-json"] + (["--modules", str(n)] if n != 1 else []) + list(args)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     stderr=stderr)
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(30)
            raise RuntimeError("quecsim --modules %d did not start (exit %s)" % (n, code))
        self.ready = json.loads(line)
        self.modules = self.ready["modules"] if "modules" in self.ready else [self.ready]
        self.pid = self.ready["pid"]

    def stop(self):
        """SIGTERM; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def status(self, key):
        """A /proc/<pid>/status field in kB (VmRSS, VmHWM, RssAnon)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss_kib(self):
        return self.status("VmRSS")

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def cpu_seconds(self):
        """User + system CPU time the process used so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Samples RSS and descriptor count of a process every `period` seconds on a thread."""

    def __init__(self, fleet, period=0.5):
        self.fleet = fleet
        self.period = period
        self.samples = []  # (seconds since start, rss KiB, fds)
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self._t0, self.fleet.rss_kib(),
                                     self.fleet.fds()))
            except (OSError, KeyError):
                return
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.samples


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def pty_room(margin=256):
    """How many more ptys this machine can open while leaving `margin` for everyone else."""
    with open("/proc/sys/kernel/pty/max") as f:
        most = int(f.read())
    with open("/proc/sys/kernel/pty/nr") as f:
        used = int(f.read())
    return max(0, most - used - margin)


def raise_nofile():
    """The host side holds one descriptor per module: lift its soft limit to the hard one."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard
