#!/usr/bin/python3
"""The fleet soak (a long run, not a test): many modules in one quecsim, many FTP cycles each,
with faults firing, under a time scale.

    /usr/bin/python3 bench/fleet/soak.py build/sim/quecsim [--modules 1000] [--cycles 100]
        [--kib 16] [--time-scale 0.5] [--seed 1]

One `quecsim --modules N --baud 0 --time-scale X` (the default 300 ms network round trip,
scaled) loads a scenario for every module whose faults fire at random (seeded; each module
draws its own): the data connection reset 8 KiB into a download (-7), the packet context torn
down 8 KiB into an upload (+PDP DEACT, -8), the connect of an AT+QFTPOPEN refused (-5), the
server answering a STOR with 452 (a rule of the shared server that acts on that module's
sessions only). Each module's host is a robust driver: a cycle is OPEN / PUT / GET / CLOSE;
after any error it closes the service and runs the cycle again (at most 30 times).

Checked at the end, and the run fails otherwise:
- zero lost bytes: every completed download equals the upload byte for byte (checked as the
  bytes arrive), and every file on the server has the SHA-256 of what its module uploaded;
  a failed download's bytes are checked too, up to where it stopped;
- zero modules stuck: AT+QFTPSTAT answers `+QFTPSTAT: IDLE` on every module;
- RSS flat: the largest RSS of the last tenth of the cycles is within 5% of the first tenth's;
- descriptors flat: once every module is idle again the process holds exactly the
  descriptors it held before the first cycle (the busiest moments of the first and last
  tenths are reported too).
It prints the figures as one line of JSON and a summary.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from quecsim import fleet as fleetlib  # noqa: E402
from quecsim.fleet import OK, Data, Expect, Fleet, Host, HostError, Line, Send  # noqa: E402

MAX_ATTEMPTS = 30


def scenario(seed):
    return {
        "name": "soak-faults",
        "description": "Faults at random on every module: data reset, PDP down, refused "
                       "connect, server 452",
        "seed": seed,
        "modules": "all",
        "events": [
            {"name": "reset-download", "when": {"bytes": 8192, "direction": "down"},
             "probability": 0.03, "count": "unlimited",
             "do": [{"action": "close_data", "mode": "reset"}]},
            {"name": "pdp-down-upload", "when": {"bytes": 8192, "direction": "up"},
             "probability": 0.02, "count": "unlimited", "do": [{"action": "pdp_deact"}]},
            {"name": "refuse-open", "when": {"command": "AT+QFTPOPEN"},
             "probability": 0.02, "count": "unlimited", "do": [{"action": "connect_refuse"}]},
            {"name": "server-full", "when": {"ftp_command": "STOR"},
             "probability": 0.01, "count": "unlimited",
             "do": [{"action": "server_reply", "command": "STOR",
                     "text": "452 Insufficient storage space."}]},
        ],
    }


def command(line, result=None):
    """Sends an AT command line; returns (final, result text or None). Unsolicited lines
    (+PDP DEACT, +QFTPERROR) are skipped."""
    yield Send(line + b"\r")
    while True:
        text = yield Line()
        if text == b"OK" or text.startswith(b"ERROR") or text.startswith(b"+CME ERROR"):
            final = text
            break
    if final != b"OK" or result is None:
        return final, None
    while True:
        text = yield Line()
        if text.startswith(result):
            return final, text[len(result):]


def after_ok(result):
    """The next line that is `result` + text or CONNECT (unsolicited lines skipped)."""
    while True:
        text = yield Line()
        if text == b"CONNECT":
            return None
        if text.startswith(result):
            return text[len(result):]


def one_cycle(index, c, data, st):
    """One OPEN / PUT / GET / CLOSE; returns what failed, or None."""
    size = len(data)
    final, r = yield from command(b'AT+QFTPOPEN="soak.example",21', b"+QFTPOPEN:")
    if r != b"0":
        return "OPEN %s" % (r or final).decode()
    name = b"m%d-%d.bin" % (index, c % 4)
    final, _ = yield from command(b'AT+QFTPPUT="' + name + b'",%d' % size)
    if final != b"OK":
        return "PUT %s" % final.decode()
    r = yield from after_ok(b"+QFTPPUT:")
    if r is not None:
        return "PUT %s before CONNECT" % r.decode()
    yield Send(data)
    r = yield from after_ok(b"+QFTPPUT:")
    if r != b"%d" % size:
        return "PUT %s" % r.decode()
    st["uploaded"][name] = hashlib.sha256(data).hexdigest()
    final, _ = yield from command(b'AT+QFTPGET="' + name + b'"')
    if final != b"OK":
        return "GET %s" % final.decode()
    r = yield from after_ok(b"+QFTPGET:")
    if r is not None:
        return "GET %s before CONNECT" % r.decode()
    got, r = yield Data(data, b"+QFTPGET:")
    st["bytes_down"] += got
    if got != size or r != b"%d" % size:
        return "GET %s" % r.decode()
    final, r = yield from command(b"AT+QFTPCLOSE", b"+QFTPCLOSE:")
    if r != b"0":
        return "CLOSE %s" % (r or final).decode()
    return None


def echo_off():
    yield Send(b"ATE0\r")
    yield Expect(b"ATE0\r" + OK)


def soak_script(index, data, cycles, st):
    for c in range(cycles):
        for _ in range(MAX_ATTEMPTS):
            failed = yield from one_cycle(index, c, data, st)
            if failed is None:
                st["cycles"] += 1
                break
            st["failures"][failed] = st["failures"].get(failed, 0) + 1
            st["retries"] += 1
            # The robust recovery: close whatever is left (any answer), then the cycle again.
            yield from command(b"AT+QFTPCLOSE", b"+QFTPCLOSE:")
        else:
            raise HostError("module %d: cycle %d failed %d times (%s)" %
                            (index, c, MAX_ATTEMPTS, st["failures"]))


def stat_script(index, st):
    yield Send(b"AT+QFTPSTAT\r")
    text = yield Line()
    st["states"][text] = st["states"].get(text, 0) + 1
    yield Expect(OK)


def tenth(samples, first):
    if not samples:
        return []
    t_end = samples[-1][0]
    t_start = samples[0][0]
    span = (t_end - t_start) / 10.0
    if first:
        return [s for s in samples if s[0] <= t_start + span]
    return [s for s in samples if s[0] >= t_end - span]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", default="build/sim/quecsim")
    ap.add_argument("--modules", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--kib", type=int, default=16, help="size of each PUT and GET")
    ap.add_argument("--time-scale", default="0.5")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    fleetlib.raise_nofile()
    work = tempfile.mkdtemp(prefix="quecsim-soak-")
    root = os.path.join(work, "ftp")
    path = os.path.join(work, "soak.json")
    with open(path, "w") as f:
        json.dump(scenario(a.seed), f)
    ok = False
    try:
        fleet = Fleet(a.binary, a.modules,
                      ["--baud", "0", "--time-scale", a.time_scale, "--power-up-at-start",
                       "--no-power-up-lines", "--boot-delay", "0", "--ftp-root", root,
                       "--state-dir", os.path.join(work, "state"), "--scenario", path])
        try:
            datas = [os.urandom(a.kib * 1024) for _ in range(a.modules)]
            sts = [{"cycles": 0, "retries": 0, "failures": {}, "uploaded": {}, "bytes_down": 0}
                   for _ in range(a.modules)]
            hosts = [Host(i, m["pty"], echo_off(), 120) for i, m in enumerate(fleet.modules)]
            fleetlib.drive(hosts)
            for h in hosts:
                h.close()
            time.sleep(1.0)
            fds_before = fleet.fds()
            hosts = [Host(i, m["pty"], soak_script(i, datas[i], a.cycles, sts[i]), 120)
                     for i, m in enumerate(fleet.modules)]
            sampler = fleetlib.Sampler(fleet, 1.0)
            cpu0 = fleet.cpu_seconds()
            t0 = time.monotonic()
            fleetlib.drive_threads(hosts, a.threads)
            elapsed = time.monotonic() - t0
            cpu = fleet.cpu_seconds() - cpu0
            samples = sampler.stop()
            for h in hosts:
                h.close()
            states = {}
            hosts = [Host(i, m["pty"], stat_script(i, {"states": states}), 60)
                     for i, m in enumerate(fleet.modules)]
            fleetlib.drive(hosts)
            for h in hosts:
                h.close()
            time.sleep(1.0)
            fds_after = fleet.fds()
        finally:
            code = fleet.stop()
        lost = 0
        for i in range(a.modules):
            for name, digest in sts[i]["uploaded"].items():
                with open(os.path.join(root, name.decode()), "rb") as f:
                    if hashlib.sha256(f.read()).hexdigest() != digest:
                        lost += 1
        failures = {}
        for s in sts:
            for k, v in s["failures"].items():
                failures[k] = failures.get(k, 0) + v
        first, last = tenth(samples, True), tenth(samples, False)
        rss_first = max(s[1] for s in first)
        rss_last = max(s[1] for s in last)
        fds_first = max(s[2] for s in first)
        fds_last = max(s[2] for s in last)
        idle = states.get(b"+QFTPSTAT: IDLE", 0)
        report = {
            "modules": a.modules, "cycles_per_module": a.cycles, "kib": a.kib,
            "time_scale": float(a.time_scale), "elapsed_s": round(elapsed, 1),
            "cycles": sum(s["cycles"] for s in sts),
            "retries": sum(s["retries"] for s in sts), "failures": failures,
            "files_checked": sum(len(s["uploaded"]) for s in sts), "files_differing": lost,
            "mib_moved": round(sum(s["cycles"] for s in sts) * 2 * a.kib / 1024.0, 1),
            "rss_kib_first_tenth": rss_first, "rss_kib_last_tenth": rss_last,
            "rss_change_percent": round(100.0 * (rss_last - rss_first) / rss_first, 2),
            "fds_first_tenth": fds_first, "fds_last_tenth": fds_last,
            "fds_idle_before": fds_before, "fds_idle_after": fds_after,
            "idle_at_end": idle, "stuck": a.modules - idle,
            "cpu_percent": round(100.0 * cpu / elapsed, 1), "exit_code": code,
        }
        print(json.dumps(report))
        ok = (lost == 0 and idle == a.modules and rss_last <= rss_first * 1.05 and
              fds_after == fds_before and code == 0 and
              report["cycles"] == a.modules * a.cycles)
        print("soak %s: %d modules x %d cycles in %.0f s, %d retries after faults, %d files "
              "checked, %d differing, %d stuck, RSS %d -> %d KiB (%+.1f%%), descriptors "
              "%d -> %d busy, %d -> %d idle" %
              ("PASSED" if ok else "FAILED", a.modules, a.cycles, elapsed, report["retries"],
               report["files_checked"], lost, report["stuck"], rss_first, rss_last,
               report["rss_change_percent"], fds_first, fds_last, fds_before, fds_after))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
