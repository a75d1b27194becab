"""An example host for the compose file's `host` service: finds the module through the ready
line quecsim wrote into the shared volume, opens its pty through /proc/<pid>/root (the module
container's file tree, reachable because the two containers share a PID namespace), and does
what a firmware's first minute does: wait for the power-up lines, identify the module, open an
FTP session and close it. Exits 0 when every answer was right.

    python3 host_example.py /run/quecsim/ready.json
"""

import json
import sys
import time

import serial

TIMEOUT = 30.0


def ready_line(path):
    """The module's ready line, waiting for quecsim to write it (bounded)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                return json.loads(text)
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise SystemExit("host: no ready line in %s within %.0f s" % (path, TIMEOUT))


def lines_until(port, last):
    lines = []
    while True:
        raw = port.readline()
        if not raw.endswith(b"\n"):
            raise SystemExit("host: waiting for %r, got %r then nothing" % (last, lines))
        line = raw.strip().decode("latin-1")
        if line:
            lines.append(line)
            print("host: <", line, flush=True)
        if line == last or line == "ERROR":
            return lines


def command(port, text, last="OK"):
    print("host: >", text, flush=True)
    port.write(text.encode() + b"\r")
    return lines_until(port, last)


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: host_example.py READY_JSON")
    ready = ready_line(sys.argv[1])
    device = "/proc/%d/root%s" % (ready["pid"], ready["pty"])
    with serial.Serial(device, 115200, timeout=10) as port:
        lines_until(port, "SMS Ready")
        checks = [
            (command(port, "ATE0"), ["ATE0", "OK"]),
            (command(port, "AT+CGMR"), ["Revision: " + "M95FAR02A08", "OK"]),
            (command(port, 'AT+QFTPUSER="quectel"'), ["OK"]),
            (command(port, 'AT+QFTPPASS="123456"'), ["OK"]),
            (command(port, 'AT+QFTPOPEN="ftp.example.com",21', "+QFTPOPEN:0"),
             ["OK", "+QFTPOPEN:0"]),
            (command(port, "AT+QFTPCLOSE", "+QFTPCLOSE:0"), ["OK", "+QFTPCLOSE:0"]),
        ]
    for got, expected in checks:
        if got != expected:
            raise SystemExit("host: expected %r, got %r" % (expected, got))
    print("host: the module answered every command", flush=True)


if __name__ == "__main__":
    main()
