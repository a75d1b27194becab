"""The whole shipped scenario library as a campaign, twice: the robust reference host
(examples/hosts/robust_host.py) passes every scenario, the naive one (examples/hosts/naive_host.py) fails exactly
the scenarios that should break it. Both run with --jobs 2, the JUnit report validated.

Why each scenario breaks the naive host (what it lacks), and what the robust one does instead:
docs/campaigns.md, "The reference hosts"."""

import os

from campaign_support import (FACTOR, HOSTS, LIBRARY, PYTHON, CampaignTestCase, last_line,
                              shipped)

# The modules run fast (simulated time at 1/20, no UART pacing); the hosts stay idle 0.3 s
# after they open the session, which is 6 simulated seconds: long enough for every scenario
# that acts on an idle session (control-reset, manual-4.6-idle-timeout, registration-lost ...).
ARGS = ["--jobs", "2", "--time-scale", "0.05", "--baud", "0", "--timeout", str(120 * FACTOR)]
DWELL = ["--dwell", "0.3"]

NAIVE_FAILS = {
    # it opens once and takes a failed AT+QFTPOPEN as the end
    "account-required", "connect-refused", "connect-timeout", "dns-failure", "login-refused",
    "no-network",
    # it never sends AT+QFTPCLOSE first
    "stale-session",
    # it ignores +QFTPERROR / +PDP DEACT / the power-up lines, never reopens or sets up again
    "context-refuses-return", "control-closed-mid-command", "control-reset",
    "manual-4.6-idle-timeout", "registration-lost", "restart-mid-session", "server-busy-421",
    "brownout-mid-get",
    # it never resumes a broken transfer, nor uploads again
    "data-reset-mid-get", "pdp-deact-mid-get", "pdp-deact-mid-put", "server-drops-data",
    "link-stall",
    # it trusts a short result line (the download is then not what the server has)
    "transfer-ends-short",
    # it retries nothing: a -1, a refusal, a vanished or an unusable local file end the job
    "odd-reply", "server-refusals", "local-file-gone", "ufs-full",
    # it waits for RDY, which an autobauding module never sends
    "no-rdy-until-first-at",
    # its fixed 5 s is shorter than 24 KiB at 200 bytes/s
    "slow-link-200bps",
}

# What the robust host reports as the last line of its output, when it is not "complete".
ROBUST_NOT_COMPLETE = {
    # the link stalls for good: after the bounded reopenings the job waits for a better moment
    "link-stall": "RESULT: deferred: the FTP session did not open",
    # every command meets a refusal once: the 5xx ones are reported, not retried
    "server-refusals": "RESULT: refused: download-to-ufs, upload-report, download-config "
                       "(done: upload-blob)",
}


class ReferenceHosts(CampaignTestCase):

    def test_the_robust_host_passes_the_whole_library(self):
        proc, doc, junit = self.campaign(
            "--scenarios", LIBRARY, *ARGS,
            host=[PYTHON, os.path.join(HOSTS, "robust_host.py"), *DWELL],
            timeout=1800)
        failed = {r["scenario"]: r["reason"] for r in doc["runs"] if r["verdict"] != "pass"}
        self.assertEqual(failed, {}, proc.stdout[-3000:])
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(sorted(self.verdicts(doc)), shipped())
        self.assert_junit_valid(junit, doc)
        for r in doc["runs"]:
            want = ROBUST_NOT_COMPLETE.get(r["scenario"], "RESULT: complete")
            self.assertTrue(last_line(r["host_output"]).startswith(want),
                            "%s: %s" % (r["scenario"], last_line(r["host_output"])))

    def test_the_naive_host_fails_exactly_the_scenarios_that_should_break_it(self):
        proc, doc, junit = self.campaign(
            "--scenarios", LIBRARY, *ARGS,
            host=[PYTHON, os.path.join(HOSTS, "naive_host.py"), *DWELL],
            timeout=1800)
        self.assert_naive_failures(proc, doc, junit, NAIVE_FAILS, shipped())
