"""Every chapter 4 example of the manual that goes through /COM/, replayed over the real pty
against the embedded quecsim-ftpd: the exact lines the host sees, and the bytes that reach the
server (SHA-256). 4.4.2 uses the corrected names (AT+QFTPRENAME, +QFTPRMDIR)."""

import os
import unittest

from ftp_support import CONNECT, OK, FtpTestCase, crlf, open_as_in_4_1, payload, sha256


class ChapterFourExamples(FtpTestCase):

    def test_4_1_open_an_ftp_service(self):
        sim = self.start_ftp(transcript=True)
        open_as_in_4_1(sim)
        commands = self.ftp_commands(sim)
        self.assertEqual(commands[:2], ["USER quectel", "PASS ****"])
        sim.close()

    def test_4_2_1_upload_a_file_through_uart(self):
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPPATH=""', b"+QFTPPATH:0")
        data = payload(1587)
        sim.command(b'AT+QFTPPUT="sscom.ini",1587,200', OK)
        sim.expect(CONNECT)
        sim.send(data)
        sim.expect(crlf(b"+QFTPPUT:1587"))
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(data))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 1587") + OK)
        sim.close()

    def test_4_3_1_download_a_file_through_uart(self):
        data = payload(1587, seed=7)
        self.serve("sscom.ini", data)
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPPATH="/"', b"+QFTPPATH:0")
        sim.command(b'AT+QFTPGET="sscom.ini"', OK)
        sim.expect(CONNECT)
        self.assertEqual(sha256(sim.expect(data)), sha256(data))
        sim.expect(crlf(b"+QFTPGET:1587"))
        sim.command(b"AT", OK)
        sim.close()

    def test_4_4_1_operate_a_file_on_the_ftp_server(self):
        data = payload(17765, seed=3)
        self.serve("sscom.ini", data)
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPRENAME="sscom.ini","test.txt"', b"+QFTPRENAME:0")
        self.assertFalse(os.path.exists(os.path.join(self.root, "sscom.ini")))
        self.assertEqual(self.served("test.txt"), data)
        self.result(sim, b'AT+QFTPSIZE=" test.txt "', b"+QFTPSIZE:17765")
        self.result(sim, b'AT+QFTPDELETE="test.txt"', b"+QFTPDELETE:0")
        self.assertFalse(os.path.exists(os.path.join(self.root, "test.txt")))
        sim.close()

    def test_4_4_2_operate_a_file_folder_on_the_ftp_server(self):
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        self.result(sim, b'AT+QFTPMKDIR="test"', b"+QFTPMKDIR:0")
        self.assertTrue(os.path.isdir(os.path.join(self.root, "test")))
        self.result(sim, b'AT+QFTPRENAME="test","test1"', b"+QFTPRENAME:0")
        self.assertTrue(os.path.isdir(os.path.join(self.root, "test1")))
        self.result(sim, b'AT+QFTPRMDIR="test1"', b"+QFTPRMDIR:0")
        self.assertFalse(os.path.exists(os.path.join(self.root, "test1")))
        # The manual's note: a missing file or folder gives error 550.
        self.result(sim, b'AT+QFTPRMDIR="test1"', b"+QFTPRMDIR:-550")
        self.result(sim, b'AT+QFTPDELETE="nothing.txt"', b"+QFTPDELETE:-550")
        sim.close()

    def test_4_5_1_upload_from_the_resuming_point(self):
        whole = payload(3587, seed=11)
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        sim.command(b'AT+QFTPPUT="sscom.ini",1587,200', OK)
        sim.expect(CONNECT)
        sim.send(whole[:1587])
        sim.expect(crlf(b"+QFTPPUT:1587"))
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        sim.command(b'AT+QFTPPUT="sscom.ini",2000,200', OK)
        sim.expect(CONNECT)
        sim.send(whole[1587:])
        sim.expect(crlf(b"+QFTPPUT:2000"))
        self.assertEqual(sha256(self.served("sscom.ini")), sha256(whole))
        # The resuming point is back to 0 after the transfer.
        self.result(sim, b"AT+QFTPCFG=3", b"+QFTPCFG:0")
        sim.close()

    def test_4_5_2_download_from_the_resuming_point(self):
        whole = payload(3587, seed=5)
        self.serve("sscom.ini", whole)
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        self.result(sim, b"AT+QFTPCFG=3,1587", b"+QFTPCFG:0")
        sim.command(b'AT+QFTPGET="sscom.ini"', OK)
        sim.expect(CONNECT)
        self.assertEqual(sha256(sim.expect(whole[1587:])), sha256(whole[1587:]))
        sim.expect(crlf(b"+QFTPGET:2000"))
        sim.close()

    def test_4_6_close_the_ftp_service(self):
        sim = self.start_ftp()
        open_as_in_4_1(sim)
        sim.command(b"AT+QFTPCLOSE", OK)
        sim.expect(crlf(b"+QFTPCLOSE:0"))
        sim.command(b"AT+QIDEACT", crlf(b"DEACT OK"))
        sim.command(b"AT+QFTPSTAT", crlf(b"+QFTPSTAT: IDLE") + OK)
        sim.close()


if __name__ == "__main__":
    unittest.main()
