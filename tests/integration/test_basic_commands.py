"""Identification, UART and network-status commands."""

import time
import unittest

from harness import QuecsimTestCase, crlf

REVISIONS = {"M10": b"M10EBR01A12", "M95": b"M95FAR02A08", "M33": b"M33CR01A03"}


class Identification(QuecsimTestCase):
    def test_ati_answers_manufacturer_model_and_revision(self):
        sim = self.start_quiet()
        sim.command(b"ATI", b"\r\nQuectel_Ltd\r\nQuectel_M95\r\nRevision: M95FAR02A08\r\n"
                            b"\r\nOK\r\n")

    def test_ati_follows_the_model(self):
        for model, revision in REVISIONS.items():
            with self.subTest(model=model):
                sim = self.start_quiet("--model", model)
                sim.command(b"ATI", b"\r\nQuectel_Ltd\r\nQuectel_" + model.encode() +
                            b"\r\nRevision: " + revision + b"\r\n\r\nOK\r\n")
                sim.close()

    def test_gmi_gmm_gmr_and_their_cg_twins(self):
        sim = self.start_quiet("--model", "M10")
        for cmd, text in ((b"AT+GMI", b"Quectel_Ltd"), (b"AT+CGMI", b"Quectel_Ltd"),
                          (b"AT+GMM", b"Quectel_M10"), (b"AT+CGMM", b"Quectel_M10"),
                          (b"AT+GMR", b"Revision: M10EBR01A12"),
                          (b"AT+CGMR", b"Revision: M10EBR01A12")):
            with self.subTest(cmd=cmd):
                sim.command(cmd, crlf(text) + b"\r\nOK\r\n")
                sim.command(cmd + b"=?", b"\r\nOK\r\n")

    def test_cgsn_answers_the_default_imei(self):
        sim = self.start_quiet()
        sim.command(b"AT+CGSN", b"\r\n867273020123456\r\n\r\nOK\r\n")
        sim.command(b"AT+GSN", b"\r\n867273020123456\r\n\r\nOK\r\n")

    def test_cgsn_answers_the_imei_given_on_the_command_line(self):
        sim = self.start_quiet("--imei", "490154203237518")
        sim.command(b"AT+CGSN", b"\r\n490154203237518\r\n\r\nOK\r\n")


class Uart(QuecsimTestCase):
    def test_ipr_reads_the_start_rate(self):
        sim = self.start_quiet(baud=9600)
        sim.command(b"AT+IPR?", b"\r\n+IPR: 9600\r\n\r\nOK\r\n")

    def test_ipr_reads_115200_when_pacing_is_off(self):
        sim = self.start_quiet(baud=0)
        sim.command(b"AT+IPR?", b"\r\n+IPR: 115200\r\n\r\nOK\r\n")

    def test_ipr_write_changes_the_rate_and_rejects_unknown_rates(self):
        sim = self.start_quiet(baud=115200)
        sim.command(b"AT+IPR=57600", b"\r\nOK\r\n")
        sim.command(b"AT+IPR?", b"\r\n+IPR: 57600\r\n\r\nOK\r\n")
        sim.command(b"AT+IPR=12345", b"\r\nERROR\r\n")
        sim.command(b"AT+IPR=999999", b"\r\nERROR\r\n")
        sim.command(b"AT+IPR?", b"\r\n+IPR: 57600\r\n\r\nOK\r\n")

    def test_ipr_test_form_lists_the_rates(self):
        sim = self.start_quiet()
        sim.command(b"AT+IPR=?", b"\r\n+IPR: (0,300,600,1200,2400,4800,9600,14400,19200,28800,"
                                 b"38400,57600,115200),()\r\n\r\nOK\r\n")

    def test_baud_9600_paces_96_bytes_over_at_least_100_ms(self):
        # 96 bytes x 10 bits at 9600 bit/s = 100 ms each way. The bound is generous (80 ms)
        # because the first slice of bytes moves at once; the point is that pacing is real.
        sim = self.start("--no-power-up-lines", baud=9600)
        line = b"AT" + b" " * 93 + b"\r"
        self.assertEqual(len(line), 96)
        began = time.monotonic()
        sim.send(line)
        sim.expect(line + b"\r\nOK\r\n")
        self.assertGreaterEqual(time.monotonic() - began, 0.08)

    def test_ipr_write_changes_the_pacing_after_its_ok(self):
        sim = self.start("--no-power-up-lines", baud=115200)
        line = b"AT" + b" " * 93 + b"\r"
        began = time.monotonic()
        sim.send(line)
        sim.expect(line + b"\r\nOK\r\n")
        fast = time.monotonic() - began  # ~8 ms at 115200
        sim.send(b"AT+IPR=9600\r")
        sim.expect(b"AT+IPR=9600\r\r\nOK\r\n")
        began = time.monotonic()
        sim.send(line)
        sim.expect(line + b"\r\nOK\r\n")
        slow = time.monotonic() - began
        self.assertGreaterEqual(slow, 0.08)
        self.assertGreater(slow, fast)

    def test_baud_0_does_not_pace(self):
        sim = self.start("--no-power-up-lines", baud=0)
        line = b"AT" + b" " * 20000 + b"\r"
        began = time.monotonic()
        sim.send(line)
        sim.expect(line + b"\r\nERROR\r\n")
        # 20003 bytes at 115200 would take 1.74 s; unpaced they take milliseconds (the bound
        # leaves room for a loaded machine and sanitizers).
        self.assertLess(time.monotonic() - began, 1.0)

    def test_ifc_2_2_turns_rts_cts_on_and_is_recorded_in_the_transcript(self):
        sim = self.start_quiet(transcript=True)
        sim.command(b"AT+IFC?", b"\r\n+IFC: 0,0\r\n\r\nOK\r\n")
        sim.command(b"AT+IFC=2,2", b"\r\nOK\r\n")
        sim.command(b"AT+IFC?", b"\r\n+IFC: 2,2\r\n\r\nOK\r\n")
        sim.command(b"AT+IFC=0,0", b"\r\nOK\r\n")
        sim.close()
        flow = [r["data"] for r in sim.transcript_records()
                if r["event"] == "state" and r["source"] == "flow_control"]
        self.assertEqual(flow, ["rts/cts", "none"])

    def test_ifc_rejects_software_flow_control(self):
        sim = self.start_quiet()
        sim.command(b"AT+IFC=1,1", b"\r\nERROR\r\n")
        sim.command(b"AT+IFC=?", b"\r\n+IFC: (0,2),(0,2)\r\n\r\nOK\r\n")


