"""Faults through the live control socket: every action applied from a second process while the
host is in the middle of a download, scenarios loaded and unloaded live, and malformed
requests answered with the file-and-pointer messages of the scenario loader."""

import json
import os
import shutil
import tempfile

from ftp_support import CONNECT, OK, FtpTestCase, crlf, payload
from harness import TIMEOUT, run_quecsim
from quecsim.control import Control, ControlError

SIZE = 48 * 1024

# Every action, with the parameters it needs, and what the download then ends with: a result
# line code (None: success), or "restart" (the power-up lines).
ACTIONS = [
    # The server's idle 421 (after_ms 0) ends even a running transfer.
    ({"action": "idle_timeout"}, -421),
    ({"action": "server_reply", "command": "SIZE", "text": "550 No."}, None),
    ({"action": "server_delay", "command": "SIZE", "delay_ms": 10}, None),
    ({"action": "server_fault", "rule": {"action": "reply", "command": "DELE", "text": "450 x"}},
     None),
    ({"action": "close_control", "mode": "reset"}, -6),
    ({"action": "close_control", "mode": "close"}, -6),
    ({"action": "close_data", "mode": "reset"}, -7),
    ({"action": "close_data", "mode": "close"}, "short"),
    ({"action": "close_data", "after_bytes": 10}, None),
    ({"action": "pdp_deact"}, -8),
    ({"action": "no_network", "duration_ms": 100}, None),
    ({"action": "network_back"}, None),
    ({"action": "dns_fail"}, None),
    ({"action": "connect_refuse"}, None),
    ({"action": "connect_timeout"}, None),
    ({"action": "udp_datagram", "effect": "lose", "count": -1}, None),
    ({"action": "stall", "duration_ms": 300}, None),
    ({"action": "unstall"}, None),
    ({"action": "toxic", "type": "latency", "latency_ms": 20, "jitter_ms": 10}, None),
    ({"action": "toxic", "type": "bandwidth", "rate": 100000, "duration_ms": 200}, None),
    ({"action": "toxic", "type": "slicer", "average_size": 100, "size_variation": 50,
      "delay_ms": 1, "role": "data"}, None),
    ({"action": "toxic", "type": "limit_data", "bytes": 100, "role": "data"}, None),
    ({"action": "toxic", "type": "timeout", "role": "data", "stream": "downstream",
      "duration_ms": 200}, None),
    ({"action": "clear_toxics"}, None),
    ({"action": "host_delay", "ms": 200}, None),
    ({"action": "host_split", "size": 512, "gap_ms": 1, "bytes": 4096}, None),
    ({"action": "host_duplicate", "bytes": 64}, "extra"),
    ({"action": "host_drop", "bytes": 64}, "missing"),
    ({"action": "host_garbage", "length": 8}, "extra"),
    ({"action": "urc", "text": "+QTEST: 1"}, None),
    ({"action": "raw", "bytes": "~"}, "extra"),
    ({"action": "restart"}, "restart"),
    ({"action": "brownout", "off_ms": 200}, "restart"),
    ({"action": "open_session"}, "refused"),
]


