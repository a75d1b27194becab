#!/usr/bin/python3
"""Round-trip time of `AT\\r` -> `\\r\\nOK\\r\\n` over quecsim's --tcp-listen against its pty, in
the same run, with the raw floors of both as reference.

    /usr/bin/python3 bench/at/tcp_rtt.py build/sim/quecsim [-n 2000] [--rounds 4]

Four targets, measured by the same Python client (blocking write, then read exactly the six
bytes of the answer) in alternating rounds, so load from other processes falls on all alike:
quecsim on its pty, quecsim with --tcp-listen 0 (a TCP_NODELAY socket), the pty floor
(floor_responder.c, as bench/at/rtt.py) and the TCP floor (floor_tcp_responder.c: a C program
that answers on a loopback socket with blocking read/write and nothing else: the raw loopback
round trip). Client and responders are pinned to one CPU unless --no-pin (see rtt.py for why).
What the TCP mode adds is quecsim's TCP median minus its pty median; the issue's target is that
this be no more than the loopback round trip (the TCP floor's median). Reported, never asserted.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

from rtt import ANSWER, Target, measure, parse_and_pin, percentile, read_exactly

HERE = os.path.dirname(os.path.abspath(__file__))


class TcpTarget(Target):
    """A responder reached over a loopback TCP connection; `ready` gives the port."""

    def __init__(self, name, argv, ready, cpus):
        self.name = name
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     preexec_fn=pin)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("%s did not start" % name)
        self.sock = socket.create_connection(("127.0.0.1", ready(line)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fd = self.sock.fileno()
        self.samples = []

    def close(self):
        self.sock.close()
        self.proc.terminate()
        self.proc.wait(5)


def main():
    args, cpus = parse_and_pin(__doc__)

    quiet = ["--ready-json", "--baud", "0", "--no-power-up-lines", "--power-up-at-start",
             "--boot-delay", "0", "--no-embedded-ftp"]
    build = tempfile.mkdtemp(prefix="quecsim-bench-")
    targets = []
    try:
        for name in ("floor_responder", "floor_tcp_responder"):
            subprocess.run(["cc", "-O2", "-o", os.path.join(build, name),
                            os.path.join(HERE, name + ".c")], check=True)
        targets.append(Target("quecsim pty", [args.quecsim, *quiet],
                              lambda line: json.loads(line)["pty"], cpus))
        targets.append(TcpTarget("quecsim tcp", [args.quecsim, *quiet, "--tcp-listen", "0"],
                                 lambda line: json.loads(line)["endpoint"]["port"], cpus))
        for t in targets:
            os.write(t.fd, b"ATE0\r")
            read_exactly(t.fd, b"ATE0\r" + ANSWER)
        targets.append(Target("floor pty", [os.path.join(build, "floor_responder")],
                              lambda line: line.decode().strip(), cpus))
        targets.append(TcpTarget("floor tcp", [os.path.join(build, "floor_tcp_responder")],
                                 lambda line: int(line), cpus))
        for t in targets:
            measure(t.fd, args.warmup)
        per_round = max(1, args.n // args.rounds)
        for _ in range(args.rounds):
            for t in targets:
                t.samples += measure(t.fd, per_round)
    finally:
        for t in targets:
            t.close()
        shutil.rmtree(build, ignore_errors=True)

    print("AT\\r -> \\r\\nOK\\r\\n round trip, %d samples each, %d alternating rounds; cpus: %s"
          % (len(targets[0].samples), args.rounds,
             "pinned to CPU %d" % min(cpus) if cpus else "not pinned"))
    print()
    print("%-12s %10s %10s %10s %10s" % ("", "median us", "p99 us", "mean us", "min us"))
    med = {}
    for t in targets:
        s = sorted(t.samples)
        med[t.name] = statistics.median(s)
        print("%-12s %10.1f %10.1f %10.1f %10.1f"
              % (t.name, med[t.name], percentile(s, 99), statistics.fmean(s), s[0]))
    added = med["quecsim tcp"] - med["quecsim pty"]
    print()
    print("quecsim tcp / quecsim pty:   %.2fx" % (med["quecsim tcp"] / med["quecsim pty"]))
    print("floor tcp / floor pty:       %.2fx" % (med["floor tcp"] / med["floor pty"]))
    print("quecsim tcp / floor tcp:     %.2fx" % (med["quecsim tcp"] / med["floor tcp"]))
    print("quecsim pty / floor pty:     %.2fx" % (med["quecsim pty"] / med["floor pty"]))
    print("TCP mode adds %.1f us to quecsim's pty round trip; the loopback round trip is %.1f us "
          "(%.2fx of it): %s" % (added, med["floor tcp"], added / med["floor tcp"],
                                 "within" if added <= med["floor tcp"] else "OVER"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
