"""--tcp-listen and --tcp-connect (docs/attach.md): the module's UART over TCP, as QEMU's
-serial tcp:, pyserial's socket:// (pytest-embedded) and Renode's server-socket terminal meet
it. The manual's chapter 4 flow over each; one host at a time (a second connection refused with
a log line); a dropped connection is the host closing the port, the module kept as it was."""

import os
import socket
import tempfile

import serial

from attach_support import (ChapterFour, PyserialHost, accept, endpoint, listening_socket,
                            wait_for_stderr)
from ftp_support import OK, crlf
from harness import POWER_UP_LINES, TIMEOUT, Quecsim, _finish, run_quecsim
from quecsim.control import Control


class TcpListen(ChapterFour):

    def start(self, *args, **kwargs):
        sim = PyserialHost(*args, **kwargs)
        sim.test_id = self.id()
        self.addCleanup(_finish, sim)
        return sim

    def listen(self, *args, **kwargs):
        sim = self.start_ftp("--tcp-listen", "0", *args, echo_off=False, **kwargs)
        ep = endpoint(sim)
        self.assertEqual((ep["kind"], ep["address"], ep["host"]), ("tcp-listen", "127.0.0.1", None))
        self.assertGreater(ep["port"], 0)
        self.assertIsNone(sim.ready["pty"])
        return sim, ep["port"]

    def connect(self, sim, port):
        """Opens pyserial's socket:// to the module and returns the host's own port."""
        sim.open_url("socket://127.0.0.1:%d" % port)
        mine = sim.port._socket.getsockname()[1]
        wait_for_stderr(sim, "quecsim: --tcp-listen 127.0.0.1:%d: host 127.0.0.1:%d connected\n"
                        % (port, mine))
        return mine

    def test_chapter_4_over_pyserial_socket_url(self):
        folder = tempfile.mkdtemp(prefix="quecsim-ctl-")
        self.addCleanup(os.rmdir, folder)
        control = os.path.join(folder, "ctl")
        sim, port = self.listen("--control", control, transcript=True)
        mine = self.connect(sim, port)
        with Control(control) as ctl:
            self.assertEqual(ctl.state()["endpoint"],
                             {"kind": "tcp-listen", "address": "127.0.0.1", "port": port,
                              "host": "127.0.0.1:%d" % mine})
        sim.echo_off()
        self.chapter_four(sim)
        sim.close()
        # The transcript records the UART's bytes as over the pty.
        self.assertIn(b'AT+QFTPGET="sscom.ini"\r', sim.transcript_bytes("rx"))
        self.assertIn(b"\r\n+QFTPGET:17765\r\n", sim.transcript_bytes("tx"))

    def test_a_second_connection_is_refused_with_a_log_line(self):
        sim, port = self.listen()
        mine = self.connect(sim, port)
        sim.echo_off()
        other = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.addCleanup(other.close)
        theirs = other.getsockname()[1]
        self.assertEqual(other.recv(64), b"")  # closed at once, nothing said
        wait_for_stderr(sim, "quecsim: --tcp-listen 127.0.0.1:%d: refused a connection from "
                        "127.0.0.1:%d: the host 127.0.0.1:%d is connected (one host at a time)\n"
                        % (port, theirs, mine))
        sim.command(b"AT", OK)  # the first host goes on as before

    def test_a_dropped_connection_is_the_host_closing_its_port(self):
        sim, port = self.listen()
        mine = self.connect(sim, port)
        sim.echo_off()
        sim.command(b"AT+CMEE=2", OK)
        sim.close_port()
        wait_for_stderr(sim, "quecsim: --tcp-listen 127.0.0.1:%d: host 127.0.0.1:%d closed the "
                        "connection\n" % (port, mine))
        self.connect(sim, port)
        # The module is as the first host left it: echo off, verbose errors.
        sim.command(b"AT+CMEE?", crlf(b"+CMEE: 2") + OK)

    def test_the_power_up_lines_come_when_the_host_connects(self):
        # A plain socket: pyserial's socket:// discards what has arrived when it opens, and
        # with --boot-delay 0 the lines may already be there.
        sim = Quecsim("--tcp-listen", "0", open_port=False)
        self.addCleanup(_finish, sim)
        conn = socket.create_connection(("127.0.0.1", endpoint(sim)["port"]), timeout=TIMEOUT)
        conn.setblocking(False)
        sim.fd = conn.detach()
        sim.skip_power_up()
        sim.command(b"AT", b"AT\r\r\nOK\r\n")

    def test_exit_on_close_ends_the_run_when_the_host_disconnects(self):
        sim = self.start("--tcp-listen", "0", "--exit-on-close", "--no-power-up-lines")
        sim.open_url("socket://127.0.0.1:%d" % endpoint(sim)["port"])
        sim.command(b"AT", b"AT\r\r\nOK\r\n")
        sim.close_port()
        self.assertEqual(sim.proc.wait(TIMEOUT), 0)
        sim.close()

    def test_each_module_of_a_fleet_listens_on_its_own_port(self):
        sim = self.start("--modules", "3", "--tcp-listen", "0", "--no-power-up-lines")
        ports = [m["endpoint"]["port"] for m in sim.modules]
        self.assertEqual(len(set(ports)), 3)
        self.assertEqual([m["pty"] for m in sim.modules], [None, None, None])
        for port in ports:
            with serial.serial_for_url("socket://127.0.0.1:%d" % port, timeout=TIMEOUT) as host:
                host.write(b"ATE0\r")
                self.assertEqual(host.read(len(b"ATE0\r\r\nOK\r\n")), b"ATE0\r\r\nOK\r\n")

    def test_a_port_in_use_stops_the_start_naming_it(self):
        taken = listening_socket()
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        done = run_quecsim("--tcp-listen", str(port))
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr, "quecsim: --tcp-listen 127.0.0.1:%d: cannot listen: "
                         "Address already in use\n" % port)

    def test_bad_values_are_usage_errors(self):
        for args, message in [
                (["--tcp-listen", "127.0.0.1:65536"], "quecsim: --tcp-listen 127.0.0.1:65536: "
                 "the port must be a number from 0 (any free port) to 65535\n"),
                (["--tcp-listen", "localhost:0"],
                 "quecsim: --tcp-listen localhost:0: 'localhost' is not an IP address\n"),
                (["--tcp-connect", "4000"],
                 "quecsim: --tcp-connect 4000: give HOST:PORT, e.g. 127.0.0.1:3456\n"),
                (["--tcp-connect", "127.0.0.1:0"], "quecsim: --tcp-connect 127.0.0.1:0: the port "
                 "must be a number from 1 to 65535\n"),
                (["--tcp-listen", "0", "--link", "/tmp/quecsim-never"],
                 "quecsim: --link names quecsim's own pty, which --tcp-listen replaces; give "
                 "--control for the control socket\n")]:
            with self.subTest(args=args):
                done = run_quecsim(*args)
                self.assertEqual((done.returncode, done.stderr), (2, message))
        done = run_quecsim("--tcp-listen", "0", "--tcp-connect", "127.0.0.1:1")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("excludes", done.stderr)


