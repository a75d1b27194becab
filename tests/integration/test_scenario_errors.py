"""Malformed scenario files, each refused by the real binary before anything starts: exit code
2, and one line naming the file, the JSON pointer (or line and column) and what was expected."""

import json
import os
import shutil
import tempfile
import unittest

from harness import run_quecsim

GOOD_EVENT = {"when": {"command": "AT+CSQ"}, "do": [{"action": "restart"}]}


def scenario(**changes):
    doc = {"name": "bad", "description": "one line", "events": [GOOD_EVENT]}
    doc.update(changes)
    return doc


def event(**changes):
    e = dict(GOOD_EVENT)
    e.update(changes)
    return scenario(events=[e])


# (what is wrong, the file's text, the message after "quecsim: <file>")
CASES = [
    ("JSON syntax", '{\n  "name": "x",\n  oops\n}', ":3:3: not valid JSON: "),
    ("not an object", "[]", ': /: expected a scenario object with "name" and "events"'),
    ("no name", json.dumps({"description": "d"}), ': /: expected "name"'),
    ("no description", json.dumps({"name": "n"}), ': /: expected "description": one line'),
    ("unknown top-level key", json.dumps(scenario(evnets=[])), ": /evnets: unknown key in a scenario"),
    ("unknown action", json.dumps(event(do=[{"action": "explode"}])),
     ": /events/0/do/0/action: expected one of brownout, "),
    ("unknown action key", json.dumps(event(do=[{"action": "pdp_deact", "refuse": 5}])),
     ': /events/0/do/0/refuse: unknown key in action "pdp_deact"'),
    ("negative count", json.dumps(event(count=-1)),
     ': /events/0/count: expected an integer of at least 1 or "unlimited"'),
    ("two triggers", json.dumps(event(when={"command": "AT+CSQ", "time_ms": 5})),
     ": /events/0/when: expected exactly one trigger of "),
    ("an AT command the module does not have",
     json.dumps(event(when={"command": "AT+QFTPGTE"})),
     ': /events/0/when: no AT command of this module starts with "+QFTPGTE", so the event '
     "could never fire"),
    ("not an AT prefix", json.dumps(event(when={"command": "QFTPGET"})),
     ': /events/0/when/command: expected an AT command line prefix such as "AT+QFTPGET"'),
    ("an FTP verb the module never sends", json.dumps(event(when={"ftp_command": "XMKD"})),
     ": /events/0/when/ftp_command: expected an FTP verb the module sends: "),
    ("reply code out of range", json.dumps(event(when={"ftp_reply": 700})),
     ": /events/0/when/ftp_reply: expected an integer from 100 to 599"),
    ("state that does not exist",
     json.dumps(event(when={"state": {"machine": "ftp", "to": "DONE"}})),
     ": /events/0/when/state/to: expected a state of ftp: IDLE, OPENING, OPENED, WORKING, "
     "TRANSFER, CLOSING, CLOSED"),
    ("bytes trigger without direction", json.dumps(event(when={"bytes": 100})),
     ': /events/0/when: expected "direction": "up" or "down"'),
    ("bad regular expression", json.dumps(event(when={"command_regex": "(("})),
     ": /events/0/when/command_regex: expected a regular expression"),
    ("missing required parameter", json.dumps(event(do=[{"action": "host_drop"}])),
     ': /events/0/do/0: expected "bytes": an integer of at least 1'),
    ("toxic without its parameter",
     json.dumps(event(do=[{"action": "toxic", "type": "bandwidth"}])),
     ': /events/0/do/0: expected "rate" for a bandwidth toxic'),
    ("bad server fault rule",
     json.dumps(scenario(server={"faults": [{"action": "data_drop", "after_bytes": -1}]})),
     ": /server/faults/0/after_bytes: expected an integer of at least 0"),
    ("server file outside the root",
     json.dumps(scenario(server={"files": [{"path": "../x", "text": "a"}]})),
     ": /server/files/0/path: expected a relative path inside the served folder (no '..')"),
    ("bad baud", json.dumps(scenario(module={"baud": 1234})),
     ": /module/baud: expected a UART rate such as 115200 (or 0 for no pacing)"),
    ("bad hash", json.dumps(scenario(expect={"files": [{"path": "a", "sha256": "abc"}]})),
     ": /expect/files/0/sha256: expected 64 hexadecimal digits"),
    ("probability out of range", json.dumps(event(probability=2)),
     ": /events/0/probability: expected a number greater than 0 and at most 1, got the "
     "integer 2"),
    ("a string where an integer is expected", json.dumps(event(after_ms="5")),
     ': /events/0/after_ms: expected an integer of at least 0, got the string "5"\n'),
    ("a misspelt action", json.dumps(event(do=[{"action": "pdp_deactivate"}])),
     ': /events/0/do/0/action: expected one of brownout, '),
    ("a misspelt trigger", json.dumps(event(when={"comand": "AT+CSQ"})),
     ': /events/0/when/comand: unknown trigger "comand"; did you mean "command"? (expected '
     "exactly one trigger of "),
    ("a misspelt key", json.dumps(event(after_sm=5)),
     ': /events/0/after_sm: unknown key in an event; did you mean "after_ms"?'),
    ("a number too large for a double",
     '{"name": "bad", "description": "one line",\n "events": [{"when": {"time_ms": 1e400}, '
     '"do": [{"action": "restart"}]}]}',
     ":2:34: /events/0/when/time_ms: expected a number a double can hold, got 1e400\n"),
]


