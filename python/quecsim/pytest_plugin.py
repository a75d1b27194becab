"""A pytest plugin that runs quecsim, the simulated Quectel module, for each test.

Enable it with `-p quecsim.pytest_plugin` on the command line or `pytest_plugins =
["quecsim.pytest_plugin"]` in the top-level conftest.py (python/ on PYTHONPATH). Then:

    import pytest

    @pytest.mark.quecsim("--model", "M10", scenario="faults.json", time_scale=0.01)
    def test_modem(quecsim):
        quecsim.port.write(b"AT\\r")                # a pyserial Serial on the module's pty
        quecsim.control("pdp_deact", refuse_ms=500)  # a live fault through the control socket

Fixtures:
  quecsim          one module, configured by the test's `quecsim` marker (if any).
  quecsim_factory  `quecsim_factory(*args, **options)` starts another module; every module a
                   test started is stopped when the test ends.

Each module runs with `--ready-json --boot-delay 0`, its own FTP root, state folder, control
socket and transcript under the test's tmp_path. It is stopped with SIGTERM; an exit code other
than 0 (3: a scenario's expectations failed) fails the test with quecsim's message. A failed
test's report names the transcript (a "quecsim" section, and a `quecsim_transcript` property in
JUnit XML).

Options: --quecsim-bin (or $QUECSIM_BIN, else `quecsim` on PATH), --quecsim-time-scale,
--quecsim-timeout.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import serial

from .control import Control

__all__ = ["Module", "ModuleError"]

# Options a `quecsim` marker and quecsim_factory take besides the extra command-line arguments.
_OPTIONS = ("args", "scenario", "model", "time_scale", "baud", "boot_delay", "power_up_lines")
# A Unix socket path longer than this is refused by the kernel (sun_path holds 108 bytes).
_MAX_SOCKET_PATH = 100
_MODULES = pytest.StashKey()


class ModuleError(Exception):
    """quecsim could not start, or ended badly."""


class _Port(serial.Serial):
    """pyserial's Serial, except that opening it keeps what already waits in the pty.

    pyserial discards pending input when it opens a port. The module sends its power-up lines
    the boot delay after the host's first open; with no boot delay, RDY comes at once and a
    discard on open could lose it."""

    _keep_input = False

    def open(self):
        self._keep_input = True
        try:
            super().open()
        finally:
            self._keep_input = False

    def _reset_input_buffer(self):
        if not self._keep_input:
            super()._reset_input_buffer()


class Module:
    """One running quecsim and the host's side of it.

    port:      a pyserial Serial on the pty (115200 8N1 as the host configures it; `timeout`
               seconds per read), opened after start so the power-up lines are readable on it.
    ftp_root:  the folder the embedded FTP server serves (a pathlib.Path).
    state_dir: the module's storage (ufs/, ram/, sd/Picture/).
    transcript: the JSON Lines transcript; control_path: the control socket; ready: the ready
    line as a dict; pty: the pty's path; argv: the command line. With "--tcp-listen", "0" among
    the args `port` is pyserial's socket:// to the module instead (pty None); with another
    endpoint (docs/attach.md) `port` is None and the test attaches its host itself. endpoint:
    the ready line's "endpoint".
    """

    def __init__(self, binary, workdir, args=(), scenarios=(), model=None, time_scale=None,
                 baud=0, boot_delay=0, power_up_lines=True, timeout=10.0):
        self.workdir = workdir
        self.timeout = timeout
        self.ftp_root = workdir / "ftp"
        self.state_dir = workdir / "state"
        self.transcript = workdir / "transcript.jsonl"
        self.stderr_path = workdir / "stderr.log"
        self.control_path = workdir / "quecsim.ctl"
        self._socket_dir = None
        if len(os.fsencode(self.control_path)) > _MAX_SOCKET_PATH:
            self._socket_dir = tempfile.mkdtemp(prefix="quecsim-ctl-")
            self.control_path = self._socket_dir + "/quecsim.ctl"
        self.exit_code = None
        self.port = None
        self._control = None
        self.proc = None
        argv = [os.fspath(binary), "--ready-json", "--ftp-root", self.ftp_root,
                "--state-dir", self.state_dir, "--transcript", self.transcript,
                "--control", self.control_path]
        if boot_delay is not None:
            argv += ["--boot-delay", boot_delay]
        if baud is not None:
            argv += ["--baud", baud]
        if time_scale is not None:
            argv += ["--time-scale", time_scale]
        if model is not None:
            argv += ["--model", model]
        if not power_up_lines:
            argv.append("--no-power-up-lines")
        for scenario in scenarios:
            argv += ["--scenario", scenario]
        argv += list(args)
        self.argv = [os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in argv]
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr)
        try:
            self.ready = self._read_ready()
            self.pty = self.ready["pty"]
            self.endpoint = self.ready.get("endpoint") or {"kind": "pty", "path": self.pty}
            if self.pty is not None:
                self.port = _Port(self.pty, 115200, timeout=timeout, write_timeout=timeout)
            elif self.endpoint["kind"] == "tcp-listen":
                # With "--tcp-listen", "0": pyserial's socket:// to the module's port.
                self.port = serial.serial_for_url(
                    "socket://127.0.0.1:%d" % self.endpoint["port"], timeout=timeout,
                    write_timeout=timeout)
        except BaseException:
            self.kill()
            raise

    def _read_ready(self):
        deadline = time.monotonic() + self.timeout
        line = b""
        out = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                raise ModuleError("quecsim printed no ready line within %.1f s: %s"
                                  % (self.timeout, self.stderr() or "(no message)"))
            chunk = os.read(out, 4096)
            if not chunk:
                self.proc.wait(self.timeout)
                raise ModuleError("quecsim exited with code %d before it was ready: %s"
                                  % (self.proc.returncode, self.stderr() or "(no message)"))
            line += chunk
        return json.loads(line)

    def stderr(self):
        """What quecsim wrote on stderr so far."""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace").strip()

    @property
    def ftp_port(self):
        """The embedded FTP server's port (None without one)."""
        return (self.ready.get("ftp") or {}).get("port")

    def control(self, request, **params):
        """Sends one control request and returns the reply dict: a request dict
        (`{"op": "state"}`), or an action name with its parameters
        (`control("close_data", mode="reset")` applies that fault now). Raises
        quecsim.control.ControlError on an error reply."""
        if self._control is None:
            self._control = Control(self.control_path, timeout=self.timeout)
        if isinstance(request, dict):
            if params:
                raise TypeError("control(dict) takes no keyword parameters")
            return self._control.request(request)
        return self._control.apply(request, **params)

    def control_client(self, timeout=None):
        """A new quecsim.control.Control on this module's socket (for subscribe()); the caller
        closes it."""
        return Control(self.control_path, timeout=self.timeout if timeout is None else timeout)

    def stop(self):
        """Closes the port and the control connection, ends quecsim with SIGTERM and returns its
        exit code. Raises ModuleError when it does not exit in time or exits with a code other
        than 0 (3: a scenario's expectations did not hold), with quecsim's message."""
        if self.exit_code is not None:
            return self.exit_code
        self._close_clients()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ModuleError("quecsim did not exit within %.1f s of SIGTERM" % self.timeout)
        self._release()
        if self.exit_code == 3:
            raise ModuleError("quecsim exited with code 3: a scenario's expectations did not "
                              "hold:\n%s" % self.stderr())
        if self.exit_code != 0:
            raise ModuleError("quecsim exited with code %d: %s"
                              % (self.exit_code, self.stderr() or "(no message)"))
        return self.exit_code

    def kill(self):
        """Ends quecsim at once if it still runs (cleanup after an error)."""
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._release()

    def _close_clients(self):
        if self.port is not None and self.port.is_open:
            self.port.close()
        if self._control is not None:
            self._control.close()
            self._control = None

    def _release(self):
        if self.proc is not None and self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()
        if self._socket_dir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)


