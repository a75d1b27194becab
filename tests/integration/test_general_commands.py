"""The general commands drivers send at start-up: identification, SIM, network, character
set, clock, settings, power, and the TCP/IP context helpers, in every form, with CMEE 0/1/2."""

import time
import unittest

from harness import QuecsimTestCase, crlf, derived_profile

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
FAST = ("--time-scale", "0.01")


def answer(sim, line, timeout=5.0):
    """Sends `line` and returns everything up to its final result, for answers that change
    with time (the clock)."""
    sim.send(line + b"\r")
    got = b""
    deadline = time.monotonic() + timeout
    while not got.endswith((b"\r\nOK\r\n", b"ERROR\r\n")) and time.monotonic() < deadline:
        got += sim.read_for(0.02)
    return got


def info(*lines):
    """Information lines each in their own frame, then OK."""
    return b"".join(crlf(l) for l in lines) + OK


class Identification(QuecsimTestCase):
    def test_identity_commands_answer_the_profile_texts(self):
        sim = self.start_quiet()
        sim.command(b"AT+QGSN", info(b"+QGSN: 867273020123456"))
        sim.command(b"AT+CIMI", info(b"460001234567890"))
        sim.command(b"AT+QCCID", info(b"89860012345678901234"))
        for cmd in (b"AT+QGSN=?", b"AT+CIMI=?", b"AT+QCCID=?"):
            sim.command(cmd, OK)
        # No read or write forms.
        for cmd in (b"AT+CIMI?", b"AT+CIMI=1", b"AT+QCCID?", b"AT+QGSN?"):
            sim.command(cmd, ERROR)

    def test_imei_flag_reaches_qgsn(self):
        sim = self.start_quiet("--imei", "490154203237518")
        sim.command(b"AT+QGSN", info(b"+QGSN: 490154203237518"))


class ModelCommands(QuecsimTestCase):
    """AT+QCCID, AT+CCID and AT+QTEMP? as each shipped profile declares them (docs/at-engine.md
    names the sources of each decision). The profiles are read from this tree, not the binary's
    compiled-in path, so the test checks the files beside it."""

    def start_model(self, name):
        return self.start_quiet("--model", derived_profile(self, name, lambda p: None))

    def refused(self, sim, line):
        for mode, answer in ((0, ERROR), (1, crlf(b"+CME ERROR: 100")),
                             (2, crlf(b"+CME ERROR: unknown"))):
            sim.command(b"AT+CMEE=%d" % mode, OK)
            sim.command(line, answer)

    def test_qccid_answers_the_bare_iccid_on_every_model(self):
        for name in ("M95", "MC60", "M10", "M33"):
            with self.subTest(model=name):
                sim = self.start_model(name)
                sim.command(b"AT+QCCID", info(b"89860012345678901234"))
                sim.command(b"AT+QCCID=?", OK)

    def test_ccid_answers_the_quoted_iccid_on_m95_and_mc60(self):
        for name in ("M95", "MC60"):
            with self.subTest(model=name):
                sim = self.start_model(name)
                sim.command(b"AT+CCID", info(b'+CCID: "89860012345678901234"'))
                sim.command(b"AT+CCID=?", OK)
                for cmd in (b"AT+CCID?", b"AT+CCID=1"):
                    sim.command(cmd, ERROR)

    def test_ccid_is_refused_on_m10_and_m33(self):
        for name in ("M10", "M33"):
            with self.subTest(model=name):
                self.refused(self.start_model(name), b"AT+CCID")

    def test_qtemp_read_on_m95(self):
        sim = self.start_model("M95")
        sim.command(b"AT+QTEMP?", info(b"+QTEMP: 1,1123,36"))
        for cmd in (b"AT+QTEMP", b"AT+QTEMP=?", b"AT+QTEMP=0"):
            sim.command(cmd, ERROR)

    def test_qtemp_is_refused_on_mc60_m10_and_m33(self):
        for name in ("MC60", "M10", "M33"):
            with self.subTest(model=name):
                self.refused(self.start_model(name), b"AT+QTEMP?")


