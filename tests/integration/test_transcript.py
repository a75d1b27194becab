"""The --transcript file: JSON Lines with rx/tx records that match the wire exactly."""

import unittest

from harness import POWER_UP_LINES, QuecsimTestCase

KINDS = {"rx", "tx", "state", "warning", "ftp_tx", "ftp_rx", "data", "fault", "info"}


class Transcript(QuecsimTestCase):
    def run_session(self):
        """A short session; returns the module, everything sent and everything received."""
        sim = self.start(transcript=True)
        sent, seen = [], []

        def exchange(data, answer):
            sim.send(data)
            sent.append(data)
            seen.append(sim.expect(answer))

        seen.append(sim.expect(POWER_UP_LINES))
        exchange(b"AT\r", b"AT\r\r\nOK\r\n")
        exchange(b"ATE0\r", b"ATE0\r\r\nOK\r\n")
        exchange(b"AT+CSQ;+NOSUCH\r", b"\r\n+CSQ: 20,0\r\n\r\nERROR\r\n")
        exchange(b'AT+QICSGP=1,"\xe9\xff\\"\r', b"\r\nOK\r\n")
        exchange(b"AT+QICSGP?\r", b'\r\n+QICSGP: 1,"\xe9\xff\\","",""\r\n\r\nOK\r\n')
        sim.close()  # every record is written once the process has ended
        return sim, b"".join(sent), b"".join(seen)

    def test_every_line_is_one_json_object_with_the_documented_fields(self):
        sim, _, _ = self.run_session()
        records = sim.transcript_records()
        self.assertGreater(len(records), 5)
        last = 0.0
        for r in records:
            self.assertEqual(set(r), {"t", "module", "event", "source", "data"}, r)
            self.assertIsInstance(r["t"], float)
            self.assertGreaterEqual(r["t"], last, "timestamps are monotonic")
            last = r["t"]
            self.assertEqual(r["module"], 0)
            self.assertIn(r["event"], KINDS)
            self.assertIsInstance(r["source"], str)
            self.assertIsInstance(r["data"], str)

    def test_rx_records_hold_exactly_the_bytes_the_host_sent(self):
        sim, sent, _ = self.run_session()
        self.assertEqual(sim.transcript_bytes("rx"), sent)

    def test_tx_records_hold_exactly_the_bytes_the_host_saw(self):
        sim, _, seen = self.run_session()
        self.assertEqual(sim.transcript_bytes("tx"), seen)

    def test_every_byte_value_survives_the_transcript(self):
        sim = self.start("--no-power-up-lines", transcript=True)
        every = bytes(range(256))  # no "AT" pair in it: all of it is ignored line noise
        sim.send(every + b"AT\r")
        sim.expect(every + b"AT\r\r\nOK\r\n")
        sim.close()
        self.assertEqual(sim.transcript_bytes("rx"), every + b"AT\r")
        self.assertEqual(sim.transcript_bytes("tx"), every + b"AT\r\r\nOK\r\n")

    def test_a_line_ended_by_lf_alone_is_answered_and_the_warning_states_the_fact(self):
        sim = self.start("--no-power-up-lines", transcript=True)
        sim.send(b"AT\n")
        sim.expect(b"AT\n\r\nOK\r\n")
        sim.close()
        warnings = [r["data"] for r in sim.transcript_records() if r["event"] == "warning"]
        self.assertEqual(warnings, ["command line ended by LF alone, not S3 (CR): accepted, as a "
                                    "real module does (Quectel's OpenCPU SDK ends its commands "
                                    "with LF)"])

    def test_the_module_becoming_ready_is_a_state_record(self):
        sim, _, _ = self.run_session()
        states = [(r["source"], r["data"]) for r in sim.transcript_records()
                  if r["event"] == "state"]
        self.assertEqual(states[:2], [("module", "booting"), ("module", "ready")])

    def test_a_restart_is_recorded_as_state_changes(self):
        sim = self.start_quiet("--time-scale", "0.01", transcript=True)
        sim.command(b"AT+CFUN=1,1", b"\r\nOK\r\n")
        sim.send(b"AT\r")  # may land during the restart (ignored) or after it
        sim.close()
        states = [(r["source"], r["data"]) for r in sim.transcript_records()
                  if r["event"] == "state" and r["source"] == "module"]
        self.assertEqual(states[:3], [("module", "booting"), ("module", "ready"),
                                      ("module", "restarting")])


if __name__ == "__main__":
    unittest.main()
