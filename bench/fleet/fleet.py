#!/usr/bin/python3
"""The fleet benchmark (not a test): N modules in one quecsim process, each running OPEN /
PUT 64 KiB / GET 64 KiB / CLOSE cycles from the host at once.

    /usr/bin/python3 bench/fleet/fleet.py build/sim/quecsim [--sizes 1,10,100,1000,max]
        [--cycles C] [--threads T] [--kib 64] [--markdown]

For each N, one `quecsim --modules N --baud 0 --latency 0 --power-up-at-start
--no-power-up-lines` with the embedded server in a temporary folder. The host opens every pty,
turns echo off (ATE0), lets the process settle and samples its RSS (idle). Then every module
runs C cycles at once, each cycle:

    AT                                   -> OK            (the AT round trip, under load)
    AT+QFTPOPEN="fleet.example",21       -> OK, +QFTPOPEN:0
    AT+QFTPPUT="m<n>-<c>.bin",65536      -> OK, CONNECT, 64 KiB, +QFTPPUT:65536
    AT+QFTPGET="m<n>-<c>.bin"            -> OK, CONNECT, the same 64 KiB, +QFTPGET:65536
    AT+QFTPCLOSE                         -> OK, +QFTPCLOSE:0

with every byte checked as it arrives (exact answers, the downloaded bytes equal the uploaded
ones) and every uploaded file's SHA-256 checked on the server at the end. It reports completed
cycles per second, the p99 AT round trip, the p99 command latency (a command line sent to its
result line: +QFTPOPEN:0, CONNECT, +QFTPCLOSE:0), RSS per module idle and busy (total / N,
and the marginal cost (RSS(N) - RSS(1)) / (N - 1)), descriptors, and the process's CPU over the
cycles (100% is one core; quecsim runs on one thread).

"max" is as many modules as the kernel's pty limit (/proc/sys/kernel/pty/max, less the ptys in
use and a margin of 256 for everyone else) and the descriptor limit allow.
"""

import argparse
import hashlib
import os
import json
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from quecsim import fleet as fleetlib  # noqa: E402
from quecsim.fleet import CONNECT, OK, Data, Expect, Fleet, Host, Send, crlf  # noqa: E402

# Descriptors per module in quecsim while every module runs cycles: 5 idle (pty master, three
# storage folders, control socket), and a transfer holds its control and data connections and
# the server's ends of them; not every module is mid-transfer at once, and 3000 modules
# measured 6.1 per module at the busiest, so 6.5 leaves a margin.
FDS_PER_BUSY_MODULE = 6.5


def cycle_script(index, data, cycles, stats):
    name_prefix = b"m%d-" % index
    size = len(data)
    clock = time.monotonic
    for c in range(cycles):
        t = clock()
        yield Send(b"AT\r")
        yield Expect(OK)
        stats["at"].append(clock() - t)

        t = clock()
        yield Send(b'AT+QFTPOPEN="fleet.example",21\r')
        yield Expect(OK + crlf(b"+QFTPOPEN:0"))
        stats["command"].append(clock() - t)

        name = name_prefix + b"%d.bin" % c
        t = clock()
        yield Send(b'AT+QFTPPUT="' + name + b'",%d\r' % size)
        yield Expect(OK + CONNECT)
        stats["command"].append(clock() - t)
        yield Send(data)
        yield Expect(crlf(b"+QFTPPUT:%d" % size))

        t = clock()
        yield Send(b'AT+QFTPGET="' + name + b'"\r')
        yield Expect(OK + CONNECT)
        stats["command"].append(clock() - t)
        got, result = yield Data(data, b"+QFTPGET:")
        if got != size or result != b"%d" % size:
            raise fleetlib.HostError("module %d: GET ended after %d bytes with %r" %
                                     (index, got, result))

        t = clock()
        yield Send(b"AT+QFTPCLOSE\r")
        yield Expect(OK + crlf(b"+QFTPCLOSE:0"))
        stats["command"].append(clock() - t)
        stats["cycles"] += 1


