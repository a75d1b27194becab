#!/usr/bin/python3
"""What a loaded scenario costs before it fires: a /COM/ AT+QFTPGET (--baud 0 --latency 0)
through a quecsim with a scenario whose triggers never fire, against a quecsim with none, in
the same run, alternating which goes first. Faults should cost nothing until they fire: the
target ratio (with / without) is at least 0.97. A benchmark, not a test.

    /usr/bin/python3 bench/fault/idle_scenario.py [build/sim/quecsim] [--mib 64] [--runs 5]
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ftp"))
from com_throughput import DEFAULT_BINARY, Module, crlf, quecsim_download  # noqa: E402

# Triggers of every kind that this benchmark's exchange never meets.
NEVER = {
    "$schema": "../../scenarios/schema.json",
    "name": "never-fires",
    "description": "Triggers of every kind, none of which this exchange meets",
    "events": [
        {"when": {"command": "AT+QFTPDELETE"}, "do": [{"action": "pdp_deact"}]},
        {"when": {"response": "+QFTPDELETE:"}, "do": [{"action": "restart"}]},
        {"when": {"final": "AT+QFTPMKDIR"}, "do": [{"action": "restart"}]},
        {"when": {"ftp_reply": 599}, "do": [{"action": "stall"}]},
        {"when": {"ftp_command": "DELE"}, "do": [{"action": "close_control"}]},
        {"when": {"bytes": 1 << 50, "direction": "down"}, "do": [{"action": "close_data"}]},
        {"when": {"bytes": 1 << 50, "direction": "down", "from": "connect"},
         "do": [{"action": "close_data"}]},
        {"when": {"state": {"machine": "module", "to": "restarting"}},
         "do": [{"action": "urc", "text": "X"}]},
        {"when": {"time_ms": 3600000}, "do": [{"action": "restart"}]},
    ],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", default=DEFAULT_BINARY)
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.mib << 20
    tmp = tempfile.mkdtemp(prefix="quecsim-bench-")
    try:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(root, "down.bin"), "wb") as f:
            f.write(data)
        scenario = os.path.join(tmp, "never.json")
        with open(scenario, "w") as f:
            json.dump(NEVER, f)
        modules = {"none": Module(args.binary, root),
                   "idle scenario": Module(args.binary, root, ["--scenario", scenario])}
        try:
            for m in modules.values():
                m.command(b'AT+QFTPOPEN="ftp.example.com",21', crlf(b"OK"))
                m.reader.expect(crlf(b"+QFTPOPEN:0"))
            times = {k: [] for k in modules}
            ratios = []
            for run in range(args.runs):
                order = list(modules) if run % 2 == 0 else list(reversed(modules))
                for name in order:
                    times[name].append(quecsim_download(modules[name], size, digest))
                ratios.append(times["none"][-1] / times["idle scenario"][-1])
        finally:
            for m in modules.values():
                m.close()
        mb = size / 1e6
        for name, t in times.items():
            print("%-14s GET %6.1f MB/s (median of %d)" % (name, mb / statistics.median(t), len(t)))
        print("ratio with / without: median %.3f (min %.3f, max %.3f); target >= 0.97"
              % (statistics.median(ratios), min(ratios), max(ratios)))
    finally:
        shutil.rmtree(tmp, True)


if __name__ == "__main__":
    main()
