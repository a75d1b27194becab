"""`quecsim --modules N`: several modules in one process, each on its own pty with its own link,
control socket and storage, sharing the embedded FTP server; scenarios that target modules;
a UART flood into one module while the others transfer."""

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import unittest

from harness import TIMEOUT, Quecsim, QuecsimTestCase, crlf, run_quecsim
from quecsim import fleet
from quecsim.control import Control

OK = crlf(b"OK")
CONNECT = crlf(b"CONNECT")
N = 3


class ModulePort:
    """The host's end of one module's pty, with the harness's send/expect."""

    open = Quecsim.open
    close_port = Quecsim.close_port
    send = Quecsim.send
    _read = Quecsim._read
    expect = Quecsim.expect
    read_for = Quecsim.read_for
    expect_silence = Quecsim.expect_silence
    command = Quecsim.command
    echo_off = Quecsim.echo_off

    def __init__(self, path):
        self.fd = None
        self.pty = path
        self._pending = b""
        self.open()


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class FleetTestCase(QuecsimTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="quecsim-fleet-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.root = os.path.join(self.tmp, "ftp")
        self.state = os.path.join(self.tmp, "state")

    def start_fleet(self, *args, n=N, transcript=None, link=False, env=None):
        """`quecsim --modules n` serving self.root; returns the process and a port per module
        (echo off, no power-up lines)."""
        extra = ["--modules", str(n), "--no-power-up-lines", "--latency", "0",
                 "--ftp-root", self.root, "--state-dir", self.state, "--time-scale", "0.05"]
        if link:
            extra += ["--link", os.path.join(self.tmp, "mod{n}")]
        sim = self.start(*extra, *args, transcript=transcript, open_port=False, env=env)
        ports = [ModulePort(m["pty"]) for m in sim.modules]
        for p in ports:
            self.addCleanup(p.close_port)
            p.echo_off()
        return sim, ports

    def served(self, name):
        with open(os.path.join(self.root, name), "rb") as f:
            return f.read()


class Modules(FleetTestCase):
    def test_the_ready_line_lists_every_module(self):
        sim, _ = self.start_fleet(link=True)
        ready = sim.ready
        self.assertEqual(sorted(ready), ["ftp", "modules", "pid"])
        self.assertEqual(ready["ftp"]["root"], os.path.realpath(self.root))
        self.assertEqual(len(ready["modules"]), N)
        for n, m in enumerate(ready["modules"]):
            self.assertEqual(sorted(m), ["control", "link", "model", "module", "pty",
                                         "state_dir", "tcpip_server"])
            self.assertEqual(m["module"], n)
            # Each module's TCP server is reached on its own loopback address.
            self.assertEqual(m["tcpip_server"]["address"], "127.1.0.%d" % n)
            self.assertEqual(m["model"], "M95")
            self.assertEqual(m["link"], os.path.join(self.tmp, "mod%d" % n))
            self.assertEqual(os.path.realpath(m["link"]), m["pty"])
            self.assertEqual(m["control"], m["link"] + ".ctl")
            self.assertEqual(m["state_dir"], os.path.join(self.state, str(n)))
            self.assertTrue(os.path.isdir(os.path.join(m["state_dir"], "ufs")))
        self.assertEqual(len({m["pty"] for m in ready["modules"]}), N)
        sim.close()
        for m in ready["modules"]:
            self.assertFalse(os.path.lexists(m["link"]))
            self.assertFalse(os.path.lexists(m["control"]))

    def test_each_module_answers_on_its_own_pty_with_its_own_settings(self):
        sim, ports = self.start_fleet()
        ports[1].command(b"ATE1", OK)
        ports[1].command(b"AT+CMEE=2", b"AT+CMEE=2\r" + OK)
        for n, p in enumerate(ports):
            p.command(b"AT+CMEE?", (b"AT+CMEE?\r" if n == 1 else b"") +
                      crlf(b"+CMEE: %d" % (2 if n == 1 else 0)) + OK)
            p.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK, echo=n == 1)
        ports[0].command(b"AT+BOGUS", crlf(b"ERROR"))
        ports[1].command(b"AT+BOGUS", crlf(b"+CME ERROR: unknown"), echo=True)
        ports[2].expect_silence(0.1)
        sim.close()

    def test_transfers_on_two_modules_at_once_reach_the_server_intact(self):
        sim, ports = self.start_fleet()
        data = {0: payload(200000, 1), 2: payload(150000, 2)}
        for n in data:
            ports[n].command(b'AT+QFTPOPEN="ftp.example.com",21', OK + crlf(b"+QFTPOPEN:0"))
        for n, d in data.items():
            ports[n].command(b'AT+QFTPPUT="m%d.bin",%d' % (n, len(d)), OK + CONNECT)
        # Interleaved: both uploads are in data mode at once.
        for at in range(0, 200000, 8192):
            for n, d in data.items():
                ports[n].send(d[at:at + 8192])
        for n, d in data.items():
            ports[n].expect(crlf(b"+QFTPPUT:%d" % len(d)))
            self.assertEqual(sha256(self.served("m%d.bin" % n)), sha256(d))
        for n in data:
            ports[n].command(b'AT+QFTPGET="m%d.bin"' % (2 - n), OK + CONNECT)
        for n in data:
            self.assertEqual(sha256(ports[n].expect(data[2 - n])), sha256(data[2 - n]))
            ports[n].expect(crlf(b"+QFTPGET:%d" % len(data[2 - n])))
        ports[1].command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_one_transcript_tells_the_modules_apart(self):
        sim, ports = self.start_fleet(transcript=True)
        for n, p in enumerate(ports):
            p.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
        sim.close()
        rx = {}
        for r in sim.transcript_records():
            if r["event"] == "rx":
                rx.setdefault(r["module"], b"")
                rx[r["module"]] += r["data"].encode("latin-1")
        self.assertEqual(sorted(rx), list(range(N)))
        for n in range(N):
            self.assertEqual(rx[n], b"ATE0\rAT+CSQ\r")


