"""First contact with default flags: the first host to open the pty is answered at once and still
sees the power-up lines (even pyserial, which flushes its input on open); a driver that never
waits for RDY is answered; gammu identifies the module on its first run. With --realistic-boot
the module is switched on by that first open and deaf for its boot delay, as a real one."""

import select
import time
import unittest

import serial

from harness import POWER_UP_LINES, TIMEOUT, QuecsimTestCase
from test_gammu import gammu_identify



def read_until(port, end, timeout=TIMEOUT):
    """Reads from a pyserial port until `end` has arrived (or the time is up)."""
    port.timeout = timeout
    return port.read_until(end)


def read_window(port, seconds):
    """Everything a pyserial port receives within `seconds`."""
    data = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        port.timeout = max(0.0, deadline - time.monotonic())
        data += port.read(4096)
    return data


class DefaultFirstContact(QuecsimTestCase):
    """`quecsim` with no flag that changes its start (the profile's 3 s boot delay, 115200 baud,
    time scale 1), as a new user runs it."""

    def start_default(self, *args):
        return self.start(*args, link=True, baud=None, boot_delay=None, open_port=False)

    def test_a_command_pasted_at_once_after_open_is_answered_after_the_power_up_lines(self):
        sim = self.start_default()
        began = time.monotonic()
        with serial.Serial(sim.link, 115200, timeout=2) as port:  # flushes its input on open
            port.write(b"AT+CSQ\r")
            got = read_until(port, b"OK\r\n")
        self.assertEqual(got, POWER_UP_LINES + b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        # Answered at once, not after the boot delay.
        self.assertLess(time.monotonic() - began, 2.5)

    def test_a_host_that_opens_and_waits_gets_the_power_up_lines_after_the_boot_delay(self):
        sim = self.start_default("--time-scale", "0.2")  # 3 s boot delay: 600 ms
        with serial.Serial(sim.link, 115200, timeout=2) as port:
            opened = time.monotonic()
            got = read_until(port, b"SMS Ready\r\n", timeout=3 * TIMEOUT)
            waited = time.monotonic() - opened
        self.assertEqual(got, POWER_UP_LINES)
        self.assertGreaterEqual(waited, 0.5)

    def test_a_driver_that_sends_once_after_1_7_s_and_never_waits_for_rdy_is_answered(self):
        # As a public M95 driver does: open, wait 1.7 s, send ATE0 and AT+CSQ once each
        # without reading in between, then read what came back.
        sim = self.start_default()
        with serial.Serial(sim.link, 115200, timeout=0) as port:
            time.sleep(1.7)
            port.write(b"ATE0\r")
            time.sleep(0.1)
            port.write(b"AT+CSQ\r")
            got = read_until(port, b"+CSQ: 20,0\r\n\r\nOK\r\n")
        self.assertEqual(got, POWER_UP_LINES + b"ATE0\r\r\nOK\r\n\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_the_power_up_lines_come_once_even_when_the_host_reopens(self):
        sim = self.start_default("--time-scale", "0.1")
        with serial.Serial(sim.link, 115200) as port:
            port.write(b"AT\r")
            self.assertEqual(read_until(port, b"OK\r\n"), POWER_UP_LINES + b"AT\r\r\nOK\r\n")
        with serial.Serial(sim.link, 115200) as port:
            port.write(b"AT\r")
            self.assertEqual(read_until(port, b"OK\r\n"), b"AT\r\r\nOK\r\n")
            self.assertEqual(read_window(port, 0.5), b"")  # the boot delay has passed: nothing

    def test_the_ready_state_is_recorded_at_start(self):
        sim = self.start("--time-scale", "0.1", boot_delay=None, open_port=False,
                         transcript=True)
        sim.open()
        sim.send(b"AT\r")
        sim.expect(POWER_UP_LINES + b"AT\r\r\nOK\r\n")
        sim.close()
        states = [r["data"] for r in sim.transcript_records()
                  if r["event"] == "state" and r["source"] == "module"]
        self.assertEqual(states[:2], ["booting", "ready"])
        config = next(r for r in sim.transcript_records() if r["source"] == "config")
        self.assertIn('"realistic_boot":false', config["data"])

    def test_gammu_identify_succeeds_on_its_first_run_right_after_start(self):
        sim = self.start_default()
        fields = {k.strip(): v.strip() for k, v in
                  (pair for pair in gammu_identify(self, sim.link) if len(pair) == 2)}
        self.assertEqual(fields["Manufacturer"], "Quectel_Ltd")
        self.assertEqual(fields["IMEI"], "867273020123456")


class RealisticBoot(QuecsimTestCase):
    """--realistic-boot: what firmware that switches the module on itself meets."""

    def test_the_send_once_driver_is_not_answered_during_the_boot_delay(self):
        sim = self.start("--realistic-boot", link=True, baud=None, boot_delay=None,
                         open_port=False)
        with serial.Serial(sim.link, 115200, timeout=0) as port:
            time.sleep(1.7)
            port.write(b"ATE0\r")
            time.sleep(0.1)
            port.write(b"AT+CSQ\r")
            got = read_until(port, b"SMS Ready\r\n", timeout=3 * TIMEOUT)
            # Both were lost: the module was still booting; then only the power-up lines.
            self.assertEqual(got, POWER_UP_LINES)
            self.assertEqual(read_window(port, 0.3), b"")
            port.write(b"AT\r")
            self.assertEqual(read_until(port, b"OK\r\n"), b"AT\r\r\nOK\r\n")

    def test_nothing_is_sent_before_the_first_open(self):
        sim = self.start("--realistic-boot", "--time-scale", "0.1", boot_delay=None,
                         open_port=False)
        time.sleep(0.5)  # longer than the 300 ms boot delay: the module is not on yet
        sim.open()
        began = time.monotonic()
        self.assertEqual(select.select([sim.fd], [], [], 0.1)[0], [])
        sim.expect(POWER_UP_LINES)
        self.assertGreaterEqual(time.monotonic() - began, 0.25)


if __name__ == "__main__":
    unittest.main()
