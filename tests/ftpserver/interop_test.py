"""quecsim-ftpd against real clients nobody here wrote: Python's ftplib, curl and lftp.

Run with /usr/bin/python3; QUECSIM_FTPD names the executable. Every test asserts exact bytes,
replies or files: a misbehaving server fails them.
"""
import ftplib
import io
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ftpd_harness import Server, run  # noqa: E402

BLOB = os.urandom(1024 * 1024 + 17)  # binary with every byte value, odd length
TEXT_LF = b"".join(b"line %d\n" % i for i in range(2000))
TEXT_CRLF = TEXT_LF.replace(b"\n", b"\r\n")


def need(tool):
    path = "/usr/bin/" + tool
    if not os.access(path, os.X_OK):
        raise AssertionError(tool + " is required for these tests (apt-get install " + tool + ")")
    return path


def lftp(server, script, timeout=30):
    need("lftp")
    settings = ("set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; "
                "set xfer:clobber on; ")
    return run(["lftp", "-u", "u,p", "-e", settings + script + "; quit",
                "127.0.0.1:%d" % server.port], timeout=timeout)


class TestFtplib(unittest.TestCase):
    def test_login_and_exact_exchange_are_recorded(self):
        with Server() as s:
            c = s.ftp("alice", "secret")
            self.assertEqual(c.sendcmd("NOOP"), "200 NOOP command successful.")
            self.assertEqual(c.pwd(), "/")
            c.quit()
            self.assertEqual(s.commands(), ["USER alice", "PASS ****", "NOOP", "PWD", "QUIT"])
            replies = [e["text"] for e in s.events() if e["kind"] == "reply"]
            self.assertEqual(replies, ["220 quecsim-ftpd ready.",
                                       "331 Username ok, send password.",
                                       "230 Login successful.",
                                       "200 NOOP command successful.",
                                       "257 \"/\" is the current directory.",
                                       "221 Goodbye."])

    def test_binary_download_and_upload_are_byte_exact(self):
        with Server(files={"blob.bin": BLOB}) as s:
            c = s.ftp()
            got = io.BytesIO()
            self.assertEqual(c.retrbinary("RETR blob.bin", got.write), "226 Transfer complete.")
            self.assertEqual(got.getvalue(), BLOB)
            self.assertEqual(c.storbinary("STOR up.bin", io.BytesIO(BLOB)),
                             "226 Transfer complete.")
            self.assertEqual(s.read("up.bin"), BLOB)
            self.assertEqual(c.size("up.bin"), len(BLOB))
            c.quit()

    def test_active_mode_download_and_upload(self):
        with Server(files={"blob.bin": BLOB}) as s:
            c = s.ftp()
            c.set_pasv(False)
            got = io.BytesIO()
            c.retrbinary("RETR blob.bin", got.write)
            self.assertEqual(got.getvalue(), BLOB)
            c.storbinary("STOR act.bin", io.BytesIO(BLOB[:1000]))
            self.assertEqual(s.read("act.bin"), BLOB[:1000])
            c.quit()
            self.assertIn("TYPE I", s.commands())
            self.assertTrue(any(x.startswith("PORT 127,0,0,1,") for x in s.commands()))

    def test_ascii_converts_line_endings_both_ways(self):
        with Server(files={"t.txt": TEXT_LF}) as s:
            c = s.ftp()
            c.sendcmd("TYPE A")
            # Raw bytes on the data connection are CRLF.
            conn = c.transfercmd("RETR t.txt")
            wire = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                wire += chunk
            conn.close()
            self.assertEqual(c.voidresp(), "226 Transfer complete.")
            self.assertEqual(wire, TEXT_CRLF)
            # storlines sends CRLF; the file on disk gets LF.
            c.storlines("STOR back.txt", io.BytesIO(TEXT_LF))
            self.assertEqual(s.read("back.txt"), TEXT_LF)
            self.assertEqual(c.size("t.txt"), len(TEXT_CRLF))
            c.quit()

    def test_rest_resumes_download_and_upload(self):
        with Server(files={"blob.bin": BLOB}) as s:
            c = s.ftp()
            got = io.BytesIO()
            c.retrbinary("RETR blob.bin", got.write, rest=1000)
            self.assertEqual(got.getvalue(), BLOB[1000:])
            s.write("part.bin", BLOB[:5000] + b"garbage")
            c.storbinary("STOR part.bin", io.BytesIO(BLOB[5000:]), rest=5000)
            self.assertEqual(s.read("part.bin"), BLOB)
            c.storbinary("APPE part.bin", io.BytesIO(b"tail"))
            self.assertEqual(s.read("part.bin"), BLOB + b"tail")
            with self.assertRaisesRegex(ftplib.error_perm, "^554 Invalid REST parameter."):
                c.retrbinary("RETR blob.bin", got.write, rest=len(BLOB) + 1)
            c.quit()

    def test_files_and_folders_commands(self):
        with Server(files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            self.assertEqual(c.mkd("d"), "/d")
            self.assertEqual(c.cwd("d"), '250 "/d" is the current directory.')
            self.assertEqual(c.pwd(), "/d")
            c.cwd("..")
            self.assertEqual(c.rename("a.txt", "d/b.txt"), "250 Renaming ok.")
            self.assertEqual(s.read("d/b.txt"), b"abc")
            self.assertEqual(c.sendcmd("MDTM d/b.txt")[:4], "213 ")
            self.assertEqual(c.nlst("d"), ["b.txt"])
            facts = dict(c.mlsd("d"))
            self.assertEqual(facts["b.txt"]["type"], "file")
            self.assertEqual(facts["b.txt"]["size"], "3")
            with self.assertRaisesRegex(ftplib.error_perm, "^550 Directory not empty."):
                c.rmd("d")
            self.assertEqual(c.delete("d/b.txt"), "250 File removed.")
            self.assertEqual(c.rmd("d"), "250 Directory removed.")
            self.assertFalse(os.path.exists(s.path("d")))
            lines = []
            c.retrlines("LIST", lines.append)
            self.assertEqual(lines, [])
            c.quit()

    def test_stou_stores_under_a_unique_name(self):
        with Server() as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            conn, _ = c.ntransfercmd("STOU")
            conn.sendall(b"unique")
            conn.close()
            self.assertEqual(c.voidresp(), "226 Transfer complete.")
            self.assertEqual(s.read("stou.1"), b"unique")
            c.quit()

    def test_epsv_and_eprt(self):
        with Server(files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            c.af = socket.AF_INET6  # ftplib then uses EPSV/EPRT even on IPv4
            c.sock.family  # noqa: B018
            resp = c.sendcmd("EPSV")
            self.assertRegex(resp, r"^229 Entering extended passive mode \(\|\|\|\d+\|\)\.$")
            port = int(resp.split("|")[3])
            d = socket.create_connection(("127.0.0.1", port))
            self.assertEqual(c.sendcmd("RETR a.txt"),
                             "150 File status okay. About to open data connection.")
            self.assertEqual(d.makefile("rb").read(), b"abc")
            d.close()
            self.assertEqual(c.voidresp(), "226 Transfer complete.")
            lsock = socket.create_server(("127.0.0.1", 0))
            self.assertEqual(c.sendcmd("EPRT |1|127.0.0.1|%d|" % lsock.getsockname()[1]),
                             "200 EPRT command successful.")
            c.sendcmd("RETR a.txt")
            conn, _ = lsock.accept()
            self.assertEqual(conn.makefile("rb").read(), b"abc")
            conn.close()
            lsock.close()
            self.assertEqual(c.voidresp(), "226 Transfer complete.")
            c.quit()

    def test_abor_stops_a_running_download(self):
        big = os.urandom(32 * 1024 * 1024)
        with Server(files={"big.bin": big}) as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            conn = c.transfercmd("RETR big.bin")
            conn.recv(1000)
            c.sock.sendall(b"ABOR\r\n")
            self.assertEqual(c.getline(), "426 Transfer aborted via ABOR.")
            self.assertEqual(c.getline(), "226 ABOR command successful.")
            conn.close()
            self.assertEqual(c.sendcmd("NOOP"), "200 NOOP command successful.")
            c.quit()

    def test_two_sessions_writing_one_file_cannot_corrupt_it(self):
        with Server() as s:
            a, b = s.ftp(), s.ftp()
            a.voidcmd("TYPE I")
            b.voidcmd("TYPE I")
            conn = a.transfercmd("STOR one.bin")
            conn.sendall(b"A" * 1000)
            with self.assertRaisesRegex(ftplib.error_temp, "^450 File busy"):
                b.storbinary("STOR one.bin", io.BytesIO(b"B" * 1000))
            conn.sendall(b"A" * 1000)
            conn.close()
            self.assertEqual(a.voidresp(), "226 Transfer complete.")
            self.assertEqual(s.read("one.bin"), b"A" * 2000)
            b.storbinary("STOR one.bin", io.BytesIO(b"B" * 10))
            self.assertEqual(s.read("one.bin"), b"B" * 10)
            a.quit()
            b.quit()


class TestCurl(unittest.TestCase):
    def setUp(self):
        need("curl")

    def curl(self, *args, timeout=30, **kw):
        return run(["curl", "-sS", "--max-time", "20"] + list(args), timeout=timeout, **kw)

    def test_passive_download_exact_bytes_and_exact_commands(self):
        with Server(files={"blob.bin": BLOB}) as s:
            r = self.curl(s.url + "/blob.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, BLOB)
            s.stop()
            cmds = s.commands()
            self.assertEqual(cmds[:4], ["USER anonymous", "PASS ****", "PWD", "EPSV"])
            self.assertIn("TYPE I", cmds)
            self.assertIn("SIZE blob.bin", cmds)
            self.assertIn("RETR blob.bin", cmds)

    def test_active_download_and_upload(self):
        with Server(files={"blob.bin": BLOB}) as s:
            r = self.curl("-P", "127.0.0.1", s.url + "/blob.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, BLOB)
            r = self.curl("-P", "127.0.0.1", "-T", "-", s.url + "/act.bin", input=BLOB[:3333])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("act.bin"), BLOB[:3333])
            s.stop()
            self.assertTrue(any(c.startswith("EPRT |1|127.0.0.1|") for c in s.commands()))

    def test_upload_creates_folders_and_bytes_match(self):
        with Server() as s:
            r = self.curl("--ftp-create-dirs", "-T", "-", s.url + "/x/y/up.bin", input=BLOB)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("x/y/up.bin"), BLOB)

    def test_ascii_upload_and_download_convert_line_endings(self):
        with Server(files={"t.txt": TEXT_LF}) as s:
            r = self.curl("--use-ascii", "-T", "-", s.url + "/up.txt", input=TEXT_LF)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("up.txt"), TEXT_LF)
            r = self.curl("--use-ascii", s.url + "/t.txt")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(r.stdout, (TEXT_LF, TEXT_CRLF))
            s.stop()
            self.assertIn("TYPE A", s.commands())

    def test_resume_download_with_rest_and_upload_with_appe(self):
        with Server(files={"blob.bin": BLOB}) as s:
            r = self.curl("-C", "1000", s.url + "/blob.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, BLOB[1000:])
            s.write("half.bin", BLOB[:4096])
            r = self.curl("-C", "-", "-T", "-", s.url + "/half.bin", input=BLOB)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("half.bin"), BLOB)
            r = self.curl("--append", "-T", "-", s.url + "/half.bin", input=b"more")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("half.bin"), BLOB + b"more")
            s.stop()
            cmds = s.commands()
            self.assertIn("REST 1000", cmds)
            self.assertIn("APPE half.bin", cmds)

    def test_listing_quote_commands_and_errors(self):
        with Server(files={"a.txt": b"abc", "sub/b.txt": b"b"}) as s:
            r = self.curl(s.url + "/")
            self.assertEqual(r.returncode, 0, r.stderr)
            lines = r.stdout.decode().splitlines()
            self.assertEqual(len(lines), 2)
            self.assertTrue(lines[0].startswith("-rw") and lines[0].endswith(" a.txt"), lines)
            self.assertTrue(lines[1].startswith("d") and lines[1].endswith(" sub"), lines)
            r = self.curl("-l", s.url + "/sub/")
            self.assertEqual(r.stdout, b"b.txt\n")  # curl turns the wire's CRLF into LF
            r = self.curl("-Q", "MKD made", "-Q", "RNFR a.txt", "-Q", "RNTO made/c.txt",
                          "-Q", "DELE sub/b.txt", "-Q", "RMD sub", s.url + "/")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("made/c.txt"), b"abc")
            self.assertFalse(os.path.exists(s.path("sub")))
            r = self.curl(s.url + "/missing.bin")
            self.assertEqual(r.returncode, 78, r.stderr)  # RETR answered 550
            r = self.curl("-I", s.url + "/made/c.txt")
            self.assertIn(b"Content-Length: 3", r.stdout)


