#!/usr/bin/python3
"""The MQTT fleet benchmark (not a test): N modules in one quecsim process, each with an open
MQTT session to one mosquitto through its socket (AT+QIOPEN, AT+QISEND, received data pushed
with AT+QINDI=0), keep-alives running, while a probe process times AT round trips.

    /usr/bin/python3 bench/fleet/mqtt_fleet.py build/sim/quecsim [--modules 1000]
        [--seconds 30] [--ping 5]

One `quecsim --modules N --baud 0 --latency 0 --power-up-at-start --no-power-up-lines` with
`--host broker.example=127.0.0.1:<port>`, one mosquitto (Debian's) on that port. Every module:

    ATE0                                     -> OK
    AT+QIOPEN="TCP","broker.example",1883    -> OK, CONNECT OK
    AT+QISEND=<n>, MQTT CONNECT              -> > , SEND OK, CONNACK (pushed)

Then for --seconds every module but the probed ones sends PINGREQ every --ping seconds
(AT+QISEND=2 -> SEND OK, PINGRESP pushed), staggered; one module in a hundred is handed to
bench/fleet/probe.py, which sends AT to them in turn and times each OK. It reports the p50 and
p99 AT round trip, the session set-up time, the keep-alives exchanged and failed, RSS per
module (the process's RSS over N, and the marginal cost against a one-module run), and the
process's CPU (100% is one core).
"""

import argparse
import json
import os
import resource
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from quecsim import fleet as fleetlib  # noqa: E402
from quecsim.fleet import OK, Expect, Fleet, Host, Send, Sleep, crlf  # noqa: E402

DEFAULT_BINARY = os.path.normpath(os.path.join(HERE, "..", "..", "build", "sim", "quecsim"))
PROBE = os.path.join(HERE, "probe.py")
SEND_OK = crlf(b"SEND OK")
PINGREQ = b"\xc0\x00"
PINGRESP = b"\xd0\x00"
CONNACK = b"\x20\x02\x00\x00"


def mqtt_connect(client_id, keep_alive):
    def utf8(text):
        return struct.pack(">H", len(text)) + text.encode()
    body = utf8("MQTT") + b"\x04\x02" + struct.pack(">H", keep_alive) + utf8(client_id)
    return bytes([0x10, len(body)]) + body


def qisend(data):
    yield Send(b"AT+QISEND=%d\r\n" % len(data))
    yield Expect(b"> ")
    yield Send(data)
    yield Expect(SEND_OK)


def open_session(index, keep_alive):
    yield Send(b"ATE0\r")
    yield Expect(b"ATE0\r" + OK)
    yield Send(b'AT+QIOPEN="TCP","broker.example",1883\r')
    yield Expect(OK + crlf(b"CONNECT OK"))
    yield from qisend(mqtt_connect("quecsim-%d" % index, keep_alive))
    yield Expect(CONNACK)


