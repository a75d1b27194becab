#!/usr/bin/python3
"""The robust reference host: a fixed FTP job (or, with --job socket, a socket job), driven as
real drivers do (what a robust driver does, per scenario: scenarios/README.md).

The job: power up (AT until OK), set up (ATE0, AT+CMEE=1, AT+CREG=1, AT+CGREG=1, AT+CSQ,
APN), write report.txt into UFS (AT+QFUPL), open the FTP session (AT+QFTPCLOSE first), stay
idle for --dwell seconds as a device between two measurements, then four steps:
  download-to-ufs   AT+QFTPSIZE, then AT+QFTPGET of fw.bin into /UFS/fw.bin
  upload-report     AT+QFTPPUT of report.txt from /UFS/
  upload-blob       AT+QFTPPUT of 12000 bytes over the UART (/COM/)
  download-config   AT+QFTPSIZE, then AT+QFTPGET of config.txt over the UART, counting bytes
and AT+QFTPCLOSE. What it moved is compared with the FTP root and the module's UFS folder.

How it copes: it polls AT+QFTPSTAT before each step; a lost session (+QFTPERROR, +PDP DEACT,
-6, -8, -421, CLOSED) means AT+QFTPCLOSE and AT+QFTPOPEN again, retried with a back-off; a
broken transfer resumes (AT+QFTPCFG=3 from the bytes already held); -11 writes the local file
again, -12 frees UFS space; power-down or power-up lines mean set up again; a 5xx refusal is
reported, not retried. Every retry is bounded.

The socket job (--job socket): open socket 0 (AT+QIMUX=1) to the campaign's echo peer
(QUECSIM_PEER, by its name QUECSIM_PEER_NAME), stay idle for --dwell seconds, send six
messages (8 to 1460 bytes) with AT+QISEND=0,<len>, each after the previous one came back whole
through +QIRDI and AT+QIRD, compare every echo with what was sent, then AT+QICLOSE and
AT+QIDEACT. It copes as TinyGSM and Quectel's TCP/IP application note do: AT+QIDEACT before
setting the context up, AT+QICLOSE before every AT+QIOPEN, AT+QISTAT before reopening (PDP
DEACT or IP INITIAL: set the context up again), `+PDP DEACT`, `0, CLOSED`, SEND FAIL, ERROR or
an echo that stops coming mean reopen and send the message again; the open is retried with a
back-off (5 tries), each message at most 8 times.

Exit status: 0 when the host handled what happened: the job is "complete", or a step was
"refused" by the server (5xx), or the job was "deferred" after the bounded retries (the network
stayed away); each is printed as the last line, `RESULT: ...`. 1 when it could not: what it
claims to have moved differs from what is there, or the module stopped answering.
"""

import re
import sys
import time

import modem
from modem import Modem, Restarted

HOST = "ftp.example.com"
STEP_ATTEMPTS = 8
OPEN_ATTEMPTS = 5
RESULT_TIMEOUT = 150.0  # the module's own timers (up to 90 s simulated) end a command first
COMMAND_TIMEOUT = 5.0


class Transient(Exception):
    """A step failed in a way a retry can fix."""


class Refused(Exception):
    """The server refused with a permanent (5xx) reply: reported, not retried."""


class Deferred(Exception):
    """Retries are spent; the job waits for a better moment."""


class HostError(Exception):
    """The host cannot go on correctly: the module does not answer, or a bad value."""


def log(text):
    sys.stdout.write("%8.3f %s\n" % (time.monotonic() - START, text))
    sys.stdout.flush()


START = time.monotonic()