class Targeting(FleetTestCase):
    def scenario(self, doc):
        path = os.path.join(self.tmp, "%s.json" % doc["name"])
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def test_a_scenario_for_module_1_acts_on_module_1_only(self):
        os.makedirs(self.root)
        with open(os.path.join(self.root, "f.bin"), "wb") as f:
            f.write(b"x" * 1000)
        path = self.scenario({
            "name": "one", "description": "module 1 only", "modules": [1],
            "server": {"faults": [{"action": "reply", "command": "SIZE",
                                   "text": "550 Not for module 1."}]},
            "events": [{"when": {"command": "AT+CSQ"},
                        "do": [{"action": "urc", "text": "+FAULT: ONE"}]}]})
        sim, ports = self.start_fleet("--scenario", path, transcript=True)
        for p in ports:
            p.command(b'AT+QFTPOPEN="ftp.example.com",21', OK + crlf(b"+QFTPOPEN:0"))
        # The server rule acts on module 1's session only, though all share the server.
        for n, p in enumerate(ports):
            p.command(b'AT+QFTPSIZE="f.bin"',
                      OK + crlf(b"+QFTPSIZE:-550" if n == 1 else b"+QFTPSIZE:1000"))
        for n, p in enumerate(ports):
            p.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK +
                      (crlf(b"+FAULT: ONE") if n == 1 else b""))
            p.expect_silence(0.05)
        sim.close()
        records = sim.transcript_records()
        faults = {r["module"] for r in records if r["event"] == "fault"}
        self.assertEqual(faults, {1})
        # Each module records its own configuration: module 1 the scenario that acts on it
        # (without "modules": replayed alone, it is module 0), the others none.
        configs = {r["module"]: json.loads(r["data"]) for r in records
                   if r["event"] == "info" and r["source"] == "config"}
        self.assertEqual(sorted(configs), [0, 1, 2])
        self.assertEqual([c["scenarios"] for c in (configs[0], configs[2])], [[], []])
        self.assertEqual([s["name"] for s in configs[1]["scenarios"]], ["one"])
        self.assertNotIn("modules", configs[1]["scenarios"][0])
        self.assertEqual([c["seed"] for c in (configs[0], configs[1], configs[2])], [1, 2, 3])
        # So the fleet's transcript replays, module by module, each against a fresh module.
        done = run_quecsim("replay", sim.transcript_path, "--timeout", str(TIMEOUT))
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(re.findall(r": module (\d): reproduced: ", done.stdout),
                         ["0", "1", "2"])
        done = run_quecsim("replay", sim.transcript_path, "--module", "1")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(re.findall(r": module (\d): reproduced: ", done.stdout), ["1"])
        done = run_quecsim("replay", sim.transcript_path, "--module", "7")
        self.assertEqual(done.returncode, 3, done.stdout + done.stderr)
        self.assertIn("no module 7 in the transcript", done.stderr)

    def test_a_scenario_for_every_module_acts_on_each_once(self):
        path = self.scenario({
            "name": "all", "description": "each", "modules": "all",
            "events": [{"when": {"command": "AT+CSQ"},
                        "do": [{"action": "urc", "text": "+FAULT: EACH"}]}]})
        sim, ports = self.start_fleet("--scenario", path)
        for p in ports:
            p.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK + crlf(b"+FAULT: EACH"))
        for p in ports:
            p.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
        sim.close()

    def test_the_control_socket_of_module_2_drives_module_2_only(self):
        sim, ports = self.start_fleet(link=True)
        with Control(sim.modules[2]["control"]) as ctl:
            reply = ctl.request({"op": "apply", "action": {"action": "urc", "text": "+HELLO"}})
            self.assertTrue(reply["ok"])
            self.assertEqual(ctl.request({"op": "state"})["ftp"]["state"], "IDLE")
        ports[2].expect(crlf(b"+HELLO"))
        with Control(sim.modules[0]["control"]) as ctl:
            ctl.request({"op": "apply", "action": {"action": "signal", "rssi": 7}})
        ports[0].command(b"AT+CSQ", crlf(b"+CSQ: 7,0") + OK)
        for n in (1, 2):
            ports[n].command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
        ports[0].expect_silence(0.05)
        ports[1].expect_silence(0.05)
        sim.close()


