"""The pytest plugin (python/quecsim/pytest_plugin.py) as its users meet it: pytest run in a
subprocess on small test files, its terminal output and JUnit XML read back. A failing test's
report names the transcript; a scenario whose expectations fail fails the test with quecsim's
message; bad options and markers are refused by name."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import xml.etree.ElementTree as ET

from harness import TIMEOUT, quecsim_binary

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.join(HERE, "..", "..", "python")


class PytestRun:
    """pytest run on one test file in a private folder."""

    def __init__(self, test, source, *options, files=None):
        self.folder = tempfile.mkdtemp(prefix="quecsim-pytest-")
        test.addCleanup(shutil.rmtree, self.folder, True)
        for name, text in (files or {}).items():
            with open(os.path.join(self.folder, name), "w") as f:
                f.write(text)
        with open(os.path.join(self.folder, "test_user.py"), "w") as f:
            f.write(textwrap.dedent(source))
        self.junit = os.path.join(self.folder, "report.xml")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.abspath(PYTHON_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                             if p])
        env.pop("QUECSIM_BIN", None)
        command = [sys.executable, "-m", "pytest", "-p", "quecsim.pytest_plugin",
                   "-p", "no:cacheprovider", "--basetemp", os.path.join(self.folder, "tmp"),
                   "--junitxml", self.junit, "-rA", *options, "test_user.py"]
        self.result = subprocess.run(command, cwd=self.folder, env=env, capture_output=True,
                                     text=True, timeout=20 * TIMEOUT, check=False)
        self.output = self.result.stdout + self.result.stderr

    def properties(self):
        """The JUnit XML's testcase properties: {test name: [(name, value), ...]}."""
        tree = ET.parse(self.junit)
        return {case.get("name"): [(p.get("name"), p.get("value"))
                                   for p in case.iter("property")]
                for case in tree.iter("testcase")}


