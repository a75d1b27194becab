"""Interop: the chapter 4 flows that use /COM/ (4.1, 4.2.1, 4.3.1, 4.4.1, 4.4.2, 4.5.1, 4.5.2,
4.6), in passive and active mode and in ASCII type, against FTP servers nobody here wrote:
pyftpdlib and vsftpd from Debian, each started on 127.0.0.1 by the test. quecsim runs without
its embedded server, and AT+QFTPOPEN's host name reaches the third-party server through
`--host`. Every flow asserts the exact bytes the host sees and the SHA-256 of what reached the
server's folder (or the host, for downloads).

One flow definition (`InteropFlows`) runs against each server (one TestCase per server)."""

import os
import unittest

from ftp_support import CONNECT, OK, crlf, payload, sha256
from harness import QuecsimTestCase, TIMEOUT
from third_party import PyftpdlibServer, ServerPerClass, VsftpdServer

HOST = b"ftp.example.com"


def text_payload(lines):
    """ASCII text with CRLF line ends, as a host sends it in ASCII type."""
    return b"".join(b"line %04d of the ASCII-type transfer\r\n" % i for i in range(lines))


class InteropFlows(ServerPerClass):
    """The flows. A subclass names `server_class`; the server runs for the whole class and its
    folder is emptied before each test."""

    def setUp(self):
        super().setUp()
        self.server.clear()
        if self.server.proc.poll() is not None:
            self.fail("%s exited (%s): %s" % (self.server.name, self.server.proc.returncode,
                                               self.server.stderr_text()))

    # ---- helpers --------------------------------------------------------------------------

    def start_module(self, port=None, **kwargs):
        """quecsim with no embedded server; ftp.example.com goes to the server under test (or
        to `port` on 127.0.0.1)."""
        port = self.server.port if port is None else port
        sim = self.start("--no-power-up-lines", "--no-embedded-ftp", "--resolve", "map",
                         "--host", "%s=127.0.0.1:%d" % (HOST.decode(), port),
                         "--time-scale", "0.02", **kwargs)
        sim.echo_off()
        return sim

    def result(self, sim, line, urc, timeout=TIMEOUT):
        """Sends an AT+QFTP command and expects OK and then its result line."""
        sim.command(line, OK)
        sim.expect(crlf(urc), timeout)

    def open_as_in_4_1(self, sim):
        sim.command(b"AT+QIFGCNT=0", OK)
        sim.command(b'AT+QICSGP=1,"CMNET"', OK)
        self.log_in(sim)

    def log_in(self, sim):
        """AT+QFTPUSER, AT+QFTPPASS with the server's account, AT+QFTPOPEN: +QFTPOPEN:0."""
        user = self.server.user.encode()
        password = self.server.password.encode()
        sim.command(b'AT+QFTPUSER="' + user + b'"', OK)
        sim.command(b'AT+QFTPPASS="' + password + b'"', OK)
        sim.command(b'AT+QFTPOPEN="' + HOST + b'",21', OK)
        sim.expect(crlf(b"+QFTPOPEN:0"))

    def path(self, name):
        return os.path.join(self.server.root, name)

    def served(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def serve(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)

    def put(self, sim, name, data, result=None):
        """AT+QFTPPUT through /COM/: OK, CONNECT, the bytes, +QFTPPUT:<n>."""
        sim.command(b'AT+QFTPPUT="%s",%d,200' % (name, len(data)), OK)
        sim.expect(CONNECT)
        sim.send(data)
        sim.expect(crlf(b"+QFTPPUT:%d" % (len(data) if result is None else result)))

    def get(self, sim, name, expected):
        """AT+QFTPGET through /COM/: OK, CONNECT, exactly `expected`, +QFTPGET:<n>."""
        sim.command(b'AT+QFTPGET="%s"' % name, OK)
        sim.expect(CONNECT)
        got = sim.expect(expected)
        self.assertEqual(sha256(got), sha256(expected))
        sim.expect(crlf(b"+QFTPGET:%d" % len(expected)))

    def assertServed(self, name, data):
        self.assertEqual(sha256(self.served(name)), sha256(data),
                         "the bytes in %s's folder differ" % self.server.name)

    # ---- chapter 4 ------------------------------------------------------------------------

    def test_4_1_open_with_user_and_password(self):
        sim = self.start_module(transcript=True)
        self.open_as_in_4_1(sim)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENED") + OK)
        sim.close()
        commands = [r["data"] for r in sim.transcript_records() if r["event"] == "ftp_tx"]
        self.assertEqual(commands[:2], ["USER " + self.server.user, "PASS ****"])

    def test_4_2_1_upload_a_file_through_uart(self):
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPPATH=""', b"+QFTPPATH:0")
        data = payload(1587)
        self.put(sim, b"sscom.ini", data)
        self.assertServed("sscom.ini", data)
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1587") + OK)
        sim.close()

    def test_4_3_1_download_a_file_through_uart(self):
        data = payload(1587, seed=7)
        self.serve("sscom.ini", data)
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPPATH="%s"' % self.server.home.encode(), b"+QFTPPATH:0")
        self.get(sim, b"sscom.ini", data)
        sim.command(b"AT", OK)
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1587") + OK)
        sim.close()

    def test_4_4_1_operate_a_file_on_the_ftp_server(self):
        data = payload(17765, seed=3)
        self.serve("sscom.ini", data)
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPRENAME="sscom.ini","test.txt"', b"+QFTPRENAME:0")
        self.assertFalse(os.path.exists(self.path("sscom.ini")))
        self.assertServed("test.txt", data)
        self.result(sim, b'AT+QFTPSIZE=" test.txt "', b"+QFTPSIZE:17765")
        self.result(sim, b'AT+QFTPDELETE="test.txt"', b"+QFTPDELETE:0")
        self.assertFalse(os.path.exists(self.path("test.txt")))
        # The manual's note: a missing file gives error 550.
        self.result(sim, b'AT+QFTPSIZE="test.txt"', b"+QFTPSIZE:-550")
        self.result(sim, b'AT+QFTPDELETE="test.txt"', b"+QFTPDELETE:-550")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENED") + OK)
        sim.close()

    def test_4_4_2_operate_a_file_folder_on_the_ftp_server(self):
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPMKDIR="test"', b"+QFTPMKDIR:0")
        self.assertTrue(os.path.isdir(self.path("test")))
        self.result(sim, b'AT+QFTPRENAME="test","test1"', b"+QFTPRENAME:0")
        self.assertTrue(os.path.isdir(self.path("test1")))
        self.assertFalse(os.path.exists(self.path("test")))
        self.result(sim, b'AT+QFTPRMDIR="test1"', b"+QFTPRMDIR:0")
        self.assertFalse(os.path.exists(self.path("test1")))
        self.result(sim, b'AT+QFTPRMDIR="test1"', b"+QFTPRMDIR:-550")
        sim.close()

    def test_4_5_1_upload_from_the_resuming_point(self):
        whole = payload(3587, seed=11)
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.put(sim, b"sscom.ini", whole[:1587])
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        self.put(sim, b"sscom.ini", whole[1587:])
        self.assertServed("sscom.ini", whole)
        # The resuming point is back to 0 after the transfer.
        self.result(sim, b"AT+QFTPCFG=3", b"+QFTPCFG:0")
        sim.close()

    def test_4_5_2_download_from_the_resuming_point(self):
        whole = payload(3587, seed=5)
        self.serve("sscom.ini", whole)
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        self.get(sim, b"sscom.ini", whole[1587:])
        self.result(sim, b"AT+QFTPCFG=3", b"+QFTPCFG:0")
        sim.close()

    def test_4_6_close_the_ftp_service(self):
        sim = self.start_module()
        self.open_as_in_4_1(sim)
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.command(b"AT+QIDEACT", crlf(b"DEACT OK"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        # And the service opens again afterwards.
        self.open_as_in_4_1(sim)
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.close()

    # ---- modes ----------------------------------------------------------------------------

    def test_active_mode_put_get_and_resumed_get(self):
        whole = payload(70000, seed=13)
        sim = self.start_module(transcript=True)
        self.open_as_in_4_1(sim)
        self.result(sim, b"AT+QFTPCFG=1,0", b"+QFTPCFG:0")
        self.result(sim, b"AT+QFTPCFG=1", b"+QFTPCFG:0")
        self.put(sim, b"active.bin", whole)
        self.assertServed("active.bin", whole)
        self.get(sim, b"active.bin", whole)
        self.result(sim, b"AT+QFTPCFG=3,65536", b"+QFTPCFG:0")
        self.get(sim, b"active.bin", whole[65536:])
        sim.close()
        commands = [r["data"] for r in sim.transcript_records() if r["event"] == "ftp_tx"]
        self.assertFalse([c for c in commands if c == "PASV"], commands)
        self.assertEqual(len([c for c in commands if c.startswith("PORT 127,0,0,1,")]), 3,
                         commands)

    def test_passive_mode_large_transfer_both_ways(self):
        # Many data chunks and TCP windows: backpressure against a real server.
        whole = payload(1 << 20, seed=17)
        sim = self.start_module(transcript=True)
        self.open_as_in_4_1(sim)
        self.result(sim, b"AT+QFTPCFG=1,1", b"+QFTPCFG:0")
        self.put(sim, b"big.bin", whole)
        self.assertServed("big.bin", whole)
        self.get(sim, b"big.bin", whole)
        sim.close()
        commands = [r["data"] for r in sim.transcript_records() if r["event"] == "ftp_tx"]
        self.assertEqual(commands.count("PASV"), 2, commands)

    def test_ascii_type_converts_line_ends(self):
        text = text_payload(200)
        unix = text.replace(b"\r\n", b"\n")
        sim = self.start_module(transcript=True)
        self.open_as_in_4_1(sim)
        self.result(sim, b"AT+QFTPCFG=2,1", b"+QFTPCFG:0")
        # Upload in ASCII type: the server stores its own line ends (LF).
        self.put(sim, b"notes.txt", text)
        self.assertServed("notes.txt", unix)
        # Download in ASCII type: CRLF on the wire again, counted as sent to the host.
        self.get(sim, b"notes.txt", text)
        # SIZE is asked in binary type: the stored size.
        self.result(sim, b'AT+QFTPSIZE="notes.txt"', b"+QFTPSIZE:%d" % len(unix))
        # A binary download after it gets the stored bytes.
        self.result(sim, b"AT+QFTPCFG=2,0", b"+QFTPCFG:0")
        self.get(sim, b"notes.txt", unix)
        sim.close()
        commands = [r["data"] for r in sim.transcript_records() if r["event"] == "ftp_tx"]
        types = [c for c in commands if c.startswith("TYPE ")]
        self.assertEqual(types, ["TYPE A", "TYPE I"], commands)


    # ---- refusals --------------------------------------------------------------------------

    def test_refusals_give_the_servers_codes_and_leave_the_service_usable(self):
        data = payload(4000, seed=19)
        self.serve("there.bin", data)
        os.mkdir(self.path("folder"))
        sim = self.start_module()
        # A refused login: the account is unknown (vsftpd) or the password wrong (pyftpdlib).
        sim.command(b'AT+QFTPUSER="' + self.refused_user + b'"', OK)
        sim.command(b'AT+QFTPPASS="wrong"', OK)
        self.result(sim, b'AT+QFTPOPEN="' + HOST + b'",21', b"+QFTPOPEN:-530")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        # The packet context is up now: log in again.
        self.log_in(sim)
        self.result(sim, b'AT+QFTPPATH="/nowhere/at/all"', b"+QFTPPATH:-550")
        self.result(sim, b'AT+QFTPGET="missing.bin"', b"+QFTPGET:-550")
        self.result(sim, b'AT+QFTPPUT="nowhere/x.bin",10,200',
                    b"+QFTPPUT:%d" % self.store_refused)
        self.result(sim, b'AT+QFTPSIZE="folder"', b"+QFTPSIZE:-550")
        self.result(sim, b'AT+QFTPRENAME="missing.bin","other.bin"', b"+QFTPRENAME:-550")
        self.result(sim, b'AT+QFTPMKDIR="folder"', b"+QFTPMKDIR:-550")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENED") + OK)
        # The same session still transfers, in both directions.
        self.get(sim, b"there.bin", data)
        self.put(sim, b"back.bin", data)
        self.assertServed("back.bin", data)
        self.assertFalse(os.path.exists(self.path("nowhere")))
        sim.close()

    # ---- idle -----------------------------------------------------------------------------

    def test_server_idle_timeout_gives_421_then_6_and_the_service_reopens(self):
        # A server of its own, with the shortest idle timeout it takes (vsftpd: 1 s).
        server = self.server_class(idle_timeout=1)
        self.addCleanup(server.stop)
        server.start()
        sim = self.start_module(port=server.port)
        self.open_as_in_4_1(sim)
        sim.expect(crlf(b"+QFTPERROR:-421") + crlf(b"+QFTPERROR:-6"), TIMEOUT + 2)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: CLOSED") + OK)
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.command(b'AT+QFTPOPEN="' + HOST + b'",21', OK)
        sim.expect(crlf(b"+QFTPOPEN:0"))
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.close()


class AgainstPyftpdlib(InteropFlows, QuecsimTestCase):
    server_class = PyftpdlibServer
    refused_user = b"quectel"  # the right user with a wrong password: 530 after PASS
    store_refused = -550       # STOR into a missing folder


class AgainstVsftpd(InteropFlows, QuecsimTestCase):
    server_class = VsftpdServer
    refused_user = b"quectel"  # anonymous only: 530 right after USER
    store_refused = -553       # "553 Could not create file."


if __name__ == "__main__":
    unittest.main()