# ---- pytest hooks -----------------------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("quecsim", "quecsim, the simulated Quectel module")
    group.addoption("--quecsim-bin", metavar="PATH",
                    help="the quecsim binary (default: $QUECSIM_BIN, else quecsim on PATH)")
    group.addoption("--quecsim-time-scale", metavar="X",
                    help="--time-scale for every module a marker does not set (default: 1)")
    group.addoption("--quecsim-timeout", metavar="SECONDS", default="10",
                    help="bound on starting, stopping, each port read and each control reply "
                         "(default: 10)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "quecsim(*args, scenario=None, model=None, time_scale=None, baud=0, "
        "boot_delay=0, power_up_lines=True): how the quecsim fixture starts the module "
        "(args: extra command-line arguments; scenario: a file or a list of files, relative "
        "to the test file's folder)")
    binary = config.getoption("--quecsim-bin")
    if binary is not None and not os.access(binary, os.X_OK):
        raise pytest.UsageError("--quecsim-bin: %s is not an executable file" % binary)
    _number(config, "--quecsim-time-scale", allow_none=True)
    _number(config, "--quecsim-timeout")


def _number(config, option, allow_none=False):
    value = config.getoption(option)
    if value is None and allow_none:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number <= 0:
        raise pytest.UsageError("%s: expected a positive number, got %r" % (option, value))
    return number


def _binary(config):
    binary = config.getoption("--quecsim-bin") or os.environ.get("QUECSIM_BIN")
    if binary:
        if not os.access(binary, os.X_OK):
            raise ModuleError("QUECSIM_BIN: %s is not an executable file" % binary)
        return binary
    found = shutil.which("quecsim")
    if not found:
        raise ModuleError("no quecsim binary: pass --quecsim-bin PATH or set QUECSIM_BIN")
    return found


def _scenarios(node, value):
    if value is None:
        return []
    paths = [value] if isinstance(value, (str, os.PathLike)) else list(value)
    base = node.path.parent
    return [p if os.path.isabs(p) else base / p for p in paths]


@pytest.fixture
def quecsim_factory(request, tmp_path):
    """Starts modules: `quecsim_factory(*args, scenario=..., model=..., time_scale=...,
    baud=0, boot_delay=0, power_up_lines=True)` returns a running Module. Each gets its own
    folder under tmp_path; all are stopped when the test ends."""
    config = request.config
    modules = request.node.stash.setdefault(_MODULES, [])

    def start(*args, **options):
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValueError("unknown option(s) %s; known: %s"
                            % (", ".join(unknown), ", ".join(_OPTIONS)))
        args = list(args) + list(options.pop("args", []) or [])
        scenarios = _scenarios(request.node, options.pop("scenario", None))
        if options.get("time_scale") is None:
            options["time_scale"] = config.getoption("--quecsim-time-scale")
        workdir = tmp_path / ("quecsim" if not modules else "quecsim-%d" % (len(modules) + 1))
        workdir.mkdir()
        module = Module(_binary(config), workdir, args=args, scenarios=scenarios,
                        timeout=_number(config, "--quecsim-timeout"), **options)
        modules.append(module)
        return module

    yield start
    failures = []
    for module in modules:
        try:
            module.stop()
        except ModuleError as e:
            failures.append("%s (transcript: %s)" % (e, module.transcript))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
def quecsim(request, quecsim_factory):
    """One running module, started as the test's `quecsim` marker says."""
    marker = request.node.get_closest_marker("quecsim")
    args, options = ((), {}) if marker is None else (marker.args, dict(marker.kwargs))
    try:
        return quecsim_factory(*args, **options)
    except ValueError as e:
        pytest.fail("@pytest.mark.quecsim: %s" % e, pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    modules = item.stash.get(_MODULES, [])
    for number, module in enumerate(modules, 1):
        name = "quecsim_transcript" if number == 1 else "quecsim_transcript_%d" % number
        prop = (name, os.fspath(module.transcript))
        for holder in (item.user_properties, report.user_properties):
            if prop not in holder:
                holder.append(prop)
    if modules:
        report.sections.append(
            ("quecsim", "\n".join("transcript: %s\nstderr: %s\ncommand: %s"
                                  % (m.transcript, m.stderr_path, " ".join(m.argv))
                                  for m in modules)))
