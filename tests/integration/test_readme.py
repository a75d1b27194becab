"""The README's first screens are what a new user copies: its worked session and its pyserial
snippet run here, as written, against a freshly started quecsim with default flags, and pass on
the first try. Its first screen stays short, and every link of the README and the pages under
docs/ leads to a file (and a heading) that exists."""

import os
import re
import subprocess
import tempfile
import shutil
import unittest

from harness import TIMEOUT, QuecsimTestCase, quecsim_binary

SOURCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
README = os.path.join(SOURCE, "README.md")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def block_after(text, marker):
    """The body of the first fenced code block after the line holding `marker`."""
    at = text.index(marker)
    match = re.compile(r"^```[a-z]*\n(.*?)^```", re.M | re.S).search(text, at)
    if not match:
        raise AssertionError("no code block after %r" % marker)
    return match.group(1)


def unescape(text):
    """The README's byte notation: \\r is CR, \\n is LF, everything else is itself."""
    return text.replace("\\r", "\r").replace("\\n", "\n").encode("latin-1")


def session_steps(block):
    """(direction, bytes) of the worked session: ">>" the host sends, "<<" the module answers;
    "#" lines are the reader's comments."""
    steps = []
    for line in block.splitlines():
        if not line or line.startswith("#"):
            continue
        direction, _, data = line.partition(" ")
        if direction not in (">>", "<<"):
            raise AssertionError("a session line is '>> bytes', '<< bytes' or '# text': %r" % line)
        steps.append((direction, unescape(data)))
    return steps


class FreshStart(QuecsimTestCase):
    """quecsim with default flags (the profile's boot delay, 115200 baud, time scale 1); only its
    folders are put in a temporary place."""

    def start_fresh(self):
        folder = tempfile.mkdtemp(prefix="quecsim-readme-")
        self.addCleanup(shutil.rmtree, folder, True)
        self.ftp_root = os.path.join(folder, "quecsim-ftp")
        sim = self.start("--ftp-root", self.ftp_root, "--state-dir",
                         os.path.join(folder, "quecsim-state"), link=True, baud=None,
                         boot_delay=None, open_port=False)
        return sim

    def test_the_worked_session_runs_as_written(self):
        steps = session_steps(block_after(read(README), "<!-- worked-session"))
        self.assertGreater(len(steps), 10)
        sim = self.start_fresh()
        sim.open(sim.link)
        for direction, data in steps:
            if direction == ">>":
                sim.send(data)
            else:
                sim.expect(data, timeout=2 * TIMEOUT)
        sim.expect_silence(0.3)
        with open(os.path.join(self.ftp_root, "hello.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello")
        sim.close()

    def test_the_pyserial_snippet_pasted_at_once_prints_what_the_readme_shows(self):
        text = read(README)
        code = block_after(text, "<!-- pyserial-snippet")
        shown = block_after(text, "<!-- pyserial-output")
        self.assertIn('"/tmp/quecsim"', code)
        sim = self.start_fresh()
        done = subprocess.run(["/usr/bin/python3", "-c", code.replace("/tmp/quecsim", sim.link)],
                              capture_output=True, text=True, timeout=4 * TIMEOUT, check=False)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, shown)
        # Run again, it prints the answer alone, as the README says.
        again = subprocess.run(["/usr/bin/python3", "-c", code.replace("/tmp/quecsim", sim.link)],
                               capture_output=True, text=True, timeout=4 * TIMEOUT, check=False)
        self.assertEqual(again.stdout, "b'AT+CSQ\\r\\r\\n+CSQ: 20,0\\r\\n\\r\\nOK\\r\\n'\n")
        sim.close()


class PytestSnippet(unittest.TestCase):
    def test_the_pytest_snippet_passes_as_written(self):
        code = block_after(read(README), "<!-- pytest-snippet")
        conftest, marker, test = code.partition("# test_modem.py\n")
        self.assertTrue(marker, "the snippet names test_modem.py")
        folder = tempfile.mkdtemp(prefix="quecsim-readme-pytest-")
        self.addCleanup(shutil.rmtree, folder, True)
        for name, text in (("conftest.py", conftest), ("test_modem.py", test)):
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        env = dict(os.environ, PYTHONPATH=os.path.join(SOURCE, "python"),
                   PYTHONDONTWRITEBYTECODE="1")
        done = subprocess.run(
            ["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
             os.path.join(folder, "tmp"), "--rootdir", folder,
             "--quecsim-bin=" + quecsim_binary(), folder],
            capture_output=True, text=True, cwd=folder, env=env, timeout=20 * TIMEOUT,
            check=False)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("1 passed", done.stdout)


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    found = set()
    fence = False
    for line in read(path).splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"^#{1,6} ", line):
            found.add(slug(line.lstrip("#")))
    return found


class Documentation(unittest.TestCase):
    def test_the_first_screen_before_the_contents_is_under_150_lines(self):
        lines = read(README).splitlines()
        self.assertIn("## Contents", lines)
        self.assertLess(lines.index("## Contents"), 150)

    def test_every_link_leads_to_a_file_and_heading_that_exist(self):
        pages = [README, os.path.join(SOURCE, "ftpserver", "README.md"),
                 os.path.join(SOURCE, "scenarios", "README.md")]
        pages += [os.path.join(SOURCE, "docs", n) for n in sorted(os.listdir(
            os.path.join(SOURCE, "docs"))) if n.endswith(".md")]
        self.assertGreaterEqual(len(pages), 15)
        for page in pages:
            for target in re.findall(r"\]\(([^)\s]+)\)", read(page)):
                if re.match(r"^[a-z]+:", target):
                    continue  # a URL
                path, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path \
                    else page
                with self.subTest(page=os.path.relpath(page, SOURCE), link=target):
                    self.assertTrue(os.path.exists(full), "%s does not exist" % full)
                    if anchor:
                        self.assertIn(anchor, anchors(full))


if __name__ == "__main__":
    unittest.main()