class TestLftp(unittest.TestCase):
    def test_passive_and_active_get_put_binary(self):
        for passive in ("on", "off"):
            with self.subTest(passive=passive), Server(files={"blob.bin": BLOB}) as s:
                out = os.path.join(s.base, "got.bin")
                src = os.path.join(s.base, "src.bin")
                with open(src, "wb") as f:
                    f.write(BLOB[::-1])
                r = lftp(s, "set ftp:passive-mode %s; get blob.bin -o %s; put %s -o put.bin"
                         % (passive, out, src))
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), BLOB)
                self.assertEqual(s.read("put.bin"), BLOB[::-1])
                s.stop()
                cmds = s.commands()
                if passive == "on":
                    self.assertTrue(any(c in ("EPSV", "PASV") for c in cmds), cmds)
                else:
                    self.assertTrue(any(c.startswith(("EPRT", "PORT")) for c in cmds), cmds)

    def test_ascii_get_and_put(self):
        with Server(files={"t.txt": TEXT_LF}) as s:
            out = os.path.join(s.base, "t.out")
            src = os.path.join(s.base, "src.txt")
            with open(src, "wb") as f:
                f.write(TEXT_LF)
            r = lftp(s, "get -a t.txt -o %s; put -a %s -o up.txt" % (out, src))
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), TEXT_LF)
            self.assertEqual(s.read("up.txt"), TEXT_LF)
            s.stop()
            # lftp relies on the RFC 959 default TYPE A: no TYPE I may have been sent.
            self.assertNotIn("TYPE I", s.commands())

    def test_resume_get_with_rest(self):
        with Server(files={"blob.bin": BLOB}) as s:
            out = os.path.join(s.base, "partial.bin")
            with open(out, "wb") as f:
                f.write(BLOB[:300000])
            r = lftp(s, "get -c blob.bin -o %s" % out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), BLOB)
            s.stop()
            self.assertIn("REST 300000", s.commands())

    def test_resume_put_and_append(self):
        with Server(files={"up.bin": BLOB[:200000]}) as s:
            src = os.path.join(s.base, "src.bin")
            with open(src, "wb") as f:
                f.write(BLOB)
            r = lftp(s, "put -c %s -o up.bin" % src)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(s.read("up.bin"), BLOB)
            s.stop()
            cmds = s.commands()
            self.assertTrue("REST 200000" in cmds or "APPE up.bin" in cmds, cmds)

    def test_mirror_a_tree_down_and_up(self):
        tree = {"top.txt": b"top\n", "a/one.bin": BLOB[:70000], "a/b/two.bin": BLOB[5:9000],
                "a/b/c/empty": b"", "z.txt": TEXT_LF[:500]}
        with Server(files=tree) as s:
            down = os.path.join(s.base, "down")
            r = lftp(s, "mirror / %s" % down)
            self.assertEqual(r.returncode, 0, r.stderr)
            for name, data in tree.items():
                with open(os.path.join(down, name), "rb") as f:
                    self.assertEqual(f.read(), data, name)
            r = lftp(s, "mirror -R %s /copy" % down)
            self.assertEqual(r.returncode, 0, r.stderr)
            for name, data in tree.items():
                self.assertEqual(s.read("copy/" + name), data, name)

    def test_listing_size_and_file_management(self):
        with Server(files={"a.txt": b"abc", "d/x.bin": b"12345"}) as s:
            r = lftp(s, "cls -l; ls; quote SIZE d/x.bin; mkdir n; mv a.txt n/b.txt; "
                        "rm d/x.bin; rmdir d; cls -1 n")
            self.assertEqual(r.returncode, 0, r.stderr)
            text = r.stdout.decode()
            lines = text.splitlines()
            # cls -l (from MLSD facts), then ls (the LIST text as sent)
            self.assertRegex(lines[0], r"^-rw\S+ +3 .* a\.txt$")
            self.assertRegex(lines[1], r"^drwx\S+ +\d+ .* d/$")
            self.assertRegex(lines[2], r"^-rw-r--r-- +1 owner +group +3 .* a\.txt$")
            self.assertRegex(lines[3], r"^drwx\S+ +\d+ owner +group +\d+ .* d$")
            self.assertIn("213 5", text)
            self.assertTrue(text.rstrip().endswith("b.txt"), text)
            self.assertEqual(s.read("n/b.txt"), b"abc")
            self.assertFalse(os.path.exists(s.path("d")))
            s.stop()
            cmds = s.commands()
            for c in ("MKD n", "RNFR a.txt", "RNTO n/b.txt", "DELE d/x.bin", "RMD d"):
                self.assertIn(c, cmds)
            self.assertIn("MLSD", cmds)
            self.assertIn("LIST", cmds)


