"""The quecsim process: the pty and its --link, reopening, signals, command-line errors."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from harness import POWER_UP_LINES, TIMEOUT, QuecsimTestCase, quecsim_binary, run_quecsim

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class ReadyLine(QuecsimTestCase):
    def test_ready_json_names_pty_link_pid_and_model(self):
        sim = self.start("--model", "M33", link=True)
        self.assertEqual(set(sim.ready), {"pty", "link", "pid", "control", "model", "ftp", "state_dir",
                                          "tcpip_server"})
        # The storage folder defaults to quecsim-state beside the FTP root.
        self.assertEqual(sim.ready["state_dir"],
                         os.path.join(os.path.dirname(sim.ready["ftp"]["root"]), "quecsim-state"))
        self.assertTrue(sim.pty.startswith("/dev/pts/"), sim.pty)
        self.assertEqual(sim.ready["link"], sim.link)
        self.assertEqual(sim.ready["control"], sim.link + ".ctl")
        self.assertEqual(sim.pid, sim.proc.pid)
        self.assertEqual(sim.model, "M33")
        sim.close()

    def test_ready_json_link_is_null_without_link(self):
        sim = self.start()
        self.assertIsNone(sim.ready["link"])
        self.assertIsNone(sim.ready["control"])
        sim.close()


class Link(QuecsimTestCase):
    def test_link_points_at_the_pty_and_the_module_answers_through_it(self):
        sim = self.start("--no-power-up-lines", link=True, open_port=False)
        self.assertEqual(os.readlink(sim.link), sim.pty)
        sim.open(sim.link)
        sim.command(b"AT", b"\r\nOK\r\n", echo=True)
        sim.close()  # checks that the link is removed

    def test_link_replaces_a_stale_symlink(self):
        folder = tempfile.mkdtemp(prefix="quecsim-it-")
        self.addCleanup(os.rmdir, folder)
        link = os.path.join(folder, "modem")
        os.symlink("/dev/pts/nonexistent", link)
        sim = self.start(link=link)
        self.assertEqual(os.readlink(link), sim.pty)
        sim.close()
        self.assertFalse(os.path.lexists(link))

    def test_link_over_a_regular_file_is_refused_and_the_file_kept(self):
        folder = tempfile.TemporaryDirectory(prefix="quecsim-it-")
        self.addCleanup(folder.cleanup)
        path = os.path.join(folder.name, "precious")
        with open(path, "w") as f:
            f.write("keep me")
        result = run_quecsim("--ready-json", "--link", path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(path, result.stderr)
        self.assertEqual(result.stdout, "")
        with open(path) as f:
            self.assertEqual(f.read(), "keep me")


class Reopen(QuecsimTestCase):
    def test_module_state_survives_the_host_closing_and_reopening_the_pty(self):
        sim = self.start("--no-power-up-lines")
        sim.send(b"ATE0\r")
        sim.expect(b"ATE0\r\r\nOK\r\n")
        sim.command(b"AT+CMEE=2", b"\r\nOK\r\n")
        sim.reopen()
        # No echo, verbose CME errors: the same module, in the same state.
        sim.command(b"AT+NOSUCH", b"\r\n+CME ERROR: unknown\r\n")
        sim.reopen()
        sim.command(b"AT", b"\r\nOK\r\n")
        sim.close()

    def test_power_up_lines_wait_for_a_host_that_opens_the_pty_late(self):
        sim = self.start(open_port=False)
        sim.open()
        sim.expect(POWER_UP_LINES)

    def test_reopening_through_the_link_works_too(self):
        sim = self.start("--no-power-up-lines", link=True)
        sim.echo_off()
        sim.reopen(sim.link)
        sim.command(b"AT+CSQ", b"\r\n+CSQ: 20,0\r\n\r\nOK\r\n")
        sim.close()


class Signals(QuecsimTestCase):
    def test_sigterm_ends_the_process_with_exit_code_0_and_removes_the_link(self):
        sim = self.start(link=True)
        sim.skip_power_up()
        self.assertEqual(sim.close(signal.SIGTERM), 0)

    def test_sigint_ends_the_process_with_exit_code_0_and_removes_the_link(self):
        sim = self.start(link=True)
        sim.skip_power_up()
        self.assertEqual(sim.close(signal.SIGINT), 0)

    def test_signal_while_a_command_runs_still_ends_cleanly(self):
        sim = self.start("--no-power-up-lines", link=True)
        sim.send(b"AT+QIACT\r")  # 800 ms of simulated activation
        sim.expect(b"AT+QIACT\r")
        self.assertEqual(sim.close(signal.SIGTERM), 0)

    def test_signal_with_the_pty_closed_ends_cleanly(self):
        sim = self.start(link=True, open_port=False)
        self.assertEqual(sim.close(signal.SIGTERM), 0)


class CommandLineErrors(unittest.TestCase):
    def assert_refused(self, args, *names):
        result = run_quecsim("--ready-json", *args)
        self.assertNotEqual(result.returncode, 0, result)
        self.assertEqual(result.stdout, "", "no ready line on a refused command line")
        for name in names:
            self.assertIn(name, result.stderr)
        return result

    def test_bad_baud_is_refused_naming_the_flag(self):
        self.assert_refused(["--baud", "1234"], "--baud", "1234")
        self.assert_refused(["--baud", "fast"], "--baud")

    def test_bad_model_is_refused_naming_the_flag(self):
        self.assert_refused(["--model", "M99"], "--model", "M99")

    def test_bad_time_scale_is_refused_naming_the_flag_in_one_short_line(self):
        for value in ("0", "-1", "abc", "nan", "inf"):
            with self.subTest(value=value):
                result = self.assert_refused(["--time-scale", value], "--time-scale")
                self.assertLess(len(result.stderr.splitlines()[0]), 120, result.stderr)

    def test_bad_imei_is_refused_naming_the_flag(self):
        self.assert_refused(["--imei", "12345"], "--imei")
        self.assert_refused(["--imei", "86727302012345x"], "--imei")

    def test_unwritable_transcript_is_refused_naming_the_file(self):
        path = "/nonexistent-quecsim-dir/transcript.jsonl"
        self.assert_refused(["--transcript", path], path)

    def test_link_in_a_missing_folder_is_refused_naming_the_path(self):
        path = "/nonexistent-quecsim-dir/modem"
        self.assert_refused(["--link", path], path)

    def test_unknown_option_is_refused_naming_it(self):
        self.assert_refused(["--frobnicate"], "--frobnicate")

    def test_help_exits_0(self):
        result = run_quecsim("--help")
        self.assertEqual(result.returncode, 0)
        for flag in ("--link", "--ready-json", "--transcript", "--baud", "--model",
                     "--no-power-up-lines", "--time-scale", "--imei", "--realistic-boot"):
            self.assertIn(flag, result.stdout)

    def test_help_lists_every_subcommand_on_a_line_of_its_own(self):
        result = run_quecsim("--help")
        self.assertEqual(result.returncode, 0)
        for name in ("ctl", "campaign", "report", "replay"):
            # One line: the name, then what it does, and no continuation line after it.
            self.assertRegex(result.stdout, r"\n  quecsim %s +\S[^\n]*\n(?!   )" % name)

    def test_every_subcommand_has_its_own_help(self):
        for name in ("ctl", "campaign", "report", "replay"):
            with self.subTest(subcommand=name):
                result = run_quecsim(name, "--help")
                self.assertEqual(result.returncode, 0, result)
                self.assertIn("quecsim " + name, result.stdout)
                self.assertIn("Usage", result.stdout)
                self.assertEqual(result.stderr, "")


class DefaultFolders(unittest.TestCase):
    """A plain run writes ./quecsim-ftp and ./quecsim-state: it names them on stderr, and the
    repository's .gitignore ignores them (and a campaign's ./quecsim-campaign)."""

    def test_a_plain_run_names_the_folders_it_writes_in_the_current_folder(self):
        folder = tempfile.mkdtemp(prefix="quecsim-cwd-")
        self.addCleanup(shutil.rmtree, folder, True)
        proc = subprocess.Popen([quecsim_binary(), "--ready-json"], cwd=folder,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        try:
            json.loads(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"./quecsim-ftp", err)
        self.assertIn(b"./quecsim-state", err)
        self.assertEqual(sorted(os.listdir(folder)), ["quecsim-ftp", "quecsim-state"])

    def test_a_run_given_both_folders_names_none(self):
        folder = tempfile.mkdtemp(prefix="quecsim-cwd-")
        self.addCleanup(shutil.rmtree, folder, True)
        proc = subprocess.Popen([quecsim_binary(), "--ready-json", "--ftp-root", "f",
                                 "--state-dir", "s"], cwd=folder, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            json.loads(proc.stdout.readline())
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=TIMEOUT)
        self.assertEqual(err, b"")

    @unittest.skipUnless(shutil.which("git") and os.path.isdir(os.path.join(SOURCE, ".git"))
                         or os.path.isfile(os.path.join(SOURCE, ".git")),
                         "not a git checkout")
    def test_git_ignores_the_folders_a_run_writes_in_the_checkout(self):
        for path in ("quecsim-ftp/a.bin", "quecsim-state/ufs/a.txt", "quecsim-campaign/001-x/log",
                     "tests/integration/quecsim-ftp/a.bin"):
            with self.subTest(path=path):
                done = subprocess.run(["git", "-C", SOURCE, "check-ignore", "-q", path],
                                      check=False)
                self.assertEqual(done.returncode, 0, "%s is not ignored" % path)


if __name__ == "__main__":
    unittest.main()
