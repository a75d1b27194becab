"""A property test of the storage flows: random files (0 to 1 MiB), local positions (UFS, RAM,
SD, with and without a file name), resume points and splits into parts, uploaded from the
module's storage and downloaded into it through the FTP service (the embedded quecsim-ftpd),
then read back with the file commands. Every result must be byte-identical (SHA-256) on both
sides, and every error case answered with its code.

It prints its seed (QUECSIM_STORAGE_SEED repeats a run; QUECSIM_STORAGE_CASES changes the
count, 2000 by default, 500 under the sanitizers; the default seed is fixed); a failure names the case that failed, with everything needed to
replay it."""

import hashlib
import os
import random
import sys
import unittest

from ftp_support import OK, crlf
from storage_support import StorageTestCase, xor_checksum

# Under the sanitizers (ctest stretches timeouts there) every case costs several times more:
# the sanitizer run takes a quarter of the cases, the plain run all 2000.
CASES = int(os.environ.get("QUECSIM_STORAGE_CASES",
                           "2000" if float(os.environ.get("QUECSIM_TIMEOUT_FACTOR", "1")) <= 1
                           else "500"))
MIB = 1 << 20
RAM_CAPACITY = 512000
RAM_GET_RESERVE = 102400


def cme(n):
    return crlf(b"+CME ERROR: %d" % n)


def sha(data):
    return hashlib.sha256(data).hexdigest()


class StorageProperty(StorageTestCase):

    def setUp(self):
        super().setUp()
        seed = os.environ.get("QUECSIM_STORAGE_SEED")
        # A fixed default, so a run on a clean machine is repeatable; set the variable to
        # explore other seeds.
        self.seed = int(seed) if seed else 20261129
        print("storage property test: seed %d, %d cases" % (self.seed, CASES), file=sys.stderr)

    def test_random_files_positions_resume_points_and_parts(self):
        rng = random.Random(self.seed)
        sim = self.start_storage()
        sim.command(b"AT+CMEE=1", OK)
        self.result(sim, b'AT+QFTPOPEN="ftp.example.com",21', b"+QFTPOPEN:0")
        counts = {"cases": 0, "errors": 0}
        for i in range(CASES):
            case = Case(self, sim, rng, i)
            try:
                case.run()
            except AssertionError as e:
                raise AssertionError("seed %d, case %d failed: %s\nsteps so far:\n  %s\n%s"
                                     % (self.seed, i, case.describe(), "\n  ".join(case.steps),
                                        e)) from None
            counts["cases"] += 1
            counts["errors"] += case.errors
        print("storage property test: %(cases)d cases, %(errors)d error cases answered" % counts,
              file=sys.stderr)
        self.assertGreater(counts["errors"], 0)
        sim.close()


def random_size(rng):
    """0 to 1 MiB, spread over the orders of magnitude (small files are the common case; every
    run still has files near 1 MiB)."""
    pick = rng.random()
    if pick < 0.05:
        return rng.choice([0, 1, 2, MIB, MIB - 1, RAM_GET_RESERVE, RAM_GET_RESERVE + 1])
    return min(MIB, int(2 ** rng.uniform(0, 20.0001)))


def cuts(rng, size, parts):
    """`parts` ranges covering [0, size), in order."""
    points = sorted(rng.randint(0, size) for _ in range(parts - 1))
    edges = [0] + points + [size]
    return [(edges[k], edges[k + 1]) for k in range(parts)]


