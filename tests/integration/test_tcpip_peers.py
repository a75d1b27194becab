"""Real peers nobody here wrote, reached through the module's socket: mosquitto (an MQTT
session driven over AT+QISEND/AT+QIRD while mosquitto_sub and mosquitto_pub watch and talk
on the broker side) and Python's http.server (GET and POST bodies larger than one QISEND)."""

import http.server
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from harness import TIMEOUT, QuecsimTestCase, run_quecsim
from tcpip_support import FAST, OK, Reader, qisend


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop(proc):
    """Ends a peer's process (terminate, then kill) and closes its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


# ---- MQTT 3.1.1 packets, as firmware builds them ----------------------------------------------

def remaining(n):
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def utf8(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def packet(kind, body):
    return bytes([kind]) + remaining(len(body)) + body


def connect(client_id, keep_alive):
    return packet(0x10, utf8("MQTT") + b"\x04\x02" + struct.pack(">H", keep_alive) + utf8(client_id))


def subscribe(packet_id, topic, qos):
    return packet(0x82, struct.pack(">H", packet_id) + utf8(topic) + bytes([qos]))


def publish(topic, payload, qos=0, packet_id=0):
    body = utf8(topic) + (struct.pack(">H", packet_id) if qos else b"") + payload
    return packet(0x30 | (qos << 1), body)


def read_packet(reader):
    """One MQTT packet from the socket: (first byte, body)."""
    first = reader.take(1)[0]
    length, shift = 0, 0
    while True:
        b = reader.take(1)[0]
        length += (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return first, reader.take(length)


@unittest.skipUnless(shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"),
                     "mosquitto is not installed (scripts/install-deps installs it)")
class Mqtt(QuecsimTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="quecsim-mqtt-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.port = free_port()
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % self.port)
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.broker = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        self.addCleanup(stop, self.broker)
        # The broker says it is running once its listener is open.
        for line in self.broker.stderr:
            if b" running" in line:
                break
        else:
            raise AssertionError("mosquitto did not start")
        # Its later log lines are read and dropped, so the pipe never fills.
        threading.Thread(target=self.broker.stderr.read, daemon=True).start()

    def subscriber(self, topic, count):
        """mosquitto_sub, returned once the broker has confirmed its subscription."""
        # Line-buffered, so its debug line about the SUBACK arrives while it runs.
        sub = subprocess.Popen(["stdbuf", "-oL", "mosquitto_sub", "-d", "-h", "127.0.0.1",
                                "-p", str(self.port), "-t", topic, "-C", str(count), "-q", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.addCleanup(stop, sub)
        for line in sub.stdout:
            if b"SUBACK" in line:
                return sub
        raise AssertionError("mosquitto_sub ended before subscribing")

    def test_an_mqtt_session_through_the_module(self):
        sim = self.start_quiet(*FAST, "--host", "broker.example=127.0.0.1:%d" % self.port)
        sim.command(b"AT+QINDI=1", OK)
        sim.command(b'AT+QIOPEN="TCP","broker.example",1883', OK)
        sim.expect(b"\r\nCONNECT OK\r\n")
        reader = Reader(sim)

        qisend(sim, connect("quecsim-m95", 60))
        self.assertEqual(read_packet(reader), (0x20, b"\x00\x00"))  # CONNACK, accepted

        qisend(sim, subscribe(1, "quecsim/in", 1))
        self.assertEqual(read_packet(reader), (0x90, b"\x00\x01\x01"))  # SUBACK, QoS 1

        watcher = self.subscriber("quecsim/out", 2)
        qisend(sim, publish("quecsim/out", b"reading 0"))
        qisend(sim, publish("quecsim/out", b"reading 1", qos=1, packet_id=7))
        self.assertEqual(read_packet(reader), (0x40, b"\x00\x07"))  # PUBACK
        seen = [line for line in watcher.stdout.read().splitlines()
                if line.startswith(b"reading")]
        self.assertEqual(seen, [b"reading 0", b"reading 1"])

        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port),
                        "-t", "quecsim/in", "-q", "1", "-m", "set interval 30"],
                       check=True, timeout=TIMEOUT)
        first, body = read_packet(reader)
        self.assertEqual(first & 0xF0, 0x30)
        self.assertEqual((first >> 1) & 3, 1)
        self.assertEqual(body[:12], utf8("quecsim/in"))
        packet_id = body[12:14]
        self.assertEqual(body[14:], b"set interval 30")
        qisend(sim, packet(0x40, packet_id))  # PUBACK

        qisend(sim, b"\xc0\x00")  # PINGREQ
        self.assertEqual(read_packet(reader), (0xD0, b""))  # PINGRESP

        qisend(sim, b"\xe0\x00")  # DISCONNECT: the broker closes
        self.assertEqual(reader.until_closed(), b"")
        sim.command(b"AT+QISTAT", OK + b"\r\nSTATE: IP CLOSE\r\n")

    def test_the_session_recovers_from_a_pdp_teardown_and_a_reset(self):
        control = os.path.join(self.dir, "q.ctl")
        sim = self.start_quiet(*FAST, "--host", "broker.example=127.0.0.1:%d" % self.port,
                               "--control", control)
        sim.command(b"AT+QINDI=1", OK)
        watcher = self.subscriber("quecsim/out", 3)

        def session(n):
            """Opens the socket, connects to the broker and publishes reading n at QoS 1."""
            sim.notices = []
            sim.command(b'AT+QIOPEN="TCP","broker.example",1883', OK)
            sim.expect(b"\r\nCONNECT OK\r\n")
            reader = Reader(sim)
            qisend(sim, connect("quecsim-m95", 60))
            self.assertEqual(read_packet(reader), (0x20, b"\x00\x00"))  # CONNACK
            qisend(sim, publish("quecsim/out", b"reading %d" % n, qos=1, packet_id=n + 1))
            self.assertEqual(read_packet(reader), (0x40, struct.pack(">H", n + 1)))  # PUBACK

        def fault(action):
            result = run_quecsim("ctl", control, action)
            self.assertEqual(result.returncode, 0, result.stderr)

        session(0)
        # The network tears the packet context down: +PDP DEACT and no CLOSED; the drivers'
        # practice is AT+QIDEACT, then open again (the context comes back with the open).
        fault("pdp-deact")
        sim.expect(b"\r\n+PDP DEACT\r\n")
        sim.command(b"AT+QISTAT", OK + b"\r\nSTATE: PDP DEACT\r\n")
        sim.command(b"AT+QIDEACT", b"\r\nDEACT OK\r\n")
        session(1)
        # A NAT box loses its state: the connection is reset, the context stays up.
        fault("reset-connections")
        sim.expect(b"\r\nCLOSED\r\n")
        sim.command(b"AT+QISTAT", OK + b"\r\nSTATE: IP CLOSE\r\n")
        session(2)
        seen = [line for line in watcher.stdout.read().splitlines()
                if line.startswith(b"reading")]
        self.assertEqual(seen, [b"reading 0", b"reading 1", b"reading 2"])


# ---- HTTP/1.1 ---------------------------------------------------------------------------------

BODY = bytes((i * 7 + 3) % 256 for i in range(5000))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posted.append(body)
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[::-1])

    def log_message(self, *args):
        pass


class Http(QuecsimTestCase):
    def setUp(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.posted = []
        self.port = self.server.server_address[1]
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)

    def exchange(self, sim, request):
        sim.command(b'AT+QIOPEN="TCP","127.0.0.1",%d' % self.port, OK)
        sim.expect(b"\r\nCONNECT OK\r\n")
        qisend(sim, request)
        return Reader(sim).until_closed()

    def test_get_reads_back_a_body_larger_than_one_qird(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QINDI=1", OK)
        response = self.exchange(
            sim, b"GET /data HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n")
        head, body = response.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 OK\r\n"), head)
        self.assertIn(b"Content-Length: 5000", head)
        self.assertEqual(body, BODY)

    def test_post_sends_a_body_larger_than_one_qisend(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QINDI=1", OK)
        payload = bytes(range(256)) * 16  # 4096 bytes: three AT+QISEND
        request = (b"POST /upload HTTP/1.1\r\nHost: example\r\nConnection: close\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(payload)) + payload
        response = self.exchange(sim, request)
        self.assertEqual(self.server.posted, [payload])
        head, body = response.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 201 Created\r\n"), head)
        self.assertEqual(body, payload[::-1])


# ---- UDP ------------------------------------------------------------------------------------

@unittest.skipUnless(shutil.which("socat"), "socat is not installed (scripts/install-deps)")
class UdpEchoBySocat(QuecsimTestCase):
    """socat as the UDP echo peer: one child per datagram, each sending its datagram back."""

    def setUp(self):
        self.port = free_port()
        self.echo = subprocess.Popen(
            ["socat", "-T", "2", "UDP4-RECVFROM:%d,bind=127.0.0.1,fork" % self.port, "EXEC:cat"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop, self.echo)
        # Ready once its port is taken: a bind to it then fails.
        deadline = time.monotonic() + TIMEOUT
        while True:
            probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                break
            finally:
                probe.close()
            if time.monotonic() > deadline or self.echo.poll() is not None:
                raise AssertionError("socat did not take UDP port %d" % self.port)
            time.sleep(0.01)

    def test_datagrams_come_back_whole_one_per_read(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QINDI=2", OK)
        sim.command(b'AT+QIOPEN="UDP","127.0.0.1",%d' % self.port, OK)
        sim.expect(b"\r\nCONNECT OK\r\n")
        datagrams = [b"one", bytes(range(256)) * 5 + bytes(180), b"three\r\n\x1a"]
        total = 0
        for count, datagram in enumerate(datagrams, 1):
            qisend(sim, datagram)
            total += len(datagram)
            sim.expect(b"\r\n+QIRDI: 0,1,0,%d,%d,%d\r\n" % (count, len(datagram), total))
        for datagram in datagrams:
            sim.command(b"AT+QIRD=0,1,0,1500", b"\r\n+QIRD: 127.0.0.1:%d,UDP,%d\r\n%s"
                        % (self.port, len(datagram), datagram) + OK)
        sim.command(b"AT+QIRD=0,1,0,1500", OK)


if __name__ == "__main__":
    unittest.main()
