"""The module's TCP server (AT+QILPORT, AT+QISERVER, AT+QISRVC): a client on the host machine
connects to the loopback port the ready line names, both directions move data in both
connection modes and every QINDI mode, for the M95 and the MC60; refusals answer ERROR and
leave the module usable; the packet context's loss ends the listener (docs/tcpip.md)."""

import json
import os
import shutil
import socket
import tempfile
import unittest

from harness import QuecsimTestCase, TIMEOUT, crlf, run_quecsim
from tcpip_support import ERROR, FAST, OK, TcpPeer, closed_port, state


class ServerTestCase(QuecsimTestCase):
    def setUp(self):
        self.clients = []
        self.addCleanup(self.close_clients)

    def close_clients(self):
        for c in self.clients:
            c.close()

    def start_server(self, *args):
        sim = self.start_quiet(*FAST, *args)
        self.port = sim.ready["tcpip_server"]["port"]
        return sim

    def up(self, sim):
        """The driver sequence to IP STATUS: QIREGAPP, QIACT, QILOCIP."""
        sim.command(b'AT+QIREGAPP="CMNET","",""', OK)
        sim.command(b"AT+QIACT", OK)
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")

    def listen(self, sim, command=b"AT+QISERVER", port=5000):
        sim.command(b'AT+QILPORT="TCP",%d' % port, OK)
        sim.command(command, OK)
        sim.expect(crlf(b"SERVER OK"))

    def connect(self):
        c = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        self.clients.append(c)
        return c

    def assert_refused(self):
        with self.assertRaises(ConnectionRefusedError):
            self.connect()

    def assert_ended(self, c):
        """The module dropped `c` (EOF, or a reset when it closed with bytes unread)."""
        try:
            self.assertEqual(c.recv(1), b"")
        except ConnectionResetError:
            pass

    def recv_exact(self, c, n):
        out = b""
        while len(out) < n:
            chunk = c.recv(n - len(out))
            self.assertTrue(chunk, "the module closed after %r" % out)
            out += chunk
        return out


class Settings(ServerTestCase):
    def test_qilport_forms_and_refusals(self):
        sim = self.start_server()
        sim.command(b"AT+QILPORT=?", b'\r\n+QILPORT: ("TCP","UDP"),(1-65535)\r\n' + OK)
        sim.command(b"AT+QILPORT?", b"\r\nTCP: 0\r\n\r\nUDP: 0\r\n" + OK)
        sim.command(b'AT+QILPORT="TCP",5000', OK)
        sim.command(b"AT+QILPORT?", b"\r\nTCP: 5000\r\n\r\nUDP: 0\r\n" + OK)
        sim.command(b'AT+QILPORT="UDP","6000"', OK)  # a quoted port, as for AT+QIOPEN
        sim.command(b"AT+QILPORT?", b"\r\nTCP: 0\r\n\r\nUDP: 6000\r\n" + OK)
        for bad in (b'"TCP",0', b'"TCP",65536', b'"SCTP",80', b'"TCP"', b'"TCP","x"', b"5000"):
            sim.command(b"AT+QILPORT=" + bad, ERROR)
        sim.command(b"AT+QILPORT?", b"\r\nTCP: 0\r\n\r\nUDP: 6000\r\n" + OK)
        sim.command(b"AT", OK)

    def test_qiserver_forms_and_refusals(self):
        sim = self.start_server()
        sim.command(b"AT+QISERVER=?", b"\r\n+QISERVER: (0,1),(1-5)\r\n" + OK)
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 0,0,0\r\n" + OK)
        sim.command(b'AT+QILPORT="TCP",5000', OK)
        # Before AT+QILOCIP the server gets an error.
        sim.command(b"AT+QISERVER", ERROR)
        sim.command(b'AT+QIREGAPP="CMNET","",""', OK)
        sim.command(b"AT+QIACT", OK)
        sim.command(b"AT+QISERVER", ERROR)
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")
        sim.command(b"AT+QISERVER=0,1", ERROR)  # the write form is multiple mode's
        sim.command(b'AT+QILPORT="UDP",5000', OK)
        sim.command(b"AT+QISERVER", ERROR)  # no UDP server
        self.listen(sim)
        sim.command(b"AT+QISERVER", ERROR)  # already listening
        sim.command(b'AT+QILPORT="TCP",5001', ERROR)
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,0,1\r\n" + OK)
        sim.command(b"AT+QISTAT", state(b"SERVER LISTENING"))
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % closed_port(), ERROR)
        sim.command(b"AT", OK)

    def test_the_port_refuses_until_the_server_listens(self):
        sim = self.start_server()
        self.assertEqual(sim.ready["tcpip_server"]["address"], "127.0.0.1")
        self.assertNotEqual(self.port, 0)
        self.assert_refused()
        self.up(sim)
        self.assert_refused()
        self.listen(sim)
        self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))

    def test_a_tcpip_port_in_use_is_a_usage_error(self):
        taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        ftp_root = tempfile.mkdtemp(prefix="quecsim-tcpip-port-")
        self.addCleanup(shutil.rmtree, ftp_root, True)
        result = run_quecsim("--tcpip-port", str(port), "--ftp-root", ftp_root)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--tcpip-port: tcpip server port %d: Address already in use" % port,
                      result.stderr)

    def test_tcpip_port_maps_the_server_to_a_chosen_port(self):
        port = closed_port()
        sim = self.start_server("--tcpip-port", str(port))
        self.assertEqual(self.port, port)
        self.up(sim)
        self.listen(sim, port=80)
        self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))


