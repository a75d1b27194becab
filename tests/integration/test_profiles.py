"""Model profiles as data: --model NAME or FILE, a broken file refused with the file and the
JSON pointer, and a profile that removes a command or adds one with fixed texts, no code."""

import json
import os
import shutil
import tempfile
import unittest

from harness import QuecsimTestCase, crlf, run_quecsim

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
PROFILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "profiles")


def shipped(name):
    with open(os.path.join(PROFILES, name + ".json")) as f:
        return json.load(f)


class Profiles(QuecsimTestCase):
    def write(self, profile, name="custom.json"):
        folder = tempfile.mkdtemp(prefix="quecsim-profile-")
        self.addCleanup(shutil.rmtree, folder, True)
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            if isinstance(profile, str):
                f.write(profile)
            else:
                json.dump(profile, f)
        return path

    def test_a_profile_file_can_remove_a_command_and_add_one_with_fixed_texts(self):
        profile = shipped("M95")
        profile["model"] = "M95-custom"
        profile["identity"]["revision"] = "M95FAR02A08_CUSTOM"
        profile["commands"]["+CBC"] = False
        profile["commands"]["+QGMR"] = {"exec": ["M95FAR02A08_1.0"], "test": []}
        sim = self.start_quiet("--model", self.write(profile))
        self.assertEqual(sim.model, "M95-custom")
        sim.command(b"AT+CGMR", crlf(b"Revision: M95FAR02A08_CUSTOM") + OK)
        sim.command(b"AT+CBC", ERROR)
        sim.command(b"AT+QGMR", crlf(b"M95FAR02A08_1.0") + OK)
        sim.command(b"AT+QGMR=?", OK)
        sim.command(b"AT+QGMR?", ERROR)  # a form the profile does not give
        sim.command(b"AT+CMEE=2", OK)
        sim.command(b"AT+CBC", crlf(b"+CME ERROR: unknown"))

    def test_a_broken_profile_is_refused_with_the_file_and_the_json_pointer(self):
        profile = shipped("M95")
        profile["identity"]["imei"] = "123"
        path = self.write(profile)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertEqual(result.stdout, "")
        self.assertEqual(result.stderr, "quecsim: --model %s: %s: /identity/imei: expected 15 "
                                        "digits, got the string \"123\"\n" % (path, path))

    def test_unknown_keys_and_bad_json_are_refused(self):
        profile = shipped("M10")
        profile["network"]["colour"] = "blue"
        path = self.write(profile)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(path + ": /network/colour: unknown key", result.stderr)
        path = self.write("{not json")
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(path + ":1:3: not valid JSON: ", result.stderr)

    def test_errors_say_what_was_found_and_the_nearest_name(self):
        profile = shipped("M95")
        profile["power"]["boot_delay_ms"] = "5"
        path = self.write(profile)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn(path + ': /power/boot_delay_ms: expected an integer from 0 to 60000, got '
                      'the string "5"', result.stderr)
        profile = shipped("M95")
        profile["netwrk"] = profile.pop("network")
        path = self.write(profile)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertIn(path + ': /netwrk: unknown key; did you mean "network"?', result.stderr)

    def test_a_number_too_large_for_a_double_is_named_with_its_line_and_pointer(self):
        text = json.dumps(shipped("M95"), indent=2).replace('"boot_delay_ms": 3000',
                                                            '"boot_delay_ms": 1e400')
        line = next(i for i, l in enumerate(text.splitlines(), 1) if "1e400" in l)
        column = text.splitlines()[line - 1].index("1e400") + 1
        path = self.write(text)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("%s:%d:%d: /power/boot_delay_ms: expected a number a double can hold, got "
                      "1e400\n" % (path, line, column), result.stderr)

    def test_a_command_marked_supported_that_nothing_implements_is_refused(self):
        profile = shipped("M95")
        profile["commands"]["+QNOSUCH"] = True
        path = self.write(profile)
        result = run_quecsim("--ready-json", "--model", path)
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("/commands/+QNOSUCH: marked supported, but quecsim does not implement it",
                      result.stderr)

    def test_an_unknown_model_name_is_a_bad_command_line(self):
        result = run_quecsim("--ready-json", "--model", "M99")
        self.assertEqual(result.returncode, 2, result)
        self.assertEqual(result.stderr, "quecsim: --model M99: unknown model 'M99' (one of M10, "
                                        "M33, M95, MC60, or a profile file)\n")

    def test_a_missing_profile_file_is_refused_naming_it(self):
        result = run_quecsim("--ready-json", "--model", "/nonexistent/x.json")
        self.assertEqual(result.returncode, 1, result)
        self.assertIn("/nonexistent/x.json: cannot be read", result.stderr)


if __name__ == "__main__":
    unittest.main()
