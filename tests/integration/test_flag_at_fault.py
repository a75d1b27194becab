"""Both executables name the flag at fault first: an unknown flag before any other complaint,
and a bad value by its flag. Exit code 2."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import TIMEOUT, run_quecsim


class FlagAtFault(unittest.TestCase):
    def assert_names_first(self, done, flag):
        self.assertEqual(done.returncode, 2, done.stderr)
        first = done.stderr.splitlines()[0] if done.stderr else ""
        self.assertIn(flag, first, done.stderr)

    def test_an_unknown_flag_is_named_before_a_bad_value(self):
        done = run_quecsim("--baud", "7", "--bogus")
        self.assert_names_first(done, "--bogus")
        self.assertNotIn("--baud", done.stderr)

    def test_an_unknown_flag_with_a_value_is_named(self):
        self.assert_names_first(run_quecsim("--bogus=1", "--model", "M10"), "--bogus=1")

    def test_a_bad_value_of_a_real_flag_names_that_flag(self):
        for args, flag in ((("--baud", "7"), "--baud"), (("--time-scale", "0"), "--time-scale"),
                           (("--ftp-port", "70000"), "--ftp-port"),
                           (("--model", "M99"), "--model"),
                           (("--ftp-user", "nocolon"), "--ftp-user")):
            with self.subTest(args=args):
                self.assert_names_first(run_quecsim(*args), flag)

    def ftpd(self, *args):
        return subprocess.run([os.environ["QUECSIM_FTPD"], *args], capture_output=True,
                              text=True, timeout=TIMEOUT, check=False)

    def test_quecsim_ftpd_names_an_unknown_flag_before_the_missing_root(self):
        done = self.ftpd("--bogus")
        self.assert_names_first(done, "--bogus")
        self.assertNotIn("--root", done.stderr)

    def test_quecsim_ftpd_names_a_bad_value_of_a_real_flag(self):
        root = tempfile.mkdtemp(prefix="quecsim-ftpd-root-")
        self.addCleanup(shutil.rmtree, root, True)
        for args, flag in ((("--port", "abc"), "--port"), (("--port", "70000"), "--port"),
                           (("--bogus", "--port", "abc"), "--bogus")):
            with self.subTest(args=args):
                self.assert_names_first(self.ftpd("--root", root, *args), flag)


if __name__ == "__main__":
    unittest.main()