class Robust:
    def __init__(self, path, files):
        self.m = Modem(path, log)
        self.files = files
        self.config_got = b""  # bytes of config.txt held so far (a resume starts here)
        self.config_bytes = None

    # ---- commands -----------------------------------------------------------------------------

    def command(self, line, info=None, timeout=COMMAND_TIMEOUT, attempts=3, ends=()):
        """Sends a command and returns (final, info lines). A final result that comes before
        the expected information line is a stray (a duplicate) and is skipped; no answer at
        all is retried (a lost answer). `ends`: lines that end this command as a final result
        does (`DEACT OK`, `0, CLOSE OK`)."""
        m = self.m
        for _ in range(attempts):
            m.drain()
            if m.restarted:
                raise Restarted()
            m.send(line + "\r")
            deadline = time.monotonic() + timeout
            infos = []
            while True:
                got = m.read_line(deadline)
                if got is None:
                    break
                if got.upper().startswith("AT"):
                    continue  # the echo, after a restart turned it on
                if info and got.startswith(info):
                    infos.append(got)
                elif got in modem.FINALS or got in ends or got.startswith("+CME ERROR:"):
                    if info and not infos and got == "OK":
                        # A stray OK (a duplicate), or the information line was lost: the real
                        # answer, if it comes, follows at once.
                        deadline = min(deadline, time.monotonic() + 0.3)
                        continue
                    return got, infos
                elif m.restarted:
                    raise Restarted()
            if m.restarted:
                raise Restarted()
            log("no answer to %s; sending it again" % line)
        raise HostError("the module does not answer %s" % line)

    def ftp(self, line, prefix, timeout=RESULT_TIMEOUT):
        """An AT+QFTP command: OK, then its result line. Returns the result's number, or None
        when the module answered ERROR."""
        final, _ = self.command(line)
        if final != "OK":
            return None
        return self.result(prefix, timeout)

    def result(self, prefix, timeout=RESULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            got = self.m.read_line(deadline)
            if got is None:
                raise HostError("no %s line within %.0f s" % (prefix, timeout))
            if got.startswith(prefix):
                return int(re.match(r"-?\d+", got[len(prefix):]).group(0))
            if self.m.restarted:
                raise Restarted()

    def stat(self):
        for _ in range(5):
            final, infos = self.command("AT+QFTPSTAT", info="+QFTPSTAT: ")
            if infos:
                return infos[-1].split(": ", 1)[1]
            log("AT+QFTPSTAT answered without its state; asking again")
        raise HostError("AT+QFTPSTAT never gave a state")

    def wait(self, seconds):
        """Lets `seconds` pass while handling what arrives."""
        deadline = time.monotonic() + seconds
        while self.m.read_line(deadline) is not None:
            pass

    # ---- power, set-up, session ---------------------------------------------------------------

    def power_up(self):
        """Sends AT until OK: an autobauding module says nothing before it, and bytes sent
        while it boots are lost."""
        m = self.m
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            m.send("AT\r")
            answer = time.monotonic() + 0.25
            while True:
                got = m.read_line(answer)
                if got is None:
                    break
                if got == "OK":
                    m.restarted = False
                    self.wait(0.05)  # the power-up lines that follow an autobaud AT
                    m.restarted = False
                    return
        raise HostError("the module never answered AT")

    def set_up(self):
        self.m.restarted = False
        for line in ("ATE0", "AT+CMEE=1", "AT+CREG=1", "AT+CGREG=1"):
            self.command(line)
        self.command("AT+CSQ", info="+CSQ: ")
        self.command("AT+QIFGCNT=0")
        self.command('AT+QICSGP=1,"CMNET"')

    def after_restart(self):
        log("the module restarted: setting it up again")
        self.power_up()
        self.set_up()

    def write_report(self):
        """report.txt into UFS (AT+QFUPL), as the firmware's log."""
        self.command('AT+QFDEL="%s"' % modem.REPORT_NAME)
        m = self.m
        data = self.files[modem.REPORT_NAME]
        m.drain()
        m.send('AT+QFUPL="%s",%d,5\r' % (modem.REPORT_NAME, len(data)))
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            got = m.read_line(deadline)
            if got is None:
                raise Transient("no CONNECT for AT+QFUPL")
            if got == "CONNECT":
                break
            if got == "ERROR" or got.startswith("+CME ERROR:"):
                raise Transient("AT+QFUPL: %s" % got)
            if m.restarted:
                raise Restarted()
        m.send(data)
        self.result("+QFUPL: ", COMMAND_TIMEOUT)
        self.command("AT")

    def close_session(self):
        code = self.ftp("AT+QFTPCLOSE", "+QFTPCLOSE:")
        for _ in range(50):
            state = self.stat()
            if state in ("IDLE", "CLOSED"):
                return code
            self.wait(0.1)
        raise HostError("the FTP service did not become idle after AT+QFTPCLOSE")

    def open_session(self):
        """AT+QFTPCLOSE first (a previous run may have left a session), then AT+QFTPOPEN,
        retried with a back-off; Deferred when it never opens."""
        codes = []
        for attempt in range(OPEN_ATTEMPTS):
            try:
                if self.m.restarted:
                    self.after_restart()
                if not self.m.registered:
                    self.wait_registration()
                self.close_session()
                self.command('AT+QFTPUSER="campaign"')
                self.command('AT+QFTPPASS="secret"')
                self.m.session_lost = False
                code = self.ftp('AT+QFTPOPEN="%s",21' % HOST, "+QFTPOPEN:")
                codes.append(code)
                if code == 0 and self.stat() == "OPENED":
                    return
            except Restarted:
                codes.append("restart")
                continue
            delay = min(0.2 * 2 ** attempt, 3.2)
            log("AT+QFTPOPEN gave %s; again in %.1f s" % (codes[-1], delay))
            self.wait(delay)
        raise Deferred("the FTP session did not open (AT+QFTPOPEN gave %s)" % codes)

    def wait_registration(self):
        log("waiting for packet registration (+CGREG: 1)")
        deadline = time.monotonic() + 30
        while not self.m.registered and time.monotonic() < deadline:
            self.m.read_line(deadline)

    def ensure_session(self):
        if self.m.restarted:
            self.after_restart()
        if self.m.session_lost or self.stat() != "OPENED":
            log("the session is gone: closing and opening again")
            self.open_session()

    # ---- errors -------------------------------------------------------------------------------

    def classify(self, what, code):
        if code is None:
            raise Transient("%s answered ERROR" % what)
        if code == -10:
            raise HostError("%s: the module calls a value of mine illegal (-10)" % what)
        if code <= -500 and code not in (-530, -532):
            raise Refused("%s: the server refused (%d)" % (what, code))
        if code == -3:
            self.wait(0.5)  # another command still runs: wait for it, then check the session
        raise Transient("%s gave %d" % (what, code))

    def cfg(self, kind, value):
        code = self.ftp("AT+QFTPCFG=%d,%s" % (kind, value), "+QFTPCFG:")
        if code != 0:
            self.classify("AT+QFTPCFG=%d" % kind, code)

    def remote_size(self, name):
        code = self.ftp('AT+QFTPSIZE="%s"' % name, "+QFTPSIZE:")
        if code is None or code < 0:
            # -1 is "unknown": never use it as a size, ask again.
            self.classify("AT+QFTPSIZE", code)
        return code

    def local_size(self, name):
        final, infos = self.command('AT+QFLST="%s"' % name, info="+QFLST: ")
        if final == "OK" and infos:
            return int(infos[0].rsplit(",", 1)[1])
        return 0

    def free_ufs(self):
        """-12: UFS is full. The device's storage holds only its own files: others are stale
        data (a previous firmware's logs) and go."""
        final, infos = self.command("AT+QFLST", info="+QFLST: ")
        for line in infos:
            name = line.split('"')[1]
            if name not in (modem.REPORT_NAME, modem.FW_NAME):
                log("freeing UFS: deleting %s" % name)
                self.command('AT+QFDEL="%s"' % name)

    # ---- the steps ----------------------------------------------------------------------------

    def download_to_ufs(self):
        size = self.remote_size(modem.FW_NAME)
        have = self.local_size(modem.FW_NAME)
        if have > size:
            self.command('AT+QFDEL="%s"' % modem.FW_NAME)
            have = 0
        if have == size:
            return
        self.cfg(4, '"/UFS/%s"' % modem.FW_NAME)
        if have:
            log("resuming %s at %d" % (modem.FW_NAME, have))
            self.cfg(3, have)
        code = self.ftp('AT+QFTPGET="%s"' % modem.FW_NAME, "+QFTPGET:")
        if code is not None and code >= 0:
            if self.local_size(modem.FW_NAME) == size:
                return
            raise Transient("the download ended short (%d of %d)" % (have + code, size))
        if code == -12:
            self.free_ufs()
        elif code == -11:
            self.command('AT+QFDEL="%s"' % modem.FW_NAME)
        self.classify("AT+QFTPGET into UFS", code)

    def upload_report(self):
        self.cfg(4, '"/UFS/%s"' % modem.REPORT_NAME)
        code = self.ftp('AT+QFTPPUT="%s",0' % modem.REPORT_NAME, "+QFTPPUT:")
        if code == modem.REPORT_SIZE:
            return
        if code == -11:
            log("%s is gone from UFS: writing it again" % modem.REPORT_NAME)
            self.write_report()
        if code is not None and code >= 0:
            raise Transient("the upload ended short (%d)" % code)
        self.classify("AT+QFTPPUT from UFS", code)

    def upload_blob(self):
        data = self.files[modem.BLOB_NAME]
        self.cfg(4, '"/COM/"')
        final, _ = self.command('AT+QFTPPUT="%s",%d' % (modem.BLOB_NAME, len(data)))
        if final != "OK":
            self.classify("AT+QFTPPUT", None)
        code = self.connect_or_result("+QFTPPUT:")
        if code is None:  # CONNECT: the module takes exactly len(data) bytes, whatever happens
            for at in range(0, len(data), 1024):
                self.m.send(data[at:at + 1024])
            code = self.result("+QFTPPUT:")
        if code == len(data):
            return
        if code is not None and code >= 0:
            raise Transient("the upload ended short (%d)" % code)
        self.classify("AT+QFTPPUT over the UART", code)

    def download_config(self):
        size = self.remote_size(modem.CONFIG_NAME)
        have = self.config_got
        if len(have) > size:
            have = self.config_got = b""
        self.cfg(4, '"/COM/"')
        if have:
            log("resuming %s at %d" % (modem.CONFIG_NAME, len(have)))
            self.cfg(3, len(have))
        final, _ = self.command('AT+QFTPGET="%s"' % modem.CONFIG_NAME)
        if final != "OK":
            self.classify("AT+QFTPGET", None)
        code = self.connect_or_result("+QFTPGET:")
        if code is None:
            data, code = self.m.read_download(size - len(have),
                                              time.monotonic() + RESULT_TIMEOUT)
            if data is None:
                raise HostError("the download over the UART never ended")
            self.config_got = have + data
        if code is not None and code >= 0 and len(self.config_got) == size:
            self.config_bytes = self.config_got
            return
        if code is not None and code >= 0:
            raise Transient("the download ended short (%d of %d)" % (len(self.config_got), size))
        self.classify("AT+QFTPGET over the UART", code)

    def connect_or_result(self, prefix):
        """After OK of a data-mode command: None at CONNECT, or the result line's number when
        the command failed before the data connection opened."""
        deadline = time.monotonic() + RESULT_TIMEOUT
        while True:
            got = self.m.read_line(deadline)
            if got is None:
                raise HostError("neither CONNECT nor %s came" % prefix)
            if got == "CONNECT":
                return None
            if got.startswith(prefix):
                return int(got[len(prefix):])
            if self.m.restarted:
                raise Restarted()

    def step(self, name, action, outcome):
        last = None
        for attempt in range(STEP_ATTEMPTS):
            try:
                self.ensure_session()
                action()
                outcome[name] = "ok"
                log("step %s: done" % name)
                return
            except Transient as e:
                last = e
                log("step %s: %s; trying again" % (name, e))
            except Restarted:
                last = "the module restarted"
                log("step %s: the module restarted" % name)
            except Refused as e:
                outcome[name] = "refused"
                log("step %s: %s; not retried" % (name, e))
                return
        raise Deferred("step %s still failing after %d attempts (%s)" % (name, STEP_ATTEMPTS,
                                                                          last))


# ---- the socket job ---------------------------------------------------------------------------

# States of AT+QISTAT's STATE: line in which the context is up and AT+QIOPEN is accepted (after
# AT+QICLOSE); any other state means the context must be set up again.
CONTEXT_UP = ("IP STATUS", "IP CLOSE", "CONNECT OK", "TCP CONNECTING", "UDP CONNECTING",
              "IP PROCESSING")
# Seconds without a byte of the echo before the connection is taken for dead.
ECHO_IDLE = 10.0


class RobustSocket(Robust):
    """The socket job, driven as TinyGSM's M95 client and Quectel's TCP/IP application note do:
    the context set up from IP INITIAL (AT+QIDEACT first), AT+QICLOSE before every AT+QIOPEN,
    AT+QISTAT asked before reopening (PDP DEACT or IP INITIAL: AT+QIDEACT and set up again),
    the open retried with a bounded back-off, SEND OK awaited and the echo compared."""

    def __init__(self, path, target):
        Robust.__init__(self, path, {})
        self.host, self.port = target
        self.connected = False  # socket 0 is open, as far as the host knows

    # ---- context and socket -------------------------------------------------------------------

    def expect_ok(self, line, timeout=COMMAND_TIMEOUT):
        final, _ = self.command(line, timeout=timeout)
        if final != "OK":
            raise Transient("%s answered %s" % (line, final))

    def ip_state(self):
        """AT+QISTAT: OK, then `STATE: <state>` (and, with AT+QIMUX=1, one line per socket)."""
        for _ in range(3):
            final, _ = self.command("AT+QISTAT")
            deadline = time.monotonic() + COMMAND_TIMEOUT
            while final == "OK":
                got = self.m.read_line(deadline)
                if got is None:
                    break
                if got.startswith("STATE: "):
                    return got[7:]
                if self.m.restarted:
                    raise Restarted()
            log("AT+QISTAT answered without its state; asking again")
        raise HostError("AT+QISTAT never gave a state")

    def bring_up(self):
        """The context from IP INITIAL, as TinyGSM's gprsConnect: AT+QIDEACT whatever the state
        (DEACT OK or ERROR), the connection settings, AT+QIREGAPP, AT+QIACT, AT+QILOCIP (a
        server needs it read; it moves the state to IP STATUS) and buffered receiving."""
        self.connected = False
        self.command("AT+QIDEACT", timeout=RESULT_TIMEOUT, ends=("DEACT OK",))
        self.m.session_lost = False
        for line in ("AT+QIFGCNT=0", 'AT+QICSGP=1,"CMNET"', "AT+QIMODE=0", "AT+QIMUX=1",
                     "AT+QIDNSIP=1", "AT+QIREGAPP"):
            self.expect_ok(line)
        self.expect_ok("AT+QIACT", timeout=RESULT_TIMEOUT)
        m = self.m
        m.drain()
        m.send("AT+QILOCIP\r")
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            got = m.read_line(deadline)
            if got is None:
                raise Transient("AT+QILOCIP gave no address")
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", got):
                break
            if got == "ERROR" or got.startswith("+CME ERROR:"):
                raise Transient("AT+QILOCIP answered %s" % got)
            if m.restarted:
                raise Restarted()
        self.expect_ok("AT+QINDI=1")

    def close_socket(self):
        """AT+QICLOSE=0: `0, CLOSE OK`, or ERROR when nothing is open (both fine)."""
        self.connected = False
        self.command("AT+QICLOSE=%d" % modem.SOCKET, ends=("%d, CLOSE OK" % modem.SOCKET,))

    def connect(self):
        """AT+QIOPEN: the result line's text (`CONNECT OK`, `CONNECT FAIL` ...)."""
        m = self.m
        prefix = "%d, " % modem.SOCKET
        final, _ = self.command('AT+QIOPEN=%d,"TCP","%s",%d' % (modem.SOCKET, self.host,
                                                               self.port),
                                ends=(prefix + "ALREADY CONNECT",))
        if final != "OK":
            return final
        deadline = time.monotonic() + RESULT_TIMEOUT
        while True:
            got = m.read_line(deadline)
            if got is None:
                raise HostError("no result for AT+QIOPEN within %.0f s" % RESULT_TIMEOUT)
            if got.startswith(prefix + "CONNECT"):
                return got[len(prefix):]
            if m.restarted:
                raise Restarted()
            if m.session_lost:
                return "+PDP DEACT"

    def open_socket(self):
        """AT+QICLOSE first, then AT+QIOPEN, the context checked (and set up again) before each
        try, retried with a back-off; Deferred when it never opens."""
        results = []
        for attempt in range(OPEN_ATTEMPTS):
            try:
                if self.m.restarted:
                    self.after_restart()
                if not self.m.registered:
                    self.wait_registration()
                state = self.ip_state()
                if state not in CONTEXT_UP or self.m.session_lost:
                    log("state %s: setting the context up" % state)
                    self.bring_up()
                self.close_socket()
                self.m.socket_closed = False
                self.m.data_ready = False
                results.append(self.connect())
                if results[-1] == "CONNECT OK":
                    self.connected = True
                    return
            except Restarted:
                results.append("restart")
                continue
            except Transient as e:
                results.append(str(e))
            delay = min(0.2 * 2 ** attempt, 3.2)
            log("the socket did not open (%s); again in %.1f s" % (results[-1], delay))
            self.wait(delay)
        raise Deferred("the socket did not open (%s)" % results)

    def ensure_socket(self):
        m = self.m
        if m.restarted:
            self.after_restart()
        if not self.connected or m.socket_closed or m.session_lost:
            log("the socket is gone: opening it again")
            self.open_socket()

    # ---- one message --------------------------------------------------------------------------

    def send_message(self, data):
        m = self.m
        m.drain()
        if m.restarted:
            raise Restarted()
        if m.socket_closed or m.session_lost:
            raise Transient("the socket closed before AT+QISEND")
        # CR LF, as TinyGSM ends its lines: the module takes the LF as the line's, so a message
        # that starts with LF keeps it (after a bare CR that LF would be taken as the line's).
        m.send("AT+QISEND=%d,%d\r\n" % (modem.SOCKET, len(data)))
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            got = m.read_prompt(deadline)
            if got is None:
                break
            if got == "" or got == "ERROR" or got.startswith("+CME ERROR:"):
                raise Transient("AT+QISEND answered %s" % (got or "nothing"))
            if m.restarted:
                raise Restarted()
        m.send(data)
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            got = m.read_line(deadline)
            if got is None:
                raise Transient("neither SEND OK nor SEND FAIL came")
            if got == "SEND OK":
                return
            if got in ("SEND FAIL", "ERROR"):
                raise Transient("the send gave %s" % got)
            if m.restarted:
                raise Restarted()

    def read_echo(self, size):
        """AT+QIRD after each +QIRDI until `size` bytes came; Transient when the connection
        or the context goes, or nothing comes for ECHO_IDLE seconds."""
        m = self.m
        got = b""
        idle = time.monotonic() + ECHO_IDLE
        while len(got) < size:
            if m.restarted:
                raise Restarted()
            if m.session_lost:
                raise Transient("+PDP DEACT while the echo was awaited")
            if not m.data_ready:
                if m.socket_closed:
                    raise Transient("the socket closed with %d of %d bytes echoed"
                                    % (len(got), size))
                if m.read_line(idle) is None:
                    raise Transient("no echo for %.0f s (%d of %d bytes)"
                                    % (ECHO_IDLE, len(got), size))
                continue
            data, final = m.qird(1500, time.monotonic() + COMMAND_TIMEOUT)
            if data is None:
                raise Transient("AT+QIRD answered %s" % (final or "nothing"))
            if len(data) == 1500:
                m.data_ready = True  # a full read: more may be buffered
            if data:
                got += data
                idle = time.monotonic() + ECHO_IDLE
        if len(got) > size:
            raise HostError("the peer sent %d bytes back for %d" % (len(got), size))
        return got

    def exchange(self, index, data):
        self.ensure_socket()
        self.send_message(data)
        if self.read_echo(len(data)) != data:
            raise HostError("the echo of message %d differs from what was sent" % index)

    def run_job(self, messages, dwell):
        """Every message sent and echoed, each tried at most STEP_ATTEMPTS times."""
        self.open_socket()
        self.wait(dwell)
        for index, data in enumerate(messages):
            last = None
            for _ in range(STEP_ATTEMPTS):
                try:
                    self.exchange(index, data)
                    log("message %d (%d bytes): echoed" % (index, len(data)))
                    break
                except Transient as e:
                    last = e
                    log("message %d: %s; trying again" % (index, e))
                    self.connected = False
                except Restarted:
                    last = "the module restarted"
                    log("message %d: the module restarted" % index)
            else:
                raise Deferred("message %d still failing after %d attempts (%s)"
                               % (index, STEP_ATTEMPTS, last))


def socket_main(args, env):
    host = RobustSocket(env["QUECSIM_PTY"], modem.peer(env))
    deferred = None
    try:
        host.power_up()
        for _ in range(3):
            try:
                host.set_up()
                break
            except (Restarted, Transient) as e:
                log("set-up interrupted (%s); again" % (e or "restart"))
                host.power_up()
        try:
            host.run_job(modem.messages(), args.dwell)
        except Deferred as e:
            deferred = str(e)
            log("deferring the job: %s" % e)
        for _ in range(3):
            try:
                if host.m.restarted:
                    host.after_restart()
                host.close_socket()
                host.command("AT+QIDEACT", timeout=RESULT_TIMEOUT, ends=("DEACT OK",))
                break
            except Restarted:
                continue
    except HostError as e:
        log("RESULT: FAILED: %s" % e)
        return 1
    if deferred:
        log("RESULT: deferred: %s" % deferred)
    else:
        log("RESULT: complete")
    return 0


def main():
    args, env, files = modem.start_job(__doc__)
    if args.job == "socket":
        return socket_main(args, env)
    host = Robust(env["QUECSIM_PTY"], files)
    outcome = {}
    deferred = None
    try:
        host.power_up()
        for _ in range(3):
            try:
                host.set_up()
                host.write_report()
                break
            except (Restarted, Transient) as e:
                log("set-up interrupted (%s); again" % (e or "restart"))
                host.power_up()
        try:
            host.open_session()
            host.wait(args.dwell)
            steps = [("download-to-ufs", host.download_to_ufs),
                     ("upload-report", host.upload_report),
                     ("upload-blob", host.upload_blob),
                     ("download-config", host.download_config)]
            for name, action in steps:
                host.step(name, action, outcome)
        except Deferred as e:
            deferred = str(e)
            log("deferring the job: %s" % e)
        for _ in range(3):
            try:
                if host.m.restarted:
                    host.after_restart()
                host.close_session()
                break
            except Restarted:
                continue
    except HostError as e:
        log("RESULT: FAILED: %s" % e)
        return 1
    done = [n for n, v in outcome.items() if v == "ok"]
    wrong = modem.check(env, files, done, host.config_bytes)
    if wrong:
        log("RESULT: FAILED: %s" % "; ".join(wrong))
        return 1
    refused = [n for n, v in outcome.items() if v == "refused"]
    if deferred:
        log("RESULT: deferred: %s (done: %s)" % (deferred, ", ".join(done) or "nothing"))
    elif refused:
        log("RESULT: refused: %s (done: %s)" % (", ".join(refused), ", ".join(done)))
    else:
        log("RESULT: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