class CharacterSet(QuecsimTestCase):
    def test_cscs_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSCS=?",
                    info(b'+CSCS: ("GSM","HEX","IRA","PCCP437","UCS2","8859-1")'))
        sim.command(b"AT+CSCS?", info(b'+CSCS: "GSM"'))
        sim.command(b'AT+CSCS="UCS2"', OK)
        sim.command(b"AT+CSCS?", info(b'+CSCS: "UCS2"'))
        sim.command(b'AT+CSCS="UTF8"', ERROR)
        sim.command(b"AT+CSCS=GSM", ERROR)
        sim.command(b"AT+CSCS", ERROR)
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b'AT+CSCS="X"', crlf(b"+CME ERROR: 50"))

    def test_operator_names_follow_the_character_set(self):
        sim = self.start_quiet()
        sim.command(b"AT+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"'))
        sim.command(b'AT+CSCS="UCS2"', OK)
        sim.command(b"AT+COPS?", info(b'+COPS: 0,0,"004300480049004E00410020004D004F00420049004C0045"'))
        sim.command(b'AT+CSCS="HEX"', OK)
        sim.command(b"AT+COPS=3,1", OK)
        sim.command(b"AT+COPS?", info(b'+COPS: 0,1,"434D4343"'))
        sim.command(b"AT+COPS=3,2", OK)
        sim.command(b"AT+COPS?", info(b'+COPS: 0,2,"46000"'))  # digits are never converted

    def test_cmgf_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMGF=?", info(b"+CMGF: (0,1)"))
        sim.command(b"AT+CMGF?", info(b"+CMGF: 0"))
        sim.command(b"AT+CMGF=1", OK)
        sim.command(b"AT+CMGF?", info(b"+CMGF: 1"))
        sim.command(b"AT+CMGF=2", ERROR)


class Sim(QuecsimTestCase):
    def test_cpin_forms_with_a_ready_sim(self):
        sim = self.start_quiet()
        sim.command(b"AT+CPIN?", info(b"+CPIN: READY"))
        sim.command(b"AT+CPIN=?", OK)
        sim.command(b'AT+CPIN="1234"', ERROR)  # nothing to unlock
        sim.command(b"AT+CMEE=2", OK)
        sim.command(b'AT+CPIN="1234"', crlf(b"+CME ERROR: operation not allowed"))
        sim.command(b"AT+CPIN=1234", crlf(b"+CME ERROR: Incorrect parameters"))

    def test_qsimstat_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+QSIMSTAT=?", info(b"+QSIMSTAT: (0,1)"))
        sim.command(b"AT+QSIMSTAT?", info(b"+QSIMSTAT: 0,1"))
        sim.command(b"AT+QSIMSTAT=1", OK)
        sim.command(b"AT+QSIMSTAT?", info(b"+QSIMSTAT: 1,1"))
        sim.command(b"AT+QSIMSTAT=2", ERROR)


class Network(QuecsimTestCase):
    def test_cops_forms(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+COPS=?", info(b'+COPS: (2,"CHINA MOBILE","CMCC","46000"),,(0-4),(0-2)'))
        sim.command(b"AT+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"'))
        sim.command(b"AT+COPS=3,1", OK)
        sim.command(b"AT+COPS?", info(b'+COPS: 0,1,"CMCC"'))
        sim.command(b'AT+COPS=1,2,"46000"', OK)
        sim.command(b"AT+COPS?", info(b'+COPS: 1,2,"46000"'))
        sim.command(b'AT+COPS=1,2,"26201"', ERROR)
        sim.command(b"AT+COPS=5", ERROR)
        sim.command(b"AT+COPS=0", OK)

    def test_cops_2_deregisters_and_0_registers_again_with_urcs(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+CREG=1", OK)
        sim.command(b"AT+COPS=2", OK + crlf(b"+CREG: 0"))
        sim.command(b"AT+COPS?", info(b"+COPS: 2"))
        sim.command(b"AT+CREG?", info(b"+CREG: 1,0"))
        sim.command(b"AT+QIACT", ERROR)
        sim.command(b"AT+COPS=0", OK + crlf(b"+CREG: 1"))
        sim.command(b"AT+COPS?", info(b'+COPS: 0,0,"CHINA MOBILE"'))

    def test_creg_and_cgreg_modes_0_1_2(self):
        sim = self.start_quiet()
        for name in (b"+CREG", b"+CGREG"):
            sim.command(b"AT" + name + b"=?", info(name + b": (0-2)"))
            sim.command(b"AT" + name + b"?", info(name + b": 0,1"))
            sim.command(b"AT" + name + b"=1", OK)
            sim.command(b"AT" + name + b"?", info(name + b": 1,1"))
            sim.command(b"AT" + name + b"=2", OK)
            sim.command(b"AT" + name + b"?", info(name + b': 2,1,"1A2B","3C4D"'))
            sim.command(b"AT" + name + b"=3", ERROR)

    def test_cfun_0_deregisters_with_urcs_and_1_registers_again(self):
        sim = self.start_quiet()
        sim.command(b"AT+CREG=2;+CGREG=1", OK)
        sim.command(b"AT+CFUN=0", OK + crlf(b"+CREG: 0") + crlf(b"+CGREG: 0"))
        sim.command(b"AT+CSQ", info(b"+CSQ: 99,99"))
        sim.command(b"AT+CFUN=1", OK + crlf(b'+CREG: 1,"1A2B","3C4D"') + crlf(b"+CGREG: 1"))
        sim.command(b"AT+CSQ", info(b"+CSQ: 20,0"))

    def test_cgatt_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+CGREG=1", OK)
        sim.command(b"AT+CGATT=?", info(b"+CGATT: (0,1)"))
        sim.command(b"AT+CGATT=0", OK + crlf(b"+CGREG: 0"))
        sim.command(b"AT+CGATT?", info(b"+CGATT: 0"))
        sim.command(b"AT+CGATT=1", OK + crlf(b"+CGREG: 1"))
        sim.command(b"AT+CGATT=2", ERROR)

    def test_csq_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+CSQ", info(b"+CSQ: 20,0"))
        sim.command(b"AT+CSQ=?", info(b"+CSQ: (0-31,99),(0-7,99)"))
        sim.command(b"AT+CSQ?", ERROR)

    def test_qnitz_and_ctzu_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+QNITZ=?", info(b"+QNITZ: (0,1)"))
        sim.command(b"AT+QNITZ?", info(b"+QNITZ: 0"))
        sim.command(b"AT+QNITZ=1", OK)
        sim.command(b"AT+QNITZ?", info(b"+QNITZ: 1"))
        sim.command(b"AT+QNITZ=2", ERROR)
        sim.command(b"AT+CTZU=?", info(b"+CTZU: (0,1,3)"))
        sim.command(b"AT+CTZU=3", OK)
        sim.command(b"AT+CTZU?", info(b"+CTZU: 3"))
        sim.command(b"AT+CTZU=2", ERROR)

    def test_cclk_is_settable_and_keeps_running(self):
        sim = self.start_quiet()
        sim.command(b"AT+CCLK=?", OK)
        self.assertRegex(answer(sim, b"AT+CCLK?"),
                         rb'^\r\n\+CCLK: "04/01/01,00:00:0\d\+00"\r\n\r\nOK\r\n$')
        sim.command(b'AT+CCLK="26/11/29,23:59:58+08"', OK)
        self.assertRegex(answer(sim, b"AT+CCLK?"),
                         rb'^\r\n\+CCLK: "(26/11/29,23:59:5[89]|26/11/30,00:00:0[0-2])\+08"'
                         rb'\r\n\r\nOK\r\n$')
        for bad in (b'"26/13/01,00:00:00+00"', b'"26/02/30,00:00:00+00"',
                    b'"26/01/01,24:00:00+00"', b'"26/01/01,00:00:00+49"',
                    b'"26/1/01,00:00:00+00"', b"26"):
            with self.subTest(value=bad):
                sim.command(b"AT+CCLK=" + bad, ERROR)
        sim.command(b'AT+CCLK="24/02/29,12:00:00-47"', OK)  # a leap day, the lowest zone


class Settings(QuecsimTestCase):
    def test_at_w_saves_and_atz_restores_what_was_saved(self):
        sim = self.start_quiet()
        sim.command(b"AT+CMEE=2", OK)
        sim.command(b"AT&W", OK)
        sim.command(b"AT+CMEE=0", OK)
        sim.command(b"ATZ", OK)
        sim.command(b"AT+CMEE?", info(b"+CMEE: 2"))
        sim.command(b"AT&F", OK)
        sim.command(b"AT+CMEE?", b"AT+CMEE?\r" + info(b"+CMEE: 0"))  # AT&F: echo back on
        sim.command(b"AT&W1", b"AT&W1\r" + ERROR)

    def test_at_w_settings_survive_a_restart(self):
        sim = self.start(*FAST)
        sim.skip_power_up()
        sim.echo_off()
        sim.command(b"AT+CMEE=1", OK)
        sim.command(b"AT&W", OK)
        sim.command(b"AT+CFUN=1,1", OK)
        sim.skip_power_up()
        sim.command(b"AT+CMEE?", info(b"+CMEE: 1"))  # echo off was saved too

    def test_at_v_shows_the_active_profile(self):
        sim = self.start_quiet()
        sim.command(b"AT&V", crlf(
            b"ACTIVE PROFILE:\r\nE: 0\r\nQ: 0\r\nV: 1\r\nS0: 0\r\nS3: 13\r\nS4: 10\r\nS5: 8\r\n"
            b"S7: 60\r\nS8: 2\r\nS10: 15\r\nS12: 50\r\n+CMEE: 0\r\n+IPR: 115200\r\n+ICF: 3,3\r\n"
            b"+IFC: 0,0\r\n+CSCS: \"GSM\"\r\n+CMGF: 0\r\n+CREG: 0\r\n+CGREG: 0\r\n+QNITZ: 0\r\n"
            b"+CTZU: 0\r\n+QSCLK: 0") + OK)

    def test_icf_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+ICF=?", info(b"+ICF: (1-6),(0-3)"))
        sim.command(b"AT+ICF?", info(b"+ICF: 3,3"))
        sim.command(b"AT+ICF=3,1", OK)
        sim.command(b"AT+ICF?", info(b"+ICF: 3,1"))
        sim.command(b"AT+ICF=7", ERROR)


class Power(QuecsimTestCase):
    def test_cbc_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+CBC", info(b"+CBC: 0,85,4012"))
        sim.command(b"AT+CBC=?", info(b"+CBC: (0-2),(1-100),(voltage)"))
        sim.command(b"AT+CBC?", ERROR)

    def test_qsclk_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+QSCLK=?", info(b"+QSCLK: (0-2)"))
        sim.command(b"AT+QSCLK=1", OK)
        sim.command(b"AT+QSCLK?", info(b"+QSCLK: 1"))
        sim.command(b"AT+QSCLK=3", ERROR)

    def test_qpowd_1_says_normal_power_down_and_the_module_goes_silent(self):
        sim = self.start_quiet()
        sim.command(b"AT+QPOWD=?", info(b"+QPOWD: (0,1)"))
        sim.command(b"AT+QPOWD=1", crlf(b"NORMAL POWER DOWN"))
        sim.send(b"AT\r")
        sim.expect_silence(0.3)
        sim.reopen()  # reopening the port does not switch it on again
        sim.send(b"AT\r")
        sim.expect_silence(0.3)

    def test_qpowd_0_answers_ok_and_powers_off(self):
        sim = self.start_quiet()
        sim.command(b"AT+QPOWD=0", OK)
        sim.send(b"AT\r")
        sim.expect_silence(0.3)

    def test_qpowd_without_a_mode_is_an_error(self):
        sim = self.start_quiet()
        sim.command(b"AT+QPOWD", ERROR)
        sim.command(b"AT+QPOWD=2", ERROR)
        sim.command(b"AT", OK)


class TcpIpHelpers(QuecsimTestCase):
    def test_qistat_follows_the_context_through_its_states(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+QISTAT=?", OK)
        sim.command(b"AT+QISTAT", OK + crlf(b"STATE: IP INITIAL"))
        sim.command(b'AT+QICSGP=1,"CMNET"', OK)
        sim.command(b"AT+QIREGAPP", OK)
        sim.command(b"AT+QISTAT", OK + crlf(b"STATE: IP START"))
        sim.command(b"AT+QIACT", OK)
        sim.command(b"AT+QISTAT", OK + crlf(b"STATE: IP GPRSACT"))
        sim.command(b"AT+QILOCIP", crlf(b"10.7.33.100"))
        sim.command(b"AT+QISTAT", OK + crlf(b"STATE: IP STATUS"))
        sim.command(b"AT+QIDEACT", crlf(b"DEACT OK"))
        sim.command(b"AT+QISTAT", OK + crlf(b"STATE: IP INITIAL"))

    def test_settings_of_the_tcpip_stack(self):
        sim = self.start_quiet()
        for name, values, rng in ((b"+QIDNSIP", (0, 1), b"(0,1)"), (b"+QIMUX", (0, 1), b"(0,1)"),
                                  (b"+QIMODE", (0, 1), b"(0,1)"), (b"+QINDI", (0, 1, 2), b"(0-2)"),
                                  (b"+QIHEAD", (0, 1), b"(0,1)"), (b"+QIURC", (0, 1), b"(0,1)")):
            with self.subTest(command=name):
                sim.command(b"AT" + name + b"=?", info(name + b": " + rng))
                for v in values:
                    sim.command(b"AT" + name + b"=%d" % v, OK)
                    sim.command(b"AT" + name + b"?", info(name + b": %d" % v))
                sim.command(b"AT" + name + b"=%d" % (values[-1] + 1), ERROR)
                sim.command(b"AT" + name, ERROR)

    def test_qidnscfg_forms(self):
        sim = self.start_quiet()
        sim.command(b"AT+QIDNSCFG=?", OK)
        sim.command(b"AT+QIDNSCFG?", info(b"PrimaryDns: 211.136.17.107\r\nSecondaryDns: 211.136.20.203"))
        sim.command(b'AT+QIDNSCFG="8.8.8.8","8.8.4.4"', OK)
        sim.command(b'AT+QIDNSCFG="1.1.1.1"', OK)
        sim.command(b"AT+QIDNSCFG?", info(b"PrimaryDns: 1.1.1.1\r\nSecondaryDns: 8.8.4.4"))
        sim.command(b'AT+QIDNSCFG="dns.example"', ERROR)
        sim.command(b'AT+QIDNSCFG="1.2.3.256"', ERROR)

    def test_qiact_without_packet_registration_fails(self):
        sim = self.start_quiet(*FAST)
        sim.command(b"AT+CMEE=2", OK)
        sim.command(b"AT+CFUN=4", OK)
        sim.command(b"AT+QIACT", crlf(b"+CME ERROR: no network service"))


class QftpcfgLaterFirmware(QuecsimTestCase):
    def test_types_5_and_6_are_taken_where_the_profile_has_them(self):
        sim = self.start_quiet("--model", "M95")
        sim.command(b"AT+QFTPCFG=6,1", OK)
        sim.expect(crlf(b"+QFTPCFG:0"))
        sim.command(b"AT+QFTPCFG=6", OK)
        sim.expect(crlf(b"+QFTPCFG:1"))
        sim.command(b"AT+QFTPCFG=5,1", OK)
        sim.expect(crlf(b"+QFTPCFG:0"))
        sim.command(b"AT+QFTPCFG=5,2", OK)
        sim.expect(crlf(b"+QFTPCFG:-10"))
        sim.command(b"AT+QFTPCFG=7,1", ERROR)

    def test_types_5_and_6_are_errors_where_the_firmware_lacks_them(self):
        sim = self.start_quiet("--model", "M10")
        sim.command(b"AT+QFTPCFG=6,1", ERROR)
        sim.command(b"AT+QFTPCFG=4", OK)
        sim.expect(crlf(b'+QFTPCFG:"/COM/"'))


class CmeeEverywhere(QuecsimTestCase):
    def test_errors_of_the_new_commands_follow_cmee(self):
        cases = ((b'AT+CSCS="X"', b"50", b"Incorrect parameters"),
                 (b"AT+QSCLK=9", b"50", b"Incorrect parameters"),
                 (b"AT+CIMI?", b"100", b"unknown"),
                 (b"AT+QISTAT?", b"100", b"unknown"),
                 (b"AT+NOSUCH", b"100", b"unknown"))
        sim = self.start_quiet()
        for cmd, number, text in cases:
            with self.subTest(command=cmd):
                sim.command(b"AT+CMEE=0", OK)
                sim.command(cmd, ERROR)
                sim.command(b"AT+CMEE=1", OK)
                sim.command(cmd, crlf(b"+CME ERROR: " + number))
                sim.command(b"AT+CMEE=2", OK)
                sim.command(cmd, crlf(b"+CME ERROR: " + text))


class SimStatesFromAProfile(QuecsimTestCase):
    def start_with_sim(self, state):
        path = derived_profile(self, "M95", lambda p: p["sim"].update(state=state))
        return self.start_quiet("--model", path, *FAST)

    def errors(self, sim, line, number, text):
        for mode, answer in ((0, ERROR), (1, crlf(b"+CME ERROR: " + number)),
                             (2, crlf(b"+CME ERROR: " + text))):
            sim.command(b"AT+CMEE=%d" % mode, OK)
            sim.command(line, answer)

    def test_a_locked_sim_refuses_what_needs_it_under_every_cmee_mode(self):
        sim = self.start_with_sim("pin")
        sim.command(b"AT+CPIN?", info(b"+CPIN: SIM PIN"))
        sim.command(b"AT+QCCID", info(b"89860012345678901234"))  # on the card, readable
        self.errors(sim, b"AT+CIMI", b"11", b"SIM PIN required")
        self.errors(sim, b'AT+CPIN="9999"', b"16", b"incorrect password")
        self.errors(sim, b"AT+QIACT", b"30", b"no network service")
        sim.command(b"AT+CREG?", info(b"+CREG: 0,0"))

    def test_a_puk_locked_sim(self):
        sim = self.start_with_sim("puk")
        sim.command(b"AT+CPIN?", info(b"+CPIN: SIM PUK"))
        self.errors(sim, b"AT+CIMI", b"12", b"SIM PUK required")
        self.errors(sim, b'AT+CPIN="1234"', b"12", b"SIM PUK required")
        sim.command(b'AT+CPIN="12345678","4321"',
                    OK + crlf(b"+CPIN: READY") + crlf(b"Call Ready") + crlf(b"SMS Ready"))
        sim.command(b"AT+CIMI", info(b"460001234567890"))

    def test_no_sim(self):
        sim = self.start_with_sim("removed")
        sim.command(b"AT+QSIMSTAT?", info(b"+QSIMSTAT: 0,0"))
        self.errors(sim, b"AT+CPIN?", b"10", b"SIM not inserted")
        self.errors(sim, b"AT+CIMI", b"10", b"SIM not inserted")
        self.errors(sim, b"AT+QCCID", b"10", b"SIM not inserted")
        self.errors(sim, b"AT+CGATT=1", b"30", b"no network service")


if __name__ == "__main__":
    unittest.main()