class TestFaults(unittest.TestCase):
    def server(self, rules, *args, files=None):
        import json
        import tempfile
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"rules": rules}, f)
        self.addCleanup(os.unlink, path)
        return Server("--faults", path, *args, files=files)

    def test_reply_rule_replaces_a_reply_with_multiline_text_for_count_times(self):
        rules = [{"action": "reply", "command": "SIZE", "argument": "*.bin",
                  "text": ["550-Not today.", "550 Really not."], "count": 1}]
        with self.server(rules, files={"a.bin": b"xyz"}) as s:
            c = s.ftp()
            with self.assertRaises(ftplib.error_perm) as e:
                c.sendcmd("SIZE a.bin")
            self.assertEqual(str(e.exception), "550-Not today.\n550 Really not.")
            self.assertEqual(c.sendcmd("SIZE a.bin"), "213 3")
            c.quit()
            self.assertEqual(s.faults(), ["reply SIZE"])

    def test_delay_rule_holds_the_reply_back(self):
        rules = [{"action": "delay", "command": "NOOP", "after_ms": 400}]
        with self.server(rules) as s:
            c = s.ftp()
            t0 = time.monotonic()
            self.assertEqual(c.sendcmd("NOOP"), "200 NOOP command successful.")
            self.assertGreaterEqual(time.monotonic() - t0, 0.39)
            t0 = time.monotonic()
            c.sendcmd("PWD")
            self.assertLess(time.monotonic() - t0, 0.3)
            c.quit()

    def test_time_scale_shortens_fault_delays(self):
        rules = [{"action": "delay", "command": "NOOP", "after_ms": 10000}]
        with self.server(rules, "--time-scale", "0.02") as s:
            c = s.ftp()
            t0 = time.monotonic()
            c.sendcmd("NOOP")
            elapsed = time.monotonic() - t0
            self.assertGreaterEqual(elapsed, 0.19)
            self.assertLess(elapsed, 5)
            c.quit()

    def test_data_refuse_425_and_421(self):
        rules = [{"action": "data_refuse", "command": "RETR", "count": 1},
                 {"action": "data_refuse", "command": "LIST", "code": 421}]
        with self.server(rules, files={"a.txt": b"abc"}) as s:
            r = run(["curl", "-sS", s.url + "/a.txt"])
            self.assertNotEqual(r.returncode, 0)
            c = s.ftp()  # the count restarts with this connection: refused again
            with self.assertRaisesRegex(ftplib.error_temp, "^425 Can't open data connection."):
                c.retrbinary("RETR a.txt", io.BytesIO().write)
            c.quit()
        with self.server(rules, files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            with self.assertRaisesRegex(ftplib.error_temp, "^425 Can't open data connection."):
                c.retrbinary("RETR a.txt", io.BytesIO().write)
            got = io.BytesIO()
            c.retrbinary("RETR a.txt", got.write)
            self.assertEqual(got.getvalue(), b"abc")
            with self.assertRaisesRegex(ftplib.error_temp, "^421 Service not available"):
                c.retrlines("LIST", lambda _: None)
            self.assertEqual(c.sock.recv(10), b"")  # control connection closed

    def test_data_silence_answers_150_then_nothing(self):
        import select
        rules = [{"action": "data_silence", "command": "RETR"}]
        with self.server(rules, files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            conn = c.transfercmd("RETR a.txt")  # 150 arrived
            readable, _, _ = select.select([conn, c.sock], [], [], 0.5)
            self.assertEqual(readable, [])  # no data, no reply
            # The session still answers ABOR.
            c.sock.sendall(b"ABOR\r\n")
            self.assertEqual(c.getline(), "426 Transfer aborted via ABOR.")
            self.assertEqual(c.getline(), "226 ABOR command successful.")
            conn.close()
            c.quit()
            self.assertEqual(s.faults(), ["data_silence RETR"])

    def test_data_drop_cuts_the_download_after_n_bytes(self):
        rules = [{"action": "data_drop", "command": "RETR", "after_bytes": 1000}]
        with self.server(rules, files={"blob.bin": BLOB}) as s:
            r = run(["curl", "-sS", s.url + "/blob.bin"])
            self.assertEqual(r.returncode, 18, r.stderr)  # CURLE_PARTIAL_FILE
            self.assertEqual(r.stdout, BLOB[:1000])
            c = s.ftp()
            got = io.BytesIO()
            with self.assertRaisesRegex(ftplib.error_temp,
                                        "^426 Connection closed; transfer aborted after 1000"):
                c.retrbinary("RETR blob.bin", got.write)
            self.assertEqual(got.getvalue(), BLOB[:1000])
            c.quit()

    def test_data_drop_cuts_an_upload_after_n_bytes(self):
        rules = [{"action": "data_drop", "command": "STOR", "after_bytes": 5000}]
        with self.server(rules) as s:
            c = s.ftp()
            with self.assertRaises((ftplib.error_temp, ConnectionError, OSError)):
                c.storbinary("STOR up.bin", io.BytesIO(BLOB))
            self.assertEqual(s.read("up.bin"), BLOB[:5000])

    def test_close_control_after_n_commands(self):
        rules = [{"action": "close_control", "after_commands": 3}]
        with self.server(rules) as s:
            c = s.ftp()  # USER, PASS
            self.assertEqual(c.sendcmd("NOOP"), "200 NOOP command successful.")
            self.assertEqual(c.sock.recv(10), b"")
            self.assertEqual(s.faults(), ["close_control after 3 commands"])

    def test_close_control_after_a_time(self):
        rules = [{"action": "close_control", "after_ms": 300}]
        with self.server(rules) as s:
            t0 = time.monotonic()
            sock, f = s.raw()
            self.assertEqual(f.readline(), b"")
            self.assertGreaterEqual(time.monotonic() - t0, 0.28)

    def test_idle_timeout_rule_sends_the_idle_421_early(self):
        rules = [{"action": "idle_timeout", "after_ms": 300}]
        with self.server(rules) as s:
            sock, f = s.raw()
            sock.sendall(b"NOOP\r\n")
            self.assertEqual(f.readline(), b"200 NOOP command successful.\r\n")
            t0 = time.monotonic()
            self.assertEqual(f.readline(), b"421 Control connection timed out.\r\n")
            self.assertGreaterEqual(time.monotonic() - t0, 0.28)
            self.assertEqual(f.readline(), b"")

    def test_data_bandwidth_limit_slows_the_download(self):
        rules = [{"action": "shape", "channel": "data", "bytes_per_second": 200000}]
        with self.server(rules, files={"blob.bin": BLOB[:100000]}) as s:
            t0 = time.monotonic()
            r = run(["curl", "-sS", s.url + "/blob.bin"])
            elapsed = time.monotonic() - t0
            self.assertEqual(r.stdout, BLOB[:100000])
            self.assertGreaterEqual(elapsed, 0.4)
            self.assertLess(elapsed, 5)

    def test_data_latency_delays_the_first_byte(self):
        rules = [{"action": "shape", "channel": "data", "latency_ms": 300, "command": "RETR"}]
        with self.server(rules, files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            t0 = time.monotonic()
            got = io.BytesIO()
            c.retrbinary("RETR a.txt", got.write)
            self.assertGreaterEqual(time.monotonic() - t0, 0.29)
            self.assertEqual(got.getvalue(), b"abc")
            c.quit()

    def test_control_latency_and_bandwidth_slow_the_replies(self):
        rules = [{"action": "shape", "channel": "control", "latency_ms": 200,
                  "bytes_per_second": 100}]
        with self.server(rules) as s:
            t0 = time.monotonic()
            sock, f = s.raw()  # greeting of 25 bytes: latency plus ~0.2 s
            self.assertGreaterEqual(time.monotonic() - t0, 0.3)
            t0 = time.monotonic()
            sock.sendall(b"NOOP\r\n")
            self.assertEqual(f.readline(), b"200 NOOP command successful.\r\n")
            self.assertGreaterEqual(time.monotonic() - t0, 0.35)

    def test_sticky_rules_count_across_connections_others_restart(self):
        rules = [{"action": "reply", "command": "NOOP", "text": "500 once per session",
                  "count": 1},
                 {"action": "reply", "command": "SYST", "text": "500 once ever", "count": 1,
                  "sticky": True}]
        with self.server(rules) as s:
            for first in (True, False):
                sock, f = s.raw()
                sock.sendall(b"NOOP\r\nSYST\r\n")
                self.assertEqual(f.readline(), b"500 once per session\r\n")
                self.assertEqual(f.readline(),
                                 b"500 once ever\r\n" if first else b"215 UNIX Type: L8\r\n")
                sock.close()

    def test_an_invalid_fault_file_is_refused_with_file_pointer_and_expectation(self):
        import json
        import tempfile
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"rules": [{"action": "reply", "text": "x"},
                                 {"action": "data_drop", "after_bytes": "ten"}]}, f)
        self.addCleanup(os.unlink, path)
        r = run([os.environ["QUECSIM_FTPD"], "--root", "/tmp", "--faults", path])
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode(), "quecsim-ftpd: %s: /rules/1/after_bytes: expected "
                         "an integer of at least 0, got the string \"ten\"\n" % path)
        self.assertEqual(r.stdout, b"")
        with open(path, "w") as f:
            f.write("{ not json")
        r = run([os.environ["QUECSIM_FTPD"], "--root", "/tmp", "--faults", path])
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.decode().startswith("quecsim-ftpd: %s:1:4: not valid JSON" % path),
                        r.stderr)
        with open(path, "w") as f:
            f.write('{"rules": [\n  {"action": "data_drop", "after_bytes": 1e400}]}')
        r = run([os.environ["QUECSIM_FTPD"], "--root", "/tmp", "--faults", path])
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.decode(), "quecsim-ftpd: %s:2:42: /rules/0/after_bytes: expected "
                         "a number a double can hold, got 1e400\n" % path)
        with open(path, "w") as f:
            json.dump({"rules": [{"action": "data_dorp"}]}, f)
        r = run([os.environ["QUECSIM_FTPD"], "--root", "/tmp", "--faults", path])
        self.assertEqual(r.returncode, 2)
        self.assertIn('got the string "data_dorp"; did you mean "data_drop"?', r.stderr.decode())


