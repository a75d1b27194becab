"""FTP servers nobody here wrote, started on 127.0.0.1 for the interop tests: pyftpdlib (through
tests/support/pyftpd.py) and vsftpd (Debian's package, a foreground process with a generated
configuration). Standard library only, for Debian's /usr/bin/python3.

    server = VsftpdServer()          # or PyftpdlibServer()
    reason = server.unavailable()    # None, or why it cannot run here (the test skips)
    server.start()
    ... AT+QFTPOPEN to server.port, log in as server.user / server.password ...
    server.clear()                   # empties the served folder between tests
    server.stop()

Each server serves its own temporary folder (`root`); `home` is what AT+QFTPPATH names that
folder by once logged in ("/" where the server chroots, the real path where it cannot).
Both are started so that they die with the test process (PR_SET_PDEATHSIG), and in their own
process group, which stop() ends.
"""

import ctypes
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

__all__ = ["PyftpdlibServer", "VsftpdServer", "free_port"]

_TIMEOUT_FACTOR = float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1"))
_START_TIMEOUT = 10.0 * _TIMEOUT_FACTOR
_HERE = os.path.dirname(os.path.abspath(__file__))
PYFTPD = os.path.normpath(os.path.join(_HERE, "..", "support", "pyftpd.py"))
VSFTPD = "/usr/sbin/vsftpd"
PYTHON = "/usr/bin/python3"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM when the test process dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class _Server:
    name = "?"
    user = ""
    password = ""

    def __init__(self, idle_timeout=300):
        self.idle_timeout = idle_timeout  # seconds of control silence before the server's 421
        self.proc = None
        self.port = None
        self._tmp = tempfile.mkdtemp(prefix="quecsim-%s-" % self.name)
        self.root = os.path.join(self._tmp, "root")
        os.mkdir(self.root)
        self.home = "/"

    def unavailable(self):
        """None when the server can run here, else the reason it cannot."""
        return None

    def clear(self):
        """Empties the served folder (the server keeps running)."""
        for entry in os.listdir(self.root):
            path = os.path.join(self.root, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)

    def stop(self):
        """Ends the server's process group and deletes its folder. Safe to call twice."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(5 * _TIMEOUT_FACTOR)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream:
                    stream.close()
            self.proc = None
        if self._tmp and not os.environ.get("QUECSIM_KEEP_TMP"):
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _popen(self, argv, **kwargs):
        # stderr goes to a file: a pipe nobody reads could fill and stall the server.
        self._stderr_path = os.path.join(self._tmp, "stderr")
        with open(self._stderr_path, "wb") as err:
            return subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent,
                                    stdout=subprocess.PIPE, stderr=err, **kwargs)

    def stderr_text(self):
        """What the server wrote on stderr so far."""
        try:
            with open(self._stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace").strip()
        except (OSError, AttributeError):
            return ""


class PyftpdlibServer(_Server):
    """pyftpdlib (Debian's python3-pyftpdlib) with the manual's account quectel / 123456."""

    name = "pyftpdlib"
    user = "quectel"
    password = "123456"

    def unavailable(self):
        if not os.access(PYTHON, os.X_OK):
            return "%s not found" % PYTHON
        probe = subprocess.run([PYTHON, "-c", "import pyftpdlib"], capture_output=True,
                               check=False)
        if probe.returncode != 0:
            return "python3-pyftpdlib is not installed (scripts/install-deps installs it)"
        return None

    def start(self):
        # The launcher prints "PORT <n>" once it listens, and stops when its stdin closes.
        self.proc = self._popen([PYTHON, PYFTPD, self.root, "--user", self.user,
                                 "--password", self.password,
                                 "--idle-timeout", str(self.idle_timeout)],
                                stdin=subprocess.PIPE)
        line = b""
        deadline = time.monotonic() + _START_TIMEOUT
        out = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                self.stop()
                raise RuntimeError("pyftpdlib printed no port within %.0fs" % _START_TIMEOUT)
            chunk = os.read(out, 256)
            if not chunk:
                err = self.stderr_text()
                self.stop()
                raise RuntimeError("pyftpdlib exited before listening: %s" % err)
            line += chunk
        if not line.startswith(b"PORT "):
            self.stop()
            raise RuntimeError("pyftpdlib printed %r, not its port" % line)
        self.port = int(line.split()[1])
        return self


# vsftpd runs as the launching user: as root it could chroot anonymous users, but then refuses
# a writable root folder ("refusing to run with writable root inside chroot()", which
# allow_writeable_chroot does not lift for anonymous users), and the manual's flows upload into
# the login folder. Without chroot, "/" is the real root, so `home` is the folder's real path.
# Local (non-anonymous) accounts would need PAM and a system user: the login is anonymous,
# which still goes through USER and PASS (331, then 230). The ASCII conversions are turned on
# so that TYPE A really converts line ends, as pyftpdlib does. The banner is multi-line.
_VSFTPD_CONF = """\
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
run_as_launching_user=YES
seccomp_sandbox=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=NO
anon_root={root}
secure_chroot_dir={empty}
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
pasv_enable=YES
pasv_address=127.0.0.1
port_enable=YES
connect_from_port_20=NO
ascii_upload_enable=YES
ascii_download_enable=YES
banner_file={banner}
xferlog_enable=NO
syslog_enable=NO
vsftpd_log_file={log}
idle_session_timeout={idle}
data_connection_timeout=60
"""


class VsftpdServer(_Server):
    """vsftpd 3 (Debian's package) in the foreground, anonymous access with write rights."""

    name = "vsftpd"
    user = "anonymous"
    password = "quectel@example.com"
    banner_lines = ("quecsim interop: vsftpd", "a multi-line greeting")

    def __init__(self, idle_timeout=300):
        super().__init__(idle_timeout)
        self.home = self.root

    def unavailable(self):
        if not os.access(VSFTPD, os.X_OK):
            return "%s not found: install Debian's vsftpd (scripts/install-deps does)" % VSFTPD
        return None

    def start(self):
        empty = os.path.join(self._tmp, "empty")
        os.makedirs(empty, exist_ok=True)
        banner = os.path.join(self._tmp, "banner")
        with open(banner, "w") as f:
            f.write("\n".join(self.banner_lines) + "\n")
        failures = []
        # The port is picked free, then vsftpd binds it: another process may take it in
        # between, so a bind failure retries with a new port.
        for _ in range(5):
            port = free_port()
            conf = os.path.join(self._tmp, "vsftpd.conf")
            with open(conf, "w") as f:
                f.write(_VSFTPD_CONF.format(port=port, root=self.root, empty=empty,
                                            banner=banner, log=os.path.join(self._tmp, "log"),
                                            idle=max(1, int(self.idle_timeout))))
            self.proc = self._popen([VSFTPD, conf], stdin=subprocess.DEVNULL)
            problem = self._await_greeting(port)
            if problem is None:
                self.port = port
                return self
            failures.append(problem)
            self._end_process()
            if "bind" not in problem:
                break
        self.stop()
        raise RuntimeError("vsftpd did not start: %s" % "; ".join(failures))

    def _end_process(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.proc = None

    def _await_greeting(self, port):
        """None once vsftpd greets a probe connection on `port`, else what went wrong."""
        deadline = time.monotonic() + _START_TIMEOUT
        delay = 0.005
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return "exited with %s: %s" % (self.proc.returncode, self.stderr_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=_START_TIMEOUT) as s:
                    greeting = b""
                    while b"\n220 " not in b"\n" + greeting:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        greeting += chunk
                    # Our own banner: on a busy machine another test's server may have taken
                    # the port between free_port() and vsftpd's bind (vsftpd then exits).
                    if greeting.startswith(b"220-" + self.banner_lines[0].encode()):
                        s.sendall(b"QUIT\r\n")
                        return None
                    return "greeted with %r (bind: the port was taken)" % greeting
            except ConnectionRefusedError:
                # Not listening yet: the process is starting (or about to fail). Wait for
                # it to exit, up to a short and growing interval.
                try:
                    self.proc.wait(delay)
                except subprocess.TimeoutExpired:
                    pass
                delay = min(delay * 2, 0.1)
        return "no greeting within %.0fs" % _START_TIMEOUT


class ServerPerClass:
    """A test-class mixin: the third-party server `server_class` names runs for the whole class
    (as `cls.server`); where that server cannot run, the class fails, saying why."""

    server_class = None
    server = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server_class()
        reason = server.unavailable()
        if reason:
            # scripts/install-deps installs every server named here: one that cannot run is a
            # broken machine, and a skip would let the suite pass without testing it.
            server.stop()
            raise AssertionError("%s cannot run here: %s" % (server.name, reason))
        server.start()
        cls.server = server

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()
            cls.server = None
        super().tearDownClass()
