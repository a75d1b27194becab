"""Power-up lines and AT+CFUN=1,1, on the real binary and pty."""

import json
import os
import shutil
import tempfile
import time
import unittest

from harness import POWER_UP_LINES, QuecsimTestCase

PROFILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "profiles")


class PowerUpLines(QuecsimTestCase):
    def test_power_up_lines_arrive_in_order_each_framed_by_crlf(self):
        sim = self.start()
        sim.expect(b"\r\nRDY\r\n"
                   b"\r\n+CFUN: 1\r\n"
                   b"\r\n+CPIN: READY\r\n"
                   b"\r\nCall Ready\r\n"
                   b"\r\nSMS Ready\r\n")
        sim.expect_silence(0.1)
        sim.close()

    def test_power_up_lines_are_the_same_for_every_model(self):
        for model in ("M10", "M95", "M33"):
            with self.subTest(model=model):
                sim = self.start("--model", model)
                self.assertEqual(sim.model, model)
                sim.expect(POWER_UP_LINES)
                sim.close()

    def test_no_power_up_lines_flag_makes_the_module_silent_until_asked(self):
        sim = self.start("--no-power-up-lines")
        sim.expect_silence(0.2)
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)
        sim.close()

    def test_module_answers_at_right_after_the_power_up_lines(self):
        sim = self.start()
        sim.skip_power_up()
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)


class PowerOnAtFirstOpen(QuecsimTestCase):
    def test_with_realistic_boot_the_module_boots_when_the_host_first_opens_the_pty(self):
        # 3 s of boot delay (the M95 profile) at scale 0.1: 300 ms.
        sim = self.start("--realistic-boot", "--time-scale", "0.1", boot_delay=None,
                         open_port=False)
        # Nothing is sent while no host has the port open: the module is not even on.
        sim.open()
        began = time.monotonic()
        sim.send(b"AT\r")  # during boot: nobody hears it
        sim.expect(POWER_UP_LINES)
        self.assertGreaterEqual(time.monotonic() - began, 0.25)
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)

    def test_reopening_the_pty_does_not_power_cycle_the_module(self):
        sim = self.start()
        sim.skip_power_up()
        sim.echo_off()
        sim.reopen()
        sim.expect_silence(0.2)
        sim.command(b"AT", b"\r\nOK\r\n")  # echo still off: the same module

    def test_boot_delay_flag_overrides_the_profile(self):
        sim = self.start("--boot-delay", "500", "--time-scale", "0.2", boot_delay=None)
        began = time.monotonic()
        sim.expect(POWER_UP_LINES)
        self.assertGreaterEqual(time.monotonic() - began, 0.08)

    def test_with_realistic_boot_power_up_at_start_boots_without_a_host(self):
        sim = self.start("--realistic-boot", "--power-up-at-start", open_port=False)
        # The lines go out before any host is attached, and stay in the pty for it.
        time.sleep(0.2)  # the point is that no host is there while they go out
        sim.open()
        sim.expect(POWER_UP_LINES)

    def test_power_up_at_start_boots_without_a_host(self):
        sim = self.start("--power-up-at-start", open_port=False)
        # The lines go out before any host is attached, and stay in the pty for it.
        time.sleep(0.2)  # the point is that no host is there while they go out
        sim.open()
        sim.expect(POWER_UP_LINES)

    def test_a_profile_file_with_a_sim_pin_changes_the_power_up_lines(self):
        with open(os.path.join(PROFILES, "M95.json")) as f:
            profile = json.load(f)
        profile["sim"]["state"] = "pin"
        path = os.path.join(self.tmp(), "locked.json")
        with open(path, "w") as f:
            json.dump(profile, f)
        sim = self.start("--model", path)
        sim.expect(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: SIM PIN\r\n")
        sim.echo_off()
        sim.command(b'AT+CPIN="1234"', b"\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n"
                                       b"\r\nSMS Ready\r\n")

    def tmp(self):
        path = tempfile.mkdtemp(prefix="quecsim-profile-")
        self.addCleanup(shutil.rmtree, path, True)
        return path


class FunctionalityRestart(QuecsimTestCase):
    def test_cfun_1_1_answers_ok_then_repeats_the_power_up_lines(self):
        sim = self.start("--time-scale", "0.01")
        sim.skip_power_up()
        sim.send(b"AT+CFUN=1,1\r")
        sim.expect(b"AT+CFUN=1,1\r\r\nOK\r\n")
        sim.expect(POWER_UP_LINES)
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)
        sim.close()

    def test_cfun_1_1_restores_power_up_settings(self):
        sim = self.start("--time-scale", "0.01")
        sim.skip_power_up()
        sim.echo_off()
        sim.command(b"ATV0", b"0\r")
        sim.send(b"AT+CFUN=1,1\r")
        sim.expect(b"0\r")  # the OK still in numeric mode, before the restart
        sim.expect(POWER_UP_LINES)
        # Echo and verbose results are back on after the restart.
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)

    def test_cfun_1_1_without_power_up_lines_restarts_silently(self):
        sim = self.start("--no-power-up-lines", "--time-scale", "0.01")
        sim.command(b"AT+CFUN=1,1", b"\r\nOK\r\n", echo=True)
        sim.expect_silence(0.2)  # 2 s of restart at scale 0.01 = 20 ms, then nothing to say
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)

    def test_cfun_read_reports_full_functionality(self):
        sim = self.start_quiet()
        sim.command(b"AT+CFUN?", b"\r\n+CFUN: 1\r\n\r\nOK\r\n")
        sim.command(b"AT+CFUN=?", b"\r\n+CFUN: (0,1,4),(0,1)\r\n\r\nOK\r\n")

    def test_cfun_0_then_read_reports_minimum_functionality(self):
        sim = self.start_quiet()
        sim.command(b"AT+CFUN=0", b"\r\nOK\r\n")
        sim.command(b"AT+CFUN?", b"\r\n+CFUN: 0\r\n\r\nOK\r\n")
        sim.command(b"AT+CFUN=1", b"\r\nOK\r\n")
        sim.command(b"AT+CFUN?", b"\r\n+CFUN: 1\r\n\r\nOK\r\n")


if __name__ == "__main__":
    unittest.main()
