#!/usr/bin/python3
"""Round-trip time of `AT\\r` -> `\\r\\nOK\\r\\n` over quecsim's pty, against a floor.

    /usr/bin/python3 bench/at/rtt.py build/sim/quecsim [-n 2000] [--rounds 4]

quecsim runs with --baud 0 (no UART pacing) and --no-power-up-lines; the client sends ATE0 first
so only the six bytes of the answer come back. The floor is bench/at/floor_responder.c, compiled
here with cc: a C program on a pty pair of its own that answers "\\r\\nOK\\r\\n" to every CR with
blocking read/write and no other work, i.e. the cost of the kernel's pty plus the client. The
same Python client measures both, alternating between them in rounds so that load from other
processes falls on both alike. By default the client and both responders are pinned to one
CPU: otherwise whether the scheduler puts a responder on the client's CPU or another one moves
the round trip by 15-30 us (a cross-CPU wake-up), more than the code under test costs
(--no-pin measures that placement too). Target: quecsim's median within 1.5x of the floor's.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import termios
import time
import tty

HERE = os.path.dirname(os.path.abspath(__file__))
ANSWER = b"\r\nOK\r\n"
TARGET = 1.5


def open_raw(path):
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    return fd


def read_exactly(fd, expected):
    got = b""
    while len(got) < len(expected):
        chunk = os.read(fd, len(expected) - len(got))
        if not chunk:
            raise RuntimeError("pty closed")
        got += chunk
    if got != expected:
        raise RuntimeError("expected %r, got %r" % (expected, got))


def measure(fd, n):
    """n round trips of AT\\r; returns their durations in microseconds."""
    out = []
    clock = time.perf_counter_ns
    for _ in range(n):
        began = clock()
        os.write(fd, b"AT\r")
        read_exactly(fd, ANSWER)
        out.append((clock() - began) / 1000.0)
    return out


class Target:
    def __init__(self, name, argv, ready, cpus):
        self.name = name
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     preexec_fn=pin)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s did not start" % name)
        self.fd = open_raw(ready(line))
        self.samples = []

    def close(self):
        os.close(self.fd)
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(5)


def percentile(sorted_values, p):
    index = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[index]


def parse_and_pin(doc):
    """The round-trip benchmarks' command line (-n, --rounds, --warmup, --no-pin), and the
    CPU set this process was pinned to (None with --no-pin)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("quecsim", help="path to the quecsim binary")
    parser.add_argument("-n", type=int, default=2000, help="round trips per target (2000)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds (4)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed round trips (200)")
    parser.add_argument("--no-pin", action="store_true",
                        help="let the scheduler place client and responders on any CPU")
    args = parser.parse_args()
    cpus = None
    if not args.no_pin:
        cpus = {min(os.sched_getaffinity(0))}
        os.sched_setaffinity(0, cpus)
    return args, cpus


def main():
    args, cpus = parse_and_pin(__doc__)

    build = tempfile.mkdtemp(prefix="quecsim-bench-")
    try:
        floor_bin = os.path.join(build, "floor_responder")
        subprocess.run(["cc", "-O2", "-o", floor_bin, os.path.join(HERE, "floor_responder.c")],
                       check=True)
        quecsim = Target("quecsim", [args.quecsim, "--ready-json", "--baud", "0",
                                     "--no-power-up-lines", "--power-up-at-start",
                                     "--boot-delay", "0"],
                         lambda line: json.loads(line)["pty"], cpus)
        os.write(quecsim.fd, b"ATE0\r")
        read_exactly(quecsim.fd, b"ATE0\r" + ANSWER)
        floor = Target("floor (C)", [floor_bin], lambda line: line.decode().strip(), cpus)
        targets = [quecsim, floor]
        try:
            for t in targets:
                measure(t.fd, args.warmup)
            per_round = max(1, args.n // args.rounds)
            for _ in range(args.rounds):
                for t in targets:
                    t.samples += measure(t.fd, per_round)
        finally:
            for t in targets:
                t.close()
    finally:
        shutil.rmtree(build, ignore_errors=True)

    print("AT\\r -> \\r\\nOK\\r\\n round trip over a pty, %d samples each, %d alternating rounds"
          % (len(quecsim.samples), args.rounds))
    print("client: the same Python loop for both (blocking write, then read exactly 6 bytes)")
    print("floor:  C responder (floor_responder.c): blocking read/write on its own pty master,")
    print("        no event loop, no parsing - the kernel's pty cost plus the client's")
    print("cpus:   %s" % ("client and responders pinned to CPU %d" % min(cpus) if cpus
                          else "not pinned (scheduler placement included)"))
    print()
    print("%-10s %10s %10s %10s %10s" % ("", "median us", "p99 us", "mean us", "min us"))
    stats = {}
    for t in targets:
        s = sorted(t.samples)
        stats[t.name] = (statistics.median(s), percentile(s, 99))
        print("%-10s %10.1f %10.1f %10.1f %10.1f"
              % (t.name, stats[t.name][0], stats[t.name][1], statistics.fmean(s), s[0]))
    ratio = stats[quecsim.name][0] / stats[floor.name][0]
    p99_ratio = stats[quecsim.name][1] / stats[floor.name][1]
    print()
    print("median ratio quecsim/floor: %.2fx (p99 ratio %.2fx); target <= %.1fx: %s"
          % (ratio, p99_ratio, TARGET, "met" if ratio <= TARGET else "MISSED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
