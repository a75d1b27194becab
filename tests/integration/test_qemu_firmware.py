"""The example firmware of examples/qemu-firmware, built from source with gcc-arm-none-eabi and
run in qemu-system-arm (mps2-an385), its UART0 wired to quecsim's --tcp-listen: what a product
does, end to end (docs/attach.md). It waits for the module, brings up the packet context, opens
FTP, downloads a file through /COM/, checks length and CRC-32 against the values it is given,
closes and reports on semihosting. Asserted: its report and the exact AT exchange in quecsim's
transcript; then, under scenarios/pdp-deact-mid-get.json, the failure it reports."""

import os
import random
import re
import shutil
import subprocess
import tempfile
import unittest
import zlib

from harness import POWER_UP_LINES, TIMEOUT, Quecsim, _finish, record_bytes

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                      "qemu-firmware")
SCENARIO = os.path.join(SOURCE, "..", "..", "scenarios", "pdp-deact-mid-get.json")

# The firmware's commands, as the transcript records them (the password masked).
def commands(name):
    return (b'ATE0\rAT+QIFGCNT=0\rAT+QICSGP=1,"CMNET"\rAT+QFTPUSER="quectel"\r'
            b'AT+QFTPPASS="******"\rAT+QFTPOPEN="ftp.example.com",21\rAT+QFTPPATH="/"\r'
            b'AT+QFTPGET="' + name + b'"\rAT+QFTPCLOSE\rAT+QIDEACT\r')


class QemuFirmware(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "make"):
            if shutil.which(tool) is None:
                raise AssertionError("%s is missing: scripts/install-deps installs it" % tool)
        out = os.path.abspath("qemu-firmware")
        done = subprocess.run(["make", "-C", SOURCE, "OUT=" + out], capture_output=True,
                              text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise AssertionError("the firmware does not build:\n" + done.stdout + done.stderr)
        cls.elf = os.path.join(out, "quecsim-fw.elf")

    def module(self, *args):
        root = tempfile.mkdtemp(prefix="quecsim-fw-root-")
        state = tempfile.mkdtemp(prefix="quecsim-fw-state-")
        self.addCleanup(shutil.rmtree, root, True)
        self.addCleanup(shutil.rmtree, state, True)
        # Simulated time 4 times faster: the network's round trips take 75 ms, and the FTP
        # server's idle timeout (300 s) stays longer than QEMU's slowest run on a loaded machine.
        sim = Quecsim("--tcp-listen", "0", "--time-scale", "0.25", "--ftp-root", root,
                      "--state-dir", state, *args, transcript=True, open_port=False)
        self.addCleanup(_finish, sim)
        return sim, root

    def firmware(self, sim, name, size, crc):
        """Runs the firmware in QEMU against `sim`; its exit code and its report."""
        port = sim.ready["endpoint"]["port"]
        done = subprocess.run(
            ["qemu-system-arm", "-M", "mps2-an385", "-nographic", "-monitor", "none",
             "-serial", "tcp:127.0.0.1:%d" % port,
             "-semihosting-config",
             "enable=on,target=native,arg=quecsim-fw,arg=%s,arg=%d,arg=0x%08x" % (name, size, crc),
             "-kernel", self.elf],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT * 12,
            check=False)
        return done.returncode, done.stderr + done.stdout

    def exchange(self, sim):
        """The bytes each way, from the transcript, once quecsim has ended."""
        sim.close()
        records = sim.transcript_records()
        rx = b"".join(record_bytes(r) for r in records if r["event"] == "rx")
        tx = b"".join(record_bytes(r) for r in records if r["event"] == "tx")
        return rx, tx

    def waited(self, rx, tx):
        """Checks the firmware's wait for the module (AT until OK: its first AT answered, on a
        loaded machine a later one) and returns the rest of each direction."""
        tries = 0
        while rx.startswith(b"AT\r", tries * 3):
            tries += 1
        self.assertGreaterEqual(tries, 1)
        answers = POWER_UP_LINES + b"AT\r\r\nOK\r\n" * tries
        self.assertEqual(tx[:len(answers)], answers)
        return rx[tries * 3:], tx[len(answers):]

    def test_the_firmware_downloads_and_checks_a_file(self):
        sim, root = self.module()
        data = random.Random(18).randbytes(8192)
        with open(os.path.join(root, "fw.bin"), "wb") as f:
            f.write(data)
        code, report = self.firmware(sim, "fw.bin", len(data), zlib.crc32(data))
        self.assertEqual((code, report),
                         (0, "quecsim-fw: PASS fw.bin 8192 bytes CRC-32 0x%08x\n"
                          % zlib.crc32(data)))
        rx, tx = self.waited(*self.exchange(sim))
        self.assertEqual(rx, commands(b"fw.bin"))
        self.assertEqual(tx, b"ATE0\r\r\nOK\r\n" + b"\r\nOK\r\n" * 4 +
                         b"\r\nOK\r\n\r\n+QFTPOPEN:0\r\n\r\nOK\r\n\r\n+QFTPPATH:0\r\n" +
                         b"\r\nOK\r\n\r\nCONNECT\r\n" + data + b"\r\n+QFTPGET:8192\r\n" +
                         b"\r\nOK\r\n\r\n+QFTPCLOSE:0\r\n\r\nDEACT OK\r\n")

    def test_the_firmware_reports_a_pdp_deactivation_mid_get(self):
        sim, root = self.module("--scenario", SCENARIO)
        with open(os.path.join(root, "big.bin"), "rb") as f:
            data = f.read()  # the scenario's 64 KiB of seeded random bytes
        code, report = self.firmware(sim, "big.bin", len(data), zlib.crc32(data))
        self.assertEqual(code, 1, report)
        found = re.fullmatch(r"quecsim-fw: FAIL download: \+QFTPGET:-8 after (\d+) bytes "
                             r"\(\+PDP DEACT\)\n", report)
        self.assertIsNotNone(found, report)
        got = int(found.group(1))
        self.assertLess(got, len(data))
        rx, tx = self.waited(*self.exchange(sim))
        # The same commands: the firmware closes the session and the context after a failure.
        self.assertEqual(rx, commands(b"big.bin"))
        head = (b"ATE0\r\r\nOK\r\n" + b"\r\nOK\r\n" * 4 +
                b"\r\nOK\r\n\r\n+QFTPOPEN:0\r\n\r\nOK\r\n\r\n+QFTPPATH:0\r\n" +
                b"\r\nOK\r\n\r\nCONNECT\r\n")
        self.assertEqual(tx[:len(head)], head)
        self.assertEqual(tx[len(head):len(head) + got], data[:got])
        self.assertEqual(tx[len(head) + got:],
                         b"\r\n+PDP DEACT\r\n\r\n+QFTPGET:-8\r\n\r\nOK\r\n\r\n+QFTPCLOSE:0\r\n"
                         b"\r\nDEACT OK\r\n")


if __name__ == "__main__":
    unittest.main()
