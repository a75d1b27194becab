#!/usr/bin/python3
"""The naive reference host: the robust host's job (robust_host.py), written the way a first
driver often is. It reads the module correctly (whole lines, counted bytes) but trusts it:

- it waits for RDY before its first command (an autobauding module never sends it);
- it opens the FTP session without AT+QFTPCLOSE first, and never polls AT+QFTPSTAT;
- it ignores unsolicited lines (+QFTPERROR, +PDP DEACT, the power-up lines);
- any command that does not succeed ends the job: no retry, no reopening, no resume;
- it takes a download's result line as the truth, even when it is short;
- it gives every answer and every transfer the same fixed few seconds (5 s).

The socket job (--job socket, the robust host's: six messages to the campaign's echo peer
through socket 0, each echo compared) written the same way: it waits for RDY, sets the context
up once without AT+QIDEACT first, opens the socket once (a CONNECT FAIL ends the job), ignores
`+PDP DEACT`, `0, CLOSED` and the power-up lines, and gives each echo a fixed 5 s.

Exit status: 0 when the job was completed and what it moved is what is there; 1 otherwise.
"""

import sys
import time

import modem
from modem import Modem, Restarted

HOST = "ftp.example.com"
# A fixed few seconds for every answer and every transfer, whatever its size.
TIMEOUT = 5.0


def log(text):
    sys.stdout.write("%8.3f %s\n" % (time.monotonic() - START, text))
    sys.stdout.flush()


START = time.monotonic()


class Failed(Exception):
    pass