class MalformedScenarios(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="quecsim-bad-scenarios-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_each_malformed_file_is_refused_with_its_own_message(self):
        messages = set()
        for i, (what, text, message) in enumerate(CASES):
            with self.subTest(what):
                path = os.path.join(self.dir, "bad%02d.json" % i)
                with open(path, "w") as f:
                    f.write(text)
                done = run_quecsim("--scenario", path, "--ftp-root",
                                   os.path.join(self.dir, "root"))
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertEqual(done.stdout, "")
                self.assertTrue(done.stderr.startswith("quecsim: " + path + message),
                                done.stderr)
                self.assertEqual(done.stderr.count("\n"), 1, done.stderr)
                messages.add(done.stderr)
        self.assertEqual(len(messages), len(CASES))  # each refused with its own message
        print("\nmalformed scenario files refused: %d kinds" % len(CASES), flush=True)

    def test_a_misspelt_action_is_named_with_the_nearest_one(self):
        path = os.path.join(self.dir, "typo.json")
        with open(path, "w") as f:
            json.dump(event(do=[{"action": "pdp_deactivate"}]), f)
        done = run_quecsim("--scenario", path)
        self.assertEqual(done.returncode, 2)
        self.assertTrue(done.stderr.endswith(
            ', got the string "pdp_deactivate"; did you mean "pdp_deact"?\n'), done.stderr)

    def test_a_missing_file_names_the_flag(self):
        path = os.path.join(self.dir, "nope.json")
        done = run_quecsim("--scenario", path)
        self.assertEqual(done.returncode, 2)
        self.assertIn("--scenario: File does not exist: %s\n" % path, done.stderr)

    def test_server_actions_need_the_embedded_server(self):
        path = os.path.join(self.dir, "s.json")
        with open(path, "w") as f:
            json.dump(event(do=[{"action": "idle_timeout"}]), f)
        done = run_quecsim("--scenario", path, "--no-embedded-ftp")
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr, "quecsim: %s: /events/0/do/0: action \"idle_timeout\" acts "
                         "through the embedded FTP server, which is not running "
                         "(--no-embedded-ftp)\n" % path)

    def test_a_failed_expectation_makes_the_exit_code_3(self):
        from harness import Quecsim
        path = os.path.join(self.dir, "x.json")
        with open(path, "w") as f:
            json.dump(scenario(events=[], expect={"lines": ["+QFTPOPEN:-4"],
                                                  "ftp_state": "OPENED"}), f)
        sim = Quecsim("--scenario", path, "--ftp-root", os.path.join(self.dir, "root"),
                      "--no-power-up-lines")
        try:
            sim.close(expect_code=3)
            self.assertEqual(sim.stderr(), 'quecsim: scenario bad: FAILED; the host never saw the '
                             'line "+QFTPOPEN:-4"; the FTP state is IDLE, expected OPENED\n')
        finally:
            sim.kill()

    def test_the_verdict_sheet_says_what_held_and_what_not(self):
        from harness import Quecsim
        bad = os.path.join(self.dir, "x.json")
        with open(bad, "w") as f:
            json.dump(scenario(events=[], expect={"ftp_state": "OPENED"}), f)
        good = os.path.join(self.dir, "y.json")
        with open(good, "w") as f:
            doc = scenario(events=[], expect={"ftp_state": "IDLE"})
            doc["name"] = "good"
            json.dump(doc, f)
        sheet = os.path.join(self.dir, "verdict.json")
        sim = Quecsim("--scenario", bad, "--scenario", good, "--verdict-json", sheet,
                      "--ftp-root", os.path.join(self.dir, "root"), "--no-power-up-lines")
        try:
            sim.close(expect_code=3)
        finally:
            sim.kill()
        with open(sheet) as f:
            self.assertEqual(json.load(f), {"held": False, "scenarios": [
                {"scenario": "bad", "module": 0, "held": False,
                 "failures": ["the FTP state is IDLE, expected OPENED"]},
                {"scenario": "good", "module": 0, "held": True, "failures": []}]})


if __name__ == "__main__":
    unittest.main()