class Case:
    AREAS = {"ufs": b"UFS", "ram": b"RAM", "sd": b"SD"}
    PREFIX = {"ufs": b"", "ram": b"RAM:", "sd": b"SD:"}

    def __init__(self, test, sim, rng, index):
        self.t = test
        self.sim = sim
        self.rng = rng
        self.i = index
        self.size = random_size(rng)
        self.data = rng.randbytes(self.size)
        self.src_area = rng.choice(["ufs", "ram", "sd"])
        self.dst_area = rng.choice(["ufs", "ram", "sd"])
        self.named = rng.random() < 0.5
        self.up_parts = rng.randint(1, 4) if self.size else 1
        self.down_parts = rng.randint(1, 4) if self.size else 1
        self.src = b"s%d.bin" % index
        self.dst = b"d%d.bin" % index
        self.remote = (b"r%d.bin" % index) if self.named else self.src
        self.errors = 0
        self.steps = []

    def describe(self):
        return ("size %d, from %s%s (%s position), %d upload parts, into %s%s, %d download parts"
                % (self.size, self.PREFIX[self.src_area].decode(), self.src.decode(),
                   "named" if self.named else "area", self.up_parts,
                   self.PREFIX[self.dst_area].decode(), self.dst.decode(), self.down_parts))

    # ---- exchanges ----------------------------------------------------------------------------

    def command(self, line, response):
        self.steps.append(line.decode("latin-1"))
        self.sim.command(line, response)

    def result(self, line, urc):
        self.steps.append("%s -> %s" % (line.decode("latin-1"), urc.decode()))
        self.t.result(self.sim, line, urc)

    def cfg(self, line):
        self.result(line, b"+QFTPCFG:0")

    def length(self, n):
        self.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: %d" % n) + OK)

    # ---- the case -----------------------------------------------------------------------------

    def run(self):
        if self.make_source():
            self.upload()
            self.download()
        self.command(b'AT+QFDEL="%s*"' % self.PREFIX[self.src_area], OK)
        self.command(b'AT+QFDEL="%s*"' % self.PREFIX[self.dst_area], OK)
        for name in (self.remote,):
            path = os.path.join(self.t.root, name.decode())
            if os.path.exists(path):
                os.unlink(path)

    def make_source(self):
        """The file to upload, in its area: over the UART (AT+QFUPL) for RAM and now and then
        for the others, else written into the area's folder by the host."""
        name = self.PREFIX[self.src_area] + self.src
        if self.src_area == "ram" or self.rng.random() < 0.2:
            if self.size == 0:
                self.command(b'AT+QFOPEN="%s",1' % name, crlf(b"+QFOPEN: %d" % self.next_handle())
                             + OK)
                self.command(b"AT+QFCLOSE=%d" % self.handle, OK)
                return True
            free = RAM_CAPACITY if self.src_area == "ram" else 2 * MIB
            if self.size > free:
                # An error case: the area cannot hold the file.
                self.command(b'AT+QFUPL="%s",%d,50' % (name, self.size), cme(4002))
                self.errors += 1
                return False
            self.command(b'AT+QFUPL="%s",%d,50' % (name, self.size), crlf(b"CONNECT"))
            self.sim.send(self.data)
            self.sim.expect(crlf(b"+QFUPL: %d,%s" % (self.size, xor_checksum(self.data))) + OK,
                            timeout=30)
        else:
            self.t.put_local(self.src_area, self.src.decode(), self.data)
        return True

    handle_counter = 0

    def next_handle(self):
        Case.handle_counter += 1
        self.handle = Case.handle_counter
        return self.handle

    def upload(self):
        area = self.AREAS[self.src_area]
        self.cfg(b'AT+QFTPCFG=4,"/%s/%s"' % (area, self.src if self.named else b""))
        for k, (start, end) in enumerate(cuts(self.rng, self.size, self.up_parts)):
            last = k == self.up_parts - 1
            if end == start and not last:
                continue  # nothing to send: <fileSz> 0 would mean "the rest"
            if self.rng.random() < 0.05:
                # An error case: a resume point past the local file's end.
                self.cfg(b"AT+QFTPCFG=3,%d" % (self.size + 1 + self.rng.randint(0, 99)))
                self.result(b'AT+QFTPPUT="%s",1' % self.remote, b"+QFTPPUT:-12")
                self.errors += 1
            if start:
                self.cfg(b"AT+QFTPCFG=3,%d" % start)
            # The last part sometimes asks for more than there is, or for 0 (all of the rest).
            ask = end - start
            if last and self.rng.random() < 0.4:
                ask = self.rng.choice([0, ask + self.rng.randint(1, 5000)])
            self.result(b'AT+QFTPPUT="%s",%d,900' % (self.remote, ask),
                        b"+QFTPPUT:%d" % (end - start))
            self.length(end - start)
        served = self.t.served(self.remote.decode())
        if sha(served) != sha(self.data):
            raise AssertionError("the server has %d bytes (SHA-256 %s), the module's file %d "
                                 "(%s)" % (len(served), sha(served), self.size, sha(self.data)))

    def download(self):
        area = self.AREAS[self.dst_area]
        if self.rng.random() < 0.05:
            # An error case: resuming into a file that is not there.
            self.cfg(b'AT+QFTPCFG=4,"/%s/missing.bin"' % area)
            self.cfg(b"AT+QFTPCFG=3,%d" % self.rng.randint(1, 1000))
            self.result(b'AT+QFTPGET="%s"' % self.remote, b"+QFTPGET:-11")
            self.errors += 1
        self.cfg(b'AT+QFTPCFG=4,"/%s/%s"' % (area, self.dst))
        if self.dst_area == "ram" and self.size > RAM_GET_RESERVE:
            # An error case: past the 102400 bytes a GET into RAM reserves.
            self.result(b'AT+QFTPGET="%s"' % self.remote, b"+QFTPGET:-12")
            self.length(0)
            self.command(b'AT+QFLST="RAM:%s"' % self.dst, cme(4010))
            self.errors += 1
            return
        parts = [(s, e) for s, e in cuts(self.rng, self.size, self.down_parts) if e > s]
        if not parts:
            parts = [(0, 0)]
        for k, (start, end) in enumerate(parts):
            last = k == len(parts) - 1
            if start:
                if self.rng.random() < 0.05:
                    # An error case: the local file is shorter than the resume point.
                    self.cfg(b"AT+QFTPCFG=3,%d" % (start + 1 + self.rng.randint(0, 99)))
                    self.result(b'AT+QFTPGET="%s"' % self.remote, b"+QFTPGET:-12")
                    self.errors += 1
                self.cfg(b"AT+QFTPCFG=3,%d" % start)
            if end == start or (last and self.rng.random() < 0.5):
                line = b'AT+QFTPGET="%s"' % self.remote
            else:
                line = b'AT+QFTPGET="%s",%d' % (self.remote, end - start)
            self.result(line, b"+QFTPGET:%d" % (end - start))
            self.length(end - start)
        self.read_back()

    def read_back(self):
        """The downloaded file through the file commands: AT+QFOPEN/AT+QFREAD in random pieces,
        or AT+QFDWL with its checksum."""
        name = self.PREFIX[self.dst_area] + self.dst
        if self.rng.random() < 0.3:
            self.command(b'AT+QFDWL="%s"' % name, crlf(b"CONNECT"))
            got = self.sim.expect(self.data, timeout=30) if self.data else b""
            self.sim.expect(crlf(b"+QFDWL: %d,%s" % (self.size, xor_checksum(self.data))) + OK)
        else:
            self.command(b'AT+QFOPEN="%s",2' % name, crlf(b"+QFOPEN: %d" % self.next_handle())
                         + OK)
            got = b""
            while True:
                piece = self.rng.choice([1, 100, 1024, 65536, 300000])
                n = min(piece, self.size - len(got))
                self.command(b"AT+QFREAD=%d,%d" % (self.handle, piece), crlf(b"CONNECT %d" % n))
                got += self.sim.expect(self.data[len(got):len(got) + n], timeout=30)
                self.sim.expect(OK)
                if n == 0:
                    break
            self.command(b"AT+QFCLOSE=%d" % self.handle, OK)
        if sha(got) != sha(self.data):
            raise AssertionError("read back %d bytes (SHA-256 %s), expected %d (%s)"
                                 % (len(got), sha(got), self.size, sha(self.data)))


if __name__ == "__main__":
    unittest.main()
