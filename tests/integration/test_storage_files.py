"""The file commands over the real pty: every form drivers use, their errors as +CME ERROR
4000-series codes under AT+CMEE 0/1/2, a full UFS, a name too long, the areas a model lacks,
RAM emptied by a restart, and the confinement attacks (nothing outside the state folder is
ever read, written or deleted)."""

import os
import tempfile
import shutil
import unittest

from ftp_support import ERROR, OK, crlf, payload
from harness import derived_profile, run_quecsim
from storage_support import StorageTestCase, xor_checksum




def cme(n):
    return crlf(b"+CME ERROR: %d" % n)


class FileCommands(StorageTestCase):

    def start_files(self, *args, model="M33"):
        sim = self.start_storage(*args, model=model)
        sim.command(b"AT+CMEE=1", OK)
        return sim

    def upload(self, sim, name, data, size=None):
        size = len(data) if size is None else size
        # A 50 s idle limit (1 s at the tests' time scale): ample for the host to start.
        sim.command(b'AT+QFUPL="%s",%d,50' % (name, size), crlf(b"CONNECT"))
        sim.send(data)
        sim.expect(crlf(b"+QFUPL: %d,%s" % (len(data), xor_checksum(data))) + OK)

    def wait_restarted(self, sim):
        """After AT+CFUN=1,1 (no power-up lines): echo is on again; ATE0 until it answers."""
        for _ in range(50):
            sim.send(b"ATE0\r")
            if sim.read_for(0.1).endswith(OK):
                return
        self.fail("the module did not come back from its restart")

    def test_qflds_reports_free_and_total_of_each_area(self):
        self.put_local("ufs", "a.bin", b"x" * 1000)
        sim = self.start_files()
        sim.command(b"AT+QFLDS=?", crlf(b'+QFLDS: ("UFS","RAM","SD")') + OK)
        sim.command(b"AT+QFLDS", crlf(b"+QFLDS: 2096152,2097152") + OK)
        sim.command(b'AT+QFLDS="UFS"', crlf(b"+QFLDS: 2096152,2097152") + OK)
        sim.command(b'AT+QFLDS="RAM"', crlf(b"+QFLDS: 512000,512000") + OK)
        sim.command(b'AT+QFLDS="SD"', crlf(b"+QFLDS: 8388608,8388608") + OK)
        sim.command(b'AT+QFLDS="NAND"', cme(4000))
        sim.close()

    def test_the_m95_has_ram_and_no_sd(self):
        sim = self.start_files(model="M95")
        sim.command(b"AT+QFLDS=?", crlf(b'+QFLDS: ("UFS","RAM")') + OK)
        sim.command(b'AT+QFLDS="RAM"', crlf(b"+QFLDS: 512000,512000") + OK)
        sim.command(b'AT+QFLDS="SD"', cme(4008))
        self.upload(sim, b"RAM:r.bin", b"ram", size=100)
        sim.command(b'AT+QFLST="RAM:*"', crlf(b'+QFLST: "RAM:r.bin",3,100') + OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPCFG=4,"/SD/"', b"+QFTPCFG:-10")
        sim.close()

    def test_a_profile_can_turn_the_m95_ram_off(self):
        path = derived_profile(self, "M95", lambda p: p["storage"].update(ram=False))
        sim = self.start_files(model=path)
        sim.command(b"AT+QFLDS=?", crlf(b'+QFLDS: ("UFS")') + OK)
        sim.command(b'AT+QFLDS="RAM"', cme(4008))
        sim.close()

    def test_a_model_without_ram_or_sd_refuses_them(self):
        sim = self.start_files(model="M10")
        sim.command(b"AT+QFLDS=?", crlf(b'+QFLDS: ("UFS")') + OK)
        sim.command(b'AT+QFLDS="RAM"', cme(4008))
        sim.command(b'AT+QFOPEN="RAM:a.txt"', cme(4008))
        sim.command(b'AT+QFUPL="SD:a.txt",10', cme(4008))
        self.open_service(sim)
        for position in (b"/RAM/", b"/RAM/a.txt", b"/SD/", b"/SD/a.txt"):
            self.result(sim, b'AT+QFTPCFG=4,"%s"' % position, b"+QFTPCFG:-10")
        sim.command(b"AT+QFTPCFG=4", OK)
        sim.expect(crlf(b'+QFTPCFG:"/COM/"'))
        sim.close()

    def test_qflst_lists_all_a_pattern_or_one_file(self):
        self.put_local("ufs", "a.txt", b"12345")
        self.put_local("ufs", "b.bin", b"123")
        sim = self.start_files()
        sim.command(b"AT+QFLST", crlf(b'+QFLST: "a.txt",5') + crlf(b'+QFLST: "b.bin",3') + OK)
        sim.command(b'AT+QFLST="*"', crlf(b'+QFLST: "a.txt",5') + crlf(b'+QFLST: "b.bin",3') + OK)
        sim.command(b'AT+QFLST="*.bin"', crlf(b'+QFLST: "b.bin",3') + OK)
        sim.command(b'AT+QFLST="a.txt"', crlf(b'+QFLST: "a.txt",5') + OK)
        sim.command(b'AT+QFLST="*.none"', OK)
        sim.command(b'AT+QFLST="none.txt"', cme(4010))
        sim.command(b'AT+QFLST="RAM:*"', OK)
        self.upload(sim, b"RAM:r.txt", b"abc", size=100)
        sim.command(b'AT+QFLST="RAM:*"', crlf(b'+QFLST: "RAM:r.txt",3,100') + OK)
        sim.close()

    def test_qfdel_deletes_a_file_a_pattern_or_everything(self):
        for name in ("a.txt", "b.txt", "c.bin"):
            self.put_local("ufs", name, b"x")
        sim = self.start_files()
        sim.command(b'AT+QFDEL="a.txt"', OK)
        self.assertFalse(self.local_exists("ufs", "a.txt"))
        sim.command(b'AT+QFDEL="a.txt"', cme(4010))
        sim.command(b'AT+QFDEL="*.txt"', OK)
        self.assertEqual(os.listdir(self.area("ufs")), ["c.bin"])
        sim.command(b'AT+QFDEL="*"', OK)
        self.assertEqual(os.listdir(self.area("ufs")), [])
        sim.command(b'AT+QFDEL="*"', OK)
        self.upload(sim, b"RAM:r.bin", b"r")
        sim.command(b'AT+QFDEL="RAM:*"', OK)
        self.assertEqual(os.listdir(self.area("ram")), [])
        sim.close()

    def test_qfupl_and_qfdwl_carry_the_bytes_and_their_checksum(self):
        data = payload(4097, seed=31) + b"+++AT\r\n"
        sim = self.start_files()
        sim.command(b"AT+QFUPL=?", crlf(b"+QFUPL: <filename>,(1-2097152),(1-65535)") + OK)
        self.upload(sim, b"up.bin", data)
        self.assertEqual(self.local("ufs", "up.bin"), data)
        sim.command(b'AT+QFUPL="up.bin",10', cme(4003))
        sim.command(b'AT+QFDWL="up.bin"', crlf(b"CONNECT"))
        sim.expect(data)
        sim.expect(crlf(b"+QFDWL: %d,%s" % (len(data), xor_checksum(data))) + OK)
        sim.command(b'AT+QFDWL="none.bin"', cme(4010))
        # An upload cut short by its timeout keeps what came.
        sim.command(b'AT+QFUPL="short.bin",100,50', crlf(b"CONNECT"))
        sim.send(b"0123456789")
        sim.expect(crlf(b"+QFUPL: 10,%s" % xor_checksum(b"0123456789")) + OK, timeout=10)
        self.assertEqual(self.local("ufs", "short.bin"), b"0123456789")
        sim.command(b"AT", OK)
        sim.close()

    def test_qfupl_and_qfwrite_end_at_the_escape_sequence(self):
        sim = self.start_storage(scale="0.1")
        sim.command(b"ATS12=5", OK)  # 100 ms guard time (scaled to 10 ms)
        sim.command(b'AT+QFUPL="esc.bin",1000,600', crlf(b"CONNECT"))
        sim.send(b"hello")
        sim.expect_silence(0.1)
        sim.send(b"+++")
        sim.expect(crlf(b"+QFUPL: 5,%s" % xor_checksum(b"hello")) + OK, timeout=10)
        self.assertEqual(self.local("ufs", "esc.bin"), b"hello")
        sim.command(b'AT+QFOPEN="esc.bin"', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+QFWRITE=1,1000,600", crlf(b"CONNECT"))
        sim.send(b"HE")
        sim.expect_silence(0.1)
        sim.send(b"+++")
        sim.expect(crlf(b"+QFWRITE: 2,5") + OK, timeout=10)
        self.assertEqual(self.local("ufs", "esc.bin"), b"HEllo")
        sim.command(b"AT", OK)
        sim.close()

    def test_qfopen_modes_read_write_seek_position_truncate_close(self):
        self.put_local("ufs", "f.txt", b"0123456789")
        sim = self.start_files()
        sim.command(b'AT+QFOPEN="none.txt",2', cme(4010))
        sim.command(b'AT+QFOPEN="f.txt",2', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+QFWRITE=1,3", cme(4006))
        sim.command(b"AT+QFREAD=1,4", crlf(b"CONNECT 4") + b"0123" + OK)
        sim.command(b"AT+QFPOSITION=1", crlf(b"+QFPOSITION: 4") + OK)
        sim.command(b"AT+QFSEEK=1,-2,2", OK)
        sim.command(b"AT+QFREAD=1", crlf(b"CONNECT 2") + b"89" + OK)
        sim.command(b"AT+QFSEEK=1,11,0", cme(4009))
        sim.command(b'AT+QFOPEN="f.txt",0', cme(4007))
        sim.command(b"AT+QFCLOSE=1", OK)
        sim.command(b"AT+QFCLOSE=1", cme(4005))
        # Mode 0 opens (or creates) for reading and writing.
        sim.command(b'AT+QFOPEN="f.txt",0', crlf(b"+QFOPEN: 2") + OK)
        sim.command(b"AT+QFSEEK=2,5", OK)
        sim.command(b"AT+QFWRITE=2,3", crlf(b"CONNECT"))
        sim.send(b"abc")
        sim.expect(crlf(b"+QFWRITE: 3,10") + OK)
        sim.command(b"AT+QFSEEK=2,0,1", OK)
        sim.command(b"AT+QFPOSITION=2", crlf(b"+QFPOSITION: 8") + OK)
        sim.command(b"AT+QFWRITE=2,4", crlf(b"CONNECT"))
        sim.send(b"WXYZ")
        sim.expect(crlf(b"+QFWRITE: 4,12") + OK)
        self.assertEqual(self.local("ufs", "f.txt"), b"01234abcWXYZ")
        sim.command(b"AT+QFSEEK=2,6", OK)
        sim.command(b"AT+QFTUCAT=2", OK)
        self.assertEqual(self.local("ufs", "f.txt"), b"01234a")
        sim.command(b"AT+QFCLOSE=2", OK)
        # Mode 1 creates or empties.
        sim.command(b'AT+QFOPEN="f.txt",1', crlf(b"+QFOPEN: 3") + OK)
        self.assertEqual(self.local("ufs", "f.txt"), b"")
        sim.command(b"AT+QFCLOSE=3", OK)
        sim.command(b'AT+QFOPEN="new.txt"', crlf(b"+QFOPEN: 4") + OK)
        self.assertEqual(self.local("ufs", "new.txt"), b"")
        sim.command(b"AT+QFCLOSE=4", OK)
        sim.close()

    def test_qfwrite_takes_exactly_n_bytes_then_commands_again(self):
        sim = self.start_files()
        sim.command(b'AT+QFOPEN="w.bin",1', crlf(b"+QFOPEN: 1") + OK)
        data = payload(3000, seed=33)
        sim.command(b"AT+QFWRITE=1,3000", crlf(b"CONNECT"))
        sim.send(data + b"AT\r")
        sim.expect(crlf(b"+QFWRITE: 3000,3000") + OK + OK)
        # Fewer bytes than announced: the timeout ends the write with what came.
        sim.command(b"AT+QFWRITE=1,100,50", crlf(b"CONNECT"))
        sim.send(b"tail")
        sim.expect(crlf(b"+QFWRITE: 4,3004") + OK, timeout=10)
        sim.command(b"AT+QFCLOSE=1", OK)
        self.assertEqual(self.local("ufs", "w.bin"), data + b"tail")
        sim.close()

    def test_test_forms_malformed_parameters_and_unknown_handles(self):
        sim = self.start_files()
        for line, answer in ((b"AT+QFLST=?", b"+QFLST: <filename>"),
                             (b"AT+QFDEL=?", b"+QFDEL: <filename>"),
                             (b"AT+QFDWL=?", b"+QFDWL: <filename>"),
                             (b"AT+QFOPEN=?", b"+QFOPEN: <filename>,(0-2)"),
                             (b"AT+QFREAD=?", b"+QFREAD: <filehandle>,<length>"),
                             (b"AT+QFWRITE=?", b"+QFWRITE: <filehandle>,<length>,<timeout>"),
                             (b"AT+QFSEEK=?", b"+QFSEEK: <filehandle>,<offset>,(0-2)"),
                             (b"AT+QFPOSITION=?", b"+QFPOSITION: <filehandle>"),
                             (b"AT+QFTUCAT=?", b"+QFTUCAT: <filehandle>"),
                             (b"AT+QFCLOSE=?", b"+QFCLOSE: <filehandle>")):
            sim.command(line, crlf(answer) + OK)
        # Malformed parameters are 50, as for every command; a missing form 100.
        for line in (b'AT+QFOPEN="a.txt",3', b"AT+QFSEEK=1", b'AT+QFREAD="1"', b"AT+QFDEL=x",
                     b'AT+QFUPL="a.txt",0', b"AT+QFWRITE=1,10,0", b'AT+QFLDS=1'):
            sim.command(line, cme(50))
        sim.command(b"AT+QFOPEN", cme(100))
        for line in (b"AT+QFREAD=7,1", b"AT+QFWRITE=7,1", b"AT+QFSEEK=7,0", b"AT+QFPOSITION=7",
                     b"AT+QFTUCAT=7", b"AT+QFCLOSE=7"):
            sim.command(line, cme(4005))
        sim.command(b"AT", OK)
        sim.close()

    def test_errors_follow_cmee(self):
        sim = self.start_storage()
        sim.command(b'AT+QFOPEN="none.txt",2', ERROR)
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b'AT+QFOPEN="none.txt",2', cme(4010))
        sim.command(b"AT+CMEE=2", OK)
        sim.command(b'AT+QFOPEN="none.txt",2', crlf(b"+CME ERROR: file not found"))
        sim.command(b"AT+QFREAD=9", crlf(b"+CME ERROR: invalid file handle"))
        sim.command(b'AT+QFOPEN="%s"' % (b"n" * 81), crlf(b"+CME ERROR: invalid file name"))
        sim.close()

    def test_a_name_too_long_is_refused(self):
        sim = self.start_files()
        sim.command(b'AT+QFOPEN="%s"' % (b"n" * 81), cme(4001))
        sim.command(b'AT+QFOPEN="%s"' % (b"n" * 80), crlf(b"+QFOPEN: 1") + OK)
        sim.command(b'AT+QFUPL="RAM:%s",5' % (b"n" * 81), cme(4001))
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/%s"' % (b"n" * 81), b"+QFTPCFG:-10")
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/%s"' % (b"n" * 80), b"+QFTPCFG:0")
        sim.close()

    def test_a_full_ufs_gives_4002_and_never_a_partial_file(self):
        self.put_local("ufs", "filler.bin", b"\0" * (2097152 - 1000))
        self.serve("big.bin", payload(1500, seed=34))
        sim = self.start_files()
        sim.command(b"AT+QFLDS", crlf(b"+QFLDS: 1000,2097152") + OK)
        sim.command(b'AT+QFUPL="u.bin",1001', cme(4002))
        self.assertFalse(self.local_exists("ufs", "u.bin"))
        sim.command(b'AT+QFOPEN="w.bin",1', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+QFWRITE=1,1001", cme(4002))
        sim.command(b"AT+QFCLOSE=1", OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="big.bin"', b"+QFTPGET:-12")
        self.assertFalse(self.local_exists("ufs", "big.bin"))
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 0") + OK)
        sim.command(b"AT+QFLDS", crlf(b"+QFLDS: 1000,2097152") + OK)
        sim.close()

    def test_ram_get_reserves_102400_bytes_and_refuses_more(self):
        self.serve("fit.bin", payload(102400, seed=35))
        self.serve("over.bin", payload(102401, seed=36))
        sim = self.start_files()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="fit.bin"', b"+QFTPGET:102400")
        self.assertEqual(self.local("ram", "fit.bin"), self.served("fit.bin"))
        # One byte past the reservation: -12, and no file is left behind.
        self.result(sim, b'AT+QFTPGET="over.bin"', b"+QFTPGET:-12")
        self.assertFalse(self.local_exists("ram", "over.bin"))
        sim.command(b'AT+QFLST="RAM:*"', crlf(b'+QFLST: "RAM:fit.bin",102400,102400') + OK)
        sim.command(b'AT+QFLDS="RAM"', crlf(b"+QFLDS: 409600,512000") + OK)
        sim.close()

    def test_a_file_written_with_qfwrite_is_uploaded_with_qftpput(self):
        data = payload(3000, seed=39)
        sim = self.start_files()
        sim.command(b'AT+QFOPEN="RAM:w.bin",1,5000', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+QFWRITE=1,3000", crlf(b"CONNECT"))
        sim.send(data)
        sim.expect(crlf(b"+QFWRITE: 3000,3000") + OK)
        # Past the 5000 bytes the file was opened with: refused before CONNECT.
        sim.command(b"AT+QFWRITE=1,2001", cme(4002))
        sim.command(b"AT+QFCLOSE=1", OK)
        sim.command(b'AT+QFLST="RAM:w.bin"', crlf(b'+QFLST: "RAM:w.bin",3000,5000') + OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/RAM/w.bin"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="up.bin",0', b"+QFTPPUT:3000")
        self.assertEqual(self.served("up.bin"), data)
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: 3000") + OK)
        sim.close()

    def test_put_from_storage_ends_at_its_time_limit(self):
        data = payload(200000, seed=40)
        self.put_local("ufs", "slow.bin", data)
        # 2000 bytes a simulated second: the whole file would take 100 s; <time> is 5 s.
        sim = self.start_files("--bandwidth", "2000")
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        sim.command(b'AT+QFTPPUT="slow.bin",0,5', OK)
        sim.expect(b"\r\n+QFTPPUT:", timeout=10)
        rest = b""
        while not rest.endswith(b"\r\n"):
            piece = sim._read(1, 5)  # the rest of the line, byte by byte, each within 5 s
            self.assertTrue(piece, "the +QFTPPUT line did not end: %r" % rest)
            rest += piece
        sent = int(rest)
        self.assertGreater(sent, 0)
        self.assertLess(sent, len(data))
        self.assertEqual(self.served("slow.bin"), data[:sent])
        sim.command(b"AT+QFTPLEN", crlf(b"+QFTPLEN: %d" % sent) + OK)
        sim.close()

    def test_sd_is_the_picture_folder_of_the_card(self):
        data = payload(700, seed=37)
        self.serve("photo.jpg", data)
        sim = self.start_files()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/SD/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="photo.jpg"', b"+QFTPGET:700")
        self.assertEqual(self.local("sd", "photo.jpg"), data)
        sim.command(b'AT+QFLST="SD:*"', crlf(b'+QFLST: "SD:photo.jpg",700') + OK)
        self.result(sim, b'AT+QFTPCFG=4,"/SD/photo.jpg"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="copy.jpg",0', b"+QFTPPUT:700")
        self.assertEqual(self.served("copy.jpg"), data)
        sim.close()

    def test_a_restart_empties_ram_and_keeps_ufs(self):
        sim = self.start_files()
        self.upload(sim, b"RAM:r.bin", b"ram")
        self.upload(sim, b"u.bin", b"ufs")
        sim.command(b'AT+QFOPEN="u.bin",2', crlf(b"+QFOPEN: 1") + OK)
        sim.command(b"AT+CFUN=1,1", OK)
        self.wait_restarted(sim)
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b'AT+QFLST="RAM:*"', OK)
        sim.command(b"AT+QFLST", crlf(b'+QFLST: "u.bin",3') + OK)
        sim.command(b"AT+QFCLOSE=1", cme(4005))
        self.assertEqual(os.listdir(self.area("ram")), [])
        sim.close()

    def test_ufs_persists_across_runs_and_the_ready_line_names_the_state_folder(self):
        sim = self.start_files()
        self.assertEqual(sim.ready["state_dir"], os.path.abspath(self.state))
        self.upload(sim, b"kept.bin", b"kept")
        self.upload(sim, b"RAM:gone.bin", b"gone")
        sim.close()
        sim = self.start_files()
        sim.command(b"AT+QFLST", crlf(b'+QFLST: "kept.bin",4') + OK)
        sim.command(b'AT+QFLST="RAM:*"', OK)
        sim.close()

    def test_a_file_in_use_is_not_transferred_into_or_deleted(self):
        self.serve("s.bin", payload(100, seed=38))
        self.put_local("ufs", "s.bin", b"old")
        sim = self.start_files()
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        sim.command(b'AT+QFOPEN="s.bin",2', crlf(b"+QFOPEN: 1") + OK)
        self.result(sim, b'AT+QFTPGET="s.bin"', b"+QFTPGET:-12")
        self.assertEqual(self.local("ufs", "s.bin"), b"old")
        sim.command(b'AT+QFDEL="s.bin"', cme(4007))
        # Reading it to upload is fine while it is open.
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/s.bin"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="up.bin",0', b"+QFTPPUT:3")
        self.assertEqual(self.served("up.bin"), b"old")
        sim.command(b"AT+QFCLOSE=1", OK)
        self.result(sim, b'AT+QFTPGET="s.bin"', b"+QFTPGET:100")
        sim.close()


class StateFolder(StorageTestCase):

    def test_a_state_folder_that_cannot_be_used_stops_the_start(self):
        blocker = os.path.join(self.state, "file")
        with open(blocker, "wb"):
            pass
        done = run_quecsim("--ready-json", "--no-embedded-ftp", "--state-dir", blocker)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("storage folder %s" % os.path.join(blocker, "ufs"), done.stderr)
        self.assertEqual(done.stdout, "")

    def test_a_state_folder_that_is_a_link_is_refused(self):
        outside = tempfile.mkdtemp(prefix="quecsim-outside-")
        self.addCleanup(shutil.rmtree, outside, True)
        os.symlink(outside, os.path.join(self.state, "ufs"))
        done = run_quecsim("--ready-json", "--no-embedded-ftp", "--state-dir", self.state)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(os.path.join(self.state, "ufs"), done.stderr)
        self.assertEqual(os.listdir(outside), [])


class Confinement(StorageTestCase):
    """Names that could reach outside the areas, and links planted in the folders: nothing
    outside the state folder is read, written or deleted."""

    def setUp(self):
        super().setUp()
        self.outside = tempfile.mkdtemp(prefix="quecsim-outside-")
        self.addCleanup(shutil.rmtree, self.outside, True)
        self.secret = os.path.join(self.outside, "secret.txt")
        with open(self.secret, "wb") as f:
            f.write(b"secret")

    def assert_untouched(self):
        with open(self.secret, "rb") as f:
            self.assertEqual(f.read(), b"secret")
        self.assertEqual(os.listdir(self.outside), ["secret.txt"])

    def test_names_reaching_outside_are_refused(self):
        sim = self.start_storage()
        sim.command(b"AT+CMEE=1", OK)
        rel = os.path.relpath(self.secret, self.area("ufs")).encode()
        for name in (rel, b"../x", b"/etc/passwd", self.secret.encode(), b"..", b"RAM:../x",
                     b"SD:../../x", b"a\\b"):
            sim.command(b'AT+QFOPEN="%s",2' % name, cme(4001))
            sim.command(b'AT+QFDWL="%s"' % name, cme(4001))
            sim.command(b'AT+QFDEL="%s"' % name, cme(4001))
            sim.command(b'AT+QFUPL="%s",3' % name, cme(4001))
        self.open_service(sim)
        for position in (b"/UFS/" + rel, b"/UFS/../x", b"/RAM/../../x", b"/SD/..",
                         b"/UFS//etc/passwd"):
            self.result(sim, b'AT+QFTPCFG=4,"%s"' % position, b"+QFTPCFG:-10")
        # A remote name with folders stores under its last part only.
        self.serve("dir/leaf.txt", b"leaf")
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPGET="dir/leaf.txt"', b"+QFTPGET:4")
        self.assertEqual(self.local("ufs", "leaf.txt"), b"leaf")
        self.result(sim, b'AT+QFTPGET="../secret.txt"', b"+QFTPGET:-550")
        self.assert_untouched()
        sim.close()

    def test_links_planted_in_the_folders_are_never_followed(self):
        os.makedirs(self.area("ufs"))
        os.makedirs(self.area("sd"))
        os.symlink(self.secret, os.path.join(self.area("ufs"), "link.txt"))
        os.symlink(self.outside, os.path.join(self.area("ufs"), "dir"))
        os.symlink(self.secret, os.path.join(self.area("sd"), "p.jpg"))
        self.serve("link.txt", b"overwrite")
        sim = self.start_storage()
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b"AT+QFLST", OK)
        sim.command(b'AT+QFDWL="link.txt"', cme(4010))
        sim.command(b'AT+QFOPEN="link.txt",2', cme(4010))
        sim.command(b'AT+QFOPEN="link.txt",1', cme(4001))
        sim.command(b'AT+QFUPL="link.txt",3', cme(4001))
        sim.command(b'AT+QFDEL="*"', OK)
        sim.command(b'AT+QFDEL="SD:*"', OK)
        self.open_service(sim)
        self.result(sim, b'AT+QFTPCFG=4,"/UFS/link.txt"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="out.txt",0', b"+QFTPPUT:-11")
        self.result(sim, b'AT+QFTPGET="link.txt"', b"+QFTPGET:-12")
        self.result(sim, b'AT+QFTPCFG=4,"/SD/p.jpg"', b"+QFTPCFG:0")
        self.result(sim, b'AT+QFTPPUT="out.txt",0', b"+QFTPPUT:-11")
        self.assertFalse(os.path.exists(os.path.join(self.root, "out.txt")))
        sim.command(b"AT+CFUN=1,1", OK)
        sim.close()
        self.assert_untouched()
        self.assertTrue(os.path.islink(os.path.join(self.area("ufs"), "link.txt")))


if __name__ == "__main__":
    unittest.main()