class TcpConnect(ChapterFour):

    def client(self, server, *args, **kwargs):
        port = server.getsockname()[1]
        sim = self.start_ftp("--tcp-connect", "127.0.0.1:%d" % port, *args, echo_off=False,
                             open_port=False, **kwargs)
        self.assertEqual(endpoint(sim)["kind"], "tcp-connect")
        self.assertEqual(endpoint(sim)["port"], port)
        return sim

    def take(self, sim, server):
        sim.fd = accept(server).detach()

    def test_chapter_4_as_a_tcp_client(self):
        server = listening_socket()
        self.addCleanup(server.close)
        sim = self.client(server)
        self.take(sim, server)
        sim.echo_off()
        self.chapter_four(sim)

    def test_it_connects_again_after_a_drop_and_the_module_is_as_it_was(self):
        server = listening_socket()
        self.addCleanup(server.close)
        port = server.getsockname()[1]
        sim = self.client(server)
        self.take(sim, server)
        sim.echo_off()
        sim.close_port()
        wait_for_stderr(sim, "quecsim: --tcp-connect 127.0.0.1:%d: the connection closed; "
                        "connecting again\n" % port)
        self.take(sim, server)
        sim.command(b"AT", OK)  # echo still off

    def test_it_waits_for_a_server_that_is_not_up_yet(self):
        spare = socket.socket()
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
        spare.close()  # nobody listens there now
        sim = self.start_ftp("--tcp-connect", "127.0.0.1:%d" % port, echo_off=False,
                             open_port=False)
        wait_for_stderr(sim, "quecsim: --tcp-connect 127.0.0.1:%d: cannot connect (Connection "
                        "refused); trying again every 1000 ms\n" % port)
        server = socket.socket()
        self.addCleanup(server.close)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        self.take(sim, server)
        sim.echo_off()


if __name__ == "__main__":
    import unittest
    unittest.main()
