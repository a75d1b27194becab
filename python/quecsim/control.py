"""A client for quecsim's live control socket (JSON Lines over a Unix stream socket).

Standard library only, for Debian's /usr/bin/python3.

    from quecsim.control import Control

    with Control("/tmp/quecsim.ctl") as ctl:
        print(ctl.state()["ftp"]["state"])
        for event in ctl.subscribe(kinds=["state"], timeout=10):
            print(event["source"], event["data"])
"""

import json
import os
import socket
import time

__all__ = ["Control", "ControlError"]


class ControlError(Exception):
    """The server answered ok:false (`reply` holds the whole reply), or the connection failed."""

    def __init__(self, message, reply=None):
        super().__init__(message)
        self.reply = reply


class Control:
    """One connection to a quecsim control socket.

    path:    the socket (what `--ready-json` prints as "control").
    timeout: seconds to wait for each reply (and the default wait between events).
    """

    def __init__(self, path, timeout=10.0):
        self.path = os.fspath(path)
        self.timeout = timeout
        self._buffer = b""
        self._next_id = 1
        self._events = []  # events that arrived while waiting for a reply
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            raise ControlError("cannot connect to control socket %s: %s" % (self.path, e)) from e

    # ---- lifetime ----------------------------------------------------------------------------

    def close(self):
        """Closes the connection (a subscription ends with it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ----------------------------------------------------------------------------

    def request(self, request):
        """Sends one request (a dict with "op") and returns the reply dict. Raises ControlError
        when the reply says ok:false (its "error" is the message)."""
        request = dict(request)
        if "id" not in request:
            request["id"] = self._next_id
            self._next_id += 1
        self._send(request)
        deadline = time.monotonic() + self.timeout
        while True:
            message = self._read(deadline)
            if message is None:
                raise ControlError("control socket %s closed the connection before replying"
                                   % self.path)
            if "event" in message:
                # A subscription's events may come before the reply: keep them for subscribe().
                self._events.append(message)
                continue
            if message.get("id") != request["id"]:
                continue
            if message.get("ok") is not True:
                raise ControlError(message.get("error", "error reply: %r" % message), message)
            return message

    def ping(self):
        """Checks the process answers; returns the reply."""
        return self.request({"op": "ping"})

    def state(self):
        """The module's state: FTP service state, PDP context, UART mode and event counters."""
        return self.request({"op": "state"})

    def apply(self, action, **params):
        """Applies one fault action now: `apply("pdp_deact", refuse_ms=2000)` sends
        {"op":"apply","action":{"action":"pdp_deact","refuse_ms":2000}}."""
        body = {"action": action.replace("-", "_")}
        body.update(params)
        return self.request({"op": "apply", "action": body})

    def load(self, scenario):
        """Loads a fault scenario: a path to a JSON file or the scenario as a dict."""
        request = {"op": "load"}
        if isinstance(scenario, dict):
            request["scenario"] = scenario
        else:
            path = os.fspath(scenario)
            with open(path, "rb") as f:
                request["scenario"] = json.load(f)
            request["file"] = path
        return self.request(request)

    def unload(self, name):
        """Unloads the fault scenario called `name`."""
        return self.request({"op": "unload", "name": name})

    def subscribe(self, kinds=None, timeout=None):
        """Subscribes at once and returns an iterator over the events, each a dict
        ({"t","module","event","source","data"}, as the transcript writes them). `kinds` limits
        them (e.g. ["state", "fault"]). The iterator raises TimeoutError when no event comes
        within `timeout` seconds (default: the connection's timeout), ControlError when the
        server dropped this client for reading too slowly or the process ended."""
        request = {"op": "subscribe"}
        if kinds is not None:
            request["kinds"] = list(kinds)
        self.request(request)
        return self._event_stream(self.timeout if timeout is None else timeout)

    def unsubscribe(self):
        """Ends the subscription; events already sent are discarded."""
        reply = self.request({"op": "unsubscribe"})
        self._events = []
        return reply

    def _event_stream(self, wait):
        while True:
            if self._events:
                message = self._events.pop(0)
            else:
                message = self._read(time.monotonic() + wait, events_only=True)
                if message is None:
                    raise ControlError("control socket %s closed the connection" % self.path)
            if message.get("event") is None:
                raise ControlError(message.get("error", "dropped by the server"), message)
            yield message["event"]

    # ---- the wire ----------------------------------------------------------------------------

    def _send(self, message):
        if self._sock is None:
            raise ControlError("the connection to %s is closed" % self.path)
        data = json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            self._sock.sendall(data)
        except OSError as e:
            raise ControlError("control socket %s: %s" % (self.path, e)) from e

    def _read(self, deadline, events_only=False):
        """The next JSON line as a dict, None at the end of the stream. Raises TimeoutError
        at `deadline` (a time.monotonic() value)."""
        if self._sock is None:
            raise ControlError("the connection to %s is closed" % self.path)
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s from %s within the timeout"
                                   % ("event" if events_only else "reply", self.path))
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                raise ControlError("control socket %s: %s" % (self.path, e)) from e
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ControlError("control socket %s sent a line that is not an object: %r"
                               % (self.path, line))
        return message