class SingleMode(ServerTestCase):
    def serve(self, *args):
        sim = self.start_server(*args)
        self.up(sim)
        self.listen(sim)
        return sim

    def test_a_client_connects_and_bytes_move_both_ways_pushed(self):
        sim = self.serve()
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,1,1\r\n" + OK)
        # AT+QISRVC=1 (the default) acts on the module's own connections: none.
        sim.command(b"AT+QISEND=5", ERROR)
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QISEND=5", b"> ")
        sim.send(b"hello")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.recv_exact(c, 5), b"hello")
        sim.command(b"AT+QISEND", b"> ")
        sim.send(b"ctrl-z\x1a")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.recv_exact(c, 6), b"ctrl-z")
        c.sendall(b"ping")
        sim.expect(b"ping")

    def test_a_client_leaving_shows_closed_and_the_server_takes_the_next(self):
        sim = self.serve()
        first = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        first.close()
        sim.expect(crlf(b"CLOSED"))
        sim.command(b"AT+QISTAT", state(b"SERVER LISTENING"))
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,0,1\r\n" + OK)
        second = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        second.sendall(b"again")
        sim.expect(b"again")

    def test_a_second_client_is_turned_away(self):
        sim = self.serve()
        first = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        second = self.connect()
        self.assert_ended(second)
        sim.expect_silence(0.2)
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QISEND=3", b"> ")
        sim.send(b"one")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.recv_exact(first, 3), b"one")

    def test_qindi_1_notifies_with_sc_2_and_qird_reads_the_server_role(self):
        sim = self.serve()
        sim.command(b"AT+QINDI=1", OK)
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        client_port = c.getsockname()[1]
        c.sendall(b"abcdef")
        sim.expect(crlf(b"+QIRDI: 0,2,0"))
        sim.command(b"AT+QIRD=0,1,0,100", ERROR)  # <sc> 1: not the server's client
        sim.command(b"AT+QIRD=0,2,0,4",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,4\r\nabcd" % client_port + OK)
        sim.command(b"AT+QIRD=0,2,0,100",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,2\r\nef" % client_port + OK)
        sim.command(b"AT+QIRD=0,2,0,100", OK)

    def test_qindi_2_notifies_each_packet_with_sc_2(self):
        sim = self.serve("--model", "MC60")
        sim.command(b"AT+QINDI=2", OK)
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        c.sendall(b"12345")
        sim.expect(crlf(b"+QIRDI: 0,2,0,1,5,5"))
        sim.command(b"AT+QIRD=0,2,0,100",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,5\r\n12345" % c.getsockname()[1] + OK)

    def test_qiclose_with_qisrvc_2_closes_the_server_and_its_client(self):
        sim = self.serve()
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        # QISRVC=1: the exec form closes the module's own connection: there is none.
        sim.command(b"AT+QICLOSE", ERROR)
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")
        self.assert_ended(c)
        self.assert_refused()
        sim.command(b"AT+QISTAT", state(b"IP CLOSE"))
        sim.command(b"AT+QICLOSE", ERROR)
        # The server starts again on the same host port.
        self.listen(sim)
        self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))


class TransparentServer(ServerTestCase):
    """AT+QIMODE=1 in single mode: the client shows CONNECT and the UART is its socket."""

    def test_the_client_gets_the_uart_until_it_leaves(self):
        sim = self.start_server()
        sim.command(b"AT+QIMODE=1", OK)
        self.up(sim)
        self.listen(sim)
        c = self.connect()
        sim.expect(b"\r\nCONNECT\r\n")
        c.sendall(b"raw from the client")
        sim.expect(b"raw from the client")
        sim.send(b"raw to the client")
        self.assertEqual(self.recv_exact(c, 17), b"raw to the client")
        c.close()
        sim.expect(b"\r\nCLOSED\r\n")
        sim.command(b"AT+QISTAT", state(b"SERVER LISTENING"))

    def test_escape_and_close_with_qisrvc_2(self):
        sim = self.start_server()
        sim.command(b"AT+QIMODE=1", OK)
        self.up(sim)
        self.listen(sim)
        c = self.connect()
        sim.expect(b"\r\nCONNECT\r\n")
        sim.expect_silence(0.1)  # the guard time before (S12, scaled) ...
        sim.send(b"+++")
        sim.expect(OK)  # ... and after
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")
        self.assert_ended(c)
        sim.command(b"ATO", ERROR)

    def test_no_transparent_server_in_multiple_mode(self):
        sim = self.start_server()
        sim.command(b"AT+QIMODE=1", OK)
        sim.command(b"AT+QIMUX=1", OK)
        self.up(sim)
        sim.command(b'AT+QILPORT="TCP",5000', OK)
        sim.command(b"AT+QISERVER", ERROR)
        sim.command(b"AT+QISERVER=0,2", ERROR)


class MultipleMode(ServerTestCase):
    def serve(self, *args, command=b"AT+QISERVER=0,2"):
        sim = self.start_server(*args)
        sim.command(b"AT+QIMUX=1", OK)
        self.up(sim)
        self.listen(sim, command)
        return sim

    def test_clients_take_free_sockets_up_to_the_limit_and_carry_their_own_bytes(self):
        peer = TcpPeer()
        self.addCleanup(peer.close)
        sim = self.serve()
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,0,2\r\n" + OK)
        # The module's own connection on socket 0; the server's clients take 1 and 2.
        sim.command(b'AT+QIOPEN=0,"TCP","127.0.0.1",%d' % peer.port, OK)
        peer.accept()
        sim.expect(crlf(b"0, CONNECT OK"))
        a = self.connect()
        sim.expect(crlf(b"1, REMOTE IP: 127.0.0.1"))
        b = self.connect()
        sim.expect(crlf(b"2, REMOTE IP: 127.0.0.1"))
        third = self.connect()
        self.assert_ended(third)
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,2,2\r\n" + OK)
        sim.command(b"AT+QISEND=2,3", ERROR)  # QISRVC=1
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QISEND=0,3", ERROR)  # socket 0 is the module's own
        sim.command(b"AT+QISEND=2,3", b"> ")
        sim.send(b"to2")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.recv_exact(b, 3), b"to2")
        a.sendall(b"from1")
        sim.expect(b"\r\n+RECEIVE: 1, 5\r\nfrom1")
        sim.command(b"AT+QICLOSE=1", b"\r\n1, CLOSE OK\r\n")
        self.assert_ended(a)
        # Room again: the next client takes socket 1.
        self.connect()
        sim.expect(crlf(b"1, REMOTE IP: 127.0.0.1"))
        sim.command(b"AT+QISTAT", OK + b"\r\nSTATE: SERVER LISTENING\r\n" +
                    b"\r\n+QISTAT: 0, \"TCP\", \"127.0.0.1\", %d,\r\n" % peer.port +
                    b"".join(b"\r\n+QISTAT: %d, \"TCP\", \"127.0.0.1\", %d,\r\n"
                             % (i, port) for i, port in
                             ((1, self.clients[-1].getsockname()[1]),
                              (2, b.getsockname()[1]))) +
                    b"".join(b"\r\n+QISTAT: %d, \"\", \"\",\r\n" % i for i in range(3, 6)))
        # The exec form with QISRVC=2 closes the server and every client it accepted.
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")
        self.assert_ended(b)
        self.assert_refused()
        sim.command(b"AT+QISRVC=1", OK)
        sim.command(b"AT+QISEND=0,2", b"> ")
        sim.send(b"ok")
        sim.expect(b"\r\nSEND OK\r\n")

    def test_qindi_1_in_multiple_mode(self):
        sim = self.serve(command=b"AT+QISERVER")
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 1,0,5\r\n" + OK)
        sim.command(b"AT+QINDI=1", OK)
        c = self.connect()
        sim.expect(crlf(b"0, REMOTE IP: 127.0.0.1"))
        c.sendall(b"xyz")
        sim.expect(crlf(b"+QIRDI: 0,2,0"))
        sim.command(b"AT+QIRD=0,2,0,10",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,3\r\nxyz" % c.getsockname()[1] + OK)
        c.close()
        sim.expect(crlf(b"0, CLOSED"))

    def test_qiserver_write_form_refusals(self):
        sim = self.start_server()
        sim.command(b"AT+QIMUX=1", OK)
        self.up(sim)
        sim.command(b'AT+QILPORT="TCP",5000', OK)
        for bad in (b"0,6", b"0,0", b"1,2", b"2,1"):
            sim.command(b"AT+QISERVER=" + bad, ERROR)
        self.listen(sim, b"AT+QISERVER=0,5")

    def test_mc60_serves_in_multiple_mode_with_qindi_2(self):
        sim = self.serve("--model", "MC60")
        sim.command(b"AT+QINDI=2", OK)
        c = self.connect()
        sim.expect(crlf(b"0, REMOTE IP: 127.0.0.1"))
        c.sendall(b"mc60")
        sim.expect(crlf(b"+QIRDI: 0,2,0,1,4,4"))
        sim.command(b"AT+QIRD=0,2,0,10",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,4\r\nmc60" % c.getsockname()[1] + OK)
        sim.command(b"AT+QISRVC=2", OK)
        sim.command(b"AT+QISEND=0,2", b"> ")
        sim.send(b"hi")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.recv_exact(c, 2), b"hi")


class ContextAndControl(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="quecsim-tcpip-server-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def serve(self):
        sim = self.start_server("--control", os.path.join(self.dir, "q.ctl"))
        self.up(sim)
        self.listen(sim)
        return sim

    def server_state(self, sim):
        result = run_quecsim("ctl", sim.control, "state")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["tcpip"]["server"]

    def test_pdp_deact_while_listening_ends_the_server_and_qideact_recovers(self):
        sim = self.serve()
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        result = run_quecsim("ctl", sim.control, "pdp-deact")
        self.assertEqual(result.returncode, 0, result.stderr)
        sim.expect(crlf(b"+PDP DEACT"))
        self.assert_ended(c)
        self.assert_refused()
        sim.command(b"AT+QISTAT", state(b"PDP DEACT"))
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 0,0,0\r\n" + OK)
        sim.command(b"AT+QISERVER", ERROR)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        self.up(sim)
        self.listen(sim)
        self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))

    def test_qideact_ends_the_listener(self):
        sim = self.serve()
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        self.assert_refused()

    def test_detaching_ends_the_server_and_its_client(self):
        sim = self.serve()
        c = self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        sim.command(b"AT+CGATT=0", OK)
        self.assert_ended(c)
        self.assert_refused()
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        sim.command(b"AT+QISERVER?", b"\r\n+QISERVER: 0,0,0\r\n" + OK)

    def test_the_control_state_names_the_server(self):
        sim = self.start_server("--control", os.path.join(self.dir, "q.ctl"))
        st = self.server_state(sim)
        self.assertEqual(st, {"address": "127.0.0.1", "port": self.port, "state": "IDLE",
                              "module_port": 0, "clients": 0})
        self.up(sim)
        self.listen(sim, port=7000)
        self.connect()
        sim.expect(crlf(b"REMOTE IP: 127.0.0.1"))
        st = self.server_state(sim)
        self.assertEqual((st["state"], st["module_port"], st["clients"]), ("LISTENING", 7000, 1))


if __name__ == "__main__":
    unittest.main()
