"""Every FTP-side error code of chapter 3, produced through quecsim-ftpd's fault rules or the
network, as the host sees it; after each the module still works."""

import socket
import unittest

from ftp_support import CONNECT, OK, FtpTestCase, crlf, payload


def reply(command, text):
    return {"action": "reply", "command": command, "text": text}


class NetworkErrors(FtpTestCase):

    def test_unknown_host_name_gives_minus_4(self):
        sim = self.start_ftp("--resolve", "map")
        self.result(sim, b'AT+QFTPOPEN="no.such.host",21', b"+QFTPOPEN:-4")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_refused_connection_gives_minus_5(self):
        # Bound and never listening: the port refuses connections, and while this socket holds
        # it no other process (a test running in parallel) can take it and answer.
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        sim = self.start_ftp("--host", "dead.example=127.0.0.1:%d" % port)
        self.result(sim, b'AT+QFTPOPEN="dead.example",21', b"+QFTPOPEN:-5")
        self.open_service(sim, b"other.example")  # still routes to the embedded server
        sim.close()

    def test_no_packet_context_gives_minus_5(self):
        sim = self.start_ftp()
        sim.command(b"AT+CGATT=0", OK)
        self.result(sim, b'AT+QFTPOPEN="h",21', b"+QFTPOPEN:-5")
        sim.close()

    def test_context_deactivated_under_an_operation_gives_minus_8(self):
        sim = self.start_ftp(faults=[{"action": "delay", "command": "SIZE", "after_ms": 100000}])
        self.open_service(sim)
        sim.command(b'AT+QFTPSIZE="f"', OK)
        sim.command(b"AT+QIDEACT", crlf(b"DEACT OK"))
        sim.expect(crlf(b"+QFTPSIZE:-8"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: CLOSED") + OK)
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        sim.close()

    def test_silent_data_connection_gives_minus_9(self):
        self.serve("f.bin", b"x" * 100)
        sim = self.start_ftp(faults=[{"action": "data_silence", "command": "RETR"}])
        self.open_service(sim)
        sim.command(b'AT+QFTPGET="f.bin"', OK)
        sim.expect(CONNECT)
        sim.expect(crlf(b"+QFTPGET:-9"), timeout=15)
        sim.close()


class ServerReplies(FtpTestCase):
    """Each 4xx/5xx code chapter 3 lists, as the result line of the command that met it."""

    CASES = [
        (reply("CWD", "421 Service not available, closing control connection.\r\n"),
         b'AT+QFTPPATH="/x"', b"+QFTPPATH:-421"),
        (reply("DELE", "450 Requested file action not taken.\r\n"),
         b'AT+QFTPDELETE="f"', b"+QFTPDELETE:-450"),
        (reply("SIZE", "500 Syntax error, command unrecognized.\r\n"),
         b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-500"),
        (reply("MKD", "501 Syntax error in parameters or arguments.\r\n"),
         b'AT+QFTPMKDIR="d"', b"+QFTPMKDIR:-501"),
        (reply("RMD", "502 Command not implemented.\r\n"),
         b'AT+QFTPRMDIR="d"', b"+QFTPRMDIR:-502"),
        (reply("RNFR", "550 Requested action not taken.\r\n"),
         b'AT+QFTPRENAME="a","b"', b"+QFTPRENAME:-550"),
        (reply("RETR", "551 Requested action aborted: page type unknown.\r\n"),
         b'AT+QFTPGET="f"', b"+QFTPGET:-551"),
        (reply("STOR", "452 Requested action not taken. Insufficient storage space.\r\n"),
         b'AT+QFTPPUT="f",10', b"+QFTPPUT:-452"),
        (reply("STOR", "552 Requested file action aborted. Exceeded storage allocation.\r\n"),
         b'AT+QFTPPUT="f",10', b"+QFTPPUT:-552"),
        (reply("STOR", "553 Requested action not taken. File name not allowed.\r\n"),
         b'AT+QFTPPUT="f",10', b"+QFTPPUT:-553"),
    ]

    def test_each_listed_reply_code(self):
        for rule, line, urc in self.CASES:
            with self.subTest(urc=urc):
                sim = self.start_ftp(faults=[rule])
                self.open_service(sim)
                self.result(sim, line, urc)
                sim.command(b"AT", OK)
                sim.close()

    def test_login_refused_gives_minus_530(self):
        sim = self.start_ftp("--ftp-user", "good:secret")
        sim.command(b'AT+QFTPUSER="good"', OK)
        sim.command(b'AT+QFTPPASS="wrong"', OK)
        self.result(sim, b'AT+QFTPOPEN="h",21', b"+QFTPOPEN:-530")
        sim.command(b'AT+QFTPPASS="secret"', OK)
        self.open_service(sim)
        sim.close()

    def test_account_needed_gives_minus_532(self):
        sim = self.start_ftp(faults=[reply("PASS", "332 Need account for login.\r\n")])
        self.result(sim, b'AT+QFTPOPEN="h",21', b"+QFTPOPEN:-532")
        sim.close()

    def test_refused_data_connection_gives_minus_425(self):
        self.serve("f", b"data")
        sim = self.start_ftp(faults=[{"action": "data_refuse", "command": "RETR", "code": 425}])
        self.open_service(sim)
        self.result(sim, b'AT+QFTPGET="f"', b"+QFTPGET:-425")
        sim.close()

    def test_dropped_data_connection_gives_minus_426(self):
        data = payload(5000)
        self.serve("f", data)
        sim = self.start_ftp(faults=[{"action": "data_drop", "command": "RETR",
                                      "after_bytes": 1000}])
        self.open_service(sim)
        sim.command(b'AT+QFTPGET="f"', OK)
        sim.expect(CONNECT + data[:1000] + crlf(b"+QFTPGET:-426"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1000") + OK)
        sim.close()


    def test_data_connection_closed_by_the_server_during_an_upload_gives_minus_7(self):
        sim = self.start_ftp(faults=[{"action": "data_drop", "command": "STOR",
                                      "after_bytes": 1000}])
        self.open_service(sim)
        sim.command(b'AT+QFTPPUT="f",200000', OK)
        sim.expect(CONNECT)
        # The module keeps taking the host's bytes (dropping them) so none is read as a
        # command; the error line follows the last one.
        sim.send(payload(200000))
        sim.expect(crlf(b"+QFTPPUT:-7"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENED") + OK)
        sim.close()


class UnsolicitedErrors(FtpTestCase):

    def test_server_idle_timeout_reports_421_then_6_and_the_service_recovers(self):
        sim = self.start_ftp(faults=[{"action": "idle_timeout", "after_ms": 5000}])
        self.open_service(sim)
        sim.expect(crlf(b"+QFTPERROR:-421") + crlf(b"+QFTPERROR:-6"), timeout=10)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: CLOSED") + OK)
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        self.open_service(sim)
        sim.close()


if __name__ == "__main__":
    unittest.main()
