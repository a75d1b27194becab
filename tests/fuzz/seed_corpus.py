#!/usr/bin/python3
"""Writes the seed corpus of each fuzz target (tests/fuzz/corpus/<target>/) from the project's
own test cases: AT lines of the integration tests, FTP replies of the unit tests, the shipped
scenarios and profiles, control requests, and FTP sessions. Run it again after adding tests;
it replaces the seed files it wrote (named seed-*) and leaves any other file alone.
"""
import glob
import hashlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, items, limit=200):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for old in glob.glob(os.path.join(folder, "seed-*")):
        os.remove(old)
    seen = set()
    for data in items:
        digest = hashlib.sha1(data).hexdigest()[:16]
        if digest in seen:
            continue
        seen.add(digest)
        with open(os.path.join(folder, "seed-" + digest), "wb") as f:
            f.write(data)
        if len(seen) >= limit:
            break
    return len(seen)


def sources(pattern):
    for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
        with open(path, encoding="utf-8", errors="replace") as f:
            yield f.read()


def at_lines():
    # Settings bytes (S3 CR, S4 LF, S5 BS, echo on), then the line as the host sends it.
    header = b"\r\n\b\x01"
    found = []
    for text in sources("tests/integration/*.py"):
        for m in re.finditer(r'"((?:AT|at)[^"\\]{0,300})', text):
            found.append(m.group(1))
    found = sorted(set(found))
    items = [header + line.encode("latin-1", "replace") + b"\r\n" for line in found]
    items += [b"\r\n\b\x00AT\r\nA/", b"\n\r\x7f\x01ATE0\nAT+QFTPOPEN?\n",
              b"\r\n\b\x01AT+CSQ;+CREG?;E1V0\r", b"\r\n\b\x01" + b"AT" + b"X" * 600 + b"\r"]
    return items


def ftp_replies():
    found = []
    for text in sources("tests/unit/ftp/*.cpp"):
        for m in re.finditer(r'"([1-5][0-9][0-9][ -][^"]{0,200})"', text):
            found.append(m.group(1).replace("\\r", "\r").replace("\\n", "\n"))
    items = [b"\x03" + r.encode("latin-1", "replace") + (b"" if r.endswith("\n") else b"\r\n")
             for r in sorted(set(found))]
    items += [b"\x00220-Welcome\r\n220-more\r\n 230 not yet\r\n220 done\r\n",
              b"\x05227 Entering Passive Mode (127,0,0,1,195,80).\r\n",
              b"\x07229 Entering Extended Passive Mode (|||50000|)\r\n",
              b"\x01garbage\r\n150 Opening\r\n226 Done\r\n"]
    return items


def ftpd_sessions():
    login = b"USER fuzz\r\nPASS pw\r\n"
    anon = b"USER anonymous\r\nPASS x@y\r\n"
    sessions = [
        login + b"SYST\r\nFEAT\r\nPWD\r\nTYPE I\r\nPASV\r\nRETR a.txt\r\nQUIT\r\n",
        login + b"EPSV\r\nLIST\r\nNLST sub\r\nMLSD\r\nMLST a.txt\r\nSIZE a.txt\r\nMDTM a.txt\r\n",
        login + b"CWD sub\r\nCDUP\r\nCWD ../../out\r\nRETR ../outside/secret.txt\r\n",
        login + b"PORT 127,0,0,1,195,80\r\nRETR a.txt\r\nPORT 10,0,0,1,0,21\r\n",
        login + b"EPRT |1|127.0.0.1|50000|\r\nEPRT |2|::1|50000|\r\nEPRT |1|8.8.8.8|21|\r\n",
        login + b"REST 2\r\nPASV\r\nRETR a.txt\r\nABOR\r\nSTAT\r\nNOOP\r\n",
        login + b"STOR x\r\nAPPE x\r\nDELE a.txt\r\nMKD d\r\nRMD sub\r\nRNFR a.txt\r\nRNTO b\r\n",
        anon + b"OPTS UTF8 ON\r\nHELP\r\nMODE S\r\nSTRU F\r\nALLO 10\r\nEPSV ALL\r\nPASV\r\n",
        b"USER fuzz\r\nPASS wrong\r\nUSER fuzz\r\nPASS wrong\r\nUSER fuzz\r\nPASS wrong\r\n",
        b"NOOP\nPWD\n" + b"A" * 600 + b"\r\nQUIT\r\n",
        b"\xff\xf4\xff\xf2ABOR\r\n\x00\r\n",
        login + b"TYPE A\r\nPASV\r\nLIST -la /\r\nSTAT /sub\r\nCWD /\x01\r\n",
    ]
    return sessions


