"""`quecsim campaign`: the command line, the run folders and environment, timeouts, sharding and
the reports (JUnit validated with xmllint against tests/campaign/junit.xsd, JSON). The campaigns
of the reference hosts over the whole library are in test_campaign_library.py."""

import json
import os

from campaign_support import (FACTOR, LIBRARY, PYTHON, SCENARIOS, CampaignTestCase, shipped)

FAST = ["--time-scale", "0.05", "--baud", "0"]

# Writes the QUECSIM_* variables it was given into its run folder, and checks the pty is there.
# The host records its own lifetime (the monotonic clock is shared by every process), so the
# test knows which runs were alive at the same moment.
ENV_HOST = [PYTHON, "-c", "import json, os, sys, time\n"
            "start = time.monotonic()\n"
            "env = {k: v for k, v in os.environ.items() if k.startswith('QUECSIM_')}\n"
            "life = {'start': start, 'end': time.monotonic()}\n"
            "json.dump(env, open(os.path.join(env['QUECSIM_RUN_DIR'], 'env.json'), 'w'))\n"
            "json.dump(life, open(os.path.join(env['QUECSIM_RUN_DIR'], 'life.json'), 'w'))\n"
            "print('host saw', env['QUECSIM_PTY'])\n"
            "sys.exit(0 if os.path.exists(env['QUECSIM_PTY']) else 5)\n"]


def scenario(name):
    return os.path.join(SCENARIOS, name + ".json")


