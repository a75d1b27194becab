"""A user's script: pyserial (Debian's python3-serial) on the --link path, readline parsing."""

import re
import unittest

import serial

from harness import QuecsimTestCase

FINAL = ("OK", "ERROR", "DEACT OK")


def at(port, command):
    """Sends `command` with CR LF and returns the response lines up to a final result, as a
    typical script does: readline(), strip, skip blank lines and the echo."""
    port.write(command.encode() + b"\r\n")
    lines = []
    while True:
        raw = port.readline()
        if not raw:
            raise AssertionError("no final result for %r; got %r" % (command, lines))
        line = raw.decode("latin-1").strip()
        if not line or line == command:
            continue
        lines.append(line)
        if line in FINAL or line.startswith("+CME ERROR:"):
            return lines


class PyserialClient(QuecsimTestCase):
    def test_pyserial_sees_rdy_because_the_lines_wait_for_the_boot_delay_after_open(self):
        # pyserial flushes pending input when it opens a port. The module holds its power-up
        # lines until its boot delay (3 s at scale 0.05: 150 ms) after that first open, so the
        # flush finds nothing to discard and every power-up line arrives.
        sim = self.start("--time-scale", "0.05", link=True, baud=115200, open_port=False,
                         boot_delay=None)
        with serial.Serial(sim.link, 115200, timeout=3) as port:
            lines = []
            while lines[-1:] != ["SMS Ready"]:
                raw = port.readline()
                self.assertTrue(raw, "power-up lines stopped at %r" % lines)
                if raw.strip():
                    lines.append(raw.decode().strip())
            self.assertEqual(lines, ["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready",
                                     "SMS Ready"])
            self.assertEqual(at(port, "AT"), ["OK"])
        sim.close()

    def test_a_pyserial_script_restarts_the_module_then_queries_and_activates(self):
        sim = self.start("--time-scale", "0.01", link=True, baud=115200, open_port=False)
        with serial.Serial(sim.link, 115200, timeout=3) as port:
            # A script that restarts the module to know its state reads until the last
            # power-up line that follows its OK.
            port.write(b"AT+CFUN=1,1\r\n")
            lines = []
            while "OK" not in lines or lines[-1] != "SMS Ready":
                raw = port.readline()
                self.assertTrue(raw, "power-up lines stopped at %r" % lines)
                if raw.strip():
                    lines.append(raw.decode().strip())
            after_ok = lines[lines.index("OK") - 1:]
            self.assertEqual(after_ok, ["AT+CFUN=1,1", "OK", "RDY", "+CFUN: 1", "+CPIN: READY",
                                        "Call Ready", "SMS Ready"])

            self.assertEqual(at(port, "AT"), ["OK"])
            self.assertEqual(at(port, "ATE0"), ["OK"])
            self.assertEqual(at(port, "ATI"),
                             ["Quectel_Ltd", "Quectel_M95", "Revision: M95FAR02A08", "OK"])
            csq = at(port, "AT+CSQ")
            rssi, ber = map(int, re.fullmatch(r"\+CSQ: (\d+),(\d+)", csq[0]).groups())
            self.assertTrue(0 <= rssi <= 31 and ber in range(8), csq)
            self.assertEqual(csq[1], "OK")
            self.assertEqual(at(port, "AT+CREG?"), ["+CREG: 0,1", "OK"])
            self.assertEqual(at(port, 'AT+QICSGP=1,"CMNET"'), ["OK"])
            self.assertEqual(at(port, "AT+QIACT"), ["OK"])
            port.write(b"AT+QILOCIP\r\n")
            self.assertRegex(port.readline(), rb"^\r\n$")
            self.assertEqual(port.readline(), b"10.7.33.100\r\n")
            self.assertEqual(at(port, "AT+QIDEACT"), ["DEACT OK"])
            self.assertEqual(at(port, "AT+NOSUCH"), ["ERROR"])
        sim.close()


if __name__ == "__main__":
    unittest.main()
