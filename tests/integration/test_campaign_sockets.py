"""The socket job as a campaign, twice: the robust reference host (examples/hosts/robust_host.py
--job socket) handles every socket scenario, the naive one (examples/hosts/naive_host.py --job
socket) fails exactly those that should break it. Each run has its own TCP echo peer, started by
the campaign on 127.0.0.1 (QUECSIM_PEER) and named in the module's host map (QUECSIM_PEER_NAME).

Why each scenario breaks the naive host, and what the robust one does instead: docs/campaigns.md,
"The socket job"."""

import os

from campaign_support import (FACTOR, HOSTS, PYTHON, SOCKET_LIBRARY, CampaignTestCase,
                              last_line, socket_shipped)

# As the FTP campaigns: fast modules, the socket idle for 0.3 s (6 simulated seconds) after it
# opens, when the scenarios that act on an open socket act.
ARGS = ["--jobs", "2", "--time-scale", "0.05", "--baud", "0", "--timeout", str(150 * FACTOR)]
HOST_ARGS = ["--job", "socket", "--dwell", "0.3"]

NAIVE_FAILS = {
    # it opens once: a CONNECT FAIL, or AT+QIACT's ERROR, ends the job
    "socket-connect-refused", "socket-connect-timeout", "socket-dns-failure",
    "socket-no-network",
    # it ignores +PDP DEACT, 0, CLOSED and the power-up lines: the next AT+QISEND is ERROR
    "socket-pdp-deact-mid-exchange", "socket-context-refuses-return",
    "socket-registration-lost", "socket-restart-mid-session", "socket-peer-reset",
    # the shipped scenarios of the socket fault actions: the peer closes or resets the socket,
    # the context goes down
    "socket-pdp-deact", "socket-peer-closes", "socket-peer-resets",
    # a peer that stops reading never echoes: its fixed 5 s runs out
    "socket-peer-stops-reading",
    # it gives each echo a fixed 5 s: a stalled link, or a slow one, outlasts it
    "socket-link-stall", "socket-slow-link",
    # it waits for RDY, which an autobauding module never sends
    "no-rdy-until-first-at",
}

# What the robust host reports as the last line of its output, when it is not "complete".
ROBUST_NOT_COMPLETE = {
    # the link stalls for good: after the bounded reopenings the job waits for a better moment
    "socket-link-stall": "RESULT: deferred: the socket did not open",
    # the peer never reads again: after the bounded retries of the first message, it defers
    "socket-peer-stops-reading": "RESULT: deferred: message 0 still failing after 8 attempts",
}


class SocketHosts(CampaignTestCase):

    def test_the_robust_host_handles_every_socket_scenario(self):
        proc, doc, junit = self.campaign(
            "--scenarios", *SOCKET_LIBRARY, *ARGS,
            host=[PYTHON, os.path.join(HOSTS, "robust_host.py"), *HOST_ARGS], timeout=1800)
        failed = {r["scenario"]: r["reason"] for r in doc["runs"] if r["verdict"] != "pass"}
        self.assertEqual(failed, {}, proc.stdout[-3000:])
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(sorted(self.verdicts(doc)), socket_shipped())
        self.assert_junit_valid(junit, doc)
        for r in doc["runs"]:
            want = ROBUST_NOT_COMPLETE.get(r["scenario"], "RESULT: complete")
            self.assertTrue(last_line(r["host_output"]).startswith(want),
                            "%s: %s" % (r["scenario"], last_line(r["host_output"])))

    def test_the_naive_host_fails_exactly_the_socket_scenarios_that_should_break_it(self):
        proc, doc, junit = self.campaign(
            "--scenarios", *SOCKET_LIBRARY, *ARGS,
            host=[PYTHON, os.path.join(HOSTS, "naive_host.py"), *HOST_ARGS], timeout=1800)
        self.assert_naive_failures(proc, doc, junit, NAIVE_FAILS, socket_shipped())
