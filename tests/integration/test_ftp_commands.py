"""Every AT+QFTP* command's every form, its parameter limits, malformed variants, and what it
does in each state of the service (the state table of docs/ftp-service.md, cell by cell)."""

import unittest

from ftp_support import CONNECT, ERROR, OK, FtpTestCase, crlf, payload

TEST_FORMS = [
    (b"AT+QFTPOPEN=?", b'+QFTPOPEN: "HOST NAME",(1-65535)'),
    (b"AT+QFTPCLOSE=?", None),
    (b"AT+QFTPPUT=?", b'+QFTPPUT: "FILE NAME",<fileSz>,(1-65535)'),
    (b"AT+QFTPGET=?", b'+QFTPGET: "FILE NAME"'),
    (b"AT+QFTPPATH=?", b'+QFTPPATH: "PATH NAME"'),
    (b"AT+QFTPUSER=?", b'+QFTPUSER: "USER NAME"'),
    (b"AT+QFTPPASS=?", b'+QFTPPASS: "PASSWORD"'),
    (b"AT+QFTPCFG=?", b"+QFTPCFG: (1-3)"),
    (b"AT+QFTPSTAT=?", None),
    (b"AT+QFTPLEN=?", None),
    (b"AT+QFTPRENAME=?", b'+QFTPRENAME: ("SOURCE NAME","TARGET NAME")'),
    (b"AT+QFTPSIZE=?", b'+QFTPSIZE: "FILE NAME"'),
    (b"AT+QFTPDELETE=?", b'+QFTPDELETE: "FILE NAME"'),
    (b"AT+QFTPMKDIR=?", b'+QFTPMKDIR: "PATH NAME"'),
    (b"AT+QFTPRMDIR=?", b'+QFTPRMDIR: "PATH NAME"'),
]

MALFORMED = [
    b"AT+QFTPOPEN",                      # no execute form
    b'AT+QFTPOPEN=""',                   # empty host
    b'AT+QFTPOPEN="' + b"h" * 51 + b'"',  # host over 50
    b'AT+QFTPOPEN="h",0',                # port out of range
    b'AT+QFTPOPEN="h",65536',
    b'AT+QFTPOPEN="h",21,1',             # too many parameters
    b"AT+QFTPOPEN=h,21",                 # unquoted host
    b'AT+QFTPOPEN="h,21',                # unbalanced quote
    b"AT+QFTPCLOSE=1",                   # no write form
    b"AT+QFTPCLOSE?",                    # no read form
    b'AT+QFTPPUT="f"',                   # size missing
    b'AT+QFTPPUT="f",0',                 # no size through /COM/
    b'AT+QFTPPUT="f",10,0',              # time out of range
    b'AT+QFTPPUT="f",10,65536',
    b'AT+QFTPPUT="' + b"f" * 51 + b'",10',
    b"AT+QFTPPUT?",
    b"AT+QFTPGET",
    b'AT+QFTPGET="' + b"f" * 51 + b'"',
    b'AT+QFTPGET=""',
    b'AT+QFTPGET="f",0',
    b'AT+QFTPPATH="' + b"p" * 101 + b'"',
    b"AT+QFTPPATH=1",
    b'AT+QFTPUSER="' + b"u" * 31 + b'"',
    b"AT+QFTPUSER=",
    b'AT+QFTPPASS="' + b"p" * 31 + b'"',
    b"AT+QFTPCFG=0,1",                   # type out of range
    b"AT+QFTPCFG=7,1",                   # beyond type 6 of the later firmware (M95 profile)
    b"AT+QFTPCFG",
    b"AT+QFTPCFG?",
    b"AT+QFTPSTAT?",
    b"AT+QFTPSTAT=1",
    b"AT+QFTPLEN=1",
    b'AT+QFTPRENAME="a"',
    b'AT+QFTPRENAME="a","' + b"b" * 51 + b'"',
    b'AT+QFTPSIZE="' + b"s" * 51 + b'"',
    b'AT+QFTPDELETE=""',
    b'AT+QFTPMKDIR="' + b"d" * 101 + b'"',
    b"AT+QFTPRMDIR",
    b'AT+QFTPGET="caf\x00e"',            # NUL
]


