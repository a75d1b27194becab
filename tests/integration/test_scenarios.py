"""Every shipped scenario (scenarios/*.json) run against the real binary by a scripted host over
the real pty: the exact lines the host sees, the bytes that reached it or the server, and the
fault events in the transcript."""

import json
import os
import re
import shutil
import tempfile

from ftp_support import CONNECT, ERROR, OK, FtpTestCase, crlf, sha256
from harness import TIMEOUT
import test_socket_faults

SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scenarios")


def scenario_path(name):
    return os.path.join(SCENARIOS, name + ".json")


def shipped():
    return sorted(f[:-5] for f in os.listdir(SCENARIOS)
                  if f.endswith(".json") and f != "schema.json")


def test_name(scenario):
    return "test_" + re.sub(r"[^a-z0-9]", "_", scenario)


class ScenarioTestCase(FtpTestCase):
    """Starts quecsim with one shipped scenario and the embedded server serving self.root."""

    def run_scenario(self, name, *args, power_up=False, skip=True, echo_off=True, scale="0.05",
                     **kwargs):
        path = scenario_path(name)
        with open(path) as f:
            doc = json.load(f)
        extra = ["--ftp-root", self.root, "--scenario", path]
        # The scenario's own time scale stands unless the test has a reason to set one.
        if scale and "time_scale" not in doc.get("module", {}):
            extra += ["--time-scale", scale]
        if not power_up:
            extra.append("--no-power-up-lines")
        sim = self.start(*extra, *args, transcript=True, **kwargs)
        if power_up and skip:
            sim.skip_power_up()
        if echo_off:
            sim.echo_off()
        return sim

    def faults(self, sim):
        """The fault events of the transcript, decoded."""
        return [json.loads(r["data"]) for r in sim.transcript_records() if r["event"] == "fault"
                and r["data"].startswith("{")]

    def fault_actions(self, sim):
        return [f["action"] for f in self.faults(sim)]

    def read_until(self, sim, marker, timeout=None):
        """Everything the host receives up to and including `marker` (bytes)."""
        data = b""
        deadline_reads = 0
        while marker not in data:
            chunk = sim.read_for(0.05)
            data += chunk
            deadline_reads += 1
            if deadline_reads > (timeout or 3 * TIMEOUT) / 0.05:
                self.fail("never received %r; got %r" % (marker, data[-200:]))
        self.assertTrue(data.endswith(marker), "bytes after %r: %r" % (marker, data[-200:]))
        return data

    def stat(self, sim, state):
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: " + state) + OK)

    def reopen_and_get(self, sim, name):
        """After a fault: close, open again and fetch a file whole (the module is usable)."""
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        data = self.served(name)
        sim.command(b'AT+QFTPGET="' + name.encode() + b'"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:%d" % len(data)))


class EveryScenarioHasItsTest(ScenarioTestCase):

    def test_each_shipped_scenario_is_run_by_a_test_here(self):
        missing = [s for s in shipped() if not any(hasattr(cls, test_name(s))
                                                   for cls in SCENARIO_CLASSES)]
        self.assertEqual(missing, [])

    def test_each_shipped_scenario_names_the_schema_and_validates_against_it(self):
        import jsonschema
        with open(os.path.join(SCENARIOS, "schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        for name in shipped():
            with open(scenario_path(name)) as f:
                doc = json.load(f)
            self.assertEqual(doc["$schema"], "./schema.json", name)
            self.assertEqual(doc["name"], name)
            jsonschema.Draft202012Validator(schema).validate(doc)

    def test_each_shipped_scenario_has_a_line_in_the_scenarios_readme(self):
        with open(os.path.join(SCENARIOS, "README.md")) as f:
            readme = f.read()
        for name in shipped():
            self.assertIn("`%s`" % name, readme)


class UartBytesSinceConnect(FtpTestCase):
    """A trigger counting UART bytes since CONNECT counts them as the host receives them, so it
    fires even when a host-side fault (split) is still delivering them after data mode ended."""

    def test_the_trigger_fires_on_bytes_a_split_delivers_after_data_mode(self):
        data = bytes(range(256)) * 6 + b"x" * 64  # 1600 bytes
        self.serve("f.bin", data)
        doc = {"name": "tail", "description": "a split download, then a mark at byte 1500",
               "events": [
                   {"when": {"command": "AT+QFTPGET"},
                    "do": [{"action": "host_split", "size": 40, "gap_ms": 30, "bytes": 2000}]},
                   {"when": {"bytes": 1500, "direction": "down", "from": "connect"},
                    "do": [{"action": "urc", "text": "MARK"}]}]}
        folder = tempfile.mkdtemp(prefix="quecsim-tail-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, "tail.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        # Time scale 1: the split's 41 pieces, 30 ms apart, outlast the download's data mode.
        sim = self.start_ftp("--scenario", path, scale="1", transcript=True)
        self.open_service(sim)
        sim.send(b'AT+QFTPGET="f.bin"\r')
        sim.expect(OK + CONNECT + data + crlf(b"+QFTPGET:1600"), timeout=3 * TIMEOUT)
        sim.expect(crlf(b"MARK"), timeout=2 * TIMEOUT)
        sim.close()
        records = sim.transcript_records()
        states = [(i, r["data"]) for i, r in enumerate(records)
                  if r["event"] == "state" and r["source"] == "uart"]
        entered = next(i for i, d in states if d == "data")
        left = next(i for i, d in states if d == "command" and i > entered)
        fired = next(i for i, r in enumerate(records)
                     if r["event"] == "fault" and '"action":"urc"' in r["data"])
        self.assertGreater(fired, left, "the test must have the bytes arrive after data mode")


class ServerScenarios(ScenarioTestCase):

    def test_manual_4_6_idle_timeout(self):
        sim = self.run_scenario("manual-4.6-idle-timeout")
        self.open_service(sim)
        sim.expect(crlf(b"+QFTPERROR:-421") + crlf(b"+QFTPERROR:-6"))
        self.stat(sim, b"CLOSED")
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.stat(sim, b"IDLE")
        self.assertEqual(self.fault_actions(sim), ["idle_timeout"])
        sim.close()

    def test_server_refusals(self):
        self.serve("f", b"12345")
        sim = self.run_scenario("server-refusals")
        self.open_service(sim)
        for line, urc in [(b'AT+QFTPPATH="/x"', b"+QFTPPATH:-500"),
                          (b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-550"),
                          (b'AT+QFTPDELETE="f"', b"+QFTPDELETE:-450"),
                          (b'AT+QFTPMKDIR="d"', b"+QFTPMKDIR:-501"),
                          (b'AT+QFTPRMDIR="d"', b"+QFTPRMDIR:-502"),
                          (b'AT+QFTPRENAME="f","g"', b"+QFTPRENAME:-553"),
                          (b'AT+QFTPGET="f"', b"+QFTPGET:-551"),
                          (b'AT+QFTPPUT="u",5', b"+QFTPPUT:-452"),
                          (b'AT+QFTPPUT="u",5', b"+QFTPPUT:-552")]:
            self.result(sim, line, urc)
        # Every rule fired once: the same commands now reach the real server.
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:5")
        self.assertEqual(len(self.fault_actions(sim)), 9)
        self.assertEqual(self.served("f"), b"12345")
        sim.close()

    def test_login_refused(self):
        sim = self.run_scenario("login-refused")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-530")
        self.stat(sim, b"IDLE")
        self.open_service(sim)
        sim.close()

    def test_account_required(self):
        sim = self.run_scenario("account-required")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-532")
        self.open_service(sim)
        sim.close()

    def test_server_busy_421(self):
        self.serve("f", b"abc")
        sim = self.run_scenario("server-busy-421")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-421")
        self.reopen_and_get(sim, "f")
        sim.close()

    def test_odd_reply(self):
        self.serve("f", b"abc")
        sim = self.run_scenario("odd-reply")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-1")
        sim.close()

    def test_slow_server(self):
        self.serve("f", b"abcde")
        sim = self.run_scenario("slow-server")
        self.open_service(sim)
        sim.command(b'AT+QFTPSIZE="f"', OK)
        self.result(sim, b'AT+QFTPDELETE="f"', b"+QFTPDELETE:-3")
        sim.expect(crlf(b"+QFTPSIZE:5"))
        self.assertEqual(self.served("f"), b"abcde")  # the busy DELETE never reached the server
        sim.close()

    def test_active_mode_nat(self):
        sim = self.run_scenario("active-mode-nat")
        self.open_service(sim)
        self.result(sim, b"AT+QFTPCFG=1,0", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="f.txt"', b"+QFTPGET:-425")
        self.assertIn("PORT", " ".join(self.ftp_commands(sim)))
        self.reopen_and_get(sim, "f.txt")
        sim.close()

    def test_server_drops_data(self):
        sim = self.run_scenario("server-drops-data")
        self.open_service(sim)
        data = self.served("big.bin")
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(CONNECT + data[:1000] + crlf(b"+QFTPGET:-426"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1000") + OK)
        sim.close()


class ConnectionScenarios(ScenarioTestCase):

    def test_control_reset(self):
        sim = self.run_scenario("control-reset")
        self.open_service(sim)
        sim.expect(crlf(b"+QFTPERROR:-6"))
        self.stat(sim, b"CLOSED")
        self.assertEqual(self.fault_actions(sim), ["close_control"])
        sim.close()

    def test_control_closed_mid_command(self):
        self.serve("f", b"abc")
        sim = self.run_scenario("control-closed-mid-command")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-6")
        self.stat(sim, b"CLOSED")
        self.reopen_and_get(sim, "f")
        sim.close()

    def test_data_reset_mid_get(self):
        sim = self.run_scenario("data-reset-mid-get")
        self.open_service(sim)
        data = self.served("big.bin")
        self.assertEqual(len(data), 65536)
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(CONNECT + data[:8192] + crlf(b"+QFTPGET:-7"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 8192") + OK)
        self.reopen_and_get(sim, "big.bin")
        sim.close()

    def test_transfer_ends_short(self):
        sim = self.run_scenario("transfer-ends-short")
        self.open_service(sim)
        data = self.served("big.bin")
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        # The server had sent everything and says 226: the module reports a short success.
        sim.expect(CONNECT + data[:10000] + crlf(b"+QFTPGET:10000"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 10000") + OK)
        self.result(sim, b'AT+QFTPSIZE="big.bin"', b"+QFTPSIZE:65536")
        sim.close()

    def test_data_reset_mid_put(self):
        sim = self.run_scenario("data-reset-mid-put")
        self.open_service(sim)
        body = bytes(range(256)) * 64  # 16 KiB
        sim.command(b'AT+QFTPPUT="up.bin",16384', OK)
        sim.expect(CONNECT)
        sim.send(body)
        sim.expect(crlf(b"+QFTPPUT:-7"))
        got = self.served("up.bin")
        self.assertLessEqual(len(got), 4096)
        self.assertEqual(got, body[:len(got)])
        sim.command(b"AT", OK)  # none of the upload's bytes was read as a command
        sim.close()

    def test_pdp_deact_mid_get(self):
        sim = self.run_scenario("pdp-deact-mid-get", "--latency", "0")
        self.open_service(sim)
        data = self.served("big.bin")
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(CONNECT)
        got = self.read_until(sim, crlf(b"+PDP DEACT") + crlf(b"+QFTPGET:-8"))
        body = got[:-len(crlf(b"+PDP DEACT") + crlf(b"+QFTPGET:-8"))]
        self.assertGreaterEqual(len(body), 16384)
        self.assertLess(len(body), len(data))
        self.assertEqual(body, data[:len(body)])
        self.stat(sim, b"CLOSED")
        self.reopen_and_get(sim, "big.bin")  # AT+QFTPOPEN brings the context up again
        sim.close(expect_code=0)

    def test_pdp_deact_mid_put(self):
        sim = self.run_scenario("pdp-deact-mid-put", "--latency", "0")
        self.open_service(sim)
        body = bytes(range(256)) * 64
        sim.command(b'AT+QFTPPUT="up.bin",16384', OK)
        sim.expect(CONNECT)
        sim.send(body)
        sim.expect(crlf(b"+PDP DEACT") + crlf(b"+QFTPPUT:-8"))
        sim.command(b"AT", OK)
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        sim.command(b'AT+QFTPPUT="up.bin",16384', OK)
        sim.expect(CONNECT)
        sim.send(body)
        sim.expect(crlf(b"+QFTPPUT:16384"))
        self.assertEqual(self.served("up.bin"), body)
        sim.close()

    def test_context_refuses_return(self):
        sim = self.run_scenario("context-refuses-return")
        self.open_service(sim)
        sim.expect(crlf(b"+PDP DEACT") + crlf(b"+QFTPERROR:-8"))
        sim.command(b"AT+QIACT", ERROR, timeout=TIMEOUT)
        # The refusal lasts 5 s simulated (1 s here): AT+QIACT works again after it.
        for _ in range(40):
            sim.send(b"AT+QIACT\r")
            reply = sim.read_for(0.2)
            if reply == OK:
                break
            self.assertEqual(reply, ERROR)
        else:
            self.fail("AT+QIACT never worked again")
        sim.close()

    def test_no_network(self):
        sim = self.run_scenario("no-network")
        sim.command(b"AT+QIACT", ERROR)
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-5")
        self.open_service(sim)  # the network came back when the host saw -5
        sim.close()

    def test_dns_failure(self):
        sim = self.run_scenario("dns-failure")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-4")
        self.open_service(sim)
        sim.close()

    def test_connect_refused(self):
        sim = self.run_scenario("connect-refused")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-5")
        self.open_service(sim)
        sim.close()

    def test_connect_timeout(self):
        sim = self.run_scenario("connect-timeout")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-9",
                    timeout=3 * TIMEOUT)
        self.open_service(sim)
        sim.close()

    def test_link_stall(self):
        sim = self.run_scenario("link-stall")
        self.open_service(sim)
        data = self.served("big.bin")
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(CONNECT)
        got = self.read_until(sim, crlf(b"+QFTPGET:-9"))
        body = got[:-len(crlf(b"+QFTPGET:-9"))]
        self.assertEqual(body, data[:len(body)])
        self.assertLess(len(body), len(data))
        sim.close()

    def test_slow_link_200bps(self):
        sim = self.run_scenario("slow-link-200bps")
        self.open_service(sim)
        data = self.served("small.bin")
        sim.command(b'AT+QFTPGET="small.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:2000"), timeout=3 * TIMEOUT)
        self.assertEqual(self.fault_actions(sim), ["toxic"])
        sim.close()

    def test_jittery_link(self):
        sim = self.run_scenario("jittery-link")
        self.open_service(sim)
        data = self.served("small.bin")
        sim.command(b'AT+QFTPGET="small.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:20000"))
        sim.close()

    def test_sliced_link(self):
        sim = self.run_scenario("sliced-link")
        self.open_service(sim)
        data = self.served("small.bin")
        sim.command(b'AT+QFTPGET="small.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:4096"))
        sim.close()


class ModuleScenarios(ScenarioTestCase):

    def test_local_file_gone(self):
        sim = self.run_scenario("local-file-gone")
        sim.send(b'AT+QFUPL="report.txt",5\r')
        sim.expect(crlf(b"CONNECT"))
        sim.send(b"hello")
        self.read_until(sim, OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/report.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="report.txt",0', b"+QFTPPUT:-11")
        self.assertFalse(os.path.exists(os.path.join(self.root, "report.txt")))
        sim.close()

    def test_ufs_full(self):
        sim = self.run_scenario("ufs-full")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/big.bin"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="big.bin"', b"+QFTPGET:-12")
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 0") + OK)
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b'AT+QFLST="big.bin"', crlf(b"+CME ERROR: 4010"))
        sim.close()

    def test_registration_lost(self):
        sim = self.run_scenario("registration-lost")
        sim.command(b"AT+CREG=1", OK)
        sim.command(b"AT+CGREG=1", OK)
        self.open_service(sim)
        lost = self.read_until(sim, crlf(b"+QFTPERROR:-8"))
        self.assertEqual(lost, crlf(b"+CREG: 2") + crlf(b"+CGREG: 2") + crlf(b"+PDP DEACT") +
                         crlf(b"+QFTPERROR:-8"))
        self.stat(sim, b"CLOSED")
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-5")
        back = self.read_until(sim, crlf(b"+CGREG: 1"))
        self.assertEqual(back, crlf(b"+CREG: 1") + crlf(b"+CGREG: 1"))
        self.open_service(sim)
        sim.close()

    def test_marker_in_file(self):
        sim = self.run_scenario("marker-in-file")
        self.open_service(sim)
        data = self.served("trap.txt")
        self.assertIn(b"\r\n+QFTPGET:123\r\n", data)
        sim.command(b'AT+QFTPGET="trap.txt"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:%d" % len(data)))
        sim.close()

    def test_no_rdy_until_first_at(self):
        sim = self.run_scenario("no-rdy-until-first-at", power_up=True, skip=False, echo_off=False)
        sim.expect_silence(0.3)  # an autobauding module says nothing at all
        sim.send(b"AT\r")
        sim.expect(b"AT\r" + OK + crlf(b"+CFUN: 1") + crlf(b"+CPIN: READY") +
                   crlf(b"Call Ready") + crlf(b"SMS Ready"))
        sim.close()

    def test_brownout_mid_get(self):
        sim = self.run_scenario("brownout-mid-get", power_up=True)
        self.open_service(sim)
        data = self.served("big.bin")
        sim.command(b'AT+QFTPGET="big.bin"', OK)
        sim.expect(CONNECT)
        got = self.read_until(sim, crlf(b"SMS Ready"))
        line = crlf(b"UNDER-VOLTAGE POWER DOWN")
        self.assertIn(line, got)
        body, _, after = got.partition(line)
        self.assertEqual(body, data[:len(body)])
        self.assertGreaterEqual(len(body), 8192)
        self.assertEqual(after, crlf(b"RDY") + crlf(b"+CFUN: 1") + crlf(b"+CPIN: READY") +
                         crlf(b"Call Ready") + crlf(b"SMS Ready"))
        # Power-up state: echo on, the FTP service idle.
        sim.command(b"AT+QFTPSTAT", b"AT+QFTPSTAT\r" + crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_restart_mid_session(self):
        sim = self.run_scenario("restart-mid-session", power_up=True)
        self.open_service(sim)
        sim.expect(crlf(b"RDY") + crlf(b"+CFUN: 1") + crlf(b"+CPIN: READY") +
                   crlf(b"Call Ready") + crlf(b"SMS Ready"))
        sim.command(b"AT+QFTPSTAT", b"AT+QFTPSTAT\r" + crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_stale_session(self):
        sim = self.run_scenario("stale-session")
        for _ in range(100):
            sim.send(b"AT+QFTPSTAT\r")
            if sim.read_for(0.05) == crlf(b"+QFTPSTAT: OPENED") + OK:
                break
        else:
            self.fail("the stale session never opened")
        # A driver that opens without closing first finds the service busy.
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:-3")
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        sim.close()

    def test_host_split(self):
        sim = self.run_scenario("host-split")
        expected = crlf(b"+QFTPSTAT: IDLE") + OK
        sim.command(b"AT+QFTPSTAT", expected)
        writes = [r for r in sim.transcript_records() if r["event"] == "tx"]
        ones = [w for w in writes if len(w["data"]) == 1]
        # The scenario splits 24 bytes one by one; the 25th may leave alone or with what follows.
        self.assertGreaterEqual(len(ones), 24)
        sim.command(b"AT+QFTPSTAT", expected)  # spent: whole again
        sim.close()

    def test_host_duplicate(self):
        sim = self.run_scenario("host-duplicate")
        line, ok = crlf(b"+CSQ: 20,0"), OK
        # Each of the module's writes (the information line, the result) arrives twice.
        sim.command(b"AT+CSQ", line + line + ok + ok)
        sim.command(b"AT+CSQ", line + ok)
        sim.close()

    def test_host_drop(self):
        sim = self.run_scenario("host-drop")
        answer = crlf(b"+QFTPSTAT: IDLE") + OK
        sim.command(b"AT+QFTPSTAT", answer[9:])
        sim.command(b"AT+QFTPSTAT", answer)
        sim.close()

    def test_host_delay(self):
        sim = self.run_scenario("host-delay")
        sim.send(b"AT+CSQ\r")
        sim.expect_silence(0.5)  # held 2 s simulated, 1 s here
        sim.expect(crlf(b"+CSQ: 20,0") + OK)
        sim.close()

    def test_host_garbage(self):
        def garbage_after_csq():
            sim = self.run_scenario("host-garbage")
            noise = sim.read_for(0.3)
            self.assertEqual(len(noise), 16)
            sim.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
            more = sim.read_for(0.3)
            self.assertEqual(len(more), 16)
            sim.command(b"AT", OK)  # the module itself is unaffected
            sim.close()
            return noise + more
        first = garbage_after_csq()
        # The seed makes the noise repeatable.
        self.assertEqual(garbage_after_csq(), first)

    def test_stray_lines(self):
        sim = self.run_scenario("stray-lines")
        sim.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
        sim.expect(crlf(b"RING") + b"\r\nNO CARRIER\r\n")
        sim.command(b"AT", OK)
        sim.close()


def normalized(records):
    """A transcript without what varies from run to run though the scenario and seed do not:
    timestamps, how bytes were cut into reads and writes, port numbers."""
    out = []
    totals = {}
    for r in records:
        event, data = r["event"], r["data"]
        if event == "data":
            way, n = data.split()
            totals[way] = totals.get(way, 0) + int(n)
            continue
        data = re.sub(r":\d{4,5}\b", ":PORT", data)
        data = re.sub(r"\(127,0,0,1,\d+,\d+\)", "(127,0,0,1,P,P)", data)
        if out and event in ("rx", "tx") and out[-1][0] == event:
            out[-1] = (event, r["source"], out[-1][2] + data)
        else:
            out.append((event, r["source"], data))
    out.append(("data totals", "", json.dumps(totals, sort_keys=True)))
    return out


class Determinism(ScenarioTestCase):
    """The same scenario and seed give the same transcript; another seed another one."""

    SCENARIO = {
        "name": "random-noise", "description": "seeded noise, chance and a random file",
        "server": {"files": [{"path": "r.bin", "size": 3000}]},
        "events": [
            {"when": {"final": "AT+CSQ"}, "count": "unlimited", "probability": 0.5,
             "do": [{"action": "host_garbage", "length": 8}]},
            {"when": {"command": "AT+QFTPGET"}, "do": [{"action": "toxic", "type": "slicer",
                                                        "average_size": 100,
                                                        "size_variation": 60,
                                                        "delay_ms": 1, "role": "data"}]},
        ],
    }

    def run_once(self, seed):
        self.root = tempfile.mkdtemp(prefix="quecsim-ftp-root-")
        self.addCleanup(shutil.rmtree, self.root, True)
        path = os.path.join(self.root, "..", os.path.basename(self.root) + ".json")
        with open(path, "w") as f:
            json.dump(self.SCENARIO, f)
        self.addCleanup(os.unlink, path)
        sim = self.start("--no-power-up-lines", "--ftp-root", self.root, "--scenario", path,
                         "--seed", str(seed), "--time-scale", "0.05", transcript=True)
        sim.echo_off()
        for _ in range(8):
            sim.send(b"AT+CSQ\r")
            sim.read_for(0.15)  # the answer, and the noise when the coin says so
        self.open_service(sim)
        data = self.served("r.bin")
        sim.command(b'AT+QFTPGET="r.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:3000"))
        sim.close()
        return normalized(sim.transcript_records()), data

    def test_same_seed_same_transcript_other_seed_another(self):
        first, file1 = self.run_once(7)
        again, file2 = self.run_once(7)
        self.assertEqual(file1, file2)
        self.assertEqual(first, again)
        other, file3 = self.run_once(8)
        self.assertNotEqual(file1, file3)
        self.assertNotEqual(first, other)


# The socket scenarios run in test_socket_faults (imported as a module, so its classes do not
# run twice).
SCENARIO_CLASSES = [ServerScenarios, ConnectionScenarios, ModuleScenarios,
                    test_socket_faults.SocketScenarios]
