"""A Dockerfile parser and lint (hadolint is not packaged in Debian 12): instructions with their
line numbers, line continuations, comments and exec-form JSON arrays; every instruction known
and well formed. Errors name the file and line.

    from dockerfile_lint import lint
    instructions = lint("docker/Dockerfile")    # raises DockerfileError
"""

import json
import re
import shlex

__all__ = ["DockerfileError", "Instruction", "parse", "lint"]

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
         "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
# Instructions that take either a JSON array (exec form) or a command line (shell form).
EXEC_OR_SHELL = {"RUN", "CMD", "ENTRYPOINT"}


class DockerfileError(Exception):
    """A Dockerfile that Docker would refuse, or that breaks the project's rules."""


class Instruction:
    """One instruction: `keyword` (upper case), `text` (the arguments, continuations joined),
    `line` (where it starts), and for RUN/CMD/ENTRYPOINT `exec_form` (a list) or None."""

    def __init__(self, keyword, text, line):
        self.keyword = keyword
        self.text = text
        self.line = line
        self.exec_form = None

    def __repr__(self):
        return "%d: %s %s" % (self.line, self.keyword, self.text)


def parse(text, name="Dockerfile"):
    """The instructions of a Dockerfile's text. Comments are lines starting with #; a line
    ending in a backslash continues on the next (comment lines inside are skipped)."""
    instructions = []
    pending = None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#"):
            continue
        if pending is None:
            if not stripped:
                continue
            match = re.match(r"([A-Za-z]+)(\s+|$)(.*)", stripped)
            if not match:
                raise DockerfileError("%s:%d: not an instruction: %r" % (name, number, raw))
            keyword = match.group(1).upper()
            if keyword not in KNOWN:
                raise DockerfileError("%s:%d: unknown instruction %s" % (name, number,
                                                                        match.group(1)))
            pending = Instruction(keyword, "", number)
            body = match.group(3)
        else:
            body = stripped
        if body.endswith("\\"):
            pending.text += body[:-1].rstrip() + " "
            continue
        pending.text = (pending.text + body).strip()
        instructions.append(pending)
        pending = None
    if pending is not None:
        raise DockerfileError("%s:%d: %s ends with a line continuation and nothing after it"
                              % (name, pending.line, pending.keyword))
    for ins in instructions:
        _check(ins, name)
    return instructions


def _check(ins, name):
    where = "%s:%d: %s" % (name, ins.line, ins.keyword)
    if not ins.text:
        raise DockerfileError("%s needs arguments" % where)
    if ins.keyword in EXEC_OR_SHELL or ins.keyword in ("VOLUME", "SHELL"):
        if ins.text.startswith("["):
            try:
                value = json.loads(ins.text)
            except ValueError as e:
                raise DockerfileError("%s: the exec form is not a JSON array: %s"
                                      % (where, e)) from None
            if not isinstance(value, list) or not value or \
                    not all(isinstance(v, str) for v in value):
                raise DockerfileError("%s: the exec form must be a non-empty JSON array of "
                                      "strings" % where)
            ins.exec_form = value
        elif ins.keyword == "SHELL":
            raise DockerfileError("%s takes a JSON array" % where)
    if ins.keyword == "FROM":
        words = ins.text.split()
        if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
            raise DockerfileError("%s: expected IMAGE[:TAG] [AS NAME]" % where)
        image = words[0]
        if ":" not in image.split("/")[-1] and "@" not in image:
            raise DockerfileError("%s: pin the image's tag (%s:<tag>)" % (where, image))
        if image.endswith(":latest"):
            raise DockerfileError("%s: pin a tag other than latest" % where)
    elif ins.keyword in ("ENV", "LABEL", "ARG"):
        try:
            words = shlex.split(ins.text)
        except ValueError as e:
            raise DockerfileError("%s: %s" % (where, e)) from None
        if ins.keyword == "ENV" and len(words) == 2 and "=" not in words[0]:
            return  # the legacy form: ENV KEY VALUE
        for word in words:
            key = word.split("=", 1)[0]
            if ins.keyword != "ARG" and "=" not in word:
                raise DockerfileError("%s: expected KEY=VALUE, got %r" % (where, word))
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
                raise DockerfileError("%s: bad name %r" % (where, key))
    elif ins.keyword in ("COPY", "ADD"):
        words = [w for w in shlex.split(ins.text) if not w.startswith("--")]
        if len(words) < 2:
            raise DockerfileError("%s: expected SOURCE... DEST" % where)
    elif ins.keyword == "WORKDIR":
        if not ins.text.startswith("/"):
            raise DockerfileError("%s: use an absolute path" % where)
    elif ins.keyword == "EXPOSE":
        for port in ins.text.split():
            if not re.fullmatch(r"\d{1,5}(/(tcp|udp))?", port) or \
                    not 0 < int(port.split("/")[0]) < 65536:
                raise DockerfileError("%s: %r is not a port" % (where, port))


def lint(path):
    """Parses the Dockerfile at `path` and checks the file as a whole: FROM first (after ARGs),
    at most one CMD and one ENTRYPOINT. Returns the instructions."""
    with open(path) as f:
        instructions = parse(f.read(), path)
    if not instructions:
        raise DockerfileError("%s: no instructions" % path)
    first = next((i for i in instructions if i.keyword != "ARG"), None)
    if first is None or first.keyword != "FROM":
        raise DockerfileError("%s:%d: the first instruction must be FROM"
                              % (path, (first or instructions[0]).line))
    for keyword in ("CMD", "ENTRYPOINT"):
        found = [i for i in instructions if i.keyword == keyword]
        if len(found) > 1:
            raise DockerfileError("%s:%d: a second %s (only the last counts)"
                                  % (path, found[1].line, keyword))
    return instructions