def keep_alive(index, seconds, ping, stats):
    # Staggered: module i starts its first interval at its own offset within one interval.
    yield Sleep(ping * (index % 100) / 100.0)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield from qisend(PINGREQ)
        yield Expect(PINGRESP)
        stats["pings"] += 1
        yield Sleep(ping)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(work, n):
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                "log_type error\n" % port)

    def lift():
        # One descriptor per module and a margin.
        resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker = subprocess.Popen([binary, "-c", conf], preexec_fn=lift,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker, port
        except OSError:
            if broker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start on port %d" % port)
            time.sleep(0.05)


def run(binary, n, seconds, ping, work):
    broker, port = start_broker(work, n)
    try:
        fleet = Fleet(binary, n, ["--baud", "0", "--latency", "0", "--power-up-at-start",
                                  "--no-power-up-lines", "--boot-delay", "0",
                                  "--host", "broker.example=127.0.0.1:%d" % port,
                                  "--ftp-root", os.path.join(work, "ftp"),
                                  "--state-dir", os.path.join(work, "state")])
        try:
            t0 = time.monotonic()
            hosts = [Host(i, m["pty"], open_session(i, int(3 * seconds + 60)), 120)
                     for i, m in enumerate(fleet.modules)]
            fleetlib.drive(hosts)
            setup_s = time.monotonic() - t0
            for h in hosts:
                h.close()
            rss_sessions = fleet.rss_kib()

            probes = 0 if n < 10 else max(1, n // 100)
            loaded = n - probes
            stats = {"pings": 0}
            hosts = [Host(i, m["pty"], keep_alive(i, seconds, ping, stats), 120)
                     for i, m in enumerate(fleet.modules[:loaded])]
            probe = None
            if probes:
                probe = subprocess.Popen([sys.executable, PROBE, "0.02"] +
                                         [m["pty"] for m in fleet.modules[loaded:]],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            sampler = fleetlib.Sampler(fleet, 0.5)
            cpu0 = fleet.cpu_seconds()
            t1 = time.monotonic()
            fleetlib.drive(hosts)
            elapsed = time.monotonic() - t1
            cpu = fleet.cpu_seconds() - cpu0
            probed = {"rtt": [], "errors": 0}
            if probe:
                out, _ = probe.communicate(b"", timeout=60)
                probed = json.loads(out)
            samples = sampler.stop()
            for h in hosts:
                h.close()
            busy_rss = max([s[1] for s in samples] + [fleet.rss_kib()])
        finally:
            code = fleet.stop()
        if code != 0:
            raise fleetlib.HostError("quecsim exited with %d" % code)
    finally:
        broker.terminate()
        broker.wait(10)
    return {
        "n": n,
        "setup_s": setup_s,
        "pings": stats["pings"],
        "elapsed_s": elapsed,
        "probe_samples": len(probed["rtt"]),
        "probe_errors": probed["errors"],
        "at_p50_ms": fleetlib.percentile(probed["rtt"], 50) * 1000 if probed["rtt"] else None,
        "at_p99_ms": fleetlib.percentile(probed["rtt"], 99) * 1000 if probed["rtt"] else None,
        "rss_kib": rss_sessions,
        "busy_rss_kib": busy_rss,
        "kib_per_module": busy_rss / n,
        "cpu_percent": 100.0 * cpu / elapsed,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", default=DEFAULT_BINARY, help="the quecsim binary")
    parser.add_argument("--modules", type=int, default=1000, help="modules in the fleet (1000)")
    parser.add_argument("--seconds", type=float, default=30, help="keep-alive phase (30 s)")
    parser.add_argument("--ping", type=float, default=5, help="PINGREQ interval (5 s)")
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit("quecsim binary not found: %s (build first, or pass its path)" % args.binary)
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        sys.exit("mosquitto not found (Debian package mosquitto)")
    fleetlib.raise_nofile()
    rows = []
    for n in (1, args.modules):
        work = tempfile.mkdtemp(prefix="quecsim-mqtt-fleet-")
        try:
            rows.append(run(args.binary, n, args.seconds if n > 1 else 2, args.ping, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(json.dumps(rows[-1]), flush=True)
    one, many = rows
    marginal = (many["busy_rss_kib"] - one["busy_rss_kib"]) / (many["n"] - 1)
    print("%d modules, each with an MQTT session to one mosquitto, PINGREQ every %.0f s for "
          "%.0f s:" % (many["n"], args.ping, args.seconds))
    print("  sessions set up in %.1f s; %d keep-alives exchanged" % (many["setup_s"],
                                                                   many["pings"]))
    print("  AT round trip (probe, %d samples, %d errors): p50 %.2f ms, p99 %.2f ms" % (
        many["probe_samples"], many["probe_errors"], many["at_p50_ms"], many["at_p99_ms"]))
    print("  RSS: %.0f KiB per module (process RSS / N), marginal %.0f KiB per module; "
          "CPU %.0f%%" % (many["kib_per_module"], marginal, many["cpu_percent"]))


if __name__ == "__main__":
    main()
