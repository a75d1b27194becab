"""Echo, verbose/numeric results, ATQ, AT+CMEE and unknown commands (V.250, 27.007)."""

import unittest

from harness import QuecsimTestCase


class Echo(QuecsimTestCase):
    def test_echo_is_on_after_power_up(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"AT\r")
        sim.expect(b"AT\r\r\nOK\r\n")

    def test_ate0_is_echoed_itself_then_echo_stops(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"ATE0\r")
        sim.expect(b"ATE0\r\r\nOK\r\n")
        sim.send(b"AT\r")
        sim.expect(b"\r\nOK\r\n")

    def test_ate1_turns_echo_back_on(self):
        sim = self.start_quiet()
        sim.send(b"ATE1\r")
        sim.expect(b"\r\nOK\r\n")
        sim.send(b"at\r")
        sim.expect(b"at\r\r\nOK\r\n")

    def test_echo_repeats_every_byte_including_lowercase_and_spaces(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"at + csq\r")
        sim.expect(b"at + csq\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_ate2_is_an_error_and_leaves_echo_on(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"ATE2\r")
        sim.expect(b"ATE2\r\r\nERROR\r\n")
        sim.send(b"AT\r")
        sim.expect(b"AT\r\r\nOK\r\n")


class VerboseAndNumeric(QuecsimTestCase):
    def test_atv0_answers_ok_as_zero_cr(self):
        sim = self.start_quiet()
        sim.command(b"ATV0", b"0\r")
        sim.command(b"AT", b"0\r")

    def test_atv0_answers_error_as_four_cr(self):
        sim = self.start_quiet()
        sim.command(b"ATV0", b"0\r")
        sim.command(b"AT+NOSUCH", b"4\r")

    def test_atv0_information_text_ends_with_crlf_without_leading_crlf(self):
        sim = self.start_quiet()
        sim.command(b"ATV0", b"0\r")
        sim.command(b"AT+CSQ", b"+CSQ: 20,0\r\n0\r")

    def test_atv1_restores_verbose_results(self):
        sim = self.start_quiet()
        sim.command(b"ATV0", b"0\r")
        sim.command(b"ATV1", b"\r\nOK\r\n")
        sim.command(b"AT+NOSUCH", b"\r\nERROR\r\n")

    def test_atv_without_digit_means_v0(self):
        sim = self.start_quiet()
        sim.command(b"ATV", b"0\r")


class Quiet(QuecsimTestCase):
    def test_atq1_suppresses_ok_and_error(self):
        sim = self.start_quiet()
        sim.send(b"ATQ1\r")
        sim.send(b"AT\r")
        sim.send(b"AT+NOSUCH\r")
        sim.expect_silence(0.2)
        sim.command(b"ATQ0", b"\r\nOK\r\n")

    def test_atq1_suppresses_cme_errors_too(self):
        # 27.007 9.2: +CME ERROR is a final result code, "similar to ERROR"; Q1 suppresses those.
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.send(b"ATQ1\r")
        sim.send(b"AT+NOSUCH\r")
        sim.send(b"AT+CMEE=9\r")
        sim.expect_silence(0.2)
        sim.command(b"ATQ0", b"\r\nOK\r\n")
        sim.command(b"AT+NOSUCH", b"\r\n+CME ERROR: unknown\r\n")

    def test_atq1_suppresses_deact_ok(self):
        sim = self.start_quiet("--time-scale", "0.01")
        sim.send(b"ATQ1\r")
        sim.send(b"AT+QIDEACT\r")
        sim.expect_silence(0.2)
        sim.command(b"ATQ0", b"\r\nOK\r\n")

    def test_atq1_keeps_information_lines(self):
        sim = self.start_quiet()
        sim.send(b"ATQ1\r")
        sim.command(b"AT+CSQ", b"\r\n+CSQ: 20,0\r\n")
        sim.expect_silence(0.1)


class ExtendedErrors(QuecsimTestCase):
    def test_cmee_is_0_after_power_up_and_errors_say_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE?", b"\r\n+CMEE: 0\r\n\r\nOK\r\n")
        sim.command(b"AT+CMEE=?", b"\r\n+CMEE: (0-2)\r\n\r\nOK\r\n")
        sim.command(b"AT+CMEE=7", b"\r\nERROR\r\n")

    def test_cmee_1_reports_numeric_codes(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=1", b"\r\nOK\r\n")
        sim.command(b"AT+NOSUCH", b"\r\n+CME ERROR: 100\r\n")
        sim.command(b"AT+CMEE=7", b"\r\n+CME ERROR: 50\r\n")
        sim.command(b"AT+QILOCIP", b"\r\n+CME ERROR: 3\r\n")

    def test_cmee_2_reports_verbose_text(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.command(b"AT+CMEE?", b"\r\n+CMEE: 2\r\n\r\nOK\r\n")
        sim.command(b"AT+NOSUCH", b"\r\n+CME ERROR: unknown\r\n")
        sim.command(b"AT+CMEE=7", b"\r\n+CME ERROR: Incorrect parameters\r\n")
        sim.command(b"AT+QILOCIP", b"\r\n+CME ERROR: operation not allowed\r\n")

    def test_cmee_0_returns_to_plain_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.command(b"AT+CMEE=0", b"\r\nOK\r\n")
        sim.command(b"AT+NOSUCH", b"\r\nERROR\r\n")

    def test_cmee_without_value_means_0(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=1", b"\r\nOK\r\n")
        sim.command(b"AT+CMEE=", b"\r\nOK\r\n")
        sim.command(b"AT+CMEE?", b"\r\n+CMEE: 0\r\n\r\nOK\r\n")


class UnknownCommands(QuecsimTestCase):
    def test_unknown_extended_command_answers_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+NOSUCH", b"\r\nERROR\r\n")
        sim.command(b"AT+NOSUCH?", b"\r\nERROR\r\n")
        sim.command(b"AT+NOSUCH=?", b"\r\nERROR\r\n")
        sim.command(b"AT+NOSUCH=1", b"\r\nERROR\r\n")

    def test_unknown_basic_command_answers_error(self):
        sim = self.start_quiet()
        sim.command(b"ATX", b"\r\nERROR\r\n")

    def test_missing_form_of_a_known_command_answers_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ?", b"\r\nERROR\r\n")  # AT+CSQ has no read form
        sim.command(b"AT+CPIN", b"\r\nERROR\r\n")  # AT+CPIN has no execute form

    def test_module_still_works_after_an_unknown_command(self):
        sim = self.start_quiet()
        sim.command(b"AT+NOSUCH", b"\r\nERROR\r\n")
        sim.command(b"AT", b"\r\nOK\r\n")


if __name__ == "__main__":
    unittest.main()