def files(pattern):
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def control_requests():
    lines = [
        b'{"op":"ping"}\n', b'{"op":"ping","id":7}\n', b'{"op":"ping","id":{"any":["json"]}}\n',
        b'{"op":"state"}\n', b'{"op":"subscribe"}\n{"op":"unsubscribe"}\n',
        b'{"op":"subscribe","kinds":["rx","tx","state"]}\n',
        b'{"op":"subscribe","kinds":[]}\n{"op":"subscribe","kinds":[3]}\n',
        b'{"op":"subscribe","kinds":"state"}\n{"op":"subscribe","kinds":["bogus"]}\n',
        b'{"id":1}\n{"op":5}\n{"op":null}\n{"op":"nope","id":"x"}\n',
        b'{"op":"ping",}\n{"op":"pi\n[1,2]\n"x"\n\n   \r\n',
        b'{"op":"boom"}\r\n{"op":"apply","action":{"action":"pdp_deact"}}\n',
        b'{"op":"ping","pad":"' + b"x" * 5000 + b'"}\n{"op":"ping"}\n',
        b'{"op":"ping","id":"\xff\xfe"}\n',
    ]
    return lines


def socket_sessions():
    """socket_commands inputs: a settings byte (bit 0: multiple connections, bits 1-2: QINDI),
    then chunks (a length byte and the bytes) of what the host sends to socket 0, open by then.
    Every AT+QISEND form, with its data split across chunks, and the other socket commands."""
    def chunks(*parts):
        out = b""
        for p in parts:
            while True:
                out += bytes([min(len(p), 255)]) + p[:255]
                p = p[255:]
                if not p:
                    break
        return out

    payload = bytes(range(256)) * 6  # 1536 bytes: past the 1460 limit
    single, mux = [], []
    for settings, sid in ((0, b""), (1, b"0,")):
        out = single if settings == 0 else mux
        ids = b"=" + sid[:-1] if sid else b""
        out += [
            bytes([settings]) + chunks(b"AT+QISEND=" + sid + b"5\r", b"hel", b"lo"),
            bytes([settings]) + chunks(b"AT+QISEND=" + sid + b"5\r\nhello\x1a"),
            bytes([settings]) + chunks(b"AT+QISEND" + ids + b"\r", b"abc\x1a"),
            bytes([settings]) + chunks(b"AT+QISEND" + ids + b"\r", b"abc\x1b", b"AT\r"),
            bytes([settings]) + chunks(b"AT+QISEND" + ids + b"\r", payload + b"\x1a"),
            bytes([settings]) + chunks(b"AT+QISEND=" + sid + b"1460\r", payload[:1460]),
            bytes([settings]) + chunks(b"AT+QISEND=" + sid + b"1461\r", b"AT+QISEND=" + sid +
                                       b"0\r"),
            bytes([settings | 2]) + chunks(b"AT+QISEND=" + sid + b"4\r", b"ping",
                                           b"AT+QIRD=0,1,0,1500\r", b"AT+QIRD=0,1,0,2\r"),
            bytes([settings | 4]) + chunks(b"AT+QISEND=" + sid + b"3\r", b"abc",
                                           b"AT+QIRD=0,1,0,1\rAT+QIRD=0,1,0,0\r"),
            bytes([settings]) + chunks(b"AT+QISACK" + ids + b"\rAT+QISTAT\rAT+QISTATE\r"),
            bytes([settings]) + chunks(b"AT+QICLOSE" + ids + b"\r", b"AT+QISEND=" + sid + b"3\r",
                                       b'AT+QIOPEN=' + sid + b'"TCP","peer",80\r'),
            bytes([settings]) + chunks(b'AT+QIOPEN=' + sid + b'"UDP","127.0.0.1","9"\r',
                                       b'AT+QIOPEN=' + sid + b'"TCP",peer,\r',
                                       b'AT+QIDNSGIP="peer"\rAT+QIDNSIP=1\r'),
            bytes([settings]) + chunks(b"AT+QIPROMPT=0\rAT+QISDE=0\rATE1\r",
                                       b"AT+QISEND=" + sid + b"2\r", b"hi"),
            bytes([settings]) + chunks(b"AT+QIHEAD=1;+QISHOWRA=1;+QISHOWPT=1\r",
                                       b"AT+QISEND=" + sid + b"2\r", b"hi"),
            bytes([settings]) + chunks(b"AT+QIDEACT\r", b"AT+QISEND=" + sid + b"2\r", b"hi"),
        ]
    return single + mux + [b"\x00" + chunks(b"AT+QICLOSE\rAT+QIMODE=1\r",
                                              b'AT+QIOPEN="TCP","peer",1\r', b"data")]


def main():
    counts = {
        "at_line": write("at_line", at_lines()),
        "ftp_reply": write("ftp_reply", ftp_replies()),
        "ftpd_protocol": write("ftpd_protocol", ftpd_sessions()),
        "scenario": write("scenario", files("scenarios/*.json")),
        "profile": write("profile", files("profiles/*.json")),
        "control_request": write("control_request", control_requests()),
        "socket_commands": write("socket_commands", socket_sessions()),
    }
    for target, n in counts.items():
        print("%s: %d seeds" % (target, n))


if __name__ == "__main__":
    main()
