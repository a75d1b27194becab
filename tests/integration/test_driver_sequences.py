"""The start-up and FTP sequences of widely used drivers, replayed over the pty from their
documented command lists (see the "Drivers" notes in docs/at-engine.md), asserting the exact bytes.

- TinyGSM's Quectel M95 client: init (AT, AT&FZE0, AT+CMEE=2, AT+CPIN?), identification
  (ATI, AT+GSN), network (AT+CREG?, AT+COPS?, AT+CSQ), AT+QIDNSIP, gprsConnect (AT+QIDEACT,
  AT+QIFGCNT=0, AT+QICSGP, AT+QIREGAPP with the APN, AT+QIACT, AT+QIMUX=1, AT+QIHEAD=1,
  AT+QINDI=1), AT+CGATT?, AT+QILOCIP, AT+CBC. Lines end CR LF.
- Quectel OpenCPU's RIL (M26/MC60 SDKs): its init list (AT+CFUN=1, AT+CMEE=1, ATS0=0,
  AT+CREG=1, AT+CGREG=2, AT+CLIP=1, AT+COLP=0), then RIL_FTP_QFTPOPEN (AT+QFTPUSER,
  AT+QFTPPASS, AT+QFTPCFG=1,<mode>, AT+QFTPCFG=6,1, AT+QIREGAPP, AT+QIACT,
  AT+QFTPOPEN="<host>","<port>"). Lines end LF alone, echo stays on.
- An Arduino M95 shield library: AT, ATE0, the +CPIN URC, AT+IPR, AT+QIURC=0, AT+CREG?,
  then AT+CGATT?, AT+QISTAT (needs STATE: IP INITIAL), AT+QICSGP, AT+QIDNSIP=1, AT+QISTAT.
"""

import unittest

from harness import POWER_UP_LINES, QuecsimTestCase, crlf

OK = b"\r\nOK\r\n"
FAST = ("--time-scale", "0.01")


def info(*lines):
    return b"".join(crlf(l) for l in lines) + OK


