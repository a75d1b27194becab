"""The live control socket: where it is, who may use it, what `state` and `subscribe` report
while a host drives the module over the pty, the `quecsim ctl` client and the Python client."""

import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from ftp_support import CONNECT, OK, FtpTestCase, crlf, payload
from harness import TIMEOUT, QuecsimTestCase, quecsim_binary, run_quecsim
from quecsim.control import Control, ControlError


def ctl(path, *args):
    """`quecsim ctl PATH args...` run to completion."""
    return run_quecsim("ctl", path, *args)


class SocketPlace(QuecsimTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="quecsim-ctl-it-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def test_the_socket_sits_beside_the_link_owner_only(self):
        sim = self.start(link=True)
        self.assertEqual(sim.control, sim.link + ".ctl")
        st = os.lstat(sim.control)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.getuid())
        self.assertEqual(st.st_gid, os.getgid())

    def test_control_names_the_path_and_without_link_or_control_there_is_none(self):
        path = os.path.join(self.dir, "my.ctl")
        sim = self.start("--control", path, link=True)
        self.assertEqual(sim.control, path)
        self.assertFalse(os.path.lexists(sim.link + ".ctl"))
        bare = self.start()
        self.assertIsNone(bare.ready["control"])

    def test_sigterm_removes_the_socket(self):
        path = os.path.join(self.dir, "q.ctl")
        sim = self.start("--control", path)
        self.assertTrue(os.path.exists(path))
        sim.close(signal.SIGTERM)
        self.assertFalse(os.path.lexists(path))

    def test_a_stale_socket_is_replaced(self):
        path = os.path.join(self.dir, "q.ctl")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()  # the file stays, nobody listens: a crashed process's leftover
        sim = self.start("--control", path)
        with Control(sim.control) as c:
            self.assertEqual(c.ping(), {"id": 1, "ok": True, "pong": True})

    def test_a_live_socket_or_a_regular_file_is_refused_with_its_path(self):
        path = os.path.join(self.dir, "q.ctl")
        first = self.start("--control", path)
        second = run_quecsim("--control", path, "--no-embedded-ftp")
        self.assertEqual(second.returncode, 1)
        self.assertEqual(second.stderr,
                         "quecsim: control socket %s: another process is listening on it\n" % path)
        with Control(first.control) as c:
            c.ping()
        notes = os.path.join(self.dir, "notes.txt")
        with open(notes, "w") as f:
            f.write("keep")
        third = run_quecsim("--control", notes, "--no-embedded-ftp")
        self.assertEqual(third.returncode, 1)
        self.assertEqual(third.stderr, "quecsim: control socket %s: exists and is not a socket; "
                         "not replacing it\n" % notes)
        with open(notes) as f:
            self.assertEqual(f.read(), "keep")

    def test_the_human_start_up_message_names_the_socket(self):
        path = os.path.join(self.dir, "q.ctl")
        proc = subprocess.Popen([quecsim_binary(), "--baud", "0", "--control", path,
                                 "--no-embedded-ftp"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            ready = select.select([proc.stdout], [], [], TIMEOUT)[0]
            self.assertTrue(ready, "no start-up message")
            line = proc.stdout.readline().decode()
            self.assertTrue(line.startswith("quecsim: M95 on /dev/pts/"), line)
            self.assertTrue(line.endswith("; control socket %s\n" % path), line)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(TIMEOUT), 0)
            proc.stdout.close()
        self.assertFalse(os.path.lexists(path))


class StateAndEvents(FtpTestCase):

    def test_state_follows_an_ftp_session_opened_over_the_pty(self):
        data = payload(1587, seed=7)
        self.serve("sscom.ini", data)
        sim = self.start_ftp(link=True, transcript=True)
        sent = b"ATE0\r"
        received = b"ATE0\r" + OK
        with Control(sim.control) as c:
            before = c.state()
            self.assertEqual(before["ftp"], {"state": "IDLE"})
            self.assertEqual(before["pdp"], {"active": False, "local_ip": None})
            self.assertEqual(before["uart"], {"mode": "command"})
            self.assertEqual(before["model"], "M95")

            self.open_service(sim)
            sent += b'AT+QFTPOPEN="ftp.example.com",21\r'
            received += OK + crlf(b"+QFTPOPEN:0")
            sim.command(b'AT+QFTPGET="sscom.ini"', OK + CONNECT)
            sim.expect(data)
            sim.expect(crlf(b"+QFTPGET:1587"))
            sent += b'AT+QFTPGET="sscom.ini"\r'
            received += OK + CONNECT + data + crlf(b"+QFTPGET:1587")

            after = c.state()
            self.assertEqual(after["ftp"], {"state": "OPENED"})
            self.assertTrue(after["pdp"]["active"])
            socket.inet_aton(after["pdp"]["local_ip"])  # an IPv4 address
            self.assertEqual(after["uart"], {"mode": "command"})
            records = sim.transcript_records()
            self.assertEqual(after["counters"], {
                "uart_rx_bytes": len(sent),
                "uart_tx_bytes": len(received),
                "at_lines": 3,
                "ftp_tx_lines": sum(1 for r in records if r["event"] == "ftp_tx"),
                "ftp_rx_lines": sum(1 for r in records if r["event"] == "ftp_rx"),
                "data_rx_bytes": 1587,
                "data_tx_bytes": 0,
                "faults": 0,
            })
            self.assertGreater(after["counters"]["ftp_tx_lines"], 3)

    def test_a_subscriber_sees_the_hosts_line_and_the_modules_reply(self):
        sim = self.start_quiet(link=True)
        with Control(sim.control) as c:
            events = c.subscribe(kinds=["rx", "tx"], timeout=TIMEOUT)
            sim.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
            got = {"rx": b"", "tx": b""}
            want = {"rx": b"AT+CSQ\r", "tx": crlf(b"+CSQ: 20,0") + OK}
            while got != want:
                event = next(events)
                self.assertEqual(event["module"], 0)
                self.assertEqual(event["source"], "uart")
                got[event["event"]] += event["data"].encode("latin-1")
                self.assertTrue(want[event["event"]].startswith(got[event["event"]]), got)
            self.assertEqual(set(event), {"t", "module", "event", "source", "data"})

    def test_state_events_and_the_password_masked(self):
        sim = self.start_quiet(link=True)
        with Control(sim.control) as c:
            events = c.subscribe(kinds=["rx"], timeout=TIMEOUT)
            sim.command(b'AT+QFTPPASS="secret"', OK)
            line = b""
            while not line.endswith(b"\r"):
                line += next(events)["data"].encode("latin-1")
            self.assertEqual(line, b'AT+QFTPPASS="******"\r')


class CommandLineClient(QuecsimTestCase):

    def test_ping_and_state_print_the_reply_and_exit_0(self):
        sim = self.start(link=True)
        done = ctl(sim.control, "ping")
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertEqual(json.loads(done.stdout), {"ok": True, "pong": True})
        done = ctl(sim.control, "state")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["ftp"], {"state": "IDLE"})
        done = ctl(sim.control, "--json", '{"op":"ping","id":"mine"}')
        self.assertEqual(json.loads(done.stdout), {"id": "mine", "ok": True, "pong": True})

    def test_error_replies_and_connection_failures_exit_1(self):
        sim = self.start(link=True)
        done = ctl(sim.control, "--json", '{"op":"nope"}')
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stdout, "")
        self.assertEqual(done.stderr, "quecsim ctl: unknown op 'nope' (ops: ping, subscribe, "
                         "unsubscribe, state, apply, load, unload)\n")
        missing = sim.control + ".missing"
        done = ctl(missing, "ping")
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, "quecsim ctl: cannot connect to control socket %s: "
                         "No such file or directory\n" % missing)

    def test_bad_command_lines_exit_2_naming_the_fault(self):
        sim = self.start(link=True)
        for args, message in [
                ((), "missing SOCKET and op"),
                ((sim.control,), "missing op after " + sim.control),
                ((sim.control, "ping", "extra"), "ping takes no argument, got 'extra'"),
                ((sim.control, "--json", "{bad"), "--json: not a JSON object: {bad"),
                ((sim.control, "--json", "[1]"), "--json: not a JSON object: [1]"),
                ((sim.control, "unload"), "unload takes one scenario NAME"),
                ((sim.control, "load", "/nonexistent.json"), "load: cannot read /nonexistent.json"),
                ((sim.control, "drop-pdp", "after"), "drop-pdp: expected KEY=VALUE, got 'after'"),
                ((sim.control, "subscribe", "x=1"), "subscribe takes only kinds=K,..., got 'x=1'"),
                ((sim.control, "--bogus"), "unknown option '--bogus'"),
        ]:
            done = run_quecsim("ctl", *args)
            self.assertEqual(done.returncode, 2, args)
            self.assertTrue(done.stderr.startswith("quecsim ctl: %s\nUsage: " % message),
                            done.stderr)
        done = run_quecsim("--bogus")
        self.assertEqual(done.returncode, 2)
        self.assertIn("The following argument was not expected: --bogus\n", done.stderr)

    def test_an_unknown_action_is_refused_with_the_list_of_actions(self):
        sim = self.start(link=True)
        done = ctl(sim.control, "drop-pdp", "after=2")
        self.assertEqual(done.returncode, 1)
        self.assertTrue(done.stderr.startswith(
            "quecsim ctl: request: /action/action: expected one of brownout, "), done.stderr)

    def test_subscribe_prints_events_until_interrupted(self):
        sim = self.start_quiet(link=True)
        proc = subprocess.Popen([quecsim_binary(), "ctl", sim.control, "subscribe",
                                 "kinds=rx,state"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        out = _LineReader(proc.stdout.fileno())
        try:
            reply = ""
            while not reply.endswith("}\n"):
                reply += out.line()
            self.assertEqual(json.loads(reply), {"ok": True, "kinds": ["rx", "state"]})
            sim.command(b"AT", OK)
            received = ""
            while received != "AT\r":
                event = json.loads(out.line())
                self.assertEqual(event["event"], "rx")
                received += event["data"]
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(TIMEOUT), 0)
            self.assertEqual(proc.stderr.read(), b"")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()


class _LineReader:
    """Lines from a pipe, each awaited with a bounded timeout (no buffered reader that would
    hide bytes from select)."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""

    def line(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError("no line within %.1fs; have %r" % (timeout, self.buffer))
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise AssertionError("the stream ended; have %r" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode() + "\n"


class PythonClient(QuecsimTestCase):

    def test_a_second_process_reads_the_state(self):
        sim = self.start(link=True)
        script = ("import json, sys\n"
                  "from quecsim import Control\n"
                  "with Control(sys.argv[1]) as c:\n"
                  "    print(json.dumps(c.state()))\n")
        done = subprocess.run(["/usr/bin/python3", "-c", script, sim.control],
                              capture_output=True, text=True, timeout=TIMEOUT, check=False)
        self.assertEqual(done.returncode, 0, done.stderr)
        state = json.loads(done.stdout)
        self.assertEqual(state["id"], 1)
        self.assertEqual(state["uart"], {"mode": "command"})

    def test_error_replies_raise_control_error(self):
        sim = self.start(link=True)
        with Control(sim.control) as c:
            with self.assertRaises(ControlError) as caught:
                c.request({"op": "nope"})
            self.assertTrue(str(caught.exception).startswith("unknown op 'nope'"))
            self.assertEqual(caught.exception.reply["ok"], False)
            with self.assertRaisesRegex(ControlError, "^request: /action/action: expected one of "):
                c.apply("drop-pdp", after=2)
            with self.assertRaisesRegex(ControlError,
                                        '^request /scenario: /steps: unknown key in a scenario'):
                c.load({"name": "x", "steps": []})
            with self.assertRaisesRegex(ControlError, "^no scenario named x$"):
                c.unload("x")
            # The connection is still good after every error.
            self.assertTrue(c.ping()["pong"])

    def test_connecting_to_nothing_raises_control_error_naming_the_path(self):
        path = os.path.join(tempfile.gettempdir(), "quecsim-no-such.ctl")
        with self.assertRaisesRegex(ControlError, "cannot connect to control socket " + path):
            Control(path)

    def test_subscribe_times_out_when_nothing_happens(self):
        sim = self.start_quiet(link=True)
        with Control(sim.control) as c:
            events = c.subscribe(kinds=["fault"], timeout=0.2)
            started = time.monotonic()
            with self.assertRaises(TimeoutError):
                next(events)
            self.assertLess(time.monotonic() - started, TIMEOUT)
            self.assertEqual(c.unsubscribe()["was_subscribed"], True)


if __name__ == "__main__":
    unittest.main()
