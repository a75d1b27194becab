#!/usr/bin/python3
"""Benchmark (not a test): how `quecsim report` and the page it writes cope with a ~100 MB
transcript. Writes a synthetic transcript (AT exchanges, downloads through the UART in 16 KiB
chunks, faults and warnings), times `quecsim report`, then opens the page in headless Chromium
and reads the page's own mark of its first render (performance.now() when the first rows were
drawn, from navigation start: parsing the data included) and Chromium's wall time.

    /usr/bin/python3 bench/report/big_report.py [build/sim/quecsim] [--mb 100] [--keep DIR]
"""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time


def record(t, event, source, data):
    return json.dumps({"t": round(t, 6), "module": 0, "event": event, "source": source,
                       "data": data}, ensure_ascii=True, separators=(",", ":")) + "\n"


def write_transcript(path, megabytes):
    rng = random.Random(1)
    target = megabytes * 1000 * 1000
    t = 0.0
    size = 0
    with open(path, "w") as f:
        def put(event, source, data):
            nonlocal size
            line = record(t, event, source, data)
            f.write(line)
            size += len(line)
        put("info", "config", json.dumps({"format": 1, "model": "M95"}))
        cycle = 0
        while size < target:
            cycle += 1
            for _ in range(20000):
                t += 0.01
                put("rx", "uart", "AT+CSQ\r")
                put("tx", "uart", "\r\n+CSQ: %d,0\r\n\r\nOK\r\n" % rng.randrange(32))
                if rng.random() < 0.002:
                    put("warning", "host", "command line ended by LF alone, not S3 (CR): accepted, "
                        "as a real module does (Quectel's OpenCPU SDK ends its commands with LF)")
            put("rx", "uart", 'AT+QFTPGET="big.bin"\r')
            put("ftp_tx", "ftp", "RETR big.bin")
            put("ftp_rx", "ftp", "150 File status okay. About to open data connection.")
            put("state", "uart", "data")
            put("tx", "uart", "\r\nCONNECT\r\n")
            for _ in range(64):  # 1 MiB in 16 KiB chunks
                t += 0.001
                chunk = rng.randbytes(16384).decode("latin-1")
                put("data", "ftp", "down 16384")
                put("tx", "uart", chunk)
            put("state", "uart", "command")
            put("tx", "uart", "\r\n+QFTPGET:1048576\r\n")
            if cycle % 3 == 0:
                put("fault", "fault", json.dumps({"scenario": "bench", "event": "/events/0",
                                                  "action": "stall", "did": "stalled"}))
    return size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("binary", nargs="?",
                        default=os.path.join(here, "..", "..", "build", "sim", "quecsim"))
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--keep", help="keep the transcript and the page in DIR")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    folder = args.keep or tempfile.mkdtemp(prefix="quecsim-report-bench-")
    os.makedirs(folder, exist_ok=True)
    try:
        transcript = os.path.join(folder, "big.jsonl")
        page = os.path.join(folder, "big.html")
        size = write_transcript(transcript, args.mb)
        start = time.monotonic()
        subprocess.run([args.binary, "report", transcript, "-o", page], check=True)
        took = time.monotonic() - start
        print("transcript %.1f MB -> page %.1f MB in %.2f s"
              % (size / 1e6, os.path.getsize(page) / 1e6, took))
        if not chromium:
            print("chromium not installed: page load not measured")
            return
        for run in range(3):
            start = time.monotonic()
            done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                                   "--user-data-dir=" + os.path.join(folder, "profile"),
                                   "--window-size=1280,800", "--dump-dom", "file://" + page],
                                  capture_output=True, text=True, check=True)
            wall = time.monotonic() - start
            rendered = re.search(r'data-rendered="([0-9.]+)"', done.stdout)
            rows = len(re.findall(r'class="row grid', done.stdout))
            print("chromium run %d: first render at %s ms after navigation start, %d rows in "
                  "the DOM, %.2f s wall (start to DOM dump)"
                  % (run + 1, rendered.group(1) if rendered else "?", rows, wall))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
