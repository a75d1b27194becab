"""Debian's gammu, a widely used AT client, identifies the module over the pty: its probe
sequence (ESC, AT, ATE1, AT+CMEE, AT+CGMI, AT+CGMM, AT+CGMR, AT+CGSN, AT+CIMI, ...) must
answer with the module's maker, model, revision, IMEI and IMSI."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import TIMEOUT, QuecsimTestCase

GAMMU = shutil.which("gammu")


def gammu_identify(test, device):
    """Runs `gammu identify` on `device` (failing `test` unless it exits 0) and returns its
    output's "Key: value" lines as [key, value] pairs."""
    # scripts/install-deps installs gammu: without it the test would prove nothing.
    test.assertIsNotNone(GAMMU, "gammu is not installed (scripts/install-deps installs it)")
    folder = tempfile.mkdtemp(prefix="quecsim-gammu-")
    test.addCleanup(shutil.rmtree, folder, True)
    config = os.path.join(folder, "gammurc")
    with open(config, "w") as f:
        f.write("[gammu]\ndevice = %s\nconnection = at115200\n" % device)
    result = subprocess.run([GAMMU, "-c", config, "identify"], capture_output=True,
                            text=True, timeout=6 * TIMEOUT, check=False)
    test.assertEqual(result.returncode, 0, result)
    return [line.split(":", 1) for line in result.stdout.splitlines()]


class GammuIdentify(QuecsimTestCase):
    def identify(self, sim):
        return gammu_identify(self, sim.pty)

    def test_gammu_identify_shows_maker_model_revision_imei_and_imsi(self):
        # gammu is the host here: its open of the pty switches the module on.
        sim = self.start(open_port=False)
        fields = {k.strip(): v.strip() for k, v in self.identify(sim)}
        self.assertEqual(fields["Device"], sim.pty)
        self.assertEqual(fields["Manufacturer"], "Quectel_Ltd")
        self.assertEqual(fields["Model"], "unknown (Quectel_M95)")
        self.assertEqual(fields["Firmware"], "M95FAR02A08")
        self.assertEqual(fields["IMEI"], "867273020123456")
        self.assertEqual(fields["SIM IMSI"], "460001234567890")
        sim.close()

    def test_gammu_follows_the_model_and_the_imei_flag(self):
        sim = self.start("--model", "M10", "--imei", "490154203237518", open_port=False)
        fields = {k.strip(): v.strip() for k, v in self.identify(sim)}
        self.assertEqual(fields["Model"], "unknown (Quectel_M10)")
        self.assertEqual(fields["Firmware"], "M10EBR01A12")
        self.assertEqual(fields["IMEI"], "490154203237518")
        sim.close()


if __name__ == "__main__":
    unittest.main()
