"""The integrity property test's parts: the faults (taken from the scenario library and retargeted
to a random step), a reader for the module's output that tells a download's bytes from its
result line, and the transfer, check and recovery of one case.

A case moves one file (0 to 4 MiB) one way (AT+QFTPGET or AT+QFTPPUT) through one position
(/COM/, UFS, RAM, SD), from a resume point, while one fault is armed live through the control
socket. Then it does what a robust driver does: while the transfer is incomplete, AT+QFTPCLOSE,
AT+QFTPOPEN, ask where to resume (the host's own count for a /COM/ download, AT+QFLST for a
stored one, AT+QFTPSIZE for an upload) and send the rest with AT+QFTPCFG=3,<offset>. What each
attempt's result line claims is checked against what truly arrived, and the file that ends up
complete against the original (SHA-256 on both sides). Every wait is bounded."""

import copy
import hashlib
import json
import os
import re
import select
import time

from harness import TIMEOUT

MIB = 1 << 20
MAX_SIZE = 4 * MIB
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
# Bound on silence while a transfer or a command is expected to make progress.
IDLE = 3 * TIMEOUT
# A robust driver gives up after this many attempts at one file.
ATTEMPTS = 6

AREA = {"ufs": b"UFS", "ram": b"RAM", "sd": b"SD"}
PREFIX = {"ufs": b"", "ram": b"RAM:", "sd": b"SD:"}
URCS = (b"+PDP DEACT", b"+QFTPERROR:")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def profile(folder):
    """M33 with storage room for 4 MiB files in every area (the property is about transfers,
    not capacity: a full area has tests of its own). Returns the profile file's path."""
    with open(os.path.join(SOURCE, "profiles", "M33.json")) as f:
        data = json.load(f)
    data.pop("$schema", None)
    data["storage"].update({"ufs_capacity": 64 * MIB, "ram_capacity": 64 * MIB,
                            "sd_capacity": 64 * MIB, "ram_get_reserve": 8 * MIB})
    path = os.path.join(folder, "M33-large.json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


# ---- faults ---------------------------------------------------------------------------------


def library():
    """The scenario library's files by name."""
    folder = os.path.join(SOURCE, "scenarios")
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json") and name != "schema.json":
            with open(os.path.join(folder, name)) as f:
                out[name[:-5]] = json.load(f)
    return out


def _action(scenario, action, **match):
    """The first action of `scenario`'s events (or its server fault rules, as a server_fault
    action) named `action` whose fields match."""
    for event in scenario.get("events", []):
        for step in event["do"]:
            if step["action"] == action and all(step.get(k) == v for k, v in match.items()):
                return copy.deepcopy(step)
    for rule in scenario.get("server", {}).get("faults", []):
        if rule["action"] == action:
            return {"action": "server_fault", "rule": copy.deepcopy(rule)}
    raise KeyError("scenario %s has no %s action" % (scenario["name"], action))


class Faults:
    """The transfer faults of the scenario library. `pick(rng, case)` returns (library name,
    live scenario): the library's action, retargeted at a random step of this case's transfer
    (a random byte offset, FTP command or reply)."""

    # Host-side UART faults (host_drop, host_garbage, ...) are left out: they model line noise
    # on the UART, which /COM/ data mode has no way to detect, so no integrity claim holds.
    # Module restarts are left out too: they end a transfer with the power-up lines, not a
    # result line.
    NAMES = ("data-reset-mid-get", "data-reset-mid-put", "transfer-ends-short",
             "pdp-deact-mid-get", "pdp-deact-mid-put", "link-stall", "server-drops-data",
             "server-refusals", "control-reset", "sliced-link", "jittery-link", "connect-refused",
             None)

    def __init__(self):
        self.library = library()
        missing = [n for n in self.NAMES if n and n not in self.library]
        if missing:
            raise AssertionError("the scenario library lacks %s" % ", ".join(missing))

    def pick(self, rng, case):
        name = rng.choice(self.NAMES)
        if name is None:
            return "none", None
        scenario = self.library[name]
        size = max(1, case.size - case.resume)
        down = case.direction == "get"
        verb = "RETR" if down else "STOR"
        at_bytes = {"bytes": rng.randint(1, size), "direction": "down" if down else "up"}
        if not down and case.position == "com" and rng.random() < 0.5:
            at_bytes["from"] = "connect"
        steps = [at_bytes, at_bytes, {"ftp_command": "PASV"}, {"ftp_command": verb},
                 {"ftp_reply": 150}, {"command": "AT+QFTP" + ("GET" if down else "PUT")}]
        if case.resume:
            steps.append({"ftp_command": "REST"})
        event = {"when": rng.choice(steps)}
        if name in ("data-reset-mid-get", "data-reset-mid-put", "transfer-ends-short"):
            step = _action(scenario, "close_data")
            step["after_bytes"] = rng.randint(0, size)
            step["direction"] = "down" if down else "up"
            event = {"when": {"ftp_command": "PASV"}, "do": [step]}
        elif name in ("pdp-deact-mid-get", "pdp-deact-mid-put"):
            event["do"] = [_action(scenario, "pdp_deact")]
        elif name == "link-stall":
            event["do"] = [_action(scenario, "stall")]
        elif name == "control-reset":
            event["do"] = [_action(scenario, "close_control")]
        elif name == "server-drops-data":
            step = _action(scenario, "data_drop")
            step["rule"].update({"command": verb, "after_bytes": rng.randint(0, size)})
            event = {"when": {"time_ms": 0}, "do": [step]}
        elif name == "server-refusals":
            event = {"when": {"time_ms": 0},
                     "do": [_action(scenario, "server_reply", command=verb)]}
        elif name == "connect-refused":
            step = _action(scenario, "connect_refuse")
            step["role"] = rng.choice(["data", "any"])
            event["do"] = [step]
        else:  # sliced-link, jittery-link: the link's shape for the whole transfer
            event = {"when": {"time_ms": 0}, "do": [_action(scenario, "toxic")]}
        live = {"name": "integrity-%d" % case.index,
                "description": "%s, retargeted at a random step" % name,
                "seed": rng.randint(1, 1 << 30), "events": [event]}
        return name, live


# ---- the module's output --------------------------------------------------------------------


def common_prefix(a, b, start):
    """The length of the common prefix of a and b, knowing the first `start` bytes agree."""
    n = min(len(a), len(b))
    at = start
    step = 65536
    while at < n:
        end = min(n, at + step)
        if a[at:end] == b[at:end]:
            at = end
            continue
        while a[at] == b[at]:
            at += 1
        return at
    return at


class Wire:
    """The host's reading side of the pty: bytes kept until a pattern consumes them."""

    def __init__(self, sim):
        self.sim = sim
        self.buffer = b""

    def fill(self, deadline, waiting_for):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.sim.fd], [], [], left)[0]:
            raise AssertionError("nothing from the module for %.1f s while waiting for %s; "
                                 "pending %r" % (IDLE, waiting_for, self.buffer[-200:]))
        try:
            chunk = os.read(self.sim.fd, 1 << 20)
        except BlockingIOError:
            chunk = b""
        self.buffer += chunk
        return len(chunk)

    def send(self, data):
        """Writes all of `data`, failing only when the module takes nothing for IDLE seconds
        (large files take longer than any fixed bound on the whole)."""
        view = memoryview(data)
        deadline = time.monotonic() + IDLE
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("the module took no bytes for %.1f s (%d of %d left)"
                                     % (IDLE, len(view), len(data)))
            if not select.select([], [self.sim.fd], [], left)[1]:
                continue
            try:
                n = os.write(self.sim.fd, view)
            except BlockingIOError:
                continue
            view = view[n:]
            deadline = time.monotonic() + IDLE

    def until(self, pattern, what):
        """Consumes up to the first match of `pattern` (a compiled bytes regex) and returns
        (match, the bytes before it). Waits at most IDLE between arrivals."""
        deadline = time.monotonic() + IDLE
        while True:
            match = pattern.search(self.buffer)
            if match:
                before = self.buffer[:match.start()]
                self.buffer = self.buffer[match.end():]
                return match, before
            if self.fill(deadline, what):
                deadline = time.monotonic() + IDLE

    def command(self, line, final=rb"OK|ERROR|\+CME ERROR: \d+"):
        """Sends an AT command line and returns (final result, the lines before it), the
        unsolicited ones left out."""
        self.send(line + b"\r")
        pattern = re.compile(rb"\r\n(" + final + rb")\r\n")
        match, before = self.until(pattern, line.decode("latin-1"))
        lines = [x for x in before.split(b"\r\n") if x and not x.startswith(URCS)]
        return match.group(1), lines

    def result(self, line, name):
        """Sends an AT+QFTP command and returns its result code (after OK)."""
        final, _ = self.command(line)
        if final != b"OK":
            raise AssertionError("%s answered %r" % (line.decode("latin-1"), final))
        match, _ = self.until(re.compile(rb"\r\n\+" + name + rb":(-?\d+)\r\n"),
                              "the %s line" % name.decode())
        return int(match.group(1))