class NetworkStatus(QuecsimTestCase):
    def test_cpin_read_says_ready(self):
        sim = self.start_quiet()
        sim.command(b"AT+CPIN?", b"\r\n+CPIN: READY\r\n\r\nOK\r\n")

    def test_csq_answers_signal_quality(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.command(b"AT+CSQ=?", b"\r\n+CSQ: (0-31,99),(0-7,99)\r\n\r\nOK\r\n")

    def test_creg_read_says_registered_home(self):
        sim = self.start_quiet()
        sim.command(b"AT+CREG?", b"\r\n+CREG: 0,1\r\n\r\nOK\r\n")
        sim.command(b"AT+CREG=?", b"\r\n+CREG: (0-2)\r\n\r\nOK\r\n")

    def test_creg_2_adds_location_area_and_cell(self):
        sim = self.start_quiet()
        sim.command(b"AT+CREG=2", b"\r\nOK\r\n")
        sim.command(b"AT+CREG?", b'\r\n+CREG: 2,1,"1A2B","3C4D"\r\n\r\nOK\r\n')
        sim.command(b"AT+CREG=3", b"\r\nERROR\r\n")

    def test_cgreg_read_says_registered_home(self):
        sim = self.start_quiet()
        sim.command(b"AT+CGREG?", b"\r\n+CGREG: 0,1\r\n\r\nOK\r\n")
        sim.command(b"AT+CGREG=1", b"\r\nOK\r\n")
        sim.command(b"AT+CGREG?", b"\r\n+CGREG: 1,1\r\n\r\nOK\r\n")

    def test_cgatt_reads_attached_and_can_detach(self):
        sim = self.start_quiet()
        sim.command(b"AT+CGATT?", b"\r\n+CGATT: 1\r\n\r\nOK\r\n")
        sim.command(b"AT+CGATT=0", b"\r\nOK\r\n")
        sim.command(b"AT+CGATT?", b"\r\n+CGATT: 0\r\n\r\nOK\r\n")
        sim.command(b"AT+CGATT=1", b"\r\nOK\r\n")
        sim.command(b"AT+CGATT?", b"\r\n+CGATT: 1\r\n\r\nOK\r\n")


class Defaults(QuecsimTestCase):
    def test_at_and_f_restores_echo_verbose_and_cmee(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"ATE0\r")
        sim.expect(b"ATE0\r\r\nOK\r\n")
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.command(b"ATV0", b"0\r")
        sim.command(b"AT&F", b"\r\nOK\r\n")
        sim.send(b"AT+NOSUCH\r")
        sim.expect(b"AT+NOSUCH\r\r\nERROR\r\n")

    def test_atz_restores_defaults_too(self):
        sim = self.start_quiet()
        sim.command(b"ATV0", b"0\r")
        sim.command(b"ATZ", b"\r\nOK\r\n")  # echo comes back from the next line on
        sim.send(b"AT\r")
        sim.expect(b"AT\r\r\nOK\r\n")


if __name__ == "__main__":
    unittest.main()
