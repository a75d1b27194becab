"""--device and --attach-pty (docs/attach.md): the module's UART on a tty quecsim did not make.
A socat pty pair stands in for the cable of hardware in the loop (quecsim on one end, the host
with pyserial on the other); a pty the test makes stands in for an emulator's UART (Zephyr
native_sim's). The manual's chapter 4 flow over each; the device's line from the flags, AT+IPR
and AT+IFC; errors naming the device (missing, busy, no permission, not a tty)."""

import os
import shutil
import subprocess
import tempfile
import termios

import serial

from attach_support import ChapterFour, PyserialHost, SocatPair, endpoint, wait_for_stderr
from ftp_support import OK, crlf
from harness import TIMEOUT, _finish, quecsim_binary, run_quecsim
from quecsim.control import Control


class Device(ChapterFour):

    def setUp(self):
        super().setUp()
        folder = tempfile.mkdtemp(prefix="quecsim-cable-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.cable = SocatPair(folder)
        self.addCleanup(self.cable.close)

    def start(self, *args, **kwargs):
        sim = PyserialHost(*args, **kwargs)
        sim.test_id = self.id()
        self.addCleanup(_finish, sim)
        return sim

    def line(self):
        """The module side's termios, as the device has it now."""
        fd = os.open(self.cable.a, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            return termios.tcgetattr(fd)
        finally:
            os.close(fd)

    def await_line(self, check):
        """Waits (bounded) until the device's termios satisfies `check` (the module sets it
        right after its OK, which the host may read first)."""
        deadline = os.times().elapsed + TIMEOUT
        while not check(self.line()):
            if os.times().elapsed > deadline:
                raise AssertionError("the device's line never changed: %r" % (self.line(),))

    def test_chapter_4_over_a_null_modem_cable(self):
        sim = self.start_ftp("--device", self.cable.a, echo_off=False, transcript=True)
        self.assertEqual(endpoint(sim), {"kind": "device", "path": self.cable.a, "open": True,
                                         "format": "8N1", "baud": 115200,
                                         "flow_control": "none", "dcd": False})
        self.assertIsNone(sim.ready["pty"])
        sim.open_url(self.cable.b)
        sim.echo_off()
        self.chapter_four(sim)
        sim.close()
        self.assertIn(b'AT+QFTPGET="sscom.ini"\r', sim.transcript_bytes("rx"))

    def test_the_line_follows_the_flags_at_ipr_and_at_ifc(self):
        sim = self.start("--device", self.cable.a, "--baud", "57600", "--data-bits", "7",
                         "--parity", "E", "--stop-bits", "2", "--no-power-up-lines", baud=None)
        iflag, oflag, cflag, lflag, ispeed, ospeed, cc = self.line()
        # Linux's pty driver keeps CS8 without parity whatever is asked (a real UART takes
        # them); the stop bits it keeps.
        self.assertTrue(cflag & termios.CSTOPB)
        self.assertFalse(cflag & termios.CRTSCTS)
        self.assertEqual((ispeed, ospeed), (termios.B57600, termios.B57600))
        self.assertFalse(lflag & (termios.ICANON | termios.ECHO))  # raw
        self.assertEqual(endpoint(sim)["format"], "7E2")
        sim.open_url(self.cable.b)
        sim.command(b"AT+IFC=2,2", b"AT+IFC=2,2\r\r\nOK\r\n")
        self.await_line(lambda t: t[2] & termios.CRTSCTS)
        sim.command(b"AT+IFC=0,0", b"AT+IFC=0,0\r\r\nOK\r\n")
        self.await_line(lambda t: not t[2] & termios.CRTSCTS)
        sim.command(b"AT+IPR=9600", b"AT+IPR=9600\r\r\nOK\r\n")
        self.await_line(lambda t: t[5] == termios.B9600)
        sim.command(b"AT", b"AT\r\r\nOK\r\n")

    def control(self):
        folder = tempfile.mkdtemp(prefix="quecsim-ctl-")
        self.addCleanup(shutil.rmtree, folder, True)
        return os.path.join(folder, "ctl")

    def test_at_icf_sets_the_frame_after_its_ok(self):
        path = self.control()
        sim = self.start("--device", self.cable.a, "--control", path, "--no-power-up-lines")
        sim.open_url(self.cable.b)
        with Control(path) as ctl:
            for command, frame, two_stop in [(b"AT+ICF=1", "8N2", True),
                                             (b"AT+ICF=2,1", "8E1", False),
                                             (b"AT+ICF=4", "7N2", True),
                                             (b"AT+ICF=5,0", "7O1", False),
                                             (b"AT+ICF=3", "8N1", False)]:
                with self.subTest(command=command):
                    sim.command(command, command + b"\r\r\nOK\r\n")
                    self.await_line(lambda t: bool(t[2] & termios.CSTOPB) == two_stop)
                    self.assertEqual(ctl.state()["endpoint"]["format"], frame)

    def test_dcd_is_on_in_data_mode(self):
        path = self.control()
        sim = self.start_ftp("--device", self.cable.a, "--control", path, echo_off=False)
        sim.open_url(self.cable.b)
        sim.echo_off()
        self.open_service(sim)
        with Control(path) as ctl:
            self.assertFalse(ctl.state()["endpoint"]["dcd"])
            sim.command(b'AT+QFTPPUT="dcd.bin",10,200', OK)
            sim.expect(crlf(b"CONNECT"))
            self.assertTrue(ctl.state()["endpoint"]["dcd"])
            sim.send(b"0123456789")
            sim.expect(crlf(b"+QFTPPUT:10"))
            self.assertFalse(ctl.state()["endpoint"]["dcd"])

    def test_a_hangup_is_the_host_closing_and_the_device_is_opened_again(self):
        sim = self.start("--device", self.cable.a, "--no-power-up-lines")
        sim.open_url(self.cable.b)
        sim.command(b"ATE0", b"ATE0\r\r\nOK\r\n")
        sim.close_port()
        self.cable.close()  # the cable pulled: the module side hangs up
        wait_for_stderr(sim, "quecsim: --device %s: the line hung up; opening it again every "
                        "1000 ms\n" % self.cable.a)
        self.cable = SocatPair(os.path.dirname(self.cable.a))  # plugged in again
        self.addCleanup(self.cable.close)
        wait_for_stderr(sim, "quecsim: --device %s: open again\n" % self.cable.a)
        sim.open_url(self.cable.b)
        sim.command(b"AT", OK)  # echo still off: the module is as it was

    def test_errors_name_the_device(self):
        missing = "/dev/quecsim-no-such-tty"
        done = run_quecsim("--device", missing)
        self.assertEqual((done.returncode, done.stderr),
                         (1, "quecsim: --device %s: no such device\n" % missing))
        plain = os.path.join(os.path.dirname(self.cable.a), "plain-file")
        with open(plain, "w"):
            pass
        done = run_quecsim("--device", plain)
        self.assertEqual((done.returncode, done.stderr),
                         (1, "quecsim: --device %s: not a serial device (it is not a "
                          "terminal)\n" % plain))

    def test_a_device_another_program_holds_is_busy(self):
        busy = "quecsim: --device %s: busy: another program holds a lock on it\n" % self.cable.a
        # pyserial's exclusive=True takes the lock serial programs agree on (flock).
        with serial.Serial(self.cable.a, exclusive=True):
            done = run_quecsim("--device", self.cable.a)
            self.assertEqual((done.returncode, done.stderr), (1, busy))
        # So does a running quecsim.
        self.start("--device", self.cable.a)
        done = run_quecsim("--device", self.cable.a)
        self.assertEqual((done.returncode, done.stderr), (1, busy))

    def test_a_device_without_permission_says_so(self):
        device = self.cable.ptys[0].decode()
        os.chmod(device, 0o600)
        # As an unprivileged user (root opens anything): nobody.
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               quecsim_binary(), "--device", device], capture_output=True,
                              text=True, timeout=TIMEOUT, check=False, cwd="/tmp")
        self.assertEqual((done.returncode, done.stderr),
                         (1, "quecsim: --device %s: permission denied (quecsim needs to read "
                          "and write it: add the user to its group, e.g. dialout)\n" % device))

    def test_line_flags_need_a_device(self):
        done = run_quecsim("--parity", "E")
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertIn("--parity requires --device", done.stderr)