class Naive:
    def __init__(self, path):
        self.m = Modem(path, log)

    def wait_for(self, *prefixes, timeout=TIMEOUT):
        """The next line starting with one of `prefixes`; other lines are ignored."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.m.read_line(deadline)
            if got is None:
                raise Failed("none of %s within %.0f s" % (", ".join(prefixes), timeout))
            if got.startswith(prefixes):
                return got

    def command(self, line):
        self.m.send(line + "\r")
        final = self.wait_for("OK", "ERROR", "+CME ERROR:")
        if final != "OK":
            raise Failed("%s answered %s" % (line, final))

    def ftp(self, line, prefix, expect=None):
        """An AT+QFTP command that must succeed: OK, then a result of 0 (or `expect`, or any
        size when expect is True)."""
        self.command(line)
        got = self.wait_for(prefix)
        code = int(got[len(prefix):])
        if code < 0 or (expect is None and code != 0) or (expect not in (None, True)
                                                          and code != expect):
            raise Failed("%s gave %d" % (line, code))
        return code


def read_echo(host, size):
    """The echo of one message, through +QIRDI and AT+QIRD, within the fixed few seconds."""
    m = host.m
    echo = b""
    deadline = time.monotonic() + TIMEOUT
    while len(echo) < size:
        if not m.data_ready:
            host.wait_for("+QIRDI:", timeout=max(0.0, deadline - time.monotonic()))
        data, final = m.qird(1500, deadline)
        if data is None:
            raise Failed("AT+QIRD answered %s" % (final or "nothing"))
        echo += data
    return echo


def socket_main(args, env):
    host = Naive(env["QUECSIM_PTY"])
    m = host.m
    name, port = modem.peer(env)
    prefix = "%d, " % modem.SOCKET
    try:
        host.wait_for("RDY", timeout=10)
        host.wait_for("SMS Ready")
        for line in ("ATE0", "AT+CMEE=1", "AT+CSQ", "AT+QIFGCNT=0", 'AT+QICSGP=1,"CMNET"',
                     "AT+QIMUX=1", "AT+QIDNSIP=1", "AT+QIREGAPP", "AT+QIACT"):
            host.command(line)
        m.send("AT+QILOCIP\r")
        m.read_line(time.monotonic() + TIMEOUT)  # the address
        host.command("AT+QINDI=1")
        host.command('AT+QIOPEN=%d,"TCP","%s",%d' % (modem.SOCKET, name, port))
        got = host.wait_for(prefix + "CONNECT")
        if got != prefix + "CONNECT OK":
            raise Failed("AT+QIOPEN gave %s" % got)
        deadline = time.monotonic() + args.dwell
        while m.read_line(deadline) is not None:
            pass
        for index, data in enumerate(modem.messages()):
            # CR LF, as TinyGSM ends its lines: the module takes the LF as the line's, so a
            # message that starts with LF keeps it.
            m.send("AT+QISEND=%d,%d\r\n" % (modem.SOCKET, len(data)))
            got = m.read_prompt(time.monotonic() + TIMEOUT)
            if got is not None:
                raise Failed("AT+QISEND answered %s" % (got or "nothing"))
            m.send(data)
            got = host.wait_for("SEND OK", "SEND FAIL", "ERROR")
            if got != "SEND OK":
                raise Failed("message %d: %s" % (index, got))
            if read_echo(host, len(data)) != data:
                raise Failed("the echo of message %d differs from what was sent" % index)
            log("message %d (%d bytes): echoed" % (index, len(data)))
        m.send("AT+QICLOSE=%d\r" % modem.SOCKET)
        host.wait_for(prefix + "CLOSE OK")
        m.send("AT+QIDEACT\r")
        host.wait_for("DEACT OK")
    except (Failed, Restarted) as e:
        log("RESULT: FAILED: %s" % (e or "the module restarted"))
        return 1
    log("RESULT: complete")
    return 0


def main():
    args, env, files = modem.start_job(__doc__)
    if args.job == "socket":
        return socket_main(args, env)
    host = Naive(env["QUECSIM_PTY"])
    m = host.m
    config = None
    try:
        host.wait_for("RDY", timeout=10)
        host.wait_for("SMS Ready")
        for line in ("ATE0", "AT+CMEE=1", "AT+CSQ", "AT+QIFGCNT=0", 'AT+QICSGP=1,"CMNET"'):
            host.command(line)
        report = files[modem.REPORT_NAME]
        m.send('AT+QFUPL="%s",%d,5\r' % (modem.REPORT_NAME, len(report)))
        host.wait_for("CONNECT")
        m.send(report)
        host.wait_for("+QFUPL: ")
        host.wait_for("OK")

        host.command('AT+QFTPUSER="campaign"')
        host.command('AT+QFTPPASS="secret"')
        host.ftp('AT+QFTPOPEN="%s",21' % HOST, "+QFTPOPEN:")
        deadline = time.monotonic() + args.dwell
        while m.read_line(deadline) is not None:
            pass

        size = host.ftp('AT+QFTPSIZE="%s"' % modem.FW_NAME, "+QFTPSIZE:", expect=True)
        host.ftp('AT+QFTPCFG=4,"/UFS/%s"' % modem.FW_NAME, "+QFTPCFG:")
        host.ftp('AT+QFTPGET="%s"' % modem.FW_NAME, "+QFTPGET:", expect=True)
        log("downloaded %s (%d bytes on the server)" % (modem.FW_NAME, size))

        host.ftp('AT+QFTPCFG=4,"/UFS/%s"' % modem.REPORT_NAME, "+QFTPCFG:")
        host.ftp('AT+QFTPPUT="%s",0' % modem.REPORT_NAME, "+QFTPPUT:", expect=True)

        blob = files[modem.BLOB_NAME]
        host.ftp('AT+QFTPCFG=4,"/COM/"', "+QFTPCFG:")
        host.command('AT+QFTPPUT="%s",%d' % (modem.BLOB_NAME, len(blob)))
        host.wait_for("CONNECT")
        for at in range(0, len(blob), 1024):
            m.send(blob[at:at + 1024])
        code = int(host.wait_for("+QFTPPUT:")[9:])
        if code < 0:
            raise Failed("the upload gave %d" % code)

        size = host.ftp('AT+QFTPSIZE="%s"' % modem.CONFIG_NAME, "+QFTPSIZE:", expect=True)
        host.command('AT+QFTPGET="%s"' % modem.CONFIG_NAME)
        host.wait_for("CONNECT")
        config, code = m.read_download(size, time.monotonic() + TIMEOUT)
        if code is None or code < 0:
            raise Failed("the download gave %s" % code)

        host.ftp("AT+QFTPCLOSE", "+QFTPCLOSE:")
    except (Failed, Restarted) as e:
        log("RESULT: FAILED: %s" % (e or "the module restarted"))
        return 1
    wrong = modem.check(env, files, ["download-to-ufs", "upload-report", "upload-blob",
                                     "download-config"], config)
    if wrong:
        log("RESULT: FAILED: %s" % "; ".join(wrong))
        return 1
    log("RESULT: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
