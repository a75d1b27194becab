"""Helpers for the campaign tests: run `quecsim campaign` to completion in a private folder and
read its reports back."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from harness import quecsim_binary

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCENARIOS = os.path.join(ROOT, "scenarios")
LIBRARY = os.path.join(SCENARIOS, "*.json")
HOSTS = os.path.join(ROOT, "examples", "hosts")
SCHEMA = os.path.join(ROOT, "tests", "campaign", "junit.xsd")
FACTOR = float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1"))
PYTHON = "/usr/bin/python3"


def shipped():
    """The names of the shipped scenarios, sorted as the campaign sorts their files."""
    return [f[:-5] for f in sorted(os.listdir(SCENARIOS))
            if f.endswith(".json") and f != "schema.json"]


def last_line(path):
    """A reference host's last output line without its time: "RESULT: ..."."""
    with open(path) as f:
        # "  12.345 RESULT: ...": the time since the host started, then the text
        return f.read().rstrip("\n").rsplit("\n", 1)[-1].strip().split(" ", 1)[-1]


class CampaignTestCase(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="quecsim-campaign-")
        if not os.environ.get("QUECSIM_KEEP_TMP"):
            self.addCleanup(shutil.rmtree, self.dir, True)

    def campaign(self, *args, host=None, out="out", junit=True, report=True, timeout=600):
        """Runs `quecsim campaign ARGS -- HOST` and returns (CompletedProcess, JSON report or
        None, JUnit path or None)."""
        command = [quecsim_binary(), "campaign", *[str(a) for a in args],
                   "--out", os.path.join(self.dir, out)]
        junit_path = os.path.join(self.dir, out + ".xml") if junit else None
        json_path = os.path.join(self.dir, out + ".json") if report else None
        if junit_path:
            command += ["--junit", junit_path]
        if json_path:
            command += ["--json", json_path]
        if host is not None:
            command += ["--", *host]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=self.dir,
                              timeout=timeout * FACTOR, check=False)
        doc = None
        if json_path and os.path.exists(json_path):
            with open(json_path) as f:
                doc = json.load(f)
        return proc, doc, junit_path

    def assert_naive_failures(self, proc, doc, junit, naive_fails, scenarios):
        """The naive host's campaign: exactly `naive_fails` failed, each by the host itself (no
        timeout, the scenario's expectations held), and the JUnit report counts `scenarios`."""
        self.assertEqual(proc.returncode, 1)
        failed = {r["scenario"] for r in doc["runs"] if r["verdict"] == "fail"}
        self.assertEqual(sorted(failed - naive_fails), [], "failed, but should not have")
        self.assertEqual(sorted(naive_fails - failed), [], "passed, but should have failed")
        for r in doc["runs"]:
            if r["verdict"] == "fail":
                self.assertEqual((r["host_exit"], r["timed_out"], r["module_exit"]),
                                 (1, False, 0), r["scenario"])
                self.assertTrue(last_line(r["host_output"]).startswith("RESULT: FAILED: "))
        suite = self.assert_junit_valid(junit, doc)
        self.assertEqual(int(suite.get("failures")), len(naive_fails))
        self.assertEqual(suite.get("tests"), str(len(scenarios)))

    def verdicts(self, doc):
        """{scenario: verdict} of a JSON report."""
        return {r["scenario"]: r["verdict"] for r in doc["runs"]}

    def assert_junit_valid(self, path, doc):
        """The report validates against the JUnit schema, and its counts are the JSON's."""
        check = subprocess.run(["xmllint", "--noout", "--schema", SCHEMA, path],
                               capture_output=True, text=True, check=False)
        self.assertEqual(check.returncode, 0, check.stderr)
        suite = ET.parse(path).getroot().find("testsuite")
        cases = suite.findall("testcase")
        failed = [c for c in cases if c.find("failure") is not None]
        self.assertEqual(int(suite.get("tests")), len(doc["runs"]))
        self.assertEqual(len(cases), len(doc["runs"]))
        self.assertEqual(int(suite.get("failures")), doc["summary"]["failed"])
        self.assertEqual(len(failed), doc["summary"]["failed"])
        self.assertEqual(sorted(c.get("name") for c in failed),
                         sorted(r["scenario"] for r in doc["runs"] if r["verdict"] == "fail"))
        return suite


# The socket job's scenarios: the socket variants beside the hosts, and the shipped scenarios
# that act the same on any job (host-side faults on AT+CSQ / ATE0, the power-up, the link) or
# on sockets (those of the socket fault actions that fit a TCP echo job: not the UDP ones, not
# socket-dns-failure, whose name is not the campaign's peer, nor socket-connect-refused and
# socket-connect-timeout, which the variants of the same names beside the hosts replace).
SOCKET_SCENARIOS = os.path.join(HOSTS, "socket-scenarios")
SOCKET_LIBRARY = [os.path.join(SOCKET_SCENARIOS, "*.json")] + [
    os.path.join(SCENARIOS, name + ".json")
    for name in ("host-delay", "host-duplicate", "host-garbage", "stray-lines",
                 "no-rdy-until-first-at", "jittery-link",
                 "socket-pdp-deact", "socket-peer-closes", "socket-peer-resets", "socket-stall",
                 "socket-peer-stops-reading")]


def socket_shipped():
    """The names of the socket campaign's scenarios, sorted."""
    names = [f[:-5] for f in os.listdir(SOCKET_SCENARIOS) if f.endswith(".json")]
    return sorted(names + [os.path.basename(p)[:-5] for p in SOCKET_LIBRARY[1:]])