def idle_script():
    yield Send(b"ATE0\r")
    yield Expect(b"ATE0\r" + OK)
    # The packet context comes up once (800 simulated ms), not in the first measured cycle.
    yield Send(b"AT+QIACT\r")
    yield Expect(OK)


PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe.py")


def probe_count(n, asked):
    """Modules of N given to the AT probe: one in a hundred (none below 10) unless asked."""
    if asked is not None:
        return min(asked, n - 1)
    return 0 if n < 10 else max(1, n // 100)


def run_one(binary, n, cycles, threads, kib, baseline_rss, probes_asked=None, interval=0.02):
    work = tempfile.mkdtemp(prefix="quecsim-fleet-")
    root = os.path.join(work, "ftp")
    state = os.path.join(work, "state")
    try:
        fleet = Fleet(binary, n, ["--baud", "0", "--latency", "0", "--power-up-at-start",
                                  "--no-power-up-lines", "--boot-delay", "0", "--ftp-root", root,
                                  "--state-dir", state])
        try:
            started = time.monotonic()
            hosts = [Host(i, m["pty"], idle_script(), 60) for i, m in enumerate(fleet.modules)]
            fleetlib.drive(hosts)
            for h in hosts:
                h.close()
            time.sleep(1.0)
            idle_rss = fleet.rss_kib()
            idle_fds = fleet.fds()
            ready_s = time.monotonic() - started

            # The last `probes` modules stay idle but for the probe's AT, timed by a process of
            # its own; the others transfer.
            probes = probe_count(n, probes_asked)
            loaded = n - probes
            stats = {"at": [], "command": [], "cycles": 0}
            datas = [os.urandom(kib * 1024) for _ in range(loaded)]
            hosts = [Host(i, m["pty"], cycle_script(i, datas[i], cycles, stats), 120)
                     for i, m in enumerate(fleet.modules[:loaded])]
            probe = None
            if probes:
                probe = subprocess.Popen(
                    [sys.executable, PROBE, str(interval)] +
                    [m["pty"] for m in fleet.modules[loaded:]],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            sampler = fleetlib.Sampler(fleet, 0.25)
            cpu0 = fleet.cpu_seconds()
            host0 = time.process_time()
            t0 = time.monotonic()
            fleetlib.drive_threads(hosts, threads)
            elapsed = time.monotonic() - t0
            cpu = fleet.cpu_seconds() - cpu0
            host_cpu = time.process_time() - host0
            probed = {"rtt": [], "errors": 0}
            if probe:
                out, _ = probe.communicate(b"", timeout=60)
                probed = json.loads(out)
                if probed["errors"]:
                    raise fleetlib.HostError("the probe had %d AT without OK" % probed["errors"])
            samples = sampler.stop()
            for h in hosts:
                h.close()
            busy_rss = max([s[1] for s in samples] + [fleet.rss_kib()])
            busy_fds = max([s[2] for s in samples] + [fleet.fds()])
            # Every uploaded file, byte for byte, on the server.
            for i in range(loaded):
                digest = hashlib.sha256(datas[i]).hexdigest()
                for c in range(cycles):
                    with open(os.path.join(root, "m%d-%d.bin" % (i, c)), "rb") as f:
                        if hashlib.sha256(f.read()).hexdigest() != digest:
                            raise fleetlib.HostError("module %d: m%d-%d.bin differs" % (i, i, c))
        finally:
            code = fleet.stop()
        if code != 0:
            raise fleetlib.HostError("quecsim exited with %d" % code)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    row = {
        "n": n,
        "ready_s": ready_s,
        "cycles": stats["cycles"],
        "elapsed_s": elapsed,
        "cycles_per_s": stats["cycles"] / elapsed,
        "mib_per_s": stats["cycles"] * 2 * kib / 1024.0 / elapsed,
        "at_p50_ms": fleetlib.percentile(stats["at"], 50) * 1000,
        "at_p99_ms": fleetlib.percentile(stats["at"], 99) * 1000,
        "cmd_p99_ms": fleetlib.percentile(stats["command"], 99) * 1000,
        "probes": probes,
        "probe_samples": len(probed["rtt"]),
        "probe_p50_ms": (fleetlib.percentile(probed["rtt"], 50) * 1000 if probed["rtt"]
                         else None),
        "probe_p99_ms": (fleetlib.percentile(probed["rtt"], 99) * 1000 if probed["rtt"]
                         else None),
        "idle_rss_kib": idle_rss,
        "idle_kib_per_module": idle_rss / n,
        "busy_rss_kib": busy_rss,
        "busy_kib_per_module": busy_rss / n,
        "idle_fds": idle_fds,
        "busy_fds": busy_fds,
        "cpu_percent": 100.0 * cpu / elapsed,
        "host_cpu_percent": 100.0 * host_cpu / elapsed,
    }
    if baseline_rss is not None and n > 1:
        row["marginal_idle_kib"] = (idle_rss - baseline_rss) / (n - 1)
    return row


def largest_fleet():
    """Modules the kernel's pty limit and the descriptor limits allow."""
    import resource
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    by_fds = int((hard - 64) // FDS_PER_BUSY_MODULE)
    return min(fleetlib.pty_room(), by_fds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default="build/sim/quecsim")
    ap.add_argument("--sizes", default="1,10,100,1000,max",
                    help="module counts, comma-separated; 'max' = as many as the limits allow")
    ap.add_argument("--cycles", type=int, default=0,
                    help="cycles per module (default: enough for about 500 in all, 3 at least)")
    ap.add_argument("--threads", type=int, default=1, help="host threads driving the ptys")
    ap.add_argument("--kib", type=int, default=64, help="file size of each PUT and GET")
    ap.add_argument("--probes", type=int, default=None,
                    help="modules of each N left to the AT probe (default: N/100, none below 10)")
    ap.add_argument("--probe-interval", type=float, default=0.02,
                    help="seconds between the probe's AT commands")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    a = ap.parse_args()
    fleetlib.raise_nofile()
    sizes = []
    for s in a.sizes.split(","):
        n = largest_fleet() if s == "max" else int(s)
        if n < 1:
            sys.exit("fleet.py: --sizes: %r leaves no module to run" % s)
        if n not in sizes:
            sizes.append(n)
    rows = []
    baseline = None
    for n in sizes:
        cycles = a.cycles or max(3, min(50, 500 // n))
        print("N=%d: %d cycles per module ..." % (n, cycles), file=sys.stderr, flush=True)
        row = run_one(a.binary, n, cycles, a.threads, a.kib, baseline, a.probes,
                      a.probe_interval)
        if n == 1:
            baseline = row["idle_rss_kib"]
        rows.append(row)
        print("  %s" % row, file=sys.stderr, flush=True)
    head = ["modules", "cycles/s", "MiB/s", "AT p50 ms", "AT p99 ms", "probe AT p50/p99 ms",
            "cmd p99 ms",
            "idle RSS MiB", "idle KiB/module", "marginal KiB/module", "busy KiB/module",
            "fds idle/busy", "CPU %"]
    lines = []
    for r in rows:
        lines.append([
            "%d" % r["n"], "%.1f" % r["cycles_per_s"], "%.1f" % r["mib_per_s"],
            "%.2f" % r["at_p50_ms"], "%.2f" % r["at_p99_ms"],
            ("%.2f/%.2f (%d)" % (r["probe_p50_ms"], r["probe_p99_ms"], r["probes"])
             if r["probes"] else "-"),
            "%.2f" % r["cmd_p99_ms"],
            "%.1f" % (r["idle_rss_kib"] / 1024.0), "%.0f" % r["idle_kib_per_module"],
            "%.0f" % r["marginal_idle_kib"] if "marginal_idle_kib" in r else "-",
            "%.0f" % r["busy_kib_per_module"], "%d/%d" % (r["idle_fds"], r["busy_fds"]),
            "%.0f" % r["cpu_percent"]])
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for l in lines:
            print("| " + " | ".join(l) + " |")
    else:
        widths = [max(len(head[i]), *(len(l[i]) for l in lines)) for i in range(len(head))]
        print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
        for l in lines:
            print("  ".join(c.rjust(w) for c, w in zip(l, widths)))


if __name__ == "__main__":
    main()
