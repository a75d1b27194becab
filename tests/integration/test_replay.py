"""quecsim replay: a transcript's host side played against a fresh module reproduces the
module's answers; a changed answer is reported at its line; every integration test's
transcript replays (a representative set here; QUECSIM_REPLAY=1 replays every test's)."""

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from ftp_support import CONNECT, OK, FtpTestCase, crlf
from harness import TIMEOUT, run_quecsim
from quecsim.control import Control
from report_support import record_session
from tcpip_support import TcpPeer, qird

HERE = os.path.dirname(os.path.abspath(__file__))

# Test modules whose runs are replayed in the suite: commands, power-up and restarts, result
# codes, every chapter 4 example of the manual (to the UART and to the module's storage, with
# files put there before start), FTP errors, scenarios and live faults.
REPRESENTATIVE = ["test_basic_commands", "test_general_commands", "test_power_up",
                  "test_result_codes", "test_ftp_examples", "test_storage_examples",
                  "test_ftp_errors", "test_scenarios", "test_control_faults", "test_transcript",
                  "test_first_contact"]


def replay(path, wait=TIMEOUT):
    return run_quecsim("replay", path, "--timeout", str(wait), timeout=120 * TIMEOUT / 5)


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines))


class Replay(FtpTestCase):

    def test_a_session_with_transfers_and_a_live_fault_replays_with_no_divergence(self):
        sim = record_session(self)
        done = replay(sim.transcript_path)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        records = sim.transcript_records()
        tx = [r for r in records if r["event"] == "tx"]
        self.assertRegex(done.stdout, r"^quecsim replay: %s: reproduced: %d records; %d module "
                         r"writes \(%d bytes\) matched byte for byte after %d host writes; 1 live "
                         r"faults applied again; FTP server played back \(\d+ control steps\)\n$"
                         % (sim.transcript_path, len(records), len(tx),
                            sum(len(r["data"]) for r in tx),
                            sum(1 for r in records if r["event"] == "rx")))
        self.assertEqual(done.stderr, "")

    def test_a_replay_n_times_faster_keeps_each_pause_on_its_side_of_the_guard_time(self):
        # The host's pauses decide what "+++" is: data when it follows data within the guard
        # time, the escape after a longer pause. Played 4 times faster, the pauses and the
        # module's clock shrink alike, so the module does the same with each.
        sim = self.start_ftp("--link", self.root + "-modem", transcript=True, scale="1")
        self.open_service(sim)
        sim.command(b"ATS12=50", OK)  # a 1 s guard time
        sim.command(b'AT+QFTPPUT="esc.bin",1000', OK)
        sim.expect(CONNECT)
        sim.send(b"hello")
        sim.expect_silence(0.3)
        sim.send(b"+++")  # 0.3 s after data: data
        sim.expect_silence(2)
        sim.send(b"+++")  # after 2 s of silence, and 1 s more: the escape
        sim.expect(crlf(b"+QFTPPUT:8"), timeout=10)
        self.assertEqual(self.served("esc.bin"), b"hello+++")
        sim.close()
        records = sim.transcript_records()
        done = run_quecsim("replay", sim.transcript_path, "--speed", "4",
                           timeout=120 * TIMEOUT / 5)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertRegex(done.stdout, r"^quecsim replay: %s: reproduced: %d records; .*; played 4 "
                         r"times faster than recorded\n$" % (sim.transcript_path, len(records)))

    def test_a_socket_session_replays_with_its_peer_played_back(self):
        # Two connections in multiple connection mode: pushed data (+RECEIVE), then buffered
        # data read with AT+QIRD, a second socket the peer closes; the replay's peer gives the
        # module the recorded bytes once it has the module's, on the recorded ports.
        peer = TcpPeer()
        self.addCleanup(peer.close)
        sim = self.start_quiet("--time-scale", "0.05", transcript=True)
        sim.command(b"AT+QIMUX=1", OK)
        sim.command(b'AT+QIOPEN=0,"TCP","127.0.0.1",%d' % peer.port, OK)
        first = peer.accept()
        sim.expect(crlf(b"0, CONNECT OK"))
        sim.command(b"AT+QISEND=0,5", b"> ")
        sim.send(b"hello")
        sim.expect(crlf(b"SEND OK"))
        self.assertEqual(peer.recv_exact(5), b"hello")
        peer.send(b"world\r\n\x00\xff")
        sim.expect(crlf(b"+RECEIVE: 0, 9") + b"world\r\n\x00\xff")
        sim.command(b"AT+QINDI=1", OK)
        sim.command(b'AT+QIOPEN=1,"TCP","127.0.0.1",%d' % peer.port, OK)
        peer.accept()
        sim.expect(crlf(b"1, CONNECT OK"))
        sim.command(b"AT+QISEND=1,3", b"> ")
        sim.send(b"abc")
        sim.expect(crlf(b"SEND OK"))
        self.assertEqual(peer.recv_exact(3), b"abc")
        reply = bytes(range(256)) * 4
        peer.send(reply)
        peer.close_conn()
        sim.expect(crlf(b"+QIRDI: 0,1,1"))
        got = b""
        while len(got) < len(reply):
            got += qird(sim, sid=1)
        self.assertEqual(got, reply)
        if b"1, CLOSED" not in getattr(sim, "notices", []):
            sim.expect(crlf(b"1, CLOSED"))
        sim.command(b"AT+QICLOSE=0", crlf(b"0, CLOSE OK"))
        first.close()
        sim.close()
        peer.close()  # the recorded port is free for the replay's peer
        records = sim.transcript_records()
        done = replay(sim.transcript_path)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        tx = [r for r in records if r["event"] == "tx"]
        self.assertRegex(done.stdout, r"^quecsim replay: %s: reproduced: %d records; %d module "
                         r"writes \(%d bytes\) matched byte for byte after \d+ host writes; "
                         r"socket peer played back \(2 connections\)\n$"
                         % (sim.transcript_path, len(records), len(tx),
                            sum(len(r["data"]) for r in tx)))
        self.assertEqual(done.stderr, "")

    def test_a_speed_that_is_not_a_positive_number_is_a_usage_error(self):
        path = os.path.join(tempfile.mkdtemp(prefix="quecsim-replay-"), "t.jsonl")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        with open(path, "w") as f:
            f.write("{}\n")
        for bad in ("0", "-2", "fast"):
            done = run_quecsim("replay", path, "--speed", bad)
            self.assertEqual(done.returncode, 2, bad)
            self.assertTrue(done.stderr.startswith("--speed: "), done.stderr)

    def test_a_scenario_loaded_and_unloaded_through_the_control_socket_replays(self):
        self.serve("f", b"abc")
        sim = self.start_ftp("--link", self.root + "-modem", transcript=True)
        self.open_service(sim)
        scenario = {"name": "live", "description": "SIZE refused, the signal weak",
                    "events": [{"when": {"command": "AT+QFTPSIZE"}, "count": "unlimited",
                                "do": [{"action": "server_reply", "command": "SIZE",
                                        "text": "550 Not today."},
                                       {"action": "signal", "rssi": 7}]}]}
        with Control(sim.control, timeout=10) as control:
            control.load(scenario)
            sim.command(b'AT+QFTPSIZE="f"', OK)
            sim.expect(crlf(b"+QFTPSIZE:-550"))
            control.unload("live")
        sim.command(b'AT+QFTPSIZE="f"', OK)
        sim.expect(crlf(b"+QFTPSIZE:3"))
        sim.command(b"AT+CSQ", crlf(b"+CSQ: 7,0") + OK)
        sim.close()
        requests = [json.loads(r["data"]) for r in sim.transcript_records()
                    if r["event"] == "info" and r["source"] == "control"]
        self.assertEqual(requests, [{"op": "load", "name": "live", "scenario": scenario},
                                    {"op": "unload", "name": "live"}])
        done = replay(sim.transcript_path)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("; 2 scenario loads and unloads made again;", done.stdout)
        # A transcript that lost the load's record cannot be replayed, and says why.
        lines = read_lines(sim.transcript_path)
        cut = [l for l in lines if b'"source":"control"' not in l]
        self.assertEqual(len(cut), len(lines) - 2)
        write_lines(sim.transcript_path, cut)
        done = replay(sim.transcript_path)
        self.assertEqual(done.returncode, 3, done.stdout + done.stderr)
        self.assertRegex(done.stderr, r"cannot replay: .*:\d+: a scenario loaded through the "
                         r"control socket \(scenario loaded: live\): its JSON is not in the "
                         r"transcript\n$")

    def test_the_first_record_is_the_configuration(self):
        sim = record_session(self)
        first = sim.transcript_records()[0]
        self.assertEqual((first["event"], first["source"]), ("info", "config"))
        config = json.loads(first["data"])
        self.assertEqual(config["model"], "M95")
        self.assertEqual(config["time_scale"], 0.02)
        self.assertFalse(config["power_up_lines"])
        self.assertEqual(config["scenarios"], [])

    def test_the_configuration_holds_each_scenario_with_its_passwords_masked(self):
        scenario = {"name": "accounts", "description": "one account",
                    "server": {"users": [{"name": "fw", "password": "s3cret"}]}}
        path = os.path.join(self.root, "accounts.json")
        with open(path, "w") as f:
            json.dump(scenario, f)
        sim = self.start_ftp("--scenario", path, "--seed", "7", transcript=True)
        sim.close()
        with open(sim.transcript_path, "rb") as f:
            self.assertNotIn(b"s3cret", f.read())
        config = json.loads(sim.transcript_records()[0]["data"])
        self.assertEqual(config["seed"], 7)
        self.assertEqual(config["scenarios"],
                         [dict(scenario, server={"users": [{"name": "fw", "password": "****"}]})])

    def test_a_changed_module_answer_is_reported_at_its_line(self):
        sim = record_session(self)
        lines = read_lines(sim.transcript_path)
        number = next(n for n, raw in enumerate(lines, 1)
                      if json.loads(raw)["event"] == "tx" and "+CSQ: 5,0" in json.loads(raw)["data"])
        lines[number - 1] = lines[number - 1].replace(b"+CSQ: 5,0", b"+CSQ: 6,0")
        edited = os.path.join(self.root, "edited.jsonl")
        write_lines(edited, lines)
        done = replay(edited)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        record = json.loads(lines[number - 1])
        self.assertRegex(done.stdout, r"^quecsim replay: %s:%d: divergence \(tx, t [0-9.]+ s\): "
                         r"byte 8 of the record differs\n" % (edited, number))
        expected = record["data"].replace("\r", "\\r").replace("\n", "\\n")
        self.assertIn('\n  expected: "%s"\n' % expected, done.stdout)
        self.assertIn('\n  actual:   "%s' % expected.replace("6,0", "5,0"), done.stdout)

    def test_a_missing_answer_is_reported_at_its_line(self):
        sim = record_session(self)
        lines = read_lines(sim.transcript_path)
        last_tx = max(n for n, raw in enumerate(lines, 1) if json.loads(raw)["event"] == "tx")
        record = json.loads(lines[last_tx - 1])
        lines.insert(last_tx, json.dumps(dict(record, data="\r\nEXTRA\r\n")).encode())
        edited = os.path.join(self.root, "longer.jsonl")
        write_lines(edited, lines)
        done = replay(edited, wait=0.5)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertRegex(done.stdout, r"^quecsim replay: %s:%d: divergence \(tx, t [0-9.]+ s\): "
                         r"the module sent 0 of 9 bytes within 0.5" % (edited, last_tx + 1))


