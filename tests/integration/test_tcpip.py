"""The TCP/IP socket service in single connection mode (AT+QIMUX=0): AT+QIOPEN, QISEND, QIRD,
QICLOSE, QISACK, QISTAT, QIDNSGIP and the receive settings, byte-exact over the pty against
real peers on loopback (docs/tcpip.md)."""

import random
import select
import threading
import unittest

from harness import TIMEOUT, QuecsimTestCase
from tcpip_support import ERROR, FAST, OK, TcpPeer, UdpEcho, closed_port, state


class SingleConnection(QuecsimTestCase):
    def setUp(self):
        self.peer = TcpPeer()
        self.addCleanup(self.peer.close)

    def open(self, *args):
        sim = self.start_quiet(*FAST, *args)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")
        return sim

    def test_qiopen_from_ip_initial_activates_the_context_and_connects(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")

    def test_the_driver_sequence_reaches_ip_status_then_connects(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIREGAPP="CMNET","",""', OK)
        sim.command(b"AT+QISTAT", state(b"IP START"))
        sim.command(b"AT+QIACT", OK)
        sim.command(b"AT+QISTAT", state(b"IP GPRSACT"))
        # Between QIACT and QILOCIP the state does not take AT+QIOPEN.
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, ERROR)
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")
        sim.command(b"AT+QISTAT", state(b"IP STATUS"))
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1","%d"' % self.peer.port, OK)  # quoted port
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")

    def test_qiopen_while_connected_answers_already_connect(self):
        sim = self.open()
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, b"\r\nALREADY CONNECT\r\n")

    def test_qiopen_rejects_bad_arguments(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIOPEN="SCTP","127.0.0.1",80', ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",0', ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",65536', ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1"', ERROR)
        sim.command(b'AT+QIOPEN=0,"TCP","127.0.0.1",80', ERROR)  # the multiple-mode form
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))

    def test_a_refused_connect_answers_connect_fail_and_leaves_ip_close(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % closed_port(), OK)
        sim.expect(b"\r\nCONNECT FAIL\r\n")
        sim.command(b"AT+QISTAT", state(b"IP CLOSE"))
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")

    def test_qisend_fixed_length_sends_exactly_that_many_bytes(self):
        sim = self.open()
        sim.command(b"AT+QISEND=5", b"> ")
        sim.send(b"hello")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(5), b"hello")
        sim.command(b"AT+QISACK", b"\r\n+QISACK: 5, 5, 0\r\n" + OK)

    def test_qisend_fixed_length_carries_any_byte_and_drops_a_trailing_ctrl_z(self):
        sim = self.open()
        data = bytes(range(256)) * 5 + b"\x1a\x1b" + bytes(range(178))
        self.assertEqual(len(data), 1460)
        sim.command(b"AT+QISEND=1460", b"> ")
        sim.send(data + b"\x1a")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(1460), data)
        sim.command(b"AT", OK)

    def test_the_lf_of_a_cr_lf_command_line_is_not_data(self):
        sim = self.open()
        sim.send(b"AT+QISEND=3\r\n")
        sim.expect(b"> ")
        sim.send(b"xyz")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(3), b"xyz")

    def test_qisend_ctrl_z_sends_what_came_before_it(self):
        sim = self.open()
        sim.command(b"AT+QISEND", b"> ")
        sim.send(b"line one\r\nline two\x1a")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(18), b"line one\r\nline two")

    def test_qisend_esc_cancels_and_sends_nothing(self):
        sim = self.open()
        sim.command(b"AT+QISEND", b"> ")
        sim.send(b"dropped\x1b")
        sim.expect(OK)
        sim.command(b"AT+QISEND=2", b"> ")
        sim.send(b"ok")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(2), b"ok")
        sim.command(b"AT+QISACK", b"\r\n+QISACK: 2, 2, 0\r\n" + OK)

    def test_qisend_over_1460_bytes_is_an_error(self):
        sim = self.open()
        sim.command(b"AT+QISEND=1461", ERROR)
        sim.command(b"AT+QISEND=0", ERROR)
        sim.command(b"AT+QISEND", b"> ")
        sim.send(b"x" * 1461)
        sim.expect(ERROR)
        sim.command(b"AT+QISACK", b"\r\n+QISACK: 0, 0, 0\r\n" + OK)

    def test_qisend_without_a_connection_is_an_error(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QISEND=5", ERROR)
        sim.command(b"AT+QISEND", ERROR)
        sim.command(b"AT+QISACK", ERROR)

    def test_data_echo_follows_qisde_with_echo_on(self):
        sim = self.open()
        sim.command(b"ATE1", OK)
        sim.command(b"AT+QISEND=3", b"AT+QISEND=3\r> ")
        sim.send(b"abc")
        sim.expect(b"abc\r\nSEND OK\r\n")
        sim.command(b"AT+QISDE=0", b"AT+QISDE=0\r" + OK)
        sim.command(b"AT+QISEND=3", b"AT+QISEND=3\r> ")
        sim.send(b"def")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(self.peer.recv_exact(6), b"abcdef")

    def test_qiprompt_0_sends_no_prompt_and_2_no_send_ok(self):
        sim = self.open()
        sim.command(b"AT+QIPROMPT=0", OK)
        sim.send(b"AT+QISEND=2\r")
        sim.send(b"ab")
        sim.expect(b"\r\nSEND OK\r\n")
        sim.command(b"AT+QIPROMPT=2", OK)
        sim.send(b"AT+QISEND=2\r")
        sim.send(b"cd")
        sim.command(b"AT+QIPROMPT?", b"\r\n+QIPROMPT: 2\r\n" + OK)
        self.assertEqual(self.peer.recv_exact(4), b"abcd")

    def test_qindi_0_pushes_received_data_as_it_is(self):
        sim = self.open()
        self.peer.send(b"greetings\r\n")
        sim.expect(b"greetings\r\n")

    def test_qihead_qishowpt_and_qishowra_put_headers_before_pushed_data(self):
        sim = self.open()
        sim.command(b"AT+QIHEAD=1", OK)
        self.peer.send(b"abc")
        sim.expect(b"IPD3:abc")
        sim.command(b"AT+QISHOWPT=1", OK)
        self.peer.send(b"de")
        sim.expect(b"IPD2TCP:de")
        sim.command(b"AT+QISHOWRA=1", OK)
        local_port = self.peer.conn.getsockname()[1]
        self.peer.send(b"f")
        sim.expect(b"\r\nRECV FROM:127.0.0.1:%d\r\nIPD1TCP:f" % local_port)

    def test_qindi_1_notifies_once_and_qird_reads_the_buffer(self):
        sim = self.open()
        sim.command(b"AT+QINDI=1", OK)
        port = self.peer.port
        self.peer.send(b"0123456789ab")
        sim.expect(b"\r\n+QIRDI: 0,1,0\r\n")
        # Loopback delivers the 12 bytes together: one notice for them.
        sim.command(b"AT+QIRD=0,1,0,4", b"\r\n+QIRD: 127.0.0.1:%d,TCP,4\r\n0123" % port + OK)
        sim.command(b"AT+QIRD=0,1,0,1500",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,8\r\n456789ab" % port + OK)
        sim.command(b"AT+QIRD=0,1,0,1500", OK)  # nothing buffered
        self.peer.send(b"z")
        sim.expect(b"\r\n+QIRDI: 0,1,0\r\n")  # emptied, so notified again
        sim.command(b"AT+QIRD=0,1,0,1500", b"\r\n+QIRD: 127.0.0.1:%d,TCP,1\r\nz" % port + OK)

    def test_qird_rejects_bad_arguments(self):
        sim = self.open()
        sim.command(b"AT+QIRD=0,1,0,0", ERROR)
        sim.command(b"AT+QIRD=0,1,0,1501", ERROR)
        sim.command(b"AT+QIRD=0,1,1,10", ERROR)  # single mode has socket 0 only
        sim.command(b"AT+QIRD=0,1,0", ERROR)

    def test_the_peer_closing_shows_closed_and_buffered_data_stays_readable(self):
        sim = self.open()
        sim.command(b"AT+QINDI=1", OK)
        self.peer.send(b"last words")
        sim.expect(b"\r\n+QIRDI: 0,1,0\r\n")
        self.peer.close_conn()
        sim.expect(b"\r\nCLOSED\r\n")
        sim.command(b"AT+QISTAT", state(b"IP CLOSE"))
        sim.command(b"AT+QIRD=0,1,0,1500",
                    b"\r\n+QIRD: 127.0.0.1:%d,TCP,10\r\nlast words" % self.peer.port + OK)
        sim.command(b"AT+QIRD=0,1,0,1500", ERROR)
        sim.command(b"AT+QISEND=1", ERROR)
        sim.command(b"AT+QICLOSE", ERROR)
        # IP CLOSE takes the next AT+QIOPEN.
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")

    def test_qiclose_ends_the_connection(self):
        sim = self.open()
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")
        self.peer.expect_eof()
        sim.command(b"AT+QISTAT", state(b"IP CLOSE"))
        sim.command(b"AT+QICLOSE", ERROR)
        sim.command(b"AT+QICLOSE=0", ERROR)  # the multiple-mode form

    def test_qideact_ends_the_connection_and_returns_to_ip_initial(self):
        sim = self.open()
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        self.peer.expect_eof()
        sim.command(b"AT+QISTAT", state(b"IP INITIAL"))
        sim.command(b"AT+QISEND=1", ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")

    def test_host_names_resolve_through_the_host_map(self):
        sim = self.start_quiet(*FAST, "--host", "echo.example=127.0.0.1:%d" % self.peer.port)
        sim.command(b'AT+QIOPEN="TCP","ECHO.example",80', OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT OK\r\n")
        sim.command(b'AT+QIDNSGIP="echo.example"', OK + b"\r\n127.0.0.1\r\n")
        sim.command(b'AT+QIDNSGIP="10.1.2.3"', OK + b"\r\n10.1.2.3\r\n")
        sim.command(b'AT+QIDNSGIP="nowhere.example"', OK + ERROR)

    def test_an_unknown_host_name_fails_to_connect(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIOPEN="TCP","nowhere.example",80', OK)
        sim.expect(b"\r\nCONNECT FAIL\r\n")

    def test_qidnsgip_needs_an_active_context(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIDNSGIP="echo.example"', ERROR)

    def test_the_settings_read_back(self):
        sim = self.start_quiet(*FAST)
        for name, top in ((b"QIHEAD", 1), (b"QISHOWRA", 1), (b"QISHOWPT", 1), (b"QISHOWLA", 1),
                          (b"QIPROMPT", 2), (b"QISDE", 1), (b"QIDNSIP", 1), (b"QINDI", 2)):
            sim.command(b"AT+%s=%d" % (name, top), OK)
            sim.command(b"AT+%s?" % name, b"\r\n+%s: %d\r\n" % (name, top) + OK)
            sim.command(b"AT+%s=%d" % (name, top + 1), ERROR)


class Transparent(QuecsimTestCase):
    """AT+QIMODE=1: CONNECT, then the UART is the socket until +++ (with guard times)."""

    def setUp(self):
        self.peer = TcpPeer()
        self.addCleanup(self.peer.close)

    def open(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIMODE=1", OK)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, OK)
        self.peer.accept()
        sim.expect(b"\r\nCONNECT\r\n")
        return sim

    def escape(self, sim):
        sim.expect_silence(0.1)  # the guard time before (S12, scaled) ...
        sim.send(b"+++")
        sim.expect(OK)  # ... and after

    def test_bytes_pass_both_ways_and_escape_and_ato_switch_modes(self):
        sim = self.open()
        data = b"raw +++ bytes\r\nAT\r\n" + bytes(range(256))
        sim.send(data)
        self.assertEqual(self.peer.recv_exact(len(data)), data)
        self.peer.send(b"from the peer")
        sim.expect(b"from the peer")
        self.escape(sim)
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))
        self.peer.send(b"queued")
        sim.command(b"AT+QIMODE?", b"\r\n+QIMODE: 1\r\n" + OK)  # nothing else came
        sim.command(b"ATO", b"\r\nCONNECT\r\nqueued")
        sim.send(b"again")
        self.assertEqual(self.peer.recv_exact(5), b"again")
        self.escape(sim)
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")
        self.peer.expect_eof()
        sim.command(b"ATO", ERROR)

    def test_qitcfg_reads_back_and_its_send_size_gathers_bytes(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QITCFG?", b"\r\n+QITCFG: 3,2,512,1\r\n" + OK)
        sim.command(b"AT+QITCFG=3,2,1460,1", OK)
        sim.command(b"AT+QITCFG?", b"\r\n+QITCFG: 3,2,1460,1\r\n" + OK)
        sim.command(b"AT+QITCFG=6,2,1460,1", ERROR)
        sim.command(b"AT+QITCFG=3,2,1461,1", ERROR)

    def test_the_peer_closing_ends_data_mode_with_closed(self):
        sim = self.open()
        self.peer.close_conn()
        sim.expect(b"\r\nCLOSED\r\n")
        sim.command(b"AT+QISTAT", state(b"IP CLOSE"))

    def test_a_host_faster_than_the_link_loses_no_byte(self):
        # Unpaced (the harness's --baud 0) the host writes faster than the link drains: the
        # module must hold the host back, never take bytes it then cannot send.
        sim = self.open()
        data = random.Random(19).randbytes(1 << 16) * 64  # 4 MiB, more than the link's buffers
        received = []

        def read_all():
            try:
                received.append(self.peer.recv_exact(len(data)))
            except AssertionError as e:
                received.append(str(e)[:80])

        reader = threading.Thread(target=read_all)
        reader.start()
        sim.send(data)
        reader.join(TIMEOUT)
        self.assertFalse(reader.is_alive(), "the peer did not get every byte")
        self.assertTrue(received[0] == data, "the peer got other bytes: %r" % received[0][:80])

    def test_a_host_slower_than_the_peer_holds_the_peer_back(self):
        # The host reads nothing: the module must stop reading from the peer once its UART
        # queue is full, so the peer's sends block (TCP's window closes) instead of the module
        # buffering without bound; then every byte arrives, in order, when the host reads.
        sim = self.open()
        total = 64 << 20
        block = random.Random(7).randbytes(1 << 16)
        self.peer.conn.setblocking(False)
        sent = 0
        while sent < total:
            # Stops once the peer could not send for a while: the module is not reading.
            if not select.select([], [self.peer.conn], [], TIMEOUT / 10)[1]:
                break
            try:
                sent += self.peer.conn.send(block[sent % len(block):])
            except BlockingIOError:
                pass
        self.assertLess(sent, total, "the module took 64 MiB the host never read")
        expected = (block * (sent // len(block) + 1))[:sent]
        sim.expect(expected, timeout=TIMEOUT * 4)  # every byte, in order

    def test_transparent_mode_has_one_connection(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIMODE=1", OK)
        sim.command(b"AT+QIMUX=1", OK)
        sim.command(b'AT+QIOPEN=0,"TCP","127.0.0.1",%d' % self.peer.port, ERROR)


class MultipleConnections(QuecsimTestCase):
    """AT+QIMUX=1: six sockets, each result line prefixed with `<i>, `."""

    def setUp(self):
        self.peer = TcpPeer()
        self.addCleanup(self.peer.close)

    def start_mux(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QIMUX=1", OK)
        return sim

    def open(self, sim, index):
        sim.command(b'AT+QIOPEN=%d,"TCP","127.0.0.1",%d' % (index, self.peer.port), OK)
        conn = self.peer.accept()
        sim.expect(b"\r\n%d, CONNECT OK\r\n" % index)
        return conn

    def test_two_sockets_carry_their_own_bytes(self):
        sim = self.start_mux()
        first = self.open(sim, 0)
        second = self.open(sim, 3)
        sim.command(b"AT+QISEND=3,4", b"> ")
        sim.send(b"to 3")
        sim.expect(b"\r\nSEND OK\r\n")
        sim.command(b"AT+QISEND=0", b"> ")  # Ctrl-Z form with an index
        sim.send(b"to 0\x1a")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(second.recv(4), b"to 3")
        self.assertEqual(first.recv(4), b"to 0")
        sim.command(b"AT+QISACK=3", b"\r\n+QISACK: 4, 4, 0\r\n" + OK)
        sim.command(b"AT+QISACK=5", b"\r\n+QISACK: 0, 0, 0\r\n" + OK)
        second.sendall(b"back")
        sim.expect(b"\r\n+RECEIVE: 3, 4\r\nback")
        sim.command(b"AT+QICLOSE=3", b"\r\n3, CLOSE OK\r\n")
        self.assertEqual(second.recv(1), b"")
        first.close()
        sim.expect(b"\r\n0, CLOSED\r\n")

    def test_the_single_mode_forms_are_errors(self):
        sim = self.start_mux()
        self.open(sim, 0)
        sim.command(b"AT+QISEND", ERROR)
        sim.command(b"AT+QISACK", ERROR)
        sim.command(b"AT+QICLOSE", ERROR)
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.peer.port, ERROR)
        sim.command(b'AT+QIOPEN=6,"TCP","127.0.0.1",%d' % self.peer.port, ERROR)
        sim.command(b"AT+QISEND=6,1", ERROR)
        sim.command(b"AT+QISEND=0,1461", ERROR)
        sim.command(b'AT+QIOPEN=0,"TCP","127.0.0.1",%d' % self.peer.port,
                    b"\r\n0, ALREADY CONNECT\r\n")
        sim.command(b"AT+QIMUX=0", ERROR)  # not while a socket is open
        sim.command(b"AT+QIMUX?", b"\r\n+QIMUX: 1\r\n" + OK)

    def test_qindi_1_and_2_name_the_socket(self):
        sim = self.start_mux()
        sim.command(b"AT+QINDI=1", OK)
        conn = self.open(sim, 2)
        conn.sendall(b"hello")
        sim.expect(b"\r\n+QIRDI: 0,1,2\r\n")
        port = self.peer.port
        sim.command(b"AT+QIRD=0,1,2,1500", b"\r\n+QIRD: 127.0.0.1:%d,TCP,5\r\nhello" % port + OK)
        sim.command(b"AT+QIRD=0,1,1,1500", ERROR)  # socket 1 was never opened
        sim.command(b"AT+QINDI=2", OK)
        conn.sendall(b"abc")
        sim.expect(b"\r\n+QIRDI: 0,1,2,1,3,3\r\n")

    def test_qistat_and_qistate_list_every_socket(self):
        sim = self.start_mux()
        self.open(sim, 1)
        port = self.peer.port
        idle = [b'\r\n+QISTAT: %d, "", "",\r\n' % i for i in range(6)]
        idle[1] = b'\r\n+QISTAT: 1, "TCP", "127.0.0.1", %d,\r\n' % port
        sim.command(b"AT+QISTAT", state(b"IP STATUS") + b"".join(idle))
        lines = [b'\r\n+QISTATE: %d, "", "", , "INITIAL"\r\n' % i for i in range(6)]
        lines[1] = b'\r\n+QISTATE: 1, "TCP", "127.0.0.1", %d, "CONNECTED"\r\n' % port
        sim.command(b"AT+QISTATE", b"".join(lines) + OK)
        self.assertEqual(len(b'+QISTATE: 0, "", "", , "INITIAL"'), 32)  # CN35's fixed length

    def test_qistate_in_single_mode_answers_like_qistat(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QISTATE", state(b"IP INITIAL"))


class Mc60(QuecsimTestCase):
    def test_tinygsm_mc60_gprs_connect_sequence(self):
        # TinyGSM's MC60 set-up: CGDCONT, CGACT and QISRVC beside the M95's commands.
        sim = self.start_quiet(*FAST, "--model", "MC60")
        sim.command(b"AT+CGMM", b"\r\nQuectel_MC60\r\n" + OK)
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        sim.command(b"AT+QIFGCNT=0", OK)
        sim.command(b'AT+QICSGP=1,"internet","",""', OK)
        sim.command(b'AT+CGDCONT=1,"IP","internet"', OK)
        sim.command(b"AT+CGACT=1,1", OK)
        sim.command(b"AT+QIMODE=0", OK)
        sim.command(b"AT+QIMUX=1", OK)
        sim.command(b"AT+QISRVC=1", OK)
        sim.command(b"AT+QISRVC?", b"\r\n+QISRVC: 1\r\n" + OK)
        sim.command(b'AT+QIREGAPP="internet","",""', OK)
        sim.command(b"AT+QIACT", OK)
        sim.command(b"AT+QILOCIP", b"\r\n10.7.33.100\r\n")
        sim.command(b"AT+QINDI=2", OK)
        peer = TcpPeer()
        self.addCleanup(peer.close)
        sim.command(b"AT+QIDNSIP=0", OK)
        sim.command(b'AT+QIOPEN=1,"TCP","127.0.0.1",%d' % peer.port, OK)
        conn = peer.accept()
        sim.expect(b"\r\n1, CONNECT OK\r\n")
        sim.command(b"AT+QISEND=1,3", b"> ")
        sim.send(b"abc")
        sim.expect(b"\r\nSEND OK\r\n")
        self.assertEqual(conn.recv(3), b"abc")
        sim.command(b"AT+QISACK=1", b"\r\n+QISACK: 3, 3, 0\r\n" + OK)
        conn.sendall(b"xyz")
        sim.expect(b"\r\n+QIRDI: 0,1,1,1,3,3\r\n")


class Udp(QuecsimTestCase):
    def setUp(self):
        self.echo = UdpEcho()
        self.addCleanup(self.echo.close)

    def test_udp_datagrams_keep_their_boundaries(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QINDI=2", OK)
        sim.command(b'AT+QIOPEN="UDP","127.0.0.1",%d' % self.echo.port, OK)
        sim.expect(b"\r\nCONNECT OK\r\n")
        sim.command(b"AT+QISTAT", state(b"CONNECT OK"))
        sim.command(b"AT+QISEND=4", b"> ")
        sim.send(b"ping")
        sim.expect(b"\r\nSEND OK\r\n")
        sim.expect(b"\r\n+QIRDI: 0,1,0,1,4,4\r\n")
        sim.command(b"AT+QISEND=5", b"> ")
        sim.send(b"pong!")
        sim.expect(b"\r\nSEND OK\r\n")
        sim.expect(b"\r\n+QIRDI: 0,1,0,2,5,9\r\n")
        port = self.echo.port
        sim.command(b"AT+QIRD=0,1,0,1500", b"\r\n+QIRD: 127.0.0.1:%d,UDP,4\r\nping" % port + OK)
        sim.command(b"AT+QIRD=0,1,0,1500", b"\r\n+QIRD: 127.0.0.1:%d,UDP,5\r\npong!" % port + OK)
        self.assertEqual(self.echo.received, [b"ping", b"pong!"])
        sim.command(b"AT+QICLOSE", b"\r\nCLOSE OK\r\n")

    def test_udp_push_mode(self):
        sim = self.start_quiet(*FAST)
        sim.command(b'AT+QIOPEN="UDP","127.0.0.1",%d' % self.echo.port, OK)
        sim.expect(b"\r\nCONNECT OK\r\n")
        sim.command(b"AT+QIHEAD=1", OK)
        sim.command(b"AT+QISHOWPT=1", OK)
        sim.command(b"AT+QISEND", b"> ")
        sim.send(b"datagram\x1a")
        sim.expect(b"\r\nSEND OK\r\n")
        sim.expect(b"IPD8UDP:datagram")



# The same commands and forms on the MC60 profile: every test of the four classes above runs
# again with --model MC60 (its socket service is the M95's; docs/tcpip.md).
class OnMc60:
    def start_quiet(self, *args, **kwargs):
        return super().start_quiet("--model", "MC60", *args, **kwargs)


class SingleConnectionMc60(OnMc60, SingleConnection):
    pass


class TransparentMc60(OnMc60, Transparent):
    pass


class MultipleConnectionsMc60(OnMc60, MultipleConnections):
    pass


class UdpMc60(OnMc60, Udp):
    pass

if __name__ == "__main__":
    unittest.main()