class AttachPty(ChapterFour):

    def emulator_pty(self):
        """A pty as an emulator makes one for its UART: the test keeps the master."""
        master, slave = os.openpty()
        path = os.ttyname(slave)
        os.close(slave)
        return master, path

    def test_chapter_4_on_a_pty_someone_else_made(self):
        master, path = self.emulator_pty()
        sim = self.start_ftp("--attach-pty", path, echo_off=False, open_port=False)
        self.assertEqual(endpoint(sim), {"kind": "attach-pty", "path": path, "open": True})
        os.set_blocking(master, False)
        sim.fd = master
        sim.echo_off()
        self.chapter_four(sim)

    def test_the_emulator_exiting_is_the_host_closing_its_port(self):
        master, path = self.emulator_pty()
        sim = self.start("--attach-pty", path, "--exit-on-close", "--no-power-up-lines",
                         open_port=False)
        os.set_blocking(master, False)
        sim.fd = master
        sim.command(b"AT", b"AT\r\r\nOK\r\n")
        sim.close_port()  # the emulator exits: its master closes
        self.assertEqual(sim.proc.wait(TIMEOUT), 0)
        wait_for_stderr(sim, "quecsim: --attach-pty %s: the line hung up" % path)
        sim.close()


if __name__ == "__main__":
    import unittest
    unittest.main()
