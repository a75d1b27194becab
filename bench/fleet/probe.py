#!/usr/bin/python3
"""The fleet benchmark's AT probe: a host process of its own that sends AT to its modules in
turn, one at a time, and times each answer, until its standard input closes.

    probe.py INTERVAL_S PTY...

It measures the module's answer, not the load host's loop: the benchmark's load host is one
Python loop moving 64 KiB files for every module, and a round trip it times includes its own
turn through every other module. Prints one JSON object: {"rtt": [seconds, ...], "errors": N}.
The modules must have echo off (ATE0).
"""

import json
import os
import select
import sys
import time
import tty

OK = b"\r\nOK\r\n"


def main():
    interval = float(sys.argv[1])
    fds = []
    for path in sys.argv[2:]:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(fd)
        fds.append(fd)
    stdin = sys.stdin.fileno()
    rtts = []
    errors = 0
    turn = 0
    while True:
        ready, _, _ = select.select([stdin], [], [], interval)
        if ready:
            break  # the benchmark closed our input: the load is over
        fd = fds[turn % len(fds)]
        turn += 1
        got = b""
        t = time.monotonic()
        os.write(fd, b"AT\r")
        deadline = t + 10
        while not got.endswith(OK):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            got += os.read(fd, 256)
        if got == OK:
            rtts.append(time.monotonic() - t)
        else:
            errors += 1
    json.dump({"rtt": rtts, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main()