class CommandForms(FtpTestCase):

    def test_every_test_form_answers_the_manuals_text(self):
        sim = self.start_ftp()
        for line, text in TEST_FORMS:
            with self.subTest(line=line):
                sim.command(line, (crlf(text) if text else b"") + OK)
        sim.close()

    def test_every_malformed_variant_is_answered_error_and_the_module_goes_on(self):
        sim = self.start_ftp()
        for line in MALFORMED:
            with self.subTest(line=line):
                sim.command(line, ERROR)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_malformed_variants_follow_cmee(self):
        sim = self.start_ftp()
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b'AT+QFTPOPEN="h",0', crlf(b"+CME ERROR: 50"))
        sim.command(b"AT+QFTPCLOSE?", crlf(b"+CME ERROR: 100"))
        sim.close()

    def test_length_limits_are_exact(self):
        sim = self.start_ftp()
        sim.command(b'AT+QFTPUSER="' + b"u" * 30 + b'"', OK)
        sim.command(b'AT+QFTPPASS="' + b"p" * 30 + b'"', OK)
        sim.command(b"AT+QFTPUSER?", crlf(b'+QFTPUSER:"' + b"u" * 30 + b'"') + OK)
        sim.close()

    def test_read_forms(self):
        sim = self.start_ftp()
        sim.command(b"AT+QFTPUSER?", crlf(b'+QFTPUSER:""') + OK)
        sim.command(b'AT+QFTPUSER="quectel"', OK)
        sim.command(b"AT+QFTPUSER?", crlf(b'+QFTPUSER:"quectel"') + OK)
        sim.command(b'AT+QFTPPASS="123456"', OK)
        sim.command(b"AT+QFTPPASS?", crlf(b'+QFTPPASS:"123456"') + OK)
        sim.command(b"AT+QFTPOPEN?", crlf(b'+QFTPOPEN: "",21') + OK)
        # The manual's read row of AT+QFTPPATH puts OK first.
        sim.command(b"AT+QFTPPATH?", OK + crlf(b'+QFTPPATH:""'))
        self.open_service(sim, b"ftp.example.com", b'"2121"')
        sim.command(b"AT+QFTPOPEN?", crlf(b'+QFTPOPEN: "ftp.example.com",2121') + OK)
        self.result(sim, b'AT+QFTPMKDIR="d"', b"+QFTPMKDIR:0")
        self.result(sim, b'AT+QFTPPATH="/d"', b"+QFTPPATH:0")
        sim.command(b"AT+QFTPPATH?", OK + crlf(b'+QFTPPATH:"/d"'))
        sim.close()

    def test_cfg_sets_and_queries_each_type(self):
        sim = self.start_ftp()
        for line, urc in [(b"AT+QFTPCFG=1", b"+QFTPCFG:1"),
                          (b"AT+QFTPCFG=1,0", b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=1", b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=2", b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=2,1", b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=2", b"+QFTPCFG:1"),
                          (b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=3", b"+QFTPCFG:1587"),
                          (b'AT+QFTPCFG=4,"/COM/"', b"+QFTPCFG:0"),
                          (b"AT+QFTPCFG=4", b'+QFTPCFG:"/COM/"'),
                          (b"AT+QFTPCFG=1,2", b"+QFTPCFG:-10"),
                          (b'AT+QFTPCFG=1,"1"', b"+QFTPCFG:-10"),
                          (b"AT+QFTPCFG=4,1", b"+QFTPCFG:-10"),
                          (b'AT+QFTPCFG=4,"/NOPE/"', b"+QFTPCFG:-10")]:
            with self.subTest(line=line):
                self.result(sim, line, urc)
        sim.close()

    def test_stat_and_len_answer_at_once(self):
        sim = self.start_ftp()
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 0") + OK)
        sim.close()

    def test_open_result_comes_in_a_separate_burst_at_default_latency(self):
        # Real time here: drivers split replies on 30 ms of silence.
        sim = self.start("--no-power-up-lines", "--ftp-root", self.root)
        sim.echo_off()
        sim.send(b'AT+QFTPOPEN="ftp.example.com",21\r')
        sim.expect(OK)
        sim.expect_silence(0.05)
        sim.expect(crlf(b"+QFTPOPEN:0"), timeout=10)
        sim.close()


class StateTable(FtpTestCase):
    """One test per row of the state table (docs/ftp-service.md)."""

    SESSION_COMMANDS = [
        (b'AT+QFTPPATH="/"', b"PATH"),
        (b'AT+QFTPPUT="f",1', b"PUT"),
        (b'AT+QFTPGET="f"', b"GET"),
        (b'AT+QFTPSIZE="f"', b"SIZE"),
        (b'AT+QFTPDELETE="f"', b"DELETE"),
        (b'AT+QFTPMKDIR="f"', b"MKDIR"),
        (b'AT+QFTPRMDIR="f"', b"RMDIR"),
        (b'AT+QFTPRENAME="f","g"', b"RENAME"),
    ]

    def test_idle_session_commands_answer_minus_one(self):
        sim = self.start_ftp()
        for line, name in self.SESSION_COMMANDS:
            with self.subTest(line=line):
                self.result(sim, line, b"+QFTP" + name + b":-1")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_idle_close_answers_minus_one_and_stays_idle(self):
        sim = self.start_ftp()
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:-1")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_user_and_pass_are_refused_unless_idle(self):
        sim = self.start_ftp()
        self.open_service(sim)
        sim.command(b'AT+QFTPUSER="x"', ERROR)
        sim.command(b'AT+QFTPPASS="x"', ERROR)
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        sim.command(b'AT+QFTPUSER="x"', OK)
        sim.close()

    def test_opened_open_again_is_busy(self):
        sim = self.start_ftp()
        self.open_service(sim)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENED") + OK)
        self.result(sim, b'AT+QFTPOPEN="h"', b"+QFTPOPEN:-3")
        sim.close()

    def test_opening_commands_are_busy(self):
        sim = self.start_ftp("--latency", "50000")
        sim.command(b'AT+QFTPOPEN="h"', OK)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: OPENING") + OK)
        self.result(sim, b'AT+QFTPSIZE="f"', b"+QFTPSIZE:-3")
        self.result(sim, b"AT+QFTPCFG=1,1", b"+QFTPCFG:0")
        sim.command(b'AT+QFTPUSER="x"', ERROR)
        sim.close()

    def test_close_while_opening_ends_the_open_then_closes(self):
        # Connecting to the server (context already up, a slow link) / activating the context.
        for phase in ("connecting", "activating"):
            with self.subTest(phase=phase):
                if phase == "connecting":
                    sim = self.start_ftp("--latency", "20000")
                    sim.command(b"AT+QIACT", OK)
                else:
                    sim = self.start_ftp("--latency", "0", scale="1")
                sim.command(b'AT+QFTPOPEN="h"', OK)
                sim.command(b"AT+QFTPCLOSE", OK)
                sim.expect(crlf(b"+QFTPOPEN:-1") + crlf(b"+QFTPCLOSE:0"))
                sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
                self.open_service(sim)
                sim.close()

    def test_working_commands_are_busy(self):
        # The server holds SIZE's reply back (less than the module's 30 s reply timeout), so
        # the service stays WORKING meanwhile.
        sim = self.start_ftp(faults=[{"action": "delay", "command": "SIZE", "after_ms": 20000}])
        self.open_service(sim)
        sim.command(b'AT+QFTPSIZE="f"', OK)
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: WORKING") + OK)
        for line, name in self.SESSION_COMMANDS:
            with self.subTest(line=line):
                self.result(sim, line, b"+QFTP" + name + b":-3")
        self.result(sim, b"AT+QFTPCFG=1,1", b"+QFTPCFG:-3")
        self.result(sim, b'AT+QFTPOPEN="h"', b"+QFTPOPEN:-3")
        sim.expect(crlf(b"+QFTPSIZE:-550"), timeout=10)
        sim.close()

    def test_close_while_working_ends_the_operation_then_closes(self):
        sim = self.start_ftp(faults=[{"action": "delay", "command": "SIZE", "after_ms": 100000}])
        self.open_service(sim)
        sim.command(b'AT+QFTPSIZE="f"', OK)
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPSIZE:-1") + crlf(b"+QFTPCLOSE:0"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()

    def test_transfer_state_during_an_upload(self):
        sim = self.start_ftp()
        self.open_service(sim)
        sim.command(b'AT+QFTPPUT="f",4', OK)
        sim.expect(CONNECT)
        sim.send(b"ab")
        # In data mode the module hears no commands: this is data.
        sim.send(b"cd")
        sim.expect(crlf(b"+QFTPPUT:4"))
        self.assertEqual(self.served("f"), b"abcd")
        sim.close()

    def test_closed_after_the_server_leaves(self):
        sim = self.start_ftp(faults=[{"action": "close_control", "after_commands": 3}])
        self.open_service(sim)  # USER, PASS and one more command
        self.result(sim, b'AT+QFTPPATH="/"', b"+QFTPPATH:0")
        sim.expect(crlf(b"+QFTPERROR:-6"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: CLOSED") + OK)
        for line, name in self.SESSION_COMMANDS:
            with self.subTest(line=line):
                self.result(sim, line, b"+QFTP" + name + b":-6")
        self.result(sim, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0")
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        self.open_service(sim)
        sim.close()


class DataMode(FtpTestCase):

    def test_put_takes_exactly_filesz_bytes_and_reads_the_rest_as_commands(self):
        sim = self.start_ftp()
        self.open_service(sim)
        data = payload(1000, seed=9)
        sim.command(b'AT+QFTPPUT="exact.bin",1000', OK)
        sim.expect(CONNECT)
        sim.send(data + b"AT+QFTPSTAT\r")
        sim.expect(crlf(b"+QFTPSTAT: TRANSFER") + OK + crlf(b"+QFTPPUT:1000"))
        self.assertEqual(self.served("exact.bin"), data)
        sim.close()

    def test_put_ends_at_its_time_limit_with_what_it_got(self):
        sim = self.start_ftp()
        self.open_service(sim)
        sim.command(b'AT+QFTPPUT="short.bin",1000,5', OK)
        sim.expect(CONNECT)
        sim.send(b"x" * 10)
        sim.expect(crlf(b"+QFTPPUT:10"), timeout=10)
        self.assertEqual(self.served("short.bin"), b"x" * 10)
        sim.close()

    def test_put_ends_at_the_escape_sequence(self):
        sim = self.start_ftp(scale="0.1")
        self.open_service(sim)
        sim.command(b"ATS12=5", OK)  # 100 ms guard time (scaled to 10 ms)
        sim.command(b'AT+QFTPPUT="esc.bin",1000', OK)
        sim.expect(CONNECT)
        sim.send(b"hello")
        sim.expect_silence(0.1)
        sim.send(b"+++")
        sim.expect(crlf(b"+QFTPPUT:5"), timeout=10)
        self.assertEqual(self.served("esc.bin"), b"hello")
        sim.close()

    def test_get_with_a_size_limit_stops_there(self):
        data = payload(5000, seed=2)
        self.serve("big.bin", data)
        sim = self.start_ftp()
        self.open_service(sim)
        sim.command(b'AT+QFTPGET="big.bin",1200', OK)
        sim.expect(CONNECT)
        sim.expect(data[:1200])
        sim.expect(crlf(b"+QFTPGET:1200"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1200") + OK)
        sim.close()

    def test_ascii_type_converts_line_endings(self):
        self.serve("text.txt", b"one\ntwo\n")
        sim = self.start_ftp()
        self.open_service(sim)
        self.result(sim, b"AT+QFTPCFG=2,1", b"+QFTPCFG:0")
        sim.command(b'AT+QFTPGET="text.txt"', OK)
        sim.expect(CONNECT + b"one\r\ntwo\r\n" + crlf(b"+QFTPGET:10"))
        sim.close()

    def test_active_mode_transfers(self):
        data = payload(4096, seed=4)
        sim = self.start_ftp()
        self.open_service(sim)
        self.result(sim, b"AT+QFTPCFG=1,0", b"+QFTPCFG:0")
        sim.command(b'AT+QFTPPUT="active.bin",4096', OK)
        sim.expect(CONNECT)
        sim.send(data)
        sim.expect(crlf(b"+QFTPPUT:4096"))
        sim.command(b'AT+QFTPGET="active.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:4096"))
        sim.close()

    def test_slow_uart_loses_no_byte(self):
        data = payload(20000, seed=8)
        self.serve("slow.bin", data)
        sim = self.start_ftp(baud=115200)
        self.open_service(sim)
        sim.command(b'AT+QFTPGET="slow.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:20000"), timeout=20)
        sim.command(b'AT+QFTPPUT="slow-up.bin",20000', OK)
        sim.expect(CONNECT)
        sim.send(data)
        sim.expect(crlf(b"+QFTPPUT:20000"), timeout=20)
        self.assertEqual(self.served("slow-up.bin"), data)
        sim.close()

    def test_slow_network_loses_no_byte(self):
        data = payload(30000, seed=6)
        sim = self.start_ftp("--bandwidth", "200000")
        self.open_service(sim)
        sim.command(b'AT+QFTPPUT="slownet.bin",30000', OK)
        sim.expect(CONNECT)
        sim.send(data)
        sim.expect(crlf(b"+QFTPPUT:30000"), timeout=20)
        self.assertEqual(self.served("slownet.bin"), data)
        sim.command(b'AT+QFTPGET="slownet.bin"', OK)
        sim.expect(CONNECT + data + crlf(b"+QFTPGET:30000"), timeout=20)
        sim.close()


if __name__ == "__main__":
    unittest.main()
