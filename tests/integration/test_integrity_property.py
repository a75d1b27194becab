"""Integrity under faults, as a property: random transfers (0 to 4 MiB, GET and PUT, through /COM/
and the UFS, RAM and SD positions, from random resume points), each under a random transfer
fault of the scenario library armed live at a random step, then the recovery a robust driver
performs (AT+QFTPCLOSE, AT+QFTPOPEN, AT+QFTPCFG=3,<offset> and the rest). Every result line
must tell the truth about what arrived, every file that ends up complete must be byte-identical
(SHA-256) on both sides, and nothing may hang (every wait is bounded).

One quecsim serves every case. It prints its seed: QUECSIM_INTEGRITY_SEED repeats a run and
QUECSIM_INTEGRITY_CASES sets the count (150 by default, 40 under the sanitizers; the long run is
10000). A failure names the case, its fault and the steps it took."""

import collections
import os
import random
import sys
import tempfile
import time
import unittest

from ftp_support import FtpTestCase
from integrity_support import Case, Faults, Wire, profile
from quecsim.control import Control



def _count(name, default):
    """A non-negative integer from the environment variable `name`, refused by name otherwise."""
    text = os.environ.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise SystemExit("%s=%r: expected a non-negative integer" % (name, text))
    return int(text)


# Under the sanitizers (ctest stretches timeouts there) every case costs several times more.
CASES = _count("QUECSIM_INTEGRITY_CASES",
               150 if float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1")) <= 1 else 40)


class IntegrityUnderFaults(FtpTestCase):

    def setUp(self):
        super().setUp()
        # A fixed default, so a run on a clean machine is repeatable.
        self.seed = _count("QUECSIM_INTEGRITY_SEED", 20261130)
        print("integrity property test: seed %d, %d cases" % (self.seed, CASES), file=sys.stderr)

    def test_every_complete_file_is_identical_and_every_incomplete_one_is_reported(self):
        rng = random.Random(self.seed)
        folder = tempfile.TemporaryDirectory(prefix="quecsim-integrity-")
        self.addCleanup(folder.cleanup)
        self.state = os.path.join(folder.name, "state")
        sim = self.start_ftp("--model", profile(folder.name), "--state-dir", self.state,
                             "--latency", "0", "--control",
                             os.path.join(folder.name, "ctl"), scale="0.01")
        control = Control(sim.control, timeout=30)
        self.addCleanup(control.close)
        wire = Wire(sim)
        final, _ = wire.command(b"AT+CMEE=1")
        self.assertEqual(final, b"OK")
        self.assertEqual(wire.result(b'AT+QFTPOPEN="ftp.example.com",21', b"QFTPOPEN"), 0)
        faults = Faults()
        figures = collections.Counter()
        by_fault = collections.Counter()
        started = time.monotonic()
        for i in range(CASES):
            case = Case(self, rng, i, faults)
            try:
                case.run(wire, control)
            except AssertionError as e:
                raise AssertionError("seed %d, case %d failed: %s\nsteps:\n  %s\n%s"
                                     % (self.seed, i, case.describe(),
                                        "\n  ".join(case.steps), e)) from None
            first_code = case.attempts[0][1] if case.attempts else 0
            first_complete = first_code >= 0 and case.attempts[0][0] + first_code == case.size
            figures["cases"] += 1
            figures["complete at once" if first_complete else "incomplete, then resumed"] += 1
            figures["faults fired"] += case.fired
            figures["attempts"] += len(case.attempts)
            figures["bytes moved"] += case.moved
            by_fault[case.fault_name] += 1
            if (i + 1) % 1000 == 0:
                # A long run shows it is moving.
                print("integrity property test: %d cases, %.0f s" % (i + 1,
                                                                   time.monotonic() - started),
                      file=sys.stderr)
        elapsed = time.monotonic() - started
        print("integrity property test: %s; %.1f s; faults: %s"
              % (", ".join("%s %d" % kv for kv in sorted(figures.items())), elapsed,
                 ", ".join("%s %d" % kv for kv in sorted(by_fault.items()))), file=sys.stderr)
        if CASES >= 50:
            # The faults must bite: a run where every transfer completed at once proved nothing.
            self.assertGreater(figures["incomplete, then resumed"], 0)
        control.close()
        sim.close()


if __name__ == "__main__":
    unittest.main()