# ---- one case -------------------------------------------------------------------------------


def random_size(rng):
    """0 to 4 MiB, spread over the orders of magnitude, with the edges now and then."""
    if rng.random() < 0.05:
        return rng.choice([0, 1, 2, 65535, 65536, 65537, MAX_SIZE - 1, MAX_SIZE])
    return min(MAX_SIZE, int(2 ** rng.uniform(0, 22.0001)))


class Case:
    """One transfer under one fault, then the recovery; `run()` checks the property and
    returns nothing (an AssertionError names what broke)."""

    def __init__(self, rig, rng, index, faults):
        self.rig = rig
        self.index = index
        self.direction = rng.choice(["get", "put"])
        self.position = rng.choice(["com", "com", "ufs", "ram", "sd"])
        self.size = random_size(rng)
        if self.direction == "put" and self.position in ("com", "ram"):
            # AT+QFTPPUT over the UART sends at least a byte; a RAM file comes from AT+QFUPL,
            # which takes at least one.
            self.size = max(1, self.size)
        self.data = rng.randbytes(self.size)
        self.resume = rng.randint(0, self.size) if rng.random() < 0.3 else 0
        if self.direction == "put" and self.position == "com" and self.resume == self.size:
            self.resume = self.size - 1
        self.name = b"c%d.bin" % index
        self.fault_name, self.scenario = faults.pick(rng, self)
        self.steps = []
        self.attempts = []  # (offset, result code, bytes that arrived)
        self.fired = False
        self.moved = 0

    def describe(self):
        return ("%s of %d bytes through %s from offset %d, fault %s: %s"
                % (self.direction.upper(), self.size, self.position, self.resume,
                   self.fault_name, json.dumps(self.scenario and self.scenario["events"])))

    # ---- the sides ---------------------------------------------------------------------------

    def server_path(self):
        return os.path.join(self.rig.root, self.name.decode())

    def local_path(self):
        area = self.position
        folder = os.path.join(self.rig.state, "sd", "Picture") if area == "sd" else \
            os.path.join(self.rig.state, area)
        return os.path.join(folder, self.name.decode())

    def read(self, path):
        if not os.path.exists(path):
            return b""
        with open(path, "rb") as f:
            return f.read()

    def step(self, text):
        self.steps.append(text)

    # ---- set-up ------------------------------------------------------------------------------

    def prepare(self, wire):
        """What exists before the transfer: the source file, and the first `resume` bytes on
        the receiving side."""
        if self.direction == "get":
            with open(self.server_path(), "wb") as f:
                f.write(self.data)
            if self.position != "com" and self.resume:
                self.store_local(wire, self.data[:self.resume])
        else:
            if self.position != "com":
                self.store_local(wire, self.data)
            if self.resume:
                with open(self.server_path(), "wb") as f:
                    f.write(self.data[:self.resume])

    def store_local(self, wire, content):
        name = PREFIX[self.position] + self.name
        if self.position == "ram":
            # RAM files exist only through the module: upload over the UART.
            if not content:
                return
            self.step("AT+QFUPL %s %d" % (name.decode(), len(content)))
            final, _ = wire.command(b'AT+QFUPL="%s",%d,600' % (name, len(content)),
                                    final=rb"CONNECT|ERROR|\+CME ERROR: \d+")
            if final != b"CONNECT":
                raise AssertionError("AT+QFUPL answered %r" % final)
            wire.send(content)
            match, _ = wire.until(re.compile(rb"\r\n\+QFUPL: (\d+),[0-9a-f]+\r\n\r\nOK\r\n"),
                                  "the +QFUPL line")
            if int(match.group(1)) != len(content):
                raise AssertionError("AT+QFUPL stored %s of %d bytes"
                                     % (match.group(1), len(content)))
        else:
            os.makedirs(os.path.dirname(self.local_path()), exist_ok=True)
            with open(self.local_path(), "wb") as f:
                f.write(content)

    # ---- the case ----------------------------------------------------------------------------

    def run(self, wire, control):
        self.prepare(wire)
        offset = self.resume
        before = control.state().get("faults_fired", 0)
        if self.scenario:
            control.load(self.scenario)
            self.step("loaded %s" % self.fault_name)
        for attempt in range(ATTEMPTS):
            if attempt:
                self.recover(wire)
                offset = self.resume_point(wire, offset)
                if offset == self.size:
                    break  # everything had arrived before the failure was reported
            code, arrived = self.transfer(wire, offset)
            self.attempts.append((offset, code, arrived))
            if attempt == 0 and self.scenario:
                # The network and the server heal: the fault was for the first attempt.
                self.fired = control.state().get("faults_fired", 0) > before
                control.unload(self.scenario["name"])
                control.apply("unstall")
                control.apply("clear_toxics")
            self.moved += len(arrived)
            if code >= 0:
                offset += code
                if offset == self.size:
                    break
            elif self.direction == "get" and self.position == "com":
                # A failed download delivered every byte the host read: the host counts them.
                offset += len(arrived)
        else:
            raise AssertionError("still incomplete after %d attempts" % ATTEMPTS)
        self.verify_complete()
        self.clean(wire)

    def transfer(self, wire, offset):
        """One attempt from `offset`; returns (result code, the bytes that arrived on the
        receiving side from offset on), having checked what the result line claims."""
        remaining = self.size - offset
        if self.position == "com":
            cfg = b'AT+QFTPCFG=4,"/COM/"'
        else:
            cfg = b'AT+QFTPCFG=4,"/%s/%s"' % (AREA[self.position], self.name)
        self.cfg(wire, cfg)
        if offset:
            self.cfg(wire, b"AT+QFTPCFG=3,%d" % offset)
        if self.direction == "get":
            if self.position == "com":
                code, arrived = self.get_com(wire, offset)
            else:
                code = self.run_result(wire, b'AT+QFTPGET="%s"' % self.name, b"QFTPGET")
                arrived = self.read(self.local_path())
                self.check_prefix("the module's file", arrived, code, offset)
                arrived = arrived[offset:]
        else:
            if self.position == "com":
                code = self.put_com(wire, offset, remaining)
            else:
                code = self.run_result(wire, b'AT+QFTPPUT="%s",0' % self.name, b"QFTPPUT")
            arrived = self.read(self.server_path())
            self.check_prefix("the server's file", arrived, code, offset)
            arrived = arrived[offset:]
        if code >= 0 and code != len(arrived):
            raise AssertionError("the result line says %d bytes from offset %d, %d arrived"
                                 % (code, offset, len(arrived)))
        if code > remaining:
            raise AssertionError("the result line says %d bytes, only %d remained"
                                 % (code, remaining))
        return code, arrived

    def check_prefix(self, what, content, code, offset):
        """A receiving file must hold a prefix of the original, one a resume can build on:
        exactly offset + code bytes after a result line with a size."""
        if code >= 0 and len(content) != offset + code:
            raise AssertionError("%s holds %d bytes; the result line says %d from offset %d"
                                 % (what, len(content), code, offset))
        agree = common_prefix(content, self.data, 0)
        if agree < len(content):
            raise AssertionError("%s differs from the original at byte %d (of %d)"
                                 % (what, agree, len(content)))

    def cfg(self, wire, line):
        self.step(line.decode())
        code = wire.result(line, b"QFTPCFG")
        if code != 0:
            raise AssertionError("%s gave +QFTPCFG:%d" % (line.decode(), code))

    def run_result(self, wire, line, name):
        code = wire.result(line, name)
        self.step("%s -> %d" % (line.decode(), code))
        return code

    def get_com(self, wire, offset):
        line = b'AT+QFTPGET="%s"' % self.name
        final, _ = wire.command(line)
        if final != b"OK":
            raise AssertionError("%s answered %r" % (line.decode(), final))
        match, _ = wire.until(re.compile(rb"\r\n(CONNECT|\+QFTPGET:(-?\d+))\r\n"),
                              "CONNECT or the +QFTPGET line")
        if match.group(2) is not None:
            self.step("%s -> %s (no CONNECT)" % (line.decode(), match.group(2).decode()))
            return int(match.group(2)), b""
        expected = self.data[offset:]
        stream = wire.buffer
        wire.buffer = b""
        agree = 0
        # Unsolicited lines held during data mode may come between the data and the result.
        pattern = re.compile(rb"(?:\r\n(?:\+PDP DEACT|\+QFTPERROR:-?\d+)\r\n)*"
                             rb"\r\n\+QFTPGET:(-?\d+)\r\n")
        deadline = time.monotonic() + IDLE
        while True:
            agree = common_prefix(stream, expected, agree)
            # The data end where the result line starts: at the first byte that differs from
            # the file, or a few bytes before it when the line's first bytes happen to match.
            for end in range(agree, max(-1, agree - 16), -1):
                found = pattern.match(stream, end)
                if found:
                    wire.buffer = stream[found.end():]
                    code = int(found.group(1))
                    self.step("%s -> CONNECT, %d bytes, %d" % (line.decode(), end, code))
                    if code >= 0 and code != end:
                        raise AssertionError("+QFTPGET:%d after %d bytes" % (code, end))
                    return code, stream[:end]
            wire.buffer = stream
            grew = wire.fill(deadline, "the download's bytes and its +QFTPGET line "
                                       "(%d bytes agree with the file)" % agree)
            stream, wire.buffer = wire.buffer, b""
            if grew:
                deadline = time.monotonic() + IDLE

    def put_com(self, wire, offset, remaining):
        line = b'AT+QFTPPUT="%s",%d,65535' % (self.name, remaining)
        final, _ = wire.command(line)
        if final != b"OK":
            raise AssertionError("%s answered %r" % (line.decode(), final))
        match, _ = wire.until(re.compile(rb"\r\n(CONNECT|\+QFTPPUT:(-?\d+))\r\n"),
                              "CONNECT or the +QFTPPUT line")
        if match.group(2) is not None:
            self.step("%s -> %s (no CONNECT)" % (line.decode(), match.group(2).decode()))
            return int(match.group(2))
        wire.send(self.data[offset:])
        match, _ = wire.until(re.compile(rb"\r\n\+QFTPPUT:(-?\d+)\r\n"), "the +QFTPPUT line")
        self.step("%s -> CONNECT, sent %d, %s" % (line.decode(), remaining,
                                                  match.group(1).decode()))
        return int(match.group(1))

    # ---- recovery ----------------------------------------------------------------------------

    def recover(self, wire):
        """Close and open the session again, as a robust driver does after a failed transfer."""
        code = self.run_result(wire, b"AT+QFTPCLOSE", b"QFTPCLOSE")
        if code not in (0, -1):
            raise AssertionError("AT+QFTPCLOSE gave %d" % code)
        for _ in range(ATTEMPTS):
            code = self.run_result(wire, b'AT+QFTPOPEN="ftp.example.com",21', b"QFTPOPEN")
            if code == 0:
                return
        raise AssertionError("AT+QFTPOPEN failed %d times (last %d)" % (ATTEMPTS, code))

    def resume_point(self, wire, offset):
        """Where the receiving side's file ends, asked as a driver asks."""
        if self.direction == "get" and self.position == "com":
            return offset  # the host counted what it received
        if self.direction == "get":
            name = PREFIX[self.position] + self.name
            final, lines = wire.command(b'AT+QFLST="%s"' % name)
            self.step('AT+QFLST="%s" -> %r' % (name.decode(), lines))
            if final != b"OK":
                return 0  # the file is not there (+CME ERROR: 4010): from the start
            # RAM files add the space they hold: "+QFLST: "RAM:a",1379,102400".
            match = re.fullmatch(rb'\+QFLST: "[^"]*",(\d+)(?:,\d+)?', lines[-1]) if lines else None
            if not match:
                raise AssertionError("AT+QFLST answered %r" % lines)
            return int(match.group(1))
        code = self.run_result(wire, b'AT+QFTPSIZE="%s"' % self.name, b"QFTPSIZE")
        return max(0, code)

    # ---- the verdict -------------------------------------------------------------------------

    def verify_complete(self):
        served = self.read(self.server_path())
        if self.direction == "get" and self.position == "com":
            received = self.data[:self.resume] + b"".join(a for _, _, a in self.attempts)
        elif self.direction == "get":
            received = self.read(self.local_path())
        else:
            received = served
        if sha(served) != sha(self.data) or sha(received) != sha(self.data):
            raise AssertionError("complete, but the server holds %d bytes (SHA-256 %s) and the "
                                 "module's side %d (%s); the original is %d (%s)"
                                 % (len(served), sha(served), len(received), sha(received),
                                    self.size, sha(self.data)))

    def clean(self, wire):
        if os.path.exists(self.server_path()):
            os.unlink(self.server_path())
        if self.position != "com":
            final, _ = wire.command(b'AT+QFDEL="%s*"' % PREFIX[self.position])
            if final != b"OK":
                raise AssertionError("AT+QFDEL answered %r" % final)