class LiveFaults(FtpTestCase):

    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="quecsim-live-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.data = payload(SIZE, seed=5)
        self.serve("big.bin", self.data)

    def start_live(self):
        # A slow link keeps the download going while the fault arrives. A socket of its own
        # each time: a failed case's process lives until the test's cleanup.
        self.sockets = getattr(self, "sockets", 0) + 1
        return self.start_ftp("--control", os.path.join(self.dir, "q%d.ctl" % self.sockets),
                              "--bandwidth",
                              "40000", scale="0.5", transcript=True)

    def read_until(self, sim, markers, seconds=None):
        got = b""
        for _ in range(int((seconds or 4 * TIMEOUT) / 0.05)):
            got += sim.read_for(0.05)
            if any(m in got for m in markers):
                # Let the rest of the line come in.
                return got + sim.read_for(0.05)
        self.fail("none of %r arrived; got %r" % (markers, got[-300:]))

    def test_every_action_applied_live_during_a_download(self):
        applied = 0
        for action, outcome in ACTIONS:
            with self.subTest(action=action):
                sim = self.start_live()
                self.open_service(sim)
                sim.command(b'AT+QFTPGET="big.bin"', OK)
                sim.expect(CONNECT)
                # The first bytes of the download, however long a loaded machine takes.
                first = b""
                for _ in range(int(TIMEOUT / 0.05)):
                    first += sim.read_for(0.05)
                    if first:
                        break
                self.assertTrue(first, "no bytes before the fault")
                with Control(sim.control) as control:
                    if outcome == "refused":
                        with self.assertRaises(ControlError) as e:
                            control.request({"op": "apply", "action": action})
                        self.assertIn("not idle", str(e.exception))
                    else:
                        reply = control.request({"op": "apply", "action": action})
                        self.assertTrue(reply["did"])
                if outcome == "restart":
                    # The module restarts (this one sends no power-up lines): it stops
                    # mid-download, then answers again with echo back on.
                    rest = sim.read_for(1.5)
                    self.assertNotIn(b"+QFTPGET:", rest)
                    if action["action"] == "brownout":
                        self.assertIn(crlf(b"UNDER-VOLTAGE POWER DOWN"), rest)
                    for _ in range(40):
                        sim.send(b"ATE0\r")
                        if sim.read_for(0.1).endswith(b"ATE0\r" + OK):
                            break
                    else:
                        self.fail("the module never answered after the restart")
                else:
                    rest = self.read_until(sim, [b"+QFTPGET:"])
                    stream = first + rest
                    at = stream.rindex(b"\r\n+QFTPGET:")
                    body, line = stream[:at], stream[at:]
                    code = int(line.split(b":")[1].split(b"\r\n")[0])
                    # Unsolicited lines held during data mode come out before the result.
                    held = b""
                    for urc in (crlf(b"+PDP DEACT"), crlf(b"+QTEST: 1")):
                        if body.endswith(urc):
                            body, held = body[:-len(urc)], urc + held
                    if isinstance(outcome, int):
                        self.assertEqual(code, outcome)
                        self.assertEqual(body, self.data[:len(body)])
                    elif outcome is None or outcome == "refused":
                        self.assertEqual((body, code), (self.data, SIZE))
                    elif outcome == "short":
                        # An orderly end: what was in flight still arrives, maybe all of it.
                        self.assertEqual(body, self.data[:len(body)])
                        self.assertIn(code, (len(body), -426))
                    elif outcome == "extra":
                        self.assertGreater(len(body), SIZE)
                        self.assertEqual(code, SIZE)
                    elif outcome == "missing":
                        self.assertEqual((len(body), code), (SIZE - 64, SIZE))
                    if action["action"] == "pdp_deact":
                        self.assertEqual(held, crlf(b"+PDP DEACT"))
                    if action["action"] == "urc":
                        self.assertEqual(held, crlf(b"+QTEST: 1"))
                # The module still answers, and the fault is in the transcript.
                sim.read_for(0.3)
                sim.command(b"AT", OK)
                faults = [json.loads(r["data"]) for r in sim.transcript_records()
                          if r["event"] == "fault" and r["data"].startswith("{")]
                if outcome != "refused":
                    self.assertIn(action["action"], [f["action"] for f in faults])
                    applied += 1
                sim.close()
        print("\nactions applied live during a download: %d of %d"
              % (applied, len(ACTIONS)), flush=True)

    def test_a_scenario_is_loaded_and_unloaded_live(self):
        self.serve("f", b"abc")
        sim = self.start_live()
        self.open_service(sim)
        scenario = {"name": "live", "description": "SIZE refused",
                    "events": [{"when": {"command": "AT+QFTPSIZE"}, "count": "unlimited",
                                "do": [{"action": "server_reply", "command": "SIZE",
                                        "text": "550 Not today."}]}]}
        with Control(sim.control) as control:
            self.assertEqual(control.request({"op": "load", "scenario": scenario})["loaded"],
                             "live")
            self.assertEqual(control.state()["scenarios"], ["live"])
            self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-550")
            self.assertEqual(control.request({"op": "unload", "name": "live"})["unloaded"],
                             "live")
            self.assertEqual(control.state()["scenarios"], [])
            self.assertEqual(control.state()["faults_fired"], 1)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:3")
        sim.close()

    def test_unloading_a_scenario_removes_the_server_rules_its_actions_added(self):
        # A non-sticky rule counts per control connection: left behind, it would strike every
        # session the host opens after the scenario is gone.
        self.serve("f", b"abc")
        sim = self.start_live()
        scenario = {"name": "armed", "description": "SIZE refused once per session",
                    "events": [{"when": {"time_ms": 0},
                                "do": [{"action": "server_fault",
                                        "rule": {"action": "reply", "command": "SIZE",
                                                 "count": 1, "text": "550 Not today."}},
                                       {"action": "server_reply", "command": "RNFR",
                                        "text": "553 No."}]}]}
        with Control(sim.control) as control:
            control.load(scenario)
            self.open_service(sim)
            self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-550")
            self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
            self.open_service(sim)
            self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-550")  # a new session, a new count
            control.unload("armed")
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:3")
        self.result(sim, b'AT+QFTPRENAME="f","g"', b"+QFTPRENAME:0")
        sim.close()

    def test_a_scenario_file_is_loaded_live_by_path(self):
        path = os.path.join(self.dir, "s.json")
        with open(path, "w") as f:
            json.dump({"name": "byfile", "description": "d",
                       "events": [{"when": {"command": "AT+CSQ"},
                                   "do": [{"action": "urc", "text": "+HELLO"}]}]}, f)
        sim = self.start_live()
        result = run_quecsim("ctl", sim.control, "load", path)
        self.assertEqual(result.returncode, 0, result.stderr)
        sim.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK + crlf(b"+HELLO"))
        sim.close()

    def test_malformed_requests_name_what_is_wrong_and_the_socket_stays_usable(self):
        sim = self.start_live()
        with Control(sim.control) as control:
            cases = [
                ({"op": "apply"}, 'apply needs "action"'),
                ({"op": "apply", "action": {"action": "explode"}},
                 "request: /action/action: expected one of "),
                ({"op": "apply", "action": {"action": "pdp_deact", "refuse": 1}},
                 'request: /action/refuse: unknown key in action "pdp_deact"'),
                ({"op": "load"}, 'load needs "scenario"'),
                ({"op": "load", "scenario": {"name": "x"}},
                 'request /scenario: /: expected "description"'),
                ({"op": "load", "scenario": {"name": "x", "description": "d",
                                             "module": {"baud": 9600}}},
                 "take effect at start only"),
                ({"op": "load", "file": "/nonexistent.json"}, "cannot open the scenario file"),
                ({"op": "unload", "name": "nothing"}, "no scenario named nothing"),
            ]
            for request, message in cases:
                with self.subTest(request=request):
                    with self.assertRaises(ControlError) as e:
                        control.request(request)
                    self.assertIn(message, str(e.exception))
            self.assertIn("model", control.state())
        sim.command(b"AT", OK)
        sim.close()

    def test_quecsim_ctl_applies_an_action_by_its_dashed_name(self):
        sim = self.start_live()
        self.open_service(sim)
        result = run_quecsim("ctl", sim.control, "pdp-deact")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("packet context torn down", result.stdout)
        sim.expect(crlf(b"+PDP DEACT") + crlf(b"+QFTPERROR:-8"))
        bad = run_quecsim("ctl", sim.control, "pdp-deact", "refuse_ms=-5")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("/action/refuse_ms: expected an integer of at least 0", bad.stderr + bad.stdout)
        sim.close()
