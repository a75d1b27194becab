"""docker/ without Docker (this machine has none): the Dockerfile parsed and linted (hadolint is
not in Debian 12), compose.yaml checked against the repository and the image, and then the
Dockerfile's steps executed outside Docker: COPY into a scratch folder (honouring
Dockerfile.dockerignore), WORKDIR and ENV applied (the ENV paths pointed into the scratch
folder, as `docker run -e` would), every RUN step run with /bin/sh, including the install
script and a full build and `cmake --install` into the scratch prefix; then the CMD started and
driven by docker/host_example.py, and the compose services started the same way (ftpd, module
pointing at it, host).

The build is a real one from a clean copy (slow without ccache; ccache is used when present)."""

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import yaml

from dockerfile_lint import DockerfileError, lint, parse
from harness import TIMEOUT

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
DOCKER = os.path.join(SOURCE, "docker")
DOCKERFILE = os.path.join(DOCKER, "Dockerfile")
# The image's paths the ENV names, pointed into the scratch folder here.
ENV_PATHS = ("QUECSIM_PREFIX", "QUECSIM_RUN", "QUECSIM_FTP_ROOT", "QUECSIM_STATE")
# Programs the image holds besides what `cmake --install` puts there, and where Debian has them
# (this machine's PATH may find another python3 first, one without python3-serial).
SYSTEM_PROGRAMS = {"sh": "/bin/sh", "python3": "/usr/bin/python3"}
BUILD_TIMEOUT = 3600


