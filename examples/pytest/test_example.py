"""What a host test looks like with the quecsim pytest plugin: the module's power-up lines, an
AT exchange, a file downloaded through the FTP service, and a fault injected live.

    PYTHONPATH=python /usr/bin/python3 -m pytest examples/pytest --quecsim-bin=build/sim/quecsim
"""

import hashlib
import os

import pytest

POWER_UP = [b"RDY", b"+CFUN: 1", b"+CPIN: READY", b"Call Ready", b"SMS Ready"]


def lines_until(port, last):
    """Non-empty lines read from `port` up to and including `last` (or a final result)."""
    lines = []
    while True:
        raw = port.readline()
        assert raw.endswith(b"\r\n"), "no complete line after %r (got %r)" % (lines, raw)
        line = raw.strip()
        if line:
            lines.append(line)
        if line == last:
            return lines


def command(port, line, last=b"OK"):
    """Sends an AT command and returns the lines up to `last` (echo off)."""
    port.write(line + b"\r")
    return lines_until(port, last)


def start_session(port):
    assert lines_until(port, b"SMS Ready") == POWER_UP
    assert command(port, b"ATE0") == [b"ATE0", b"OK"]
    assert command(port, b'AT+QICSGP=1,"CMNET"') == [b"OK"]
    assert command(port, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:0") == [
        b"OK", b"+QFTPOPEN:0"]


def test_the_module_answers_at_commands(quecsim):
    assert lines_until(quecsim.port, b"SMS Ready") == POWER_UP
    assert command(quecsim.port, b"AT") == [b"AT", b"OK"]
    assert command(quecsim.port, b"ATI") == [b"ATI", b"Quectel_Ltd", b"Quectel_M95",
                                             b"Revision: M95FAR02A08", b"OK"]


@pytest.mark.quecsim(time_scale=0.05)
def test_a_file_in_the_ftp_root_downloads_byte_for_byte(quecsim):
    data = os.urandom(20000)
    (quecsim.ftp_root / "firmware.bin").write_bytes(data)
    port = quecsim.port
    start_session(port)
    assert command(port, b'AT+QFTPGET="firmware.bin"', b"CONNECT") == [b"OK", b"CONNECT"]
    received = port.read(len(data))
    assert hashlib.sha256(received).hexdigest() == hashlib.sha256(data).hexdigest()
    assert lines_until(port, b"+QFTPGET:20000") == [b"+QFTPGET:20000"]
    assert command(port, b"AT+QFTPCLOSE", b"+QFTPCLOSE:0") == [b"OK", b"+QFTPCLOSE:0"]


@pytest.mark.quecsim(time_scale=0.05)
def test_a_context_torn_down_live_fails_the_next_command(quecsim):
    port = quecsim.port
    start_session(port)
    reply = quecsim.control("pdp_deact")
    assert reply["ok"] is True
    # The network's notice, then the idle FTP session reports the context lost.
    assert lines_until(port, b"+QFTPERROR:-8") == [b"+PDP DEACT", b"+QFTPERROR:-8"]
    assert quecsim.control({"op": "state"})["pdp"]["local_ip"] is None
    assert command(port, b"AT+QFTPSTAT") == [b"+QFTPSTAT: CLOSED", b"OK"]