class TinyGsmM95(QuecsimTestCase):
    def at(self, sim, line, response):
        """TinyGSM's sendAT: "AT" + command + CR LF; echo is off after init."""
        sim.send(b"AT" + line + b"\r\n")
        sim.expect(response)

    def test_init_identification_network_and_gprs_connect(self):
        sim = self.start(*FAST)
        sim.skip_power_up()
        # testAT, with echo still on: the module echoes the whole line, LF included.
        sim.send(b"AT\r\n")
        sim.expect(b"AT\r\r\nOK\r\n\n")
        # Factory + reset + echo off: the line's own echo is the last one.
        sim.send(b"AT&FZE0\r\n")
        sim.expect(b"AT&FZE0\r\r\nOK\r\n")
        self.at(sim, b"+CMEE=2", OK)
        self.at(sim, b"+CPIN?", info(b"+CPIN: READY"))
        self.at(sim, b"I", info(b"Quectel_Ltd\r\nQuectel_M95\r\nRevision: M95FAR02A08"))
        self.at(sim, b"+GSN", info(b"867273020123456"))
        self.at(sim, b"+CREG?", info(b"+CREG: 0,1"))
        self.at(sim, b"+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"'))
        self.at(sim, b"+CSQ", info(b"+CSQ: 20,0"))
        self.at(sim, b"+QIDNSIP=1", OK)
        # gprsConnect
        self.at(sim, b"+QIDEACT", crlf(b"DEACT OK"))
        self.at(sim, b"+QIFGCNT=0", OK)
        self.at(sim, b'+QICSGP=1,"internet","user","pass"', OK)
        self.at(sim, b'+QIREGAPP="internet","user","pass"', OK)
        self.at(sim, b"+QIACT", OK)
        self.at(sim, b"+QIMUX=1", OK)
        self.at(sim, b"+QIHEAD=1", OK)
        self.at(sim, b"+QINDI=1", OK)
        # isGprsConnected, getLocalIP, battery
        self.at(sim, b"+CGATT?", info(b"+CGATT: 1"))
        self.at(sim, b"+QILOCIP", crlf(b"10.7.33.100"))
        self.at(sim, b"+CBC", info(b"+CBC: 0,85,4012"))
        self.at(sim, b"+QIDEACT", crlf(b"DEACT OK"))
        sim.expect_silence(0.1)


class OpenCpuRil(QuecsimTestCase):
    def ril(self, sim, line, response):
        """Ql_RIL_SendATCmd: the command ends with LF alone; echo is on."""
        sim.send(line + b"\n")
        sim.expect(line + b"\n" + response)

    def test_init_list_then_ftp_open_with_qftpcfg_6(self):
        sim = self.start(*FAST)
        sim.skip_power_up()
        for line in (b"AT+CFUN=1", b"AT+CMEE=1", b"ATS0=0", b"AT+CREG=1", b"AT+CGREG=2",
                     b"AT+CLIP=1", b"AT+COLP=0"):
            self.ril(sim, line, OK)
        self.ril(sim, b'AT+QFTPUSER="anonymous"', OK)
        self.ril(sim, b'AT+QFTPPASS="guest"', OK)
        self.ril(sim, b"AT+QFTPCFG=1,1", OK)
        sim.expect(crlf(b"+QFTPCFG:0"))
        self.ril(sim, b"AT+QFTPCFG=6,1", OK)
        sim.expect(crlf(b"+QFTPCFG:0"))
        self.ril(sim, b"AT+QIREGAPP", OK)
        self.ril(sim, b"AT+QIACT", OK)
        self.ril(sim, b'AT+QFTPOPEN="ftp.example.com","21"', OK)
        sim.expect(crlf(b"+QFTPOPEN:0"))
        # Close, set the APN again with the context still up, open again.
        self.ril(sim, b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        self.ril(sim, b'AT+QICSGP=1,"internet","user","pass"', OK)
        self.ril(sim, b'AT+QFTPOPEN="ftp.example.com","21"', OK)
        sim.expect(crlf(b"+QFTPOPEN:0"))
        self.ril(sim, b"AT+QFTPSTAT", info(b"+QFTPSTAT: OPENED"))


class ArduinoShieldM95(QuecsimTestCase):
    def at(self, sim, line, response):
        sim.send(line + b"\r")
        sim.expect(response)

    def test_init_status_and_connect(self):
        sim = self.start(*FAST)
        sim.skip_power_up()
        self.at(sim, b"AT", b"AT\r" + OK)
        self.at(sim, b"ATE0", b"ATE0\r" + OK)
        self.at(sim, b"AT+IPR=115200", OK)
        self.at(sim, b"AT+QIURC=0", OK)
        self.at(sim, b"AT+CREG?", info(b"+CREG: 0,1"))
        # Status()
        self.at(sim, b"AT+CGREG?", info(b"+CGREG: 0,1"))
        self.at(sim, b"AT+CSQ", info(b"+CSQ: 20,0"))
        self.at(sim, b"AT+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"'))
        # Connect()
        self.at(sim, b"AT+CGATT?", info(b"+CGATT: 1"))
        self.at(sim, b"AT+QISTAT", OK + crlf(b"STATE: IP INITIAL"))
        self.at(sim, b'AT+QICSGP=1,"internet","",""', OK)
        self.at(sim, b"AT+QIDNSIP=1", OK)
        self.at(sim, b"AT+QISTAT", OK + crlf(b"STATE: IP INITIAL"))


class StartUpCommandsOfTheIssue(QuecsimTestCase):
    def test_every_command_the_issue_lists_is_answered(self):
        # The issue's list of commands firmware sends before AT+QFTPOPEN, each answered.
        sim = self.start_quiet(*FAST)
        for line, response in ((b"AT+CIMI", info(b"460001234567890")),
                               (b"AT+QCCID", info(b"89860012345678901234")),
                               (b"AT+CSCS?", info(b'+CSCS: "GSM"')),
                               (b'AT+CSCS="GSM"', OK),
                               (b"AT+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"')),
                               (b"AT+CBC", info(b"+CBC: 0,85,4012")),
                               (b"AT+QNITZ=1", OK),
                               (b"AT+CMGF=1", OK),
                               (b"AT&W", OK),
                               (b"AT+QIDNSIP=1", OK),
                               (b"AT+QIMUX=0", OK),
                               (b"AT+QISTAT", OK + crlf(b"STATE: IP INITIAL")),
                               (b"AT+QGSN", info(b"+QGSN: 867273020123456"))):
            with self.subTest(line=line):
                sim.command(line, response)
        sim.command(b"AT+QPOWD=1", crlf(b"NORMAL POWER DOWN"))


if __name__ == "__main__":
    unittest.main()