class TestConfinement(unittest.TestCase):
    ATTACKS = ["../outside/secret.txt", "../../../../../etc/passwd", "/../outside/secret.txt",
               "sub/../../outside/secret.txt", "....//outside/secret.txt",
               "%2e%2e/outside/secret.txt", "..\\outside\\secret.txt", "out/secret.txt",
               "link-secret", "dangling", "out", "\xc0\xae\xc0\xae/outside/secret.txt",
               "//../outside/secret.txt", "/etc/passwd", "sub/../out/../secret.txt"]

    def test_no_attack_reads_or_writes_outside_the_root_and_others_keep_being_served(self):
        with Server(files={"a.txt": b"abc", "sub/x": b"x"}) as s:
            os.symlink(s.outside, s.path("out"))
            os.symlink(os.path.join(s.outside, "secret.txt"), s.path("link-secret"))
            os.symlink(os.path.join(s.outside, "new-file"), s.path("dangling"))
            bystander = s.ftp()
            bystander.voidcmd("TYPE I")
            c = s.ftp()
            c.encoding = "latin-1"
            for a in self.ATTACKS:
                with self.subTest(attack=a):
                    got = io.BytesIO()
                    try:
                        c.retrbinary("RETR " + a, got.write)
                    except ftplib.error_perm:
                        pass
                    self.assertNotIn(b"SECRET", got.getvalue())
                    self.assertNotIn(b"root:", got.getvalue())
                    for cmd in ("SIZE", "MDTM", "DELE", "RMD", "MKD", "CWD", "RNFR", "STAT"):
                        try:
                            resp = c.sendcmd("%s %s" % (cmd, a))
                        except ftplib.error_perm as e:
                            resp = str(e)
                        except ftplib.error_reply as e:
                            resp = str(e)
                        self.assertNotIn("SECRET", resp)
                        if cmd == "RNFR" and resp.startswith("350"):
                            c.sendcmd("RNTO " + a + "-renamed")
                            c.sendcmd("RNFR " + a + "-renamed")
                            c.sendcmd("RNTO " + a)
                    c.cwd("/")
                    try:
                        c.storbinary("STOR " + a, io.BytesIO(b"PWNED"))
                    except ftplib.error_perm:
                        pass
                    try:
                        c.storbinary("APPE " + a, io.BytesIO(b"PWNED"))
                    except ftplib.error_perm:
                        pass
                    lines = []
                    try:
                        c.retrlines("LIST " + a, lines.append)
                    except ftplib.error_perm:
                        pass
                    self.assertFalse(any("secret" in x for x in lines), lines)
                    # The bystander is served throughout.
                    got = io.BytesIO()
                    bystander.retrbinary("RETR a.txt", got.write)
                    self.assertEqual(got.getvalue(), b"abc")
            self.assertEqual(sorted(os.listdir(s.outside)), ["secret.txt"])
            with open(os.path.join(s.outside, "secret.txt"), "rb") as f:
                self.assertEqual(f.read(), b"SECRET")
            self.assertEqual(sorted(os.listdir(s.base)), ["outside", "record.jsonl", "root"])
            c.quit()
            bystander.quit()

    def test_bad_input_never_stops_the_server(self):
        with Server("--max-line", "512", files={"a.txt": b"abc"}) as s:
            bystander = s.ftp()
            junk = [os.urandom(4096), b"\x00" * 1000 + b"\r\n", b"A" * 100000 + b"\r\n",
                    b"\xff\xff\xff\xfb", b"USER\r\nPASS\r\nPORT\r\n" * 20, b"\r\n" * 500,
                    b"PORT 1,2,3,4,5,6\r\nEPRT |9|x|y|\r\nREST -1\r\nTYPE Q\r\n"]
            for j in junk:
                sock, f = s.raw()
                sock.sendall(j)
                sock.shutdown(socket.SHUT_WR)
                lines = []
                while len(lines) < 10000:
                    line = f.readline()
                    if not line:
                        break
                    lines.append(line)
                sock.close()
                if j.startswith(b"PORT"):
                    # Half-closed after four lines: four answers, then the server closes.
                    self.assertEqual(lines, [b"530 Log in with USER and PASS first.\r\n"] * 4)
            sock, f = s.raw()
            sock.sendall(b"B" * 5000 + b"\r\nNOOP\r\n")
            self.assertEqual(f.readline(), b"500 Command too long.\r\n")
            self.assertEqual(f.readline(), b"200 NOOP command successful.\r\n")
            sock.close()
            got = io.BytesIO()
            bystander.retrbinary("RETR a.txt", got.write)
            self.assertEqual(got.getvalue(), b"abc")
            bystander.quit()
            self.assertEqual(sorted(os.listdir(s.root)), ["a.txt"])