class BadCommandLines(unittest.TestCase):
    def refused(self, *args):
        result = run_quecsim(*args)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        return result.stderr

    def test_a_count_below_one_or_not_a_number_names_the_flag(self):
        # The line that names the flag and the value, not merely the flag (a usage text
        # would contain it too).
        for value in ("0", "many", "-2"):
            self.assertIn("--modules: Value %s not in range 1 to 65536\n" % value,
                          self.refused("--modules", value))

    def test_more_modules_than_the_kernel_allows_names_the_flag_and_the_limit(self):
        with open("/proc/sys/kernel/pty/max") as f:
            most = int(f.read())
        err = self.refused("--modules", str(most + 1))
        self.assertIn("--modules %d" % (most + 1), err)
        self.assertIn("/proc/sys/kernel/pty/max", err)

    def test_a_link_or_control_path_without_n_is_refused_for_several_modules(self):
        tmp = tempfile.mkdtemp(prefix="quecsim-fleet-")
        self.addCleanup(shutil.rmtree, tmp, True)
        err = self.refused("--modules", "2", "--link", os.path.join(tmp, "mod"))
        self.assertIn("--link", err)
        self.assertIn("{n}", err)
        err = self.refused("--modules", "2", "--link", os.path.join(tmp, "mod{n}"),
                           "--control", os.path.join(tmp, "c.ctl"))
        self.assertIn("--control", err)
        self.assertIn("{n}", err)
        self.assertEqual(os.listdir(tmp), [])

    def test_exit_on_close_is_refused_for_a_fleet(self):
        self.assertIn("--exit-on-close", self.refused("--modules", "2", "--exit-on-close"))

    def test_a_scenario_naming_a_module_that_does_not_run_is_refused(self):
        tmp = tempfile.mkdtemp(prefix="quecsim-fleet-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "s.json")
        with open(path, "w") as f:
            json.dump({"name": "s", "description": "d", "modules": [0, 3]}, f)
        err = self.refused("--modules", "3", "--scenario", path)
        self.assertEqual(err, "quecsim: %s: /modules/1: expected a module of this process "
                              "(0 to 2), got 3\n" % path)


class Flood(FleetTestCase):
    """Bad input at volume, at a size the suite affords (bench/fleet/flood.py runs 1 GiB)."""

    MIB = 16

    def test_a_flooded_module_answers_the_next_at_and_the_others_lose_nothing(self):
        # Under AddressSanitizer freed blocks wait in a quarantine (256 MiB by default), which
        # would show as growth here: without it RSS measures the module's own buffers again.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=0"}
        sim, ports = self.start_fleet(n=3, env=env)
        for p in ports:
            p.close_port()
        # The flooded module keeps its echo: ATE1 back on before the flood.
        first = ModulePort(sim.modules[0]["pty"])
        first.command(b"ATE1", OK)
        first.close_port()
        state = {"phase": "start"}
        stats = {"cycles": 0, "bytes": 0, "files": {}}
        half = self.MIB << 19
        timeout = 20 * TIMEOUT
        hosts = [fleet.Host(0, sim.modules[0]["pty"],
                            fleet.flood_host(half, half, 7, state), timeout)]
        for n in (1, 2):
            hosts.append(fleet.Host(n, sim.modules[n]["pty"],
                                    fleet.transfer_host(n, payload(65536, n), state, stats),
                                    timeout))
        # transfer_host turns echo off itself: give it a module with echo on.
        for n in (1, 2):
            p = ModulePort(sim.modules[n]["pty"])
            p.command(b"ATE1", OK)
            p.close_port()
        rss = []
        sampler = fleet.Sampler(_Pid(sim.pid), 0.2)
        try:
            fleet.drive(hosts)
        finally:
            rss = [s[1] for s in sampler.stop()]
            for h in hosts:
                h.close()
        self.assertEqual(state["phase"], "done")
        self.assertEqual(hosts[0].written, (self.MIB << 20) + len(b"\rATE1V1Q0\r") + 3)
        # The module answered all along (echo and ERRORs; how much depends on the random
        # bytes, which hold ATE0s and ATE1s: "ATE" alone is ATE0).
        self.assertGreater(hosts[0].discarded, 0)
        self.assertGreaterEqual(stats["cycles"], 2)
        for n, (count, digest) in stats["files"].items():
            for c in range(count):
                self.assertEqual(sha256(self.served("m%d-%d.bin" % (n, c))), digest)
        # The module's memory does not follow the flood: bounded buffers all along.
        self.assertLess(max(rss) - min(rss), 8 * 1024, rss)
        sim.close()


class _Pid:
    """What fleet.Sampler needs of a process: RSS and descriptor count by pid."""

    def __init__(self, pid):
        self.pid = pid

    rss_kib = fleet.Fleet.rss_kib
    fds = fleet.Fleet.fds
    status = fleet.Fleet.status


if __name__ == "__main__":
    unittest.main()
