"""The packet data context: AT+QIFGCNT, QICSGP, QIREGAPP, QIACT, QILOCIP, QIDEACT."""

import unittest

from harness import QuecsimTestCase

FAST = ("--time-scale", "0.01")  # QIACT's 800 ms and QIDEACT's 300 ms become 8 ms and 3 ms
LOCAL_IP = b"10.7.33.100"


class PacketContext(QuecsimTestCase):
    def test_driver_setup_sequence_activates_and_reports_the_local_address(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIFGCNT=0", b"\r\nOK\r\n")
        sim.command(b'AT+QICSGP=1,"CMNET"', b"\r\nOK\r\n")
        sim.command(b"AT+QIREGAPP", b"\r\nOK\r\n")
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        # AT+QILOCIP answers the address alone, with no OK after it.
        sim.command(b"AT+QILOCIP", b"\r\n" + LOCAL_IP + b"\r\n")
        sim.expect_silence(0.1)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.close()

    def test_qideact_answers_deact_ok_not_ok(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")

    def test_qideact_with_no_active_context_still_answers_deact_ok(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")

    def test_qilocip_without_an_active_context_is_an_error(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QILOCIP", b"\r\nERROR\r\n")
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QILOCIP", b"\r\nERROR\r\n")

    def test_qiact_twice_is_an_error(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+QIACT", b"\r\nERROR\r\n")
        sim.command(b"AT+QILOCIP", b"\r\n" + LOCAL_IP + b"\r\n")

    def test_qiact_while_detached_is_an_error(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+CGATT=0", b"\r\nOK\r\n")
        sim.command(b"AT+QIACT", b"\r\nERROR\r\n")

    def test_detaching_deactivates_the_context_silently(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+CGATT=0", b"\r\nOK\r\n")
        sim.expect_silence(0.1)  # the host closed it: no +PDP DEACT
        sim.command(b"AT+QILOCIP", b"\r\nERROR\r\n")

    def test_qicsgp_stores_apn_user_and_password(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QICSGP=1,"internet","user","secret"', b"\r\nOK\r\n")
        sim.command(b"AT+QICSGP?", b'\r\n+QICSGP: 1,"internet","user","secret"\r\n\r\nOK\r\n')

    def test_qicsgp_while_the_context_is_active_is_taken_for_the_next_activation(self):
        # A driver sets the APN again after AT+QFTPCLOSE with the context still up.
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b'AT+QICSGP=1,"other","u","p"', b"\r\nOK\r\n")
        sim.command(b"AT+QICSGP?", b'\r\n+QICSGP: 1,"other","u","p"\r\n\r\nOK\r\n')
        sim.command(b"AT+QILOCIP", b"\r\n" + LOCAL_IP + b"\r\n")  # still up
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+QIFGCNT?", b'\r\n+QIFGCNT: 0,1,"other","u","p"\r\n\r\nOK\r\n')

    def test_qicsgp_rejects_bad_parameters(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QICSGP=2", b"\r\nERROR\r\n")
        sim.command(b"AT+QICSGP=1,CMNET", b"\r\nERROR\r\n")  # unquoted string
        sim.command(b'AT+QICSGP=1,"' + b"a" * 101 + b'"', b"\r\nERROR\r\n")
        sim.command(b'AT+QICSGP=1,"a","b","c","d"', b"\r\nERROR\r\n")  # too many
        sim.command(b'AT+QICSGP=1,"' + b"a" * 100 + b'"', b"\r\nOK\r\n")

    def test_qifgcnt_accepts_0_and_1_only(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIFGCNT=1", b"\r\nOK\r\n")
        sim.command(b"AT+QIFGCNT=2", b"\r\nERROR\r\n")
        sim.command(b"AT+QIFGCNT=?", b"\r\n+QIFGCNT: (0,1)\r\n\r\nOK\r\n")

    def test_qiregapp_twice_is_an_error_until_deactivation(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIREGAPP", b"\r\nOK\r\n")
        sim.command(b"AT+QIREGAPP", b"\r\nERROR\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QIREGAPP", b"\r\nOK\r\n")

    def test_qideact_with_cmee_2_still_answers_deact_ok(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")

    def test_cfun_1_1_drops_the_context(self):
        sim = self.start(*FAST)
        sim.skip_power_up()
        sim.echo_off()
        sim.command(b"AT+QIACT", b"\r\nOK\r\n")
        sim.command(b"AT+CFUN=1,1", b"\r\nOK\r\n")
        sim.skip_power_up()
        sim.send(b"AT+QILOCIP\r")
        sim.expect(b"AT+QILOCIP\r\r\nERROR\r\n")


class CommandsWhileBusy(QuecsimTestCase):
    def test_a_line_sent_during_a_running_command_is_answered_after_its_final_result(self):
        # At scale 0.5 AT+QIACT takes 400 ms (room for a loaded machine). The echo of its line
        # proves it runs; the next line then arrives while it is busy and is taken only after
        # QIACT's OK, never inside it.
        sim = self.start("--no-power-up-lines", "--time-scale", "0.5", transcript=True)
        sim.send(b"AT+QIACT\r")
        sim.expect(b"AT+QIACT\r")
        sim.send(b"AT+CSQ\r")
        sim.expect(b"\r\nOK\r\n" + b"AT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.close()
        warnings = [r["data"] for r in sim.transcript_records() if r["event"] == "warning"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("final result", warnings[0])

    def test_a_second_line_in_the_same_write_is_a_warning_too(self):
        sim = self.start("--no-power-up-lines", "--time-scale", "0.1", transcript=True)
        sim.send(b"AT+QIACT\rAT+CSQ\r")
        sim.expect(b"AT+QIACT\r\r\nOK\r\nAT+CSQ\r\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.close()
        warnings = [r["data"] for r in sim.transcript_records() if r["event"] == "warning"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("final result", warnings[0])

    def test_the_lf_of_a_cr_lf_arriving_during_a_command_is_not_a_warning(self):
        # A paced or slow host may deliver CR and LF in separate reads: the LF still belongs to
        # the line's terminator, not to a new command sent before the final result.
        sim = self.start("--no-power-up-lines", "--time-scale", "0.5", transcript=True)
        sim.send(b"AT+QIACT\r")
        sim.expect(b"AT+QIACT\r")
        sim.send(b"\n")
        sim.expect(b"\r\nOK\r\n\n")  # the LF is echoed once the module reads it again
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)
        sim.close()
        self.assertEqual([r for r in sim.transcript_records() if r["event"] == "warning"], [])


if __name__ == "__main__":
    unittest.main()
