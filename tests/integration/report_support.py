"""A session whose transcript holds every kind of row the report and the replay show: commands,
a download through the UART (a data-mode span), an upload, a live fault and a warning."""

from ftp_support import CONNECT, OK, crlf, payload
from quecsim.control import Control

DOWNLOAD = payload(1587, seed=7)
UPLOAD = payload(600, seed=3)


def record_session(test):
    """Runs the session in a FtpTestCase `test`; returns the closed Quecsim (its transcript
    stays readable until the test's cleanup)."""
    test.serve("sscom.ini", DOWNLOAD)
    sim = test.start_ftp("--link", test.root + "-modem", transcript=True)
    sim.command(b"AT+CSQ", crlf(b"+CSQ: 20,0") + OK)
    with Control(sim.control, timeout=10) as control:
        control.apply("signal", rssi=5)
    sim.command(b"AT+CSQ", crlf(b"+CSQ: 5,0") + OK)
    sim.send(b"AT\n")  # LF alone: the module answers, and the transcript warns
    sim.expect(OK)
    test.open_service(sim)
    sim.command(b'AT+QFTPGET="sscom.ini"', OK)
    sim.expect(CONNECT)
    sim.expect(DOWNLOAD)
    sim.expect(crlf(b"+QFTPGET:1587"))
    sim.command(b'AT+QFTPPUT="up.bin",600,200', OK)
    sim.expect(CONNECT)
    sim.send(UPLOAD)
    sim.expect(crlf(b"+QFTPPUT:600"))
    sim.command(b"AT+QFTPCLOSE", OK)
    sim.expect(crlf(b"+QFTPCLOSE:0"))
    sim.close()
    return sim