def _text(path):
    """A file's text, "" while it does not exist."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def _wait_for(predicate, what, timeout=TIMEOUT * 4):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


class DockerfileLint(unittest.TestCase):

    def test_the_dockerfile_is_well_formed(self):
        instructions = lint(DOCKERFILE)
        keywords = [i.keyword for i in instructions]
        self.assertEqual(keywords[0], "FROM")
        self.assertRegex(instructions[0].text, r"^debian:12[\w.-]*$")
        self.assertEqual(keywords.count("CMD"), 1)
        env = [i for i in instructions if i.keyword == "ENV"]
        self.assertEqual(sorted(re.findall(r"(\w+)=", " ".join(i.text for i in env))),
                         sorted(ENV_PATHS))

    def test_malformed_dockerfiles_are_refused_naming_the_line(self):
        cases = [
            ("FROM debian:12-slim\nRUNN true\n", "F:2: unknown instruction RUNN"),
            ("FROM debian\n", "F:1: FROM: pin the image's tag (debian:<tag>)"),
            ("FROM debian:latest\n", "F:1: FROM: pin a tag other than latest"),
            ("RUN true\nFROM debian:12\n", "F:1: the first instruction must be FROM"),
            ('FROM debian:12\nCMD ["quecsim", --link]\n',
             "F:2: CMD: the exec form is not a JSON array"),
            ("FROM debian:12\nCMD [\"a\", 1]\n",
             "F:2: CMD: the exec form must be a non-empty JSON array of strings"),
            ("FROM debian:12\nENV A=1 B\n", "F:2: ENV: expected KEY=VALUE, got 'B'"),
            ("FROM debian:12\nWORKDIR src\n", "F:2: WORKDIR: use an absolute path"),
            ("FROM debian:12\nEXPOSE 70000\n", "F:2: EXPOSE: '70000' is not a port"),
            ("FROM debian:12\nCOPY .\n", "F:2: COPY: expected SOURCE... DEST"),
            ("FROM debian:12\nRUN \\\n", "F:2: RUN ends with a line continuation"),
            ("FROM debian:12\nCMD a\nCMD b\n", "F:3: a second CMD"),
        ]
        folder = tempfile.mkdtemp(prefix="quecsim-dockerfile-")
        self.addCleanup(shutil.rmtree, folder, True)
        for text, message in cases:
            with self.subTest(text=text):
                path = os.path.join(folder, "F")
                with open(path, "w") as f:
                    f.write(text)
                with self.assertRaises(DockerfileError) as caught:
                    lint(path)
                self.assertIn(message.replace("F:", path + ":", 1), str(caught.exception))

    def test_continuations_and_comments_join_as_docker_joins_them(self):
        [first, run] = parse("FROM debian:12\n# a comment\nRUN a \\\n# inside\n  && b \\\n"
                             "  && c\n")
        self.assertEqual((run.keyword, run.line, run.text), ("RUN", 3, "a && b && c"))
        self.assertEqual(first.text, "debian:12")


class ComposeFile(unittest.TestCase):

    def setUp(self):
        with open(os.path.join(DOCKER, "compose.yaml")) as f:
            self.compose = yaml.safe_load(f)
        self.services = self.compose["services"]

    def test_the_services_are_the_module_a_server_and_a_host(self):
        self.assertEqual(sorted(self.services), ["ftpd", "host", "module"])
        build = self.services["ftpd"]["build"]
        context = os.path.normpath(os.path.join(DOCKER, build["context"]))
        self.assertEqual(context, SOURCE)
        self.assertTrue(os.path.isfile(os.path.join(context, build["dockerfile"])))
        image = self.services["ftpd"]["image"]
        for name, service in self.services.items():
            with self.subTest(service=name):
                self.assertEqual(service["image"], image)
                for other in service.get("depends_on", []):
                    self.assertIn(other, self.services)
                for volume in service.get("volumes", []):
                    self.assertIn(volume.split(":")[0], self.compose["volumes"])
        self.assertEqual(self.services["host"]["pid"], "service:module")

    def test_every_command_names_a_program_and_files_the_image_holds(self):
        installed = {"quecsim", "quecsim-ftpd"}  # what the Dockerfile's cmake --install puts
        for name, service in self.services.items():
            with self.subTest(service=name):
                argv = service["command"]
                self.assertIn(argv[0], installed | set(SYSTEM_PROGRAMS))
                text = " ".join(argv)
                for path in re.findall(r"/src/quecsim/([\w./-]+)", text):
                    self.assertTrue(os.path.isfile(os.path.join(SOURCE, path)), path)
                for program in re.findall(r"exec (\S+)", text):
                    self.assertIn(program, installed)


def _ignored(patterns):
    def ignore(folder, names):
        out = set()
        for name in names:
            relative = os.path.relpath(os.path.join(folder, name), SOURCE)
            for pattern in patterns:
                bare = pattern[3:] if pattern.startswith("**/") else pattern
                if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, bare):
                    out.add(name)
        return out
    return ignore


class DockerSteps(unittest.TestCase):
    """The Dockerfile executed outside Docker, once for the class (a full build)."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.mkdtemp(prefix="quecsim-docker-")
        try:
            cls.env, cls.workdir = cls.execute()
        except BaseException:
            shutil.rmtree(cls.scratch, True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, True)

    @classmethod
    def execute(cls):
        instructions = lint(DOCKERFILE)
        with open(os.path.join(DOCKER, "Dockerfile.dockerignore")) as f:
            ignore = [line.strip() for line in f if line.strip() and not line.startswith("#")]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cls.scratch,
               "LANG": "C.UTF-8"}
        if shutil.which("ccache"):
            # Speeds up a repeated run; the build is the same.
            env.update({"CMAKE_CXX_COMPILER_LAUNCHER": "ccache", "CCACHE_BASEDIR": cls.scratch,
                        "CCACHE_DIR": os.environ.get("CCACHE_DIR",
                                                     os.path.expanduser("~/.cache/ccache"))})
        workdir = cls.scratch
        base_path = env["PATH"]
        for ins in instructions:
            if ins.keyword == "ENV":
                for word in shlex.split(ins.text):
                    key, value = word.split("=", 1)
                    if key in ENV_PATHS:
                        value = os.path.join(cls.scratch, key.lower())
                    env[key] = value
                # The image's /usr/local/bin is on PATH; the scratch prefix's bin must be too.
                env["PATH"] = os.path.join(env["QUECSIM_PREFIX"], "bin") + ":" + base_path
            elif ins.keyword == "WORKDIR":
                workdir = os.path.join(cls.scratch, ins.text.lstrip("/"))
                os.makedirs(workdir, exist_ok=True)
            elif ins.keyword == "COPY":
                if ins.text != ". .":
                    raise AssertionError("line %d: only COPY . . is emulated" % ins.line)
                shutil.copytree(SOURCE, workdir, ignore=_ignored(ignore), dirs_exist_ok=True)
            elif ins.keyword == "RUN":
                cls.run_step(ins, env, workdir)
            elif ins.keyword == "CMD":
                cls.cmd = ins
        return env, workdir

    @classmethod
    def run_step(cls, ins, env, workdir):
        argv = ins.exec_form or ["/bin/sh", "-c", ins.text]
        for attempt in range(60):
            result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT, check=False)
            # Another apt-get holding the package lock is a busy machine, not a broken step.
            if result.returncode != 0 and "Could not get lock" in result.stderr:
                time.sleep(5)
                continue
            break
        if result.returncode != 0:
            raise AssertionError("Dockerfile line %d: RUN %s\nexited %d\n%s\n%s"
                                 % (ins.line, ins.text, result.returncode,
                                    result.stdout[-3000:], result.stderr[-3000:]))

    def start(self, argv, env=None, stdout=subprocess.DEVNULL):
        proc = subprocess.Popen(argv, cwd=self.workdir, env=env or self.env,
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                                start_new_session=True)
        self.addCleanup(self.stop, proc, None)
        return proc

    def stop(self, proc, expect=0):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(TIMEOUT * 2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("%s did not end on SIGTERM" % proc.args)
        finally:
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        if expect is not None:
            self.assertEqual(code, expect, "%s exited %d" % (proc.args, code))

    def host(self, ready):
        result = subprocess.run([SYSTEM_PROGRAMS["python3"], os.path.join(self.workdir, "docker",
                                                         "host_example.py"), ready],
                                env=self.env, capture_output=True, text=True,
                                timeout=TIMEOUT * 20, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("host: the module answered every command", result.stdout)
        return result.stdout

    def test_the_install_holds_the_programs_profiles_and_scenarios(self):
        prefix = self.env["QUECSIM_PREFIX"]
        for program in ("quecsim", "quecsim-ftpd"):
            self.assertTrue(os.access(os.path.join(prefix, "bin", program), os.X_OK), program)
            self.assertEqual(shutil.which(program, path=self.env["PATH"]),
                             os.path.join(prefix, "bin", program))
        share = os.path.join(prefix, "share", "quecsim")
        for model in ("M10", "M95", "M33"):
            self.assertTrue(os.path.isfile(os.path.join(share, "profiles", model + ".json")))
        shipped = sorted(n for n in os.listdir(os.path.join(SOURCE, "scenarios"))
                         if n.endswith(".json") or n == "README.md")
        self.assertEqual(sorted(os.listdir(os.path.join(share, "scenarios"))), shipped)
        # The installed binary finds its profiles and a scenario of the installed library.
        proc = self.start(["quecsim", "--ready-json", "--model", "M10", "--no-embedded-ftp",
                           "--scenario", os.path.join(share, "scenarios", "dns-failure.json")],
                          stdout=subprocess.PIPE)
        ready = json.loads(proc.stdout.readline())
        self.assertEqual(ready["model"], "M10")
        self.stop(proc, expect=3)  # the scenario's expected +QFTPOPEN:-4 never came

    def test_the_cmd_starts_a_module_a_host_can_drive(self):
        run = self.env["QUECSIM_RUN"]
        argv = self.cmd.exec_form or ["/bin/sh", "-c", self.cmd.text]
        proc = self.start(argv)
        ready = os.path.join(run, "ready.json")
        _wait_for(lambda: _text(ready).endswith("\n"), "the ready line in %s" % ready)
        line = json.loads(_text(ready))
        self.assertEqual(os.readlink(os.path.join(run, "ttyQ0")), line["pty"])
        self.assertEqual(line["pid"], proc.pid)  # exec: quecsim itself gets docker stop's signal
        self.assertEqual(line["ftp"]["root"], self.env["QUECSIM_FTP_ROOT"])
        self.host(ready)
        self.stop(proc)
        self.assertFalse(os.path.lexists(os.path.join(run, "ttyQ0")))

    def test_the_compose_services_run_together(self):
        with open(os.path.join(DOCKER, "compose.yaml")) as f:
            services = yaml.safe_load(f)["services"]
        folder = tempfile.mkdtemp(prefix="compose-", dir=self.scratch)
        paths = {"/srv/ftp": os.path.join(folder, "ftp"),
                 "/run/quecsim": os.path.join(folder, "run"),
                 "/var/lib/quecsim": os.path.join(folder, "state"),
                 "/src/quecsim": self.workdir}
        for path in paths.values():
            os.makedirs(path, exist_ok=True)

        def local(argv):
            out = []
            for arg in argv:
                for image_path, here in paths.items():
                    arg = arg.replace(image_path, here)
                out.append(arg)
            return out

        # ftpd: on a free port here (2121 may be taken), and telling it.
        ftpd_argv = local(services["ftpd"]["command"])
        ftpd_argv[ftpd_argv.index("--port") + 1] = "0"
        ftpd = self.start(ftpd_argv + ["--ready-json"], stdout=subprocess.PIPE)
        port = json.loads(ftpd.stdout.readline())["port"]
        # module: the service name "ftpd" is what Docker's DNS resolves; here it is loopback.
        module_argv = [a.replace("ftpd:2121", "127.0.0.1:%d" % port)
                       for a in local(services["module"]["command"])]
        module = self.start(module_argv)
        ready = os.path.join(paths["/run/quecsim"], "ready.json")
        _wait_for(lambda: _text(ready).endswith("\n"), "the module's ready line")
        self.assertIsNone(json.loads(_text(ready))["ftp"])  # no embedded server
        host_argv = local(services["host"]["command"])
        self.assertEqual(host_argv[:2], ["python3", os.path.join(self.workdir, "docker",
                                                                 "host_example.py")])
        self.host(host_argv[2])
        self.stop(module)
        self.stop(ftpd)


if __name__ == "__main__":
    unittest.main()
