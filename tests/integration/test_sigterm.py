"""SIGTERM in the middle of a transfer: the process ends within a second, exit code 0, the
transcript whole."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import TIMEOUT, QuecsimTestCase, crlf

OK = crlf(b"OK")
# SIGTERM must end the process within this bound; the sanitizers' slowdown stretches it.
EXIT_BOUND = 1.0 * float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1"))


class SigtermMidTransfer(QuecsimTestCase):
    def test_sigterm_during_a_slow_download_exits_within_a_second_with_the_transcript_whole(self):
        root = tempfile.mkdtemp(prefix="quecsim-ftp-root-")
        state = tempfile.mkdtemp(prefix="quecsim-state-")
        self.addCleanup(shutil.rmtree, root, True)
        self.addCleanup(shutil.rmtree, state, True)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(bytes(range(256)) * 400)  # 100 KiB: about 100 s at 9600 bits/s
        sim = self.start("--no-power-up-lines", "--ftp-root", root, "--state-dir", state,
                         "--time-scale", "0.02", transcript=True, baud=9600)
        sim.echo_off()
        sim.command(b'AT+QFTPOPEN="ftp.example.com",21', OK)
        sim.expect(crlf(b"+QFTPOPEN:0"))
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(crlf(b"CONNECT"))
        sim.expect(bytes(range(256)))  # the download is under way
        started = time.monotonic()
        sim.proc.send_signal(signal.SIGTERM)
        try:
            code = sim.proc.wait(max(TIMEOUT, EXIT_BOUND))
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - started
        self.assertEqual(code, 0, sim.stderr())
        self.assertLess(took, EXIT_BOUND, "SIGTERM took %.2fs to end the process" % took)
        with open(sim.transcript_path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"), "the transcript ends with a whole line")
        # Every line, the last included, is one JSON object (transcript_records checks that).
        records = sim.transcript_records()
        self.assertIn("CONNECT", "".join(r["data"] for r in records if r["event"] == "tx"))


if __name__ == "__main__":
    unittest.main()
