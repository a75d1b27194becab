"""Command-line assembly: concatenation, A/, S3/S4/S5, backspace, line endings, bad input."""

import unittest

from harness import QuecsimTestCase

MAX_BODY = 556  # the module's longest command line after "AT" (documented in line_discipline.hpp)


class Concatenation(QuecsimTestCase):
    def test_extended_commands_separated_by_semicolon_share_one_ok(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ;+CPIN?", b"\r\n+CSQ: 20,0\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")

    def test_basic_commands_follow_each_other_without_separator(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"ATE0V0\r")
        sim.expect(b"ATE0V0\r0\r")
        sim.command(b"AT", b"0\r")

    def test_basic_then_extended_commands_on_one_line(self):
        sim = self.start_quiet()
        sim.command(b"ATV1+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_first_error_ends_the_line_and_later_commands_do_not_run(self):
        sim = self.start_quiet()
        # AT+CSQ runs, AT+NOSUCH fails, AT+CMEE=2 is never executed.
        sim.command(b"AT+CSQ;+NOSUCH;+CMEE=2", b"\r\n+CSQ: 20,0\r\n\r\nERROR\r\n")
        sim.command(b"AT+CMEE?", b"\r\n+CMEE: 0\r\n\r\nOK\r\n")

    def test_an_error_in_the_first_command_gives_only_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+NOSUCH;+CSQ", b"\r\nERROR\r\n")

    def test_empty_line_and_lone_semicolons_answer_ok(self):
        sim = self.start_quiet()
        sim.command(b"AT", b"\r\nOK\r\n")
        sim.command(b"AT;", b"\r\nOK\r\n")


class RepeatLastLine(QuecsimTestCase):
    def test_a_slash_repeats_the_previous_line_without_a_terminator(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ;+CPIN?", b"\r\n+CSQ: 20,0\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")
        sim.send(b"A/")
        sim.expect(b"\r\n+CSQ: 20,0\r\n\r\n+CPIN: READY\r\n\r\nOK\r\n")

    def test_a_slash_is_echoed_when_echo_is_on(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"AT+CSQ\r")
        sim.expect(b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.send(b"a/")
        sim.expect(b"a/\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_a_slash_repeats_a_failing_line_too(self):
        sim = self.start_quiet()
        sim.command(b"AT+NOSUCH", b"\r\nERROR\r\n")
        sim.send(b"A/")
        sim.expect(b"\r\nERROR\r\n")


class SRegisters(QuecsimTestCase):
    def test_s3_s4_s5_read_their_power_up_values_in_three_digits(self):
        sim = self.start_quiet()
        sim.command(b"ATS3?", b"\r\n013\r\n\r\nOK\r\n")
        sim.command(b"ATS4?", b"\r\n010\r\n\r\nOK\r\n")
        sim.command(b"ATS5?", b"\r\n008\r\n\r\nOK\r\n")

    def test_changing_s3_changes_the_terminator_and_the_response_framing(self):
        sim = self.start_quiet()
        # V.250: the result of the line that changes S3 already uses the new value.
        sim.send(b"ATS3=35\r")
        sim.expect(b"#\nOK#\n")
        sim.send(b"AT+CSQ#")
        sim.expect(b"#\n+CSQ: 20,0#\n#\nOK#\n")
        sim.send(b"ATS3?#")
        sim.expect(b"#\n035#\n#\nOK#\n")
        sim.send(b"ATS3=13#")
        sim.expect(b"\r\nOK\r\n")
        sim.command(b"AT", b"\r\nOK\r\n")

    def test_changing_s4_changes_the_response_formatting_character(self):
        sim = self.start_quiet()
        sim.command(b"ATS4=64", b"\r@OK\r@")
        sim.command(b"ATS4=10", b"\r\nOK\r\n")

    def test_changing_s5_changes_the_editing_character(self):
        sim = self.start_quiet()
        sim.command(b"ATS5=127", b"\r\nOK\r\n")
        sim.command(b"ATS5?", b"\r\n127\r\n\r\nOK\r\n")
        sim.command(b"AT+CSX\x7fQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_s3_out_of_range_is_an_error(self):
        sim = self.start_quiet()
        sim.command(b"ATS3=128", b"\r\nERROR\r\n")
        sim.command(b"ATS3?", b"\r\n013\r\n\r\nOK\r\n")

    def test_s3_test_form_lists_the_range(self):
        sim = self.start_quiet()
        sim.command(b"ATS3=?", b"\r\nS3: (0-127)\r\n\r\nOK\r\n")


class Editing(QuecsimTestCase):
    def test_backspace_deletes_the_previous_character(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSX\bQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_backspace_is_echoed_as_received(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"AT+CSX\bQ\r")
        sim.expect(b"AT+CSX\bQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_several_backspaces_delete_several_characters(self):
        sim = self.start_quiet()
        sim.command(b"AT+NOSUCH\b\b\b\b\b\bCSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_backspace_over_the_whole_body_leaves_an_empty_line(self):
        sim = self.start_quiet()
        sim.command(b"ATXYZ\b\b\b", b"\r\nOK\r\n")


class LineEndings(QuecsimTestCase):
    def test_lf_alone_ends_a_command_line_and_is_noted_in_the_transcript(self):
        sim = self.start("--no-power-up-lines", transcript=True)
        sim.send(b"AT+CSQ\n")
        sim.expect(b"AT+CSQ\n\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.close()
        warnings = [r for r in sim.transcript_records() if r["event"] == "warning"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertEqual(warnings[0]["source"], "host")
        self.assertIn("LF", warnings[0]["data"])

    def test_cr_lf_is_accepted_without_a_warning(self):
        sim = self.start_quiet(transcript=True)
        sim.send(b"AT+CSQ\r\n")
        sim.expect(b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.command(b"AT", b"\r\nOK\r\n")
        sim.close()
        self.assertEqual([r for r in sim.transcript_records() if r["event"] == "warning"], [])

    def test_lowercase_prefix_is_accepted(self):
        sim = self.start_quiet()
        sim.command(b"at+csq", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.command(b"aT", b"\r\nOK\r\n")


class BadInput(QuecsimTestCase):
    def test_garbage_before_a_command_is_ignored(self):
        sim = self.start_quiet()
        sim.command(b"\x13\x11hello}{ world\xfe\xffAT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_a_garbage_line_without_prefix_gets_no_answer(self):
        sim = self.start_quiet()
        sim.send(b"hello world\r")
        sim.expect_silence(0.1)
        sim.command(b"AT", b"\r\nOK\r\n")

    def test_a_malformed_command_line_is_an_error_then_a_valid_one_works(self):
        sim = self.start_quiet()
        sim.command(b"AT+#$%&*(", b"\r\nERROR\r\n")
        sim.command(b"AT+CPIN=\"1234", b"\r\nERROR\r\n")  # unbalanced quote
        sim.command(b"AT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_the_longest_accepted_line_is_556_characters(self):
        sim = self.start_quiet()
        sim.command(b"AT" + b" " * MAX_BODY, b"\r\nOK\r\n")
        sim.command(b"AT+CSQ" + b" " * (MAX_BODY - 4), b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_an_overlong_line_is_answered_error_then_the_module_still_works(self):
        sim = self.start_quiet()
        sim.command(b"AT" + b" " * (MAX_BODY + 1), b"\r\nERROR\r\n")
        sim.command(b"AT+CSQ" + b"X" * 10000, b"\r\nERROR\r\n")
        sim.command(b"AT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")

    def test_an_overlong_line_is_echoed_in_full(self):
        sim = self.start("--no-power-up-lines")
        line = b"AT" + b"Z" * 2000 + b"\r"
        sim.send(line)
        sim.expect(line + b"\r\nERROR\r\n")

    def test_a_nul_byte_in_a_command_line_is_an_error(self):
        sim = self.start_quiet()
        sim.command(b"AT\x00", b"\r\nERROR\r\n")
        sim.command(b"AT+C\x00SQ", b"\r\nERROR\r\n")
        sim.command(b"AT", b"\r\nOK\r\n")

    def test_nul_and_8_bit_bytes_are_echoed_unchanged(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"\x00\x80\xffAT\xe9\r")
        sim.expect(b"\x00\x80\xffAT\xe9\r\r\nERROR\r\n")

    def test_an_8_bit_byte_outside_quotes_is_an_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ\xe9", b"\r\nERROR\r\n")

    def test_8_bit_bytes_inside_quotes_are_kept_exactly(self):
        sim = self.start_quiet()
        sim.command(b'AT+QICSGP=1,"\xe9\xff\x80"', b"\r\nOK\r\n")
        sim.command(b"AT+QICSGP?", b'\r\n+QICSGP: 1,"\xe9\xff\x80","",""\r\n\r\nOK\r\n')

    def test_bytes_before_the_prefix_including_nul_do_not_disturb_the_line(self):
        sim = self.start_quiet()
        sim.command(b"\x00\x00\x00AT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")


if __name__ == "__main__":
    unittest.main()
