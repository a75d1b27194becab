"""Helpers for the storage tests: a quecsim whose state folder (UFS, RAM, SD) is private, and
the checksum AT+QFUPL/AT+QFDWL print."""

import os
import shutil
import tempfile

from ftp_support import FtpTestCase


def xor_checksum(data):
    """The 16-bit XOR of big-endian words, an odd last byte high: AT+QFUPL/QFDWL's checksum,
    printed in lower-case hexadecimal."""
    value = 0
    for i in range(0, len(data) - 1, 2):
        value ^= (data[i] << 8) | data[i + 1]
    if len(data) % 2:
        value ^= data[-1] << 8
    return b"%x" % value


class StorageTestCase(FtpTestCase):
    """An FTP test with a private state folder (`self.state`)."""

    def setUp(self):
        super().setUp()
        self.state = tempfile.mkdtemp(prefix="quecsim-state-")
        self.addCleanup(shutil.rmtree, self.state, True)

    def start_storage(self, *args, model="M33", **kwargs):
        return self.start_ftp("--state-dir", self.state, "--model", model, "--latency", "0",
                              *args, **kwargs)

    def area(self, name):
        """The host folder of an area: ufs, ram, or sd (its Picture folder)."""
        if name == "sd":
            return os.path.join(self.state, "sd", "Picture")
        return os.path.join(self.state, name)

    def put_local(self, area, name, data):
        path = os.path.join(self.area(area), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def local(self, area, name):
        with open(os.path.join(self.area(area), name), "rb") as f:
            return f.read()

    def local_exists(self, area, name):
        return os.path.lexists(os.path.join(self.area(area), name))
