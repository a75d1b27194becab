"""quecsim report: one self-contained HTML page of a transcript, checked in headless Chromium
(what the page shows, as DOM text and as a screenshot) and refused with the line at fault."""

import html
import os
import re
import shutil
import subprocess
import unittest

from ftp_support import FtpTestCase
from harness import TIMEOUT, run_quecsim
from report_support import record_session

CHROMIUM = shutil.which("chromium")
# Where the screenshot stays for a person to look at: beside the test, in the build tree.
OUTPUT = os.path.abspath("report-test-output")


def chromium(page, *flags, fragment=""):
    """Runs headless Chromium on `page` (with the URL `fragment`) and returns its stdout."""
    # scripts/install-deps installs chromium: a missing one fails, it is not skipped.
    if CHROMIUM is None:
        raise AssertionError("chromium is not installed (scripts/install-deps installs it)")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--user-data-dir=" + os.path.join(OUTPUT, "chromium-profile"),
               "--window-size=1280,800", "--virtual-time-budget=5000", *flags,
               "file://" + page + fragment]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60 * TIMEOUT / 5,
                          check=False)
    if done.returncode != 0:
        raise AssertionError("chromium failed (%d): %s" % (done.returncode, done.stderr[-2000:]))
    return done.stdout


def text_of(dom):
    """The text the page shows: tags, scripts and styles dropped, entities decoded."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", dom))


class Report(FtpTestCase):

    def setUp(self):
        super().setUp()
        os.makedirs(OUTPUT, exist_ok=True)

    def make_report(self):
        sim = record_session(self)
        records = sim.transcript_records()
        page = os.path.join(OUTPUT, "report.html")
        done = run_quecsim("report", sim.transcript_path, "-o", page)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout + done.stderr, "")
        return records, page

    def test_the_page_is_one_file_with_no_reference_to_the_network(self):
        _, page = self.make_report()
        with open(page, encoding="utf-8") as f:
            content = f.read()
        self.assertIsNone(re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", content, re.I))
        self.assertNotRegex(content, r"<(link|img|iframe)\b|\bsrc=")
        self.assertEqual(content.count("<script"), 2)  # the data and the code, both inline
        # Bytes that would end the data <script> early are escaped.
        data = content.split('<script id="transcript-data" type="application/json">')[1]
        self.assertNotIn("</", data.split("</script>")[0])

    def test_chromium_shows_lanes_lines_a_data_span_a_fault_and_a_warning(self):
        records, page = self.make_report()
        dom = chromium(page, "--dump-dom")
        text = text_of(dom)
        for lane in ("host", "module", "FTP server", "faults", "state, info, warnings"):
            self.assertIn("<span>%s</span>" % lane, dom)
        self.assertIn("AT+CSQ\\r", text)                 # a command, in the host lane
        self.assertIn("+CSQ: 5,0", text)                 # an answer, in the module lane
        self.assertIn("220 quecsim-ftpd ready.", text)   # the FTP server's lane
        self.assertRegex(dom, r'class="row grid fault"[^>]*>.*?FAULT \{"action":"signal"')
        self.assertRegex(dom, r'class="row grid warning"[^>]*>.*?command line ended by LF alone')
        self.assertIn("Faults and warnings (2)", text)
        self.assertIn("%d records" % len(records), text)

    def test_a_line_opened_by_its_link_shows_its_bytes_in_hex(self):
        records, page = self.make_report()
        line = next(n for n, r in enumerate(records, 1)
                    if r["event"] == "rx" and r["data"] == "AT+CSQ\r")
        text = text_of(chromium(page, "--dump-dom", fragment="#line=%d" % line))
        self.assertIn("line %d," % line, text)
        self.assertIn("rx from uart, 7 bytes", text)
        self.assertIn("00000000  41 54 2b 43 53 51 0d     AT+CSQ.", text)
        self.assertRegex(text, r"text\s+AT\+CSQ\\r\s+bytes")  # the decoded text beside the hex
        self.assertRegex(text_of(chromium(page, "--dump-dom", fragment="#line=%d" % (line + 1))),
                         r"tx from uart")

    def test_data_mode_is_one_row_with_its_byte_counts_and_a_screenshot_shows_it(self):
        records, page = self.make_report()
        spans = [n for n, r in enumerate(records, 1)
                 if r["event"] == "state" and r["source"] == "uart" and r["data"] == "data"]
        self.assertEqual(len(spans), 2)
        text = text_of(chromium(page, "--dump-dom", fragment="#line=%d" % spans[0]))
        # The download collapsed: CONNECT and the 1587 bytes in one row; the upload likewise.
        self.assertIn("data mode: %d bytes to host (lines %d" % (11 + 1587, spans[0]), text)
        self.assertIn("data mode: 11 bytes to host, 600 bytes from host (lines %d" % spans[1],
                      text)
        self.assertIn("data mode, 1598 bytes to host in 2 chunks, 0 bytes from host", text)
        self.assertIn("to host, first 256 bytes:\n00000000  0d 0a 43 4f 4e 4e 45 43  ..CONNEC\n"
                      "00000008  54 0d 0a", text)
        self.assertIn("to host:\n\\r\\n\nCONNECT\\r\\n\n", text)  # decoded, beside the hex
        line = spans[0]
        shot = os.path.join(OUTPUT, "report.png")
        if os.path.exists(shot):
            os.remove(shot)
        chromium(page, "--screenshot=" + shot, "--hide-scrollbars", fragment="#line=%d" % line)
        with open(shot, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(int.from_bytes(png[16:20], "big"), 1280)
        self.assertGreater(len(png), 20000)  # a page with text, not a blank one
        print("\nreport screenshot: %s" % shot)


class ReportErrors(unittest.TestCase):

    def write(self, name, content):
        os.makedirs(OUTPUT, exist_ok=True)
        path = os.path.join(OUTPUT, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def test_a_malformed_line_is_named_with_its_number(self):
        good = b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":"AT\\r"}\n'
        cases = {
            b"not json\n": "not JSON",
            b"[1,2]\n": "not a JSON object",
            b'{"t":0.1,"module":0,"event":"rx","source":"uart"}\n': 'no "data"',
            b'{"t":"x","module":0,"event":"rx","source":"uart","data":""}\n': '"t" is not a number',
            b'{"t":0.1,"module":0.5,"event":"rx","source":"uart","data":""}\n':
                '"module" is not an integer',
            b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":"\\u0100"}\n':
                '"data" holds a character above U+00FF (not bytes)',
            b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":""}':
                "the last line has no line end (a cut file?)",
        }
        for bad, message in cases.items():
            with self.subTest(bad=bad):
                path = self.write("bad.jsonl", good + good + bad)
                out = os.path.join(OUTPUT, "bad.html")
                done = run_quecsim("report", path, "-o", out)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertEqual(done.stderr, "quecsim report: %s:3: %s\n" % (path, message))
                self.assertFalse(os.path.exists(out))

    def test_a_missing_file_or_flag_is_a_usage_error(self):
        done = run_quecsim("report", "/nonexistent/t.jsonl")
        self.assertEqual(done.returncode, 2)
        self.assertIn("/nonexistent/t.jsonl", done.stderr)
        done = run_quecsim("report")
        self.assertEqual(done.returncode, 2)
        self.assertIn("TRANSCRIPT is required", done.stderr)

    def test_an_unwritable_output_is_a_runtime_error(self):
        path = self.write("one.jsonl",
                          b'{"t":0.1,"module":0,"event":"rx","source":"uart","data":"AT\\r"}\n')
        done = run_quecsim("report", path, "-o", "/nonexistent/dir/r.html")
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, "quecsim report: cannot write /nonexistent/dir/r.html\n")


if __name__ == "__main__":
    unittest.main()