class TestLimitsAndTimeouts(unittest.TestCase):
    def test_control_idle_timeout_says_421_and_closes(self):
        with Server("--idle-timeout", "0.3") as s:
            sock, f = s.raw()
            self.assertEqual(f.readline(), b"421 Control connection timed out.\r\n")
            self.assertEqual(f.readline(), b"")

    def test_time_scale_applies_to_the_idle_timeout(self):
        with Server("--idle-timeout", "30", "--time-scale", "0.01") as s:
            t0 = time.monotonic()
            sock, f = s.raw()
            self.assertEqual(f.readline(), b"421 Control connection timed out.\r\n")
            self.assertLess(time.monotonic() - t0, 5)

    def test_passive_accept_timeout_says_421(self):
        with Server("--passive-timeout", "0.3") as s:
            c = s.ftp()
            c.sendcmd("PASV")
            self.assertEqual(c.getline(), "421 Passive data channel timed out.")
            self.assertEqual(c.sendcmd("NOOP"), "200 NOOP command successful.")
            c.quit()

    def test_data_idle_timeout_says_421_and_closes(self):
        with Server("--data-timeout", "0.3") as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            conn = c.transfercmd("STOR slow.bin")
            conn.sendall(b"12345")
            self.assertEqual(c.getline(), "421 Data connection timed out.")
            self.assertEqual(c.sock.recv(10), b"")
            conn.close()

    def test_session_limits_answer_421(self):
        with Server("--max-sessions-per-address", "2") as s:
            a, b = s.raw(), s.raw()
            sock = socket.create_connection(("127.0.0.1", s.port))
            self.assertEqual(sock.makefile("rb").read(),
                             b"421 Too many connections from the same IP address.\r\n")
            a[0].close()
            b[0].close()
        with Server("--max-sessions", "1") as s:
            a = s.raw()
            sock = socket.create_connection(("127.0.0.1", s.port))
            self.assertEqual(sock.makefile("rb").read(),
                             b"421 Too many connections. Service temporarily unavailable.\r\n")

    def test_passive_connections_from_another_address_are_refused(self):
        with Server(files={"a.txt": b"abc"}) as s:
            c = s.ftp()
            c.voidcmd("TYPE I")
            resp = c.sendcmd("PASV")
            nums = resp[resp.index("(") + 1:resp.index(")")].split(",")
            port = int(nums[4]) * 256 + int(nums[5])
            thief = socket.socket()
            thief.bind(("127.0.0.2", 0))  # loopback, but not the client's address
            thief.settimeout(5)
            thief.connect(("127.0.0.1", port))
            try:
                self.assertEqual(thief.recv(10), b"")  # closed by the server, nothing sent
            except ConnectionResetError:
                pass
            thief.close()
            d = socket.create_connection(("127.0.0.1", port))
            self.assertEqual(c.sendcmd("RETR a.txt")[:4], "150 ")
            self.assertEqual(d.makefile("rb").read(), b"abc")
            d.close()
            self.assertEqual(c.voidresp(), "226 Transfer complete.")
            with self.assertRaisesRegex(ftplib.error_perm, "^501 Rejected data connection to "
                                                            "foreign address 127.0.0.2:"):
                c.sendcmd("PORT 127,0,0,2,200,10")
            c.quit()

    def test_running_out_of_descriptors_keeps_serving_and_recovers(self):
        with Server(nofile=48, files={"a.txt": b"abc"}) as s:
            bystander = s.ftp()
            flood = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(80)]
            self.assertEqual(bystander.sendcmd("NOOP"), "200 NOOP command successful.")
            for f in flood:
                f.close()
            fresh = s.ftp()
            got = io.BytesIO()
            fresh.retrbinary("RETR a.txt", got.write)
            self.assertEqual(got.getvalue(), b"abc")
            fresh.quit()
            bystander.quit()

    def test_port_to_another_address_is_refused(self):
        with Server() as s:
            c = s.ftp()
            with self.assertRaisesRegex(ftplib.error_perm,
                                        "^501 Rejected data connection to foreign address "
                                        "10.1.2.3:1025."):
                c.sendcmd("PORT 10,1,2,3,4,1")
            with self.assertRaisesRegex(ftplib.error_perm, "^501 Rejected"):
                c.sendcmd("EPRT |1|192.0.2.1|2000|")
            c.quit()


