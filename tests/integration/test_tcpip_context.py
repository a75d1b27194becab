"""Sockets and the packet context: +PDP DEACT, AT+QIDEACT and AT+CGATT=0 end every open socket
as docs/tcpip.md says and the service comes back after recovery; a socket and an FTP session
at the same time on the one context."""

import os
import shutil
import tempfile
import unittest

from ftp_support import CONNECT, FtpTestCase, crlf, payload
from harness import run_quecsim
from tcpip_support import ERROR, OK, TcpPeer, state


class ContextLoss(FtpTestCase):
    def setUp(self):
        super().setUp()
        self.peer = TcpPeer()
        self.addCleanup(self.peer.close)
        self.dir = tempfile.mkdtemp(prefix="quecsim-tcpip-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_live(self, *args):
        return self.start_ftp("--control", os.path.join(self.dir, "q.ctl"), *args)

    def open_socket(self, sim, mux=False):
        index = b"0," if mux else b""
        sim.command(b'AT+QIOPEN=%s"TCP","127.0.0.1",%d' % (index, self.peer.port), OK)
        conn = self.peer.accept()
        sim.expect(b"\r\n%sCONNECT OK\r\n" % (b"0, " if mux else b""))
        return conn

    def test_pdp_deact_ends_the_socket_and_qideact_recovers(self):
        sim = self.start_live()
        conn = self.open_socket(sim)
        result = run_quecsim("ctl", sim.control, "pdp-deact")
        self.assertEqual(result.returncode, 0, result.stderr)
        # No CLOSED line: the context's loss says it all.
        sim.expect(crlf(b"+PDP DEACT"))
        sim.expect_silence(0.2)
        self.assertEqual(conn.recv(1), b"")
        sim.command(b"AT+QISTAT", state(b"PDP DEACT"))
        sim.command(b"AT+QISEND=1", ERROR)
        sim.command(b"AT+QIRD=0,1,0,10", ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, ERROR)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        conn = self.open_socket(sim)
        sim.command(b"AT+QISEND=2", b"> ")
        sim.send(b"up")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(conn.recv(2), b"up")

    def test_pdp_deact_in_multiple_mode_ends_every_socket(self):
        sim = self.start_live()
        sim.command(b"AT+QIMUX=1", OK)
        first = self.open_socket(sim, mux=True)
        sim.command(b'AT+QIOPEN=1,"TCP","127.0.0.1",%d' % self.peer.port, OK)
        second = self.peer.accept()
        sim.expect(b"\r\n1, CONNECT OK\r\n")
        run_quecsim("ctl", sim.control, "pdp-deact")
        sim.expect(crlf(b"+PDP DEACT"))
        self.assertEqual(first.recv(1), b"")
        self.assertEqual(second.recv(1), b"")
        sim.command(b"AT+QISEND=0,1", ERROR)
        sim.command(b"AT+QISEND=1,1", ERROR)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        self.open_socket(sim, mux=True)

    def test_cgatt_0_ends_the_socket_silently(self):
        sim = self.start_live()
        conn = self.open_socket(sim)
        sim.command(b"AT+CGATT=0", OK)
        self.assertEqual(conn.recv(1), b"")
        sim.expect_silence(0.2)
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        # Detached, the module cannot bring a context up for the next open.
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        sim.expect(b"\r\nCONNECT FAIL\r\n")
        sim.command(b"AT+CGATT=1", OK)
        self.open_socket(sim)

    def test_a_socket_and_an_ftp_download_share_the_context(self):
        data = payload(3000, seed=9)
        self.serve("log.bin", data)
        sim = self.start_ftp()
        self.open_service(sim)
        # The context AT+QFTPOPEN brought up is IP GPRSACT until the address is read.
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")
        conn = self.open_socket(sim)
        sim.command(b'AT+QFTPGET="log.bin"', OK)
        sim.expect(CONNECT)
        sim.expect(data)
        sim.expect(crlf(b"+QFTPGET:%d" % len(data)))
        sim.command(b"AT+QISEND=4", b"> ")
        sim.send(b"done")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(conn.recv(4), b"done")
        conn.sendall(b"ack")
        sim.expect(b"ack")
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))


if __name__ == "__main__":
    unittest.main()
