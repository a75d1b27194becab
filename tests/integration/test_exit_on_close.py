"""--exit-on-close: a one-shot run ends when the host closes the pty, as on SIGTERM."""

import os
import subprocess
import termios
import time
import tty
import unittest

from harness import TIMEOUT, QuecsimTestCase, crlf

OK = crlf(b"OK")


def exited(sim, timeout=TIMEOUT):
    """The exit code once the process has ended by itself (None if it is still running)."""
    try:
        return sim.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


class ExitOnClose(QuecsimTestCase):
    def test_a_host_that_opens_talks_and_closes_ends_the_run_with_exit_0(self):
        sim = self.start("--exit-on-close", "--no-power-up-lines", transcript=True, link=True)
        control = sim.control
        self.assertTrue(os.path.exists(control))
        sim.command(b"AT+CSQ", b"AT+CSQ\r\r\n+CSQ: 20,0\r\n" + OK)
        sim.close_port()
        self.assertEqual(exited(sim), 0, sim.stderr())
        self.assertFalse(os.path.lexists(sim.link), "the link is removed")
        self.assertFalse(os.path.exists(control), "the control socket is removed")
        # The transcript is complete: the last answer is in it, every line whole.
        self.assertEqual(sim.transcript_bytes("tx"), b"AT+CSQ\r\r\n+CSQ: 20,0\r\n" + OK)
        self.assertEqual(sim.proc.stdout.read().count(b"\n"), 0, "nothing after the ready line")

    def test_the_run_ends_when_the_last_of_two_descriptors_closes(self):
        sim = self.start("--exit-on-close", "--no-power-up-lines")
        second = os.open(sim.pty, os.O_RDWR | os.O_NOCTTY)
        try:
            sim.close_port()
            # Still running: the second descriptor is open and the module answers on it.
            tty.setraw(second, termios.TCSANOW)
            os.write(second, b"AT\r")
            got = b""
            deadline = time.monotonic() + TIMEOUT
            while len(got) < len(b"AT\r" + OK) and time.monotonic() < deadline:
                os.set_blocking(second, False)
                try:
                    got += os.read(second, 64)
                except BlockingIOError:
                    time.sleep(0.01)
            self.assertEqual(got, b"AT\r" + OK)
            self.assertTrue(sim.running())
        finally:
            os.close(second)
        self.assertEqual(exited(sim), 0, sim.stderr())

    def test_without_the_flag_closing_the_pty_does_not_end_the_run(self):
        sim = self.start("--no-power-up-lines")
        sim.command(b"AT", b"AT\r" + OK)
        sim.close_port()
        sim.open()
        sim.command(b"AT", b"AT\r" + OK)
        self.assertTrue(sim.running())
        sim.close()

    def test_a_run_that_no_host_has_opened_yet_keeps_running(self):
        sim = self.start("--exit-on-close", "--no-power-up-lines", open_port=False)
        # The open that follows is the first: before it there was nothing to close.
        sim.open()
        sim.command(b"AT", b"AT\r" + OK)
        self.assertTrue(sim.running())
        sim.close_port()
        self.assertEqual(exited(sim), 0, sim.stderr())


if __name__ == "__main__":
    unittest.main()