class ReplayErrors(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="quecsim-replay-test-")

    def tearDown(self):
        subprocess.run(["rm", "-rf", self.dir], check=False)

    def test_a_malformed_line_is_named_with_its_number(self):
        path = os.path.join(self.dir, "bad.jsonl")
        write_lines(path, [b'{"t":0,"module":0,"event":"info","source":"config","data":"{}"}',
                           b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":"AT\\r"}',
                           b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":3}'])
        done = replay(path)
        self.assertEqual(done.returncode, 2)
        self.assertEqual(done.stderr, 'quecsim replay: %s:3: "data" is not a string\n' % path)

    def test_a_transcript_without_its_configuration_cannot_be_replayed(self):
        path = os.path.join(self.dir, "old.jsonl")
        write_lines(path, [b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":"AT\\r"}'])
        done = replay(path)
        self.assertEqual(done.returncode, 3)
        self.assertEqual(done.stderr, "quecsim replay: cannot replay: %s:1: no config record (the "
                         "transcript was written by a quecsim that did not record its "
                         "configuration, or is not one)\n" % path)

    def test_a_bad_command_line_is_a_usage_error(self):
        self.assertEqual(run_quecsim("replay").returncode, 2)
        done = run_quecsim("replay", "/nonexistent.jsonl")
        self.assertEqual(done.returncode, 2)
        self.assertIn("/nonexistent.jsonl", done.stderr)


# Runs whose host races the module's own clock: what they saw depends on when each byte fell,
# so a replay may see the other side of the race. Their divergences are shown, not failed.
RACES = {
    "test_scenarios.ModuleScenarios.test_stale_session":
        "polls AT+QFTPSTAT while a scenario timer opens a session: OPENING or OPENED",
    "test_control_faults.LiveFaults.test_every_action_applied_live_during_a_download":
        "applies host-side faults live while the module streams a download: the byte the "
        "fault lands on depends on how far the stream got",
}


class EveryTranscript(unittest.TestCase):

    def test_the_transcripts_of_the_integration_tests_replay_with_no_divergence(self):
        modules = os.environ.get("QUECSIM_REPLAY_MODULES", " ".join(REPRESENTATIVE)).split()
        log = os.path.join(tempfile.mkdtemp(prefix="quecsim-replay-log-"), "replays.jsonl")
        env = dict(os.environ, QUECSIM_REPLAY="1", QUECSIM_REPLAY_LOG=log)
        done = subprocess.run([sys.executable, "-m", "unittest", *modules], cwd=os.getcwd(),
                              env=env, capture_output=True, text=True, timeout=3000,
                              check=False)
        # The tests themselves run in the suite on their own (and a loaded machine can upset
        # their timing); here what counts is what their transcripts replay to.
        if done.returncode != 0:
            print("\nnote: the test modules replayed had failures of their own:\n%s"
                  % done.stderr[-3000:])
        with open(log) as f:
            runs = [json.loads(line) for line in f]
        outcomes = collections.Counter(r["code"] for r in runs)
        unreplayable = [r for r in runs if r["code"] == 3]
        raced = [r for r in runs if r["code"] == 1 and r["test"] in RACES]
        print("\n%d transcripts of %d test modules: %d reproduced, %d diverged (%d of them in a "
              "known race), %d cannot be replayed"
              % (len(runs), len(modules), outcomes[0], outcomes[1], len(raced), len(unreplayable)))
        for r in unreplayable + raced:
            print("  %s: %s%s" % (r["test"], r["out"].strip(),
                                  " [race: %s]" % RACES[r["test"]] if r in raced else ""))
        self.assertEqual([r for r in runs if r["code"] == 1 and r not in raced], [])
        self.assertEqual(set(outcomes) - {0, 1, 3}, set())
        # The representative set records well over a hundred transcripts, and every file of
        # it some (ctest replays each file in an entry of its own: QUECSIM_REPLAY_MODULES).
        self.assertGreater(outcomes[0], 100 if modules == REPRESENTATIVE else 0)
        for module in modules:
            self.assertTrue(any(r["code"] == 0 and r["test"].startswith(module + ".")
                                for r in runs), "no transcript of %s reproduced" % module)


if __name__ == "__main__":
    unittest.main()