class CommandLine(CampaignTestCase):
    """Bad input: exit 2 and a message naming the flag (or file) at fault; nothing is run."""

    def refused(self, *args, host=("/bin/true",), says):
        proc, doc, _ = self.campaign(*args, host=list(host) if host is not None else None)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(says, proc.stderr)
        self.assertTrue(proc.stderr.startswith("quecsim campaign: "), proc.stderr)
        self.assertIsNone(doc)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out.xml")))

    def test_shard_out_of_range(self):
        self.refused("--scenarios", LIBRARY, "--shard", "3/2",
                     says="--shard 3/2: K must be from 1 to N")
        self.refused("--scenarios", LIBRARY, "--shard", "0/2",
                     says="--shard 0/2: K must be from 1 to N")

    def test_shard_not_k_of_n(self):
        for bad in ("2", "a/b", "1/", "/2", "1/2/3", "-1/2"):
            self.refused("--scenarios", LIBRARY, "--shard=" + bad,
                         says="--shard %s: expected K/N" % bad)

    def test_jobs_zero(self):
        self.refused("--scenarios", LIBRARY, "--jobs", "0",
                     says="quecsim campaign: --jobs: Value 0 not in range 1 to 256\n")

    def test_repeat_and_timeout_out_of_range(self):
        self.refused("--scenarios", LIBRARY, "--repeat", "0",
                     says="quecsim campaign: --repeat: Value 0 not in range 1 to 100000\n")
        self.refused("--scenarios", LIBRARY, "--timeout", "0",
                     says="quecsim campaign: --timeout: Value 0 not in range 0.001000 to "
                          "86400.000000\n")

    def test_a_pattern_matching_nothing_is_named(self):
        pattern = os.path.join(self.dir, "nowhere", "*.json")
        self.refused("--scenarios", LIBRARY, pattern,
                     says="--scenarios %s: matches no file" % pattern)

    def test_a_pattern_matching_only_the_schema_matches_no_scenario(self):
        pattern = os.path.join(SCENARIOS, "schema.json")
        self.refused("--scenarios", pattern, says="--scenarios %s: matches no scenario" % pattern)

    def test_missing_host_command(self):
        self.refused("--scenarios", LIBRARY, host=None, says="missing the host command")
        self.refused("--scenarios", LIBRARY, host=(), says="missing the host command")

    def test_missing_scenarios(self):
        self.refused(says="--scenarios is required")

    def test_a_malformed_scenario_is_named_with_its_pointer(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            json.dump({"name": "bad", "description": "a reply code that does not exist",
                       "events": [{"when": {"ftp_reply": 7},
                                   "do": [{"action": "urc", "text": "X"}]}]}, f)
        self.refused("--scenarios", bad, says="--scenarios: %s: /events/0/when/ftp_reply" % bad)

    def test_a_module_flag_the_module_refuses_stops_the_campaign(self):
        self.refused("--scenarios", scenario("jittery-link"), "--model", "M99",
                     says="the module refused its command line")


class Runs(CampaignTestCase):

    def test_each_run_gets_a_fresh_module_and_the_environment_names_it(self):
        proc, doc, junit = self.campaign("--scenarios", scenario("jittery-link"),
                                         scenario("marker-in-file"), "--repeat", "2",
                                         "--jobs", "2", *FAST, host=ENV_HOST)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        runs = doc["runs"]
        self.assertEqual([(r["scenario"], r["repeat"], r["seed"]) for r in runs],
                         [("jittery-link", 1, 17), ("jittery-link", 2, 18),
                          ("marker-in-file", 1, 1), ("marker-in-file", 2, 2)])
        self.assertEqual([r["id"] for r in runs],
                         ["001-jittery-link-r1", "002-jittery-link-r2", "003-marker-in-file-r1",
                          "004-marker-in-file-r2"])
        alive = []
        for r in runs:
            self.assertEqual(r["verdict"], "pass")
            self.assertEqual((r["host_exit"], r["host_signal"], r["module_exit"]), (0, None, 0))
            self.assertIsNone(r["reason"])
            with open(os.path.join(r["run_dir"], "env.json")) as f:
                env = json.load(f)
            self.assertTrue(env["QUECSIM_PTY"].startswith("/dev/pts/"))
            with open(os.path.join(r["run_dir"], "life.json")) as f:
                life = json.load(f)
            alive.append((life["start"], life["end"], env["QUECSIM_PTY"]))
            self.assertEqual(env["QUECSIM_CONTROL"], os.path.join(r["run_dir"], "modem.ctl"))
            self.assertEqual(env["QUECSIM_FTP_ROOT"], os.path.join(r["run_dir"], "ftp-root"))
            self.assertEqual(env["QUECSIM_STATE_DIR"], os.path.join(r["run_dir"], "state"))
            self.assertEqual(env["QUECSIM_SCENARIO"], scenario(r["scenario"]))
            self.assertEqual(env["QUECSIM_SEED"], str(r["seed"]))
            self.assertEqual(env["QUECSIM_TRANSCRIPT"], r["transcript"])
            self.assertTrue(os.path.exists(r["transcript"]))
            with open(r["host_output"]) as f:
                self.assertEqual(f.read(), "host saw %s\n" % env["QUECSIM_PTY"])
            # The scenario's server files are in its own FTP root.
            if r["scenario"] == "marker-in-file":
                self.assertTrue(os.path.exists(os.path.join(r["run_dir"], "ftp-root",
                                                            "trap.txt")))
            # The module is gone: its link and control socket removed at its exit.
            self.assertFalse(os.path.lexists(os.path.join(r["run_dir"], "modem")))
        # A pty number comes back once its module is gone, so only runs alive at the same
        # moment must differ; with --jobs 2 no three are.
        for i, (s1, e1, p1) in enumerate(alive):
            overlapping = [p2 for j, (s2, e2, p2) in enumerate(alive)
                           if j != i and s2 < e1 and s1 < e2]
            self.assertLessEqual(len(overlapping), 1)
            self.assertNotIn(p1, overlapping)
        suite = self.assert_junit_valid(junit, doc)
        self.assertEqual([c.get("name") for c in suite.findall("testcase")],
                         ["jittery-link [repeat 1]", "jittery-link [repeat 2]",
                          "marker-in-file [repeat 1]", "marker-in-file [repeat 2]"])

    def test_seed_sets_every_first_repeat(self):
        proc, doc, _ = self.campaign("--scenarios", scenario("jittery-link"),
                                     scenario("host-drop"), "--seed", "100", "--repeat", "2",
                                     *FAST, host=ENV_HOST)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([r["seed"] for r in doc["runs"]], [100, 101, 100, 101])

    def test_expectations_that_do_not_hold_fail_the_run(self):
        # /bin/true never opens the pty: the module never sees AT+QFTPOPEN, so dns-failure's
        # expected +QFTPOPEN:-4 never happens and quecsim exits 3.
        proc, doc, junit = self.campaign("--scenarios", scenario("dns-failure"),
                                         scenario("jittery-link"), *FAST, host=["/bin/true"])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        dns, jittery = doc["runs"]
        self.assertEqual((dns["verdict"], dns["host_exit"], dns["module_exit"]), ("fail", 0, 3))
        self.assertEqual(dns["reason"], "the scenario's expectations did not hold: scenario "
                         "dns-failure: FAILED; the host never saw the line \"+QFTPOPEN:-4\"")
        self.assertEqual(jittery["verdict"], "pass")
        suite = self.assert_junit_valid(junit, doc)
        failure = suite.find("testcase").find("failure")
        self.assertEqual(failure.get("message"), dns["reason"])
        self.assertIn("transcript: " + dns["transcript"], failure.text)
        self.assertIn("last lines of the transcript:", failure.text)
        self.assertIn("last lines of the host's output:", failure.text)
        self.assertEqual(doc["summary"], {"runs": 2, "passed": 1, "failed": 1,
                                          "time": doc["summary"]["time"]})
        # The summary table names every run and its verdict.
        self.assertRegex(proc.stdout, r"FAIL\s+001-dns-failure\s+1\s+[\d.]+ s  the scenario's")
        self.assertRegex(proc.stdout, r"PASS\s+002-jittery-link\s+17\s+[\d.]+ s\n")
        self.assertIn("2 runs: 1 passed, 1 failed in", proc.stdout)

    def test_a_failing_host_fails_the_run_with_its_output_in_the_report(self):
        host = ["/bin/sh", "-c", "echo 'host: something <odd> & \"quoted\"'; printf '\\001\\377\\n';"
                " echo to stderr >&2; exit 4"]
        proc, doc, junit = self.campaign("--scenarios", scenario("jittery-link"), *FAST,
                                         host=host)
        self.assertEqual(proc.returncode, 1)
        run = doc["runs"][0]
        self.assertEqual((run["verdict"], run["host_exit"], run["reason"]),
                         ("fail", 4, "the host exited with 4"))
        suite = self.assert_junit_valid(junit, doc)
        case = suite.find("testcase")
        self.assertEqual(case.get("classname"), "quecsim.campaign.jittery-link")
        out = case.find("system-out").text
        self.assertEqual(out, "host: something <odd> & \"quoted\"\n\\x01\\xff\nto stderr\n")
        self.assertIn("last lines of the host's output:\n" + out, case.find("failure").text)

    def test_a_hanging_host_is_killed_at_the_timeout_with_its_children(self):
        host = ["/bin/sh", "-c", "sleep 300 & echo $! > \"$QUECSIM_RUN_DIR/child.pid\"; "
                "echo waiting; wait"]
        limit = 2 * FACTOR
        proc, doc, junit = self.campaign("--scenarios", scenario("jittery-link"), "--timeout",
                                         limit, *FAST, host=host)
        self.assertEqual(proc.returncode, 1)
        run = doc["runs"][0]
        self.assertEqual(run["verdict"], "fail")
        self.assertTrue(run["timed_out"])
        self.assertEqual((run["host_exit"], run["host_signal"]), (None, 9))
        self.assertEqual(run["module_exit"], 0)
        self.assertIn("the host did not finish within", run["reason"])
        self.assertGreaterEqual(run["duration"], limit)
        self.assertLess(run["duration"], limit + 10 * FACTOR)
        with open(os.path.join(run["run_dir"], "child.pid")) as f:
            child = int(f.read())
        self.assertFalse(alive(child), "the host's child outlived the timeout")
        failure = self.assert_junit_valid(junit, doc).find("testcase").find("failure")
        self.assertEqual(failure.get("type"), "timeout")
        self.assertIn("waiting", failure.text)

    def test_progress_lines_count_up_with_an_estimate(self):
        proc, doc, _ = self.campaign("--scenarios", scenario("host-drop"), scenario("host-split"),
                                     scenario("jittery-link"), *FAST, host=ENV_HOST)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        progress = [l for l in proc.stdout.splitlines() if l.startswith("[")]
        self.assertEqual(len(progress), 3)
        self.assertRegex(progress[0], r"^\[1/3\] PASS 001-host-drop \([\d.]+ s\) \u2014 about \d+ s "
                                      r"left$")
        self.assertRegex(progress[1], r"^\[2/3\] PASS 002-host-split \([\d.]+ s\) \u2014 about")
        self.assertRegex(progress[2], r"^\[3/3\] PASS 003-jittery-link \([\d.]+ s\)$")


def alive(pid):
    """Whether `pid` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Shards(CampaignTestCase):
    """--shard K/N over the whole library: the shards are disjoint, their union is the whole
    campaign, and each run's verdict is the same wherever it runs. The host (/bin/true) does
    nothing, so the runs are quick: the scenarios with expectations fail (exit 3)."""

    def test_two_shards_make_the_whole_campaign(self):
        host = ["/bin/true"]
        whole_proc, whole, whole_xml = self.campaign("--scenarios", LIBRARY, "--jobs", "2",
                                                     *FAST, host=host, out="whole")
        self.assertEqual(whole_proc.returncode, 1, whole_proc.stderr)
        names = shipped()
        self.assertEqual([r["scenario"] for r in whole["runs"]], names)
        self.assertEqual([r["index"] for r in whole["runs"]], list(range(1, len(names) + 1)))
        self.assert_junit_valid(whole_xml, whole)
        # Nothing opens the pty, so every expected line is missing.
        expecting = []
        for n in names:
            with open(scenario(n)) as f:
                if "lines" in json.load(f).get("expect", {}):
                    expecting.append(n)
        self.assertEqual(sorted(n for n, v in self.verdicts(whole).items() if v == "fail"),
                         expecting)

        shards = []
        for k in (1, 2):
            proc, doc, xml = self.campaign("--scenarios", LIBRARY, "--shard", "%d/2" % k,
                                           "--jobs", "2", *FAST, host=host, out="shard%d" % k)
            self.assertEqual(proc.returncode, 1, proc.stderr)
            self.assertEqual(doc["campaign"]["shard"], "%d/2" % k)
            self.assertEqual(doc["campaign"]["total_runs"], len(names))
            self.assertEqual([r["index"] for r in doc["runs"]],
                             list(range(k, len(names) + 1, 2)))
            suite = self.assert_junit_valid(xml, doc)
            self.assertEqual(suite.get("name"), "quecsim campaign shard %d/2" % k)
            self.assertIn("of %d runs" % len(names), proc.stdout)
            shards.append(doc)
        one, two = (set(self.verdicts(d)) for d in shards)
        self.assertEqual(one & two, set())
        self.assertEqual(sorted(one | two), names)
        merged = dict(self.verdicts(shards[0]), **self.verdicts(shards[1]))
        self.assertEqual(merged, self.verdicts(whole))
        # The same shard again is the same share.
        again, doc, _ = self.campaign("--scenarios", os.path.join(SCENARIOS, "*.json"),
                                      "--shard", "2/2", *FAST, host=host, out="again")
        self.assertEqual(set(self.verdicts(doc)), two)

    def test_a_shard_larger_than_the_campaign_is_empty_and_passes(self):
        proc, doc, xml = self.campaign("--scenarios", scenario("jittery-link"), "--shard", "3/4",
                                       host=["/bin/true"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["runs"], [])
        self.assert_junit_valid(xml, doc)
        self.assertIn("0 runs: 0 passed, 0 failed", proc.stdout)
