"""The manual's storage examples (4.2.2, 4.2.3, 4.3.2, 4.3.3 and both resume examples of 4.5
with a stored file), replayed over the real pty against the embedded quecsim-ftpd: the exact
lines the host sees, the bytes on both sides (SHA-256), and AT+QFTPLEN after each transfer."""

import unittest

from ftp_support import OK, crlf, payload, sha256
from storage_support import StorageTestCase


class StorageExamples(StorageTestCase):

    def open_service(self, sim):
        self.result(sim, b'AT+QFTPOPEN="quectel.3322.org",21', b"+QFTPOPEN:0")

    def length(self, sim, n):
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: %d" % n) + OK)

    def test_4_2_2_upload_a_file_in_ufs(self):
        data = payload(1587, seed=21)
        self.put_local("ufs", "sscom.ini", data)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPATH=""', b"+QFTPPATH:0")
        # No CONNECT: OK, then the result line.
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(data))
        self.length(sim, 1587)
        sim.close()

    def test_4_2_2_note_2_upload_a_file_in_ram_read_back_first(self):
        sim = self.start_storage()
        data = payload(1587, seed=22)
        # The file gets into RAM over the UART first (AT+QFUPL), as firmware does.
        sim.command(b'AT+QFUPL="RAM:sscom.ini",1587,50', crlf(b"CONNECT"))
        sim.send(data)
        sim.expect(crlf(b"+QFUPL: 1587,%s" % self.checksum(data)) + OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(data))
        sim.close()

    def checksum(self, data):
        from storage_support import xor_checksum
        return xor_checksum(data)

    def test_4_2_3_upload_a_specified_file_in_ufs(self):
        data = payload(3000, seed=23)
        self.put_local("ufs", "test.txt", data)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/test.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPATH="/"', b"+QFTPPATH:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(data[:1587]))
        self.length(sim, 1587)
        # A file shorter than <fileSz> goes at its real size; 0 means the whole file.
        self.result(sim, b'AT+QFTPPUT="longer.ini",5000,200', b"+QFTPPUT:3000")
        self.assertEqual(self.served("longer.ini"), data)
        self.result(sim, b'AT+QFTPPUT="whole.ini",0', b"+QFTPPUT:3000")
        self.assertEqual(self.served("whole.ini"), data)
        self.length(sim, 3000)
        sim.close()

    def test_4_3_2_download_a_file_into_ufs(self):
        data = payload(1587, seed=24)
        self.serve("sscom.ini", data)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPATH="/"', b"+QFTPPATH:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:1587")
        self.assertEqual(sha256(self.local("ufs", "sscom.ini")), sha256(data))
        self.length(sim, 1587)
        sim.command(b'AT+QFLST="sscom.ini"', crlf(b'+QFLST: "sscom.ini",1587') + OK)
        sim.close()

    def test_4_3_2_note_2_download_into_ram_and_read_it_in_pieces(self):
        data = payload(1587, seed=25)
        self.serve("sscom.ini", data)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:1587")
        # GET into RAM reserves 102400 bytes whatever the size (2.2.8).
        sim.command(b'AT+QFLST="RAM:*"', crlf(b'+QFLST: "RAM:sscom.ini",1587,102400') + OK)
        sim.command(b'AT+QFOPEN="RAM:sscom.ini",2', crlf(b"+QFOPEN: 1") + OK)
        got = b""
        for piece in (1000, 1000):
            n = min(piece, len(data) - len(got))
            sim.command(b"AT+QFREAD=1,%d" % piece, crlf(b"CONNECT %d" % n))
            got += sim.expect(data[len(got):len(got) + n])
            sim.expect(OK)
        sim.command(b"AT+QFREAD=1,10", crlf(b"CONNECT 0") + OK)
        sim.command(b"AT+QFCLOSE=1", OK)
        self.assertEqual(sha256(got), sha256(data))
        sim.close()

    def test_4_3_3_download_a_file_into_a_specified_file_in_ufs(self):
        data = payload(1587, seed=26)
        self.serve("sscom.ini", data)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/dwl.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPATH=""', b"+QFTPPATH:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:1587")
        self.assertEqual(sha256(self.local("ufs", "dwl.txt")), sha256(data))
        self.assertFalse(self.local_exists("ufs", "sscom.ini"))
        self.length(sim, 1587)
        sim.command(b"AT+QFTPCFG=4", OK)
        sim.expect(crlf(b'+QFTPCFG:"/UFS/dwl.txt"'))
        sim.close()

    def test_4_5_1_upload_from_the_resuming_point_with_a_stored_file(self):
        local = payload(5120, seed=27)
        self.put_local("ufs", "sscom.ini", local)
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",1587,200', b"+QFTPPUT:1587")
        self.assertEqual(self.served("sscom.ini"), local[:1587])
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        # The note: from 1587 to 3586 of the file.
        self.result(sim, b'AT+QFTPPUT="sscom.ini",2000,200', b"+QFTPPUT:2000")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(local[:3587]))
        self.length(sim, 2000)
        # Past the file's end: from the resume point to the end of the file.
        self.result(sim, b"AT+QFTPCFG=3,3587", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="sscom.ini",5000,200', b"+QFTPPUT:1533")
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(local))
        self.length(sim, 1533)
        # The resume point is back to 0 after the transfer.
        sim.command(b"AT+QFTPCFG=3", OK)
        sim.expect(crlf(b"+QFTPCFG:0"))
        sim.close()

    def test_4_5_2_download_from_the_resuming_point_into_a_stored_file(self):
        whole = payload(3587, seed=28)
        self.serve("sscom.ini", whole)
        self.put_local("ufs", "sscom.ini", whole[:1587])
        sim = self.start_storage()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:2000")
        self.assertEqual(sha256(self.local("ufs", "sscom.ini")), sha256(whole))
        self.length(sim, 2000)
        # The note: a local file shorter than the resume point is -12; a missing one -11.
        self.result(sim, b"AT+QFTPCFG=3,4000", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:-12")
        self.assertEqual(self.local("ufs", "sscom.ini"), whole)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/none.txt"', b"+QFTPCFG:0")
        self.result(sim, b"AT+QFTPCFG=3,10", b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="sscom.ini"', b"+QFTPGET:-11")
        self.assertFalse(self.local_exists("ufs", "none.txt"))
        self.length(sim, 0)
        sim.close()


if __name__ == "__main__":
    unittest.main()