class PluginReports(unittest.TestCase):

    def run_pytest(self, source, *options, files=None):
        return PytestRun(self, source, "--quecsim-bin", quecsim_binary(), *options, files=files)

    def test_a_failing_test_names_its_transcript_in_the_terminal_and_the_junit_xml(self):
        run = self.run_pytest("""
            def test_passes(quecsim):
                quecsim.port.write(b"AT\\r")
                assert quecsim.port.read_until(b"OK\\r\\n").endswith(b"AT\\r\\r\\nOK\\r\\n")

            def test_fails(quecsim):
                quecsim.port.write(b"AT+CSQ\\r")
                assert quecsim.port.read_until(b"OK\\r\\n").endswith(b"+CSQ: 99,99\\r\\n\\r\\nOK\\r\\n")
            """)
        self.assertEqual(run.result.returncode, 1, run.output)
        self.assertIn("1 failed, 1 passed", run.output)
        properties = run.properties()
        self.assertEqual(properties["test_passes"], [])
        [(name, transcript)] = properties["test_fails"]
        self.assertEqual(name, "quecsim_transcript")
        self.assertTrue(transcript.endswith(os.path.join("test_fails0", "quecsim",
                                                         "transcript.jsonl")), transcript)
        self.assertIn("transcript: %s\n" % transcript, run.output)
        with open(transcript, encoding="latin-1") as f:
            self.assertIn('"data":"AT+CSQ\\r"', f.read())

    def test_a_module_on_tcp_gives_a_socket_url_port(self):
        run = self.run_pytest("""
            import pytest

            @pytest.mark.quecsim("--tcp-listen", "0", power_up_lines=False)
            def test_over_tcp(quecsim):
                assert quecsim.pty is None
                assert quecsim.endpoint["kind"] == "tcp-listen"
                quecsim.port.write(b"AT\\r")
                assert quecsim.port.read_until(b"OK\\r\\n") == b"AT\\r\\r\\nOK\\r\\n"
            """)
        self.assertEqual(run.result.returncode, 0, run.output)
        self.assertIn("1 passed", run.output)

    def test_a_scenario_whose_expectations_fail_fails_the_test_with_quecsims_message(self):
        run = self.run_pytest("""
            import json
            import pytest

            def test_expects_a_line_that_never_comes(quecsim_factory, tmp_path):
                scenario = tmp_path / "never.json"
                scenario.write_text(json.dumps({
                    "name": "never", "description": "expects a line nobody sends",
                    "events": [],
                    "expect": {"lines": ["+QFTPOPEN:-4"]}}))
                module = quecsim_factory(scenario=str(scenario))
                module.port.write(b"AT\\r")
                module.port.read_until(b"OK\\r\\n")
            """)
        self.assertEqual(run.result.returncode, 1, run.output)
        self.assertIn("1 passed, 1 error", run.output)
        self.assertIn("quecsim exited with code 3: a scenario's expectations did not hold",
                      run.output)
        self.assertIn("+QFTPOPEN:-4", run.output)
        [(name, transcript)] = run.properties()["test_expects_a_line_that_never_comes"]
        self.assertEqual(name, "quecsim_transcript")
        self.assertTrue(os.path.isfile(transcript), transcript)

    MARKED = """
        import pytest

        @pytest.mark.quecsim("--imei", "490154203237518", model="M10",
                             scenario="dns.json", time_scale=0.05)
        def test_marked(quecsim):
            port = quecsim.port
            assert port.read_until(b"SMS Ready\\r\\n").startswith(b"\\r\\nRDY\\r\\n")
            port.write(b"AT+CGSN\\r")
            assert port.read_until(b"OK\\r\\n") == (
                b"AT+CGSN\\r\\r\\n490154203237518\\r\\n\\r\\nOK\\r\\n")
            port.write(b'AT+QFTPOPEN="ftp.example.com",21\\r')
            assert port.read_until(b"+QFTPOPEN:-4\\r\\n").endswith(
                b"OK\\r\\n\\r\\n+QFTPOPEN:-4\\r\\n")
            assert quecsim.control({"op": "state"})["model"] == "M10"
        """

    def test_marker_arguments_reach_the_module_and_the_scenario_is_found_beside_the_test(self):
        with open(os.path.join(HERE, "..", "..", "scenarios", "dns-failure.json")) as f:
            scenario = f.read().replace('"./schema.json"', '"schema.json"')
        run = self.run_pytest(self.MARKED, files={"dns.json": scenario})
        self.assertEqual(run.result.returncode, 0, run.output)
        self.assertIn("1 passed", run.output)

    def test_a_module_that_cannot_start_errors_the_test_with_quecsims_message(self):
        run = self.run_pytest(self.MARKED)
        self.assertEqual(run.result.returncode, 1, run.output)
        self.assertIn("1 error", run.output)
        self.assertRegex(run.output, r"quecsim exited with code 2 before it was ready: "
                                     r"--scenario: File does not exist: .*/dns\.json")

    def test_unknown_marker_options_and_bad_flags_are_refused_by_name(self):
        run = self.run_pytest("""
            import pytest

            @pytest.mark.quecsim(time_scael=0.05)
            def test_typo(quecsim):
                pass
            """)
        self.assertEqual(run.result.returncode, 1, run.output)
        self.assertIn("@pytest.mark.quecsim: unknown option(s) time_scael", run.output)

        bad_bin = PytestRun(self, "def test_nothing():\n    pass\n",
                            "--quecsim-bin", "/nonexistent/quecsim")
        self.assertEqual(bad_bin.result.returncode, 4, bad_bin.output)
        self.assertIn("--quecsim-bin: /nonexistent/quecsim is not an executable file",
                      bad_bin.output)

        bad_scale = self.run_pytest("def test_nothing():\n    pass\n",
                                    "--quecsim-time-scale", "fast")
        self.assertEqual(bad_scale.result.returncode, 4, bad_scale.output)
        self.assertIn("--quecsim-time-scale: expected a positive number, got 'fast'",
                      bad_scale.output)


if __name__ == "__main__":
    unittest.main()
