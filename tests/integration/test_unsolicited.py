"""Unsolicited lines are held back while a command is answered and sent after its final result."""

import json
import os
import shutil
import tempfile
import unittest

from harness import QuecsimTestCase


class HeldBack(QuecsimTestCase):
    def test_a_result_line_due_during_qideact_waits_for_deact_ok(self):
        # The embedded FTP server answers SIZE 100 ms late; AT+QIDEACT, sent meanwhile, runs for
        # 300 ms. The +QFTPSIZE line falls due while QIDEACT is being answered, so it must come
        # after DEACT OK, never before or inside it.
        folder = tempfile.mkdtemp(prefix="quecsim-it-")
        self.addCleanup(shutil.rmtree, folder, True)
        faults = os.path.join(folder, "faults.json")
        with open(faults, "w") as f:
            json.dump({"rules": [{"action": "delay", "command": "SIZE", "after_ms": 100}]}, f)
        sim = self.start_quiet("--latency", "0", "--ftp-root", folder, "--ftp-faults", faults,
                               transcript=True)
        sim.command(b'AT+QFTPOPEN="ftp.example.com",21', b"\r\nOK\r\n")
        sim.expect(b"\r\n+QFTPOPEN:0\r\n")
        sim.command(b'AT+QFTPSIZE="missing"', b"\r\nOK\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n" + b"\r\n+QFTPSIZE:-550\r\n")
        sim.expect(b"\r\n+QFTPERROR:-8\r\n")  # the service notices its context went down
        sim.close()
        # The server's reply came while QIDEACT ran: the line was held, not merely late.
        records = sim.transcript_records()
        reply = next(i for i, r in enumerate(records)
                     if r["event"] == "ftp_rx" and r["data"].startswith("550"))
        deact = next(i for i, r in enumerate(records)
                     if r["event"] == "tx" and r["data"] == "\r\nDEACT OK\r\n")
        self.assertLess(reply, deact)


if __name__ == "__main__":
    unittest.main()
