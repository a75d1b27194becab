#!/usr/bin/python3
"""A UART flood (a long run, not a test): bad input at volume into one module while others
transfer.

    /usr/bin/python3 bench/fleet/flood.py build/sim/quecsim [--mib 1024] [--others 4]
        [--kib 64] [--seed 1]

One `quecsim --modules K+1 --baud 0 --latency 0`. Module 0 gets, with echo on (as after
power-up), first MIB/2 MiB of seeded random bytes, then MIB/2 MiB of overlong lines (`AT`, 1 MiB
of letters, CR: each answered ERROR, the excess counted, never stored). Its host reads the echo
and the answers all along, dropping them (a flooder that stops reading finds the module
stopped reading too, once its unread output passes 32 KiB, as a UART without a reader would).
Then it sends a CR and `ATE1V1Q0` (in case the random bytes held an ATE0, ATV0 or ATQ1), waits
for the module to fall silent, and the next `AT` must be answered exactly `AT\\r\\r\\nOK\\r\\n`.
Meanwhile modules 1..K run OPEN / PUT / GET / CLOSE cycles of KIB KiB, every byte checked as it
arrives and every file's SHA-256 on the server at the end. RSS is sampled every 0.5 s: the run
fails if the flood's last tenth holds more than 5% (or 4 MiB) above its first tenth.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from quecsim import fleet as fleetlib  # noqa: E402
from quecsim.fleet import Fleet, Host, flood_host, transfer_host  # noqa: E402

def run(binary, mib, others, kib, seed, timeout=600):
    """Runs the flood; returns its figures (raises HostError on a failure)."""
    work = tempfile.mkdtemp(prefix="quecsim-flood-")
    root = os.path.join(work, "ftp")
    state = {"phase": "start"}
    stats = {"cycles": 0, "bytes": 0, "files": {}}
    try:
        fleet = Fleet(binary, others + 1,
                      ["--baud", "0", "--latency", "0", "--power-up-at-start",
                       "--no-power-up-lines", "--boot-delay", "0", "--ftp-root", root,
                       "--state-dir", os.path.join(work, "state")])
        try:
            half = mib * (1 << 20) // 2
            hosts = [Host(0, fleet.modules[0]["pty"],
                          flood_host(half, mib * (1 << 20) - half, seed, state), timeout)]
            for i in range(1, others + 1):
                data = random.Random(seed + i).randbytes(kib * 1024)
                hosts.append(Host(i, fleet.modules[i]["pty"],
                                  transfer_host(i, data, state, stats), timeout))
            rss_before = fleet.rss_kib()
            sampler = fleetlib.Sampler(fleet, 0.5)
            t0 = time.monotonic()
            fleetlib.drive(hosts)
            elapsed = time.monotonic() - t0
            samples = sampler.stop()
            flooded = hosts[0]
            for h in hosts:
                h.close()
        finally:
            code = fleet.stop()
        if code != 0:
            raise fleetlib.HostError("quecsim exited with %d" % code)
        for index, (count, digest) in stats["files"].items():
            for c in range(count):
                with open(os.path.join(root, "m%d-%d.bin" % (index, c)), "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() != digest:
                        raise fleetlib.HostError("m%d-%d.bin differs on the server" % (index, c))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    span = samples[-1][0] - samples[0][0] if samples else 0
    first = [s[1] for s in samples if s[0] <= samples[0][0] + span / 10] or [rss_before]
    last = [s[1] for s in samples if s[0] >= samples[-1][0] - span / 10] or [rss_before]
    return {
        "mib": mib, "others": others, "elapsed_s": round(elapsed, 1),
        "flood_mib_per_s": round(flooded.written / (1 << 20) / elapsed, 1),
        "written": flooded.written, "read_back": flooded.discarded,
        "answer_ms": round(state["answer_s"] * 1000, 2),
        "other_cycles": stats["cycles"], "other_mib": round(stats["bytes"] / (1 << 20), 1),
        "rss_kib_before": rss_before, "rss_kib_first_tenth": max(first),
        "rss_kib_last_tenth": max(last), "rss_kib_max": max(s[1] for s in samples),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default="build/sim/quecsim")
    ap.add_argument("--mib", type=int, default=1024, help="flood size (half random, half lines)")
    ap.add_argument("--others", type=int, default=4, help="modules transferring meanwhile")
    ap.add_argument("--kib", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    r = run(a.binary, a.mib, a.others, a.kib, a.seed)
    print(json.dumps(r))
    flat = r["rss_kib_last_tenth"] <= max(r["rss_kib_first_tenth"] * 1.05,
                                          r["rss_kib_first_tenth"] + 4096)
    print("flood %s: %d MiB into module 0 in %.0f s (%.1f MiB/s, %d bytes read back), AT "
          "answered in %.1f ms; modules 1-%d moved %.1f MiB in %d cycles, nothing lost; RSS "
          "%d -> %d KiB (max %d)" %
          ("PASSED" if flat else "FAILED", r["mib"], r["elapsed_s"], r["flood_mib_per_s"],
           r["read_back"], r["answer_ms"], r["others"], r["other_mib"], r["other_cycles"],
           r["rss_kib_first_tenth"], r["rss_kib_last_tenth"], r["rss_kib_max"]))
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
