"""Interop: the storage flows (4.2.2, 4.2.3, 4.3.2, 4.3.3, both resume examples with a stored
file, and a download into RAM read back with AT+QFOPEN/AT+QFREAD) against pyftpdlib and
vsftpd, as test_storage_examples.py runs them against quecsim-ftpd. quecsim runs without its
embedded server; the exact lines the host sees and the SHA-256 on both sides are checked."""

import os
import shutil
import tempfile
import unittest

from ftp_support import OK, crlf, payload, sha256
from harness import QuecsimTestCase, TIMEOUT
from third_party import PyftpdlibServer, ServerPerClass, VsftpdServer

HOST = b"ftp.example.com"


class StorageInteropFlows(ServerPerClass):
    """The flows; a subclass names `server_class`. The server runs for the whole class."""

    def setUp(self):
        super().setUp()
        self.server.clear()
        self.state = tempfile.mkdtemp(prefix="quecsim-state-")
        self.addCleanup(shutil.rmtree, self.state, True)

    def start_module(self):
        sim = self.start("--no-power-up-lines", "--no-embedded-ftp", "--resolve", "map",
                         "--host", "%s=127.0.0.1:%d" % (HOST.decode(), self.server.port),
                         "--time-scale", "0.02", "--model", "M33", "--state-dir", self.state)
        sim.echo_off()
        sim.command(b'AT+QFTPUSER="%s"' % self.server.user.encode(), OK)
        sim.command(b'AT+QFTPPASS="%s"' % self.server.password.encode(), OK)
        self.result(sim, b'AT+QFTPOPEN="%s",21' % HOST, b"+QFTPOPEN:0")
        self.result(sim, b'AT+QFTPPATH="%s"' % self.server.home.encode(), b"+QFTPPATH:0")
        return sim

    def result(self, sim, line, urc, timeout=TIMEOUT):
        sim.command(line, OK)
        sim.expect(crlf(urc), timeout)

    def length(self, sim, n):
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: %d" % n) + OK)

    def served(self, name):
        with open(os.path.join(self.server.root, name), "rb") as f:
            return f.read()

    def serve(self, name, data):
        with open(os.path.join(self.server.root, name), "wb") as f:
            f.write(data)

    def local(self, name):
        with open(os.path.join(self.state, "ufs", name), "rb") as f:
            return f.read()

    def put_local(self, name, data):
        os.makedirs(os.path.join(self.state, "ufs"), exist_ok=True)
        with open(os.path.join(self.state, "ufs", name), "wb") as f:
            f.write(data)

    def test_4_2_2_and_4_2_3_upload_from_ufs(self):
        data = payload(3000, seed=41)
        self.put_local("sscom.ini", data[:1587])
        self.put_local("test.txt", data)
        sim = self.start_module()
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(data[:1587]))
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/test.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="other.ini",5000,200', b"+QFTPPUT:3000")
        self.assertEqual(sha256(self.served("other.ini")), sha256(data))
        self.length(sim, 3000)
        sim.close()

    def test_4_3_2_and_4_3_3_download_into_ufs(self):
        data = payload(1587, seed=42)
        self.serve("sscom.ini", data)
        sim = self.start_module()
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:1587")
        self.assertEqual(sha256(self.local("sscom.ini")), sha256(data))
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/dwl.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:1587")
        self.assertEqual(sha256(self.local("dwl.txt")), sha256(data))
        self.length(sim, 1587)
        sim.close()

    def test_download_into_ram_read_back_with_the_file_commands(self):
        data = payload(5000, seed=43)
        self.serve("r.bin", data)
        sim = self.start_module()
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="r.bin"', b"+QFTPGET:5000")
        sim.command(b'AT+QFOPEN="RAM:r.bin",2', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+QFREAD=1,5000", crlf(b"CONNECT 5000"))
        self.assertEqual(sha256(sim.expect(data)), sha256(data))
        sim.expect(OK)
        sim.command(b"AT+QFCLOSE=1", OK)
        sim.close()

    def test_4_5_resume_with_a_stored_file(self):
        local = payload(5120, seed=44)
        self.put_local("sscom.ini", local)
        sim = self.start_module()
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",2000,200', b"+QFTPPUT:2000")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(local[:3587]))
        # Download it back into another file in two parts: 1587 bytes, then from 1587.
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/back.ini"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini",1587', b"+QFTPGET:1587")
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:2000")
        self.assertEqual(sha256(self.local("back.ini")), sha256(local[:3587]))
        self.length(sim, 2000)
        sim.close()


class StorageAgainstPyftpdlib(StorageInteropFlows, QuecsimTestCase):
    server_class = PyftpdlibServer


class StorageAgainstVsftpd(StorageInteropFlows, QuecsimTestCase):
    server_class = VsftpdServer


if __name__ == "__main__":
    unittest.main()