class TestUsersAndCli(unittest.TestCase):
    def test_strict_user_flag(self):
        with Server("--user", "alice:s3:cret") as s:
            s.ftp("alice", "s3:cret").quit()
            with self.assertRaisesRegex(ftplib.error_perm, "^530 Authentication failed."):
                s.ftp("alice", "wrong")
            with self.assertRaisesRegex(ftplib.error_perm, "^530 Authentication failed."):
                s.ftp("anonymous", "x")

    def test_users_file_homes_and_read_only(self):
        import json
        import tempfile
        users = {"anonymous": True, "users": [
            {"name": "bob", "password": "pw", "home": "/bob"},
            {"name": "ro", "password": "pw", "write": False}]}
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(users, f)
        self.addCleanup(os.unlink, path)
        with Server("--users-file", path, files={"bob/mine.txt": b"bob", "top.txt": b"t"}) as s:
            b = s.ftp("bob", "pw")
            self.assertEqual(b.nlst(), ["mine.txt"])
            with self.assertRaises(ftplib.error_perm):
                b.size("../top.txt")
            b.quit()
            ro = s.ftp("ro", "pw")
            with self.assertRaisesRegex(ftplib.error_perm, "^550 Not enough privileges."):
                ro.storbinary("STOR x", io.BytesIO(b"x"))
            ro.quit()
            an = s.ftp("anonymous", "me@")
            with self.assertRaisesRegex(ftplib.error_perm, "^550 Not enough privileges."):
                an.delete("top.txt")
            an.quit()

    def test_cli_errors_name_the_flag_or_file_and_exit_2(self):
        ftpd = os.environ["QUECSIM_FTPD"]
        cases = [
            ([ftpd], "--root is required"),
            ([ftpd, "--root", "/nonexistent-dir"], "--root: '/nonexistent-dir' is not an "
                                                     "existing folder"),
            ([ftpd, "--root", "/tmp", "--address", "0.0.0.0"],
             "--address: binding 0.0.0.0 (not loopback) requires --user or --users-file"),
            ([ftpd, "--root", "/tmp", "--user", "nocolon"], "--user: expected NAME:PASS"),
            ([ftpd, "--root", "/tmp", "--users-file", "/nonexistent.json"],
             "/nonexistent.json: cannot open the users file"),
            ([ftpd, "--root", "/tmp", "--port", "70000"], "--port"),
            ([ftpd, "--root", "/tmp", "--time-scale", "0"], "--time-scale"),
            ([ftpd, "--root", "/tmp", "--login-timeout", "0"],
             "--login-timeout: must be between 0 and 1e7 seconds"),
            ([ftpd, "--root", "/tmp", "--login-timeout", "soon"], "--login-timeout"),
            ([ftpd, "--root", "/tmp", "--faults", "/nonexistent.json"],
             "/nonexistent.json: cannot open the fault file"),
        ]
        for cmd, text in cases:
            with self.subTest(cmd=cmd):
                r = run(cmd)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(text, r.stderr.decode())
                self.assertEqual(r.stdout, b"")

    def test_a_port_in_use_exits_3(self):
        with Server() as s:
            r = run([os.environ["QUECSIM_FTPD"], "--root", s.root, "--port", str(s.port)])
            self.assertEqual(r.returncode, 3)
            self.assertIn("cannot listen on 127.0.0.1:%d" % s.port, r.stderr.decode())

    def test_sigint_ends_it_cleanly(self):
        import signal
        with Server() as s:
            s.proc.send_signal(signal.SIGINT)
            self.assertEqual(s.proc.wait(10), 0)
            s.proc.stdout.close()
            s.proc.stderr.close()
            s.proc = None


if __name__ == "__main__":
    unittest.main()
