"""docs/architecture.md is true to the tree: its layers are the folders of include/quecsim and
src, each layer's namespace is its folder's, no file includes a layer its own does not stand on,
src/CMakeLists.txt links each layer only to what it stands on, and the subcommands of sim/ use
sim/support and nothing of each other."""

import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")
INCLUDE = re.compile(r'^\s*#\s*include\s+[<"]quecsim/([a-z_]+)/', re.M)
LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"', re.M)


def layer_table():
    """{layer: (namespace, [stands on])} from the table under "## The layers"."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## The layers", 1)[1].split("\n## ", 1)[0]
    layers = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        namespace = re.match(r"`([a-z_:]+)`", cells[1]).group(1)
        below = re.findall(r"`([a-z_]+)`", cells[3])
        layers[name] = (namespace, below)
    return layers


def closure(layers, name):
    """Every layer `name` stands on, directly or through another."""
    seen, pending = set(), list(layers[name][1])
    while pending:
        n = pending.pop()
        if n not in seen:
            seen.add(n)
            pending.extend(layers[n][1])
    return seen


def sources(folder):
    for base, _, files in os.walk(folder):
        for f in sorted(files):
            if f.endswith((".hpp", ".cpp")):
                yield os.path.join(base, f)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def layer_folders(layer):
    if layer == "ftpd":
        return [os.path.join(ROOT, "ftpserver", "include", "quecsim", "ftpd"),
                os.path.join(ROOT, "ftpserver", "src")]
    return [os.path.join(ROOT, "include", "quecsim", layer), os.path.join(ROOT, "src", layer)]


class Architecture(unittest.TestCase):
    layers = layer_table()

    def test_the_table_has_the_layers(self):
        self.assertIn("core", self.layers)
        self.assertIn("station", self.layers)
        for name, (_, below) in self.layers.items():
            for b in below:
                self.assertIn(b, self.layers, f"{name} stands on {b}, which is no layer")
            self.assertNotIn(name, closure(self.layers, name), f"{name} stands on itself")

    def test_every_folder_is_a_layer_and_every_layer_a_folder(self):
        tree = {d for d in os.listdir(os.path.join(ROOT, "include", "quecsim"))
                if os.path.isdir(os.path.join(ROOT, "include", "quecsim", d))}
        tree |= {d for d in os.listdir(os.path.join(ROOT, "src"))
                 if os.path.isdir(os.path.join(ROOT, "src", d))}
        tree.add("ftpd")
        self.assertEqual(tree, set(self.layers))

    def test_no_file_includes_a_layer_it_does_not_stand_on(self):
        wrong = []
        for name in self.layers:
            allowed = closure(self.layers, name) | {name}
            for folder in layer_folders(name):
                for path in sources(folder):
                    for used in INCLUDE.findall(read(path)):
                        if used not in allowed:
                            wrong.append(f"{os.path.relpath(path, ROOT)} includes quecsim/{used}/")
        self.assertEqual(wrong, [])

    def test_each_layer_is_its_own_namespace(self):
        wrong = []
        for name, (namespace, _) in self.layers.items():
            for folder in layer_folders(name):
                for path in sources(folder):
                    opened = re.findall(r"^namespace ([a-z_:]+) \{", read(path), re.M)
                    ours = [n for n in opened if n.startswith("quecsim")]
                    if ours and not any(n == namespace or n.startswith(namespace + "::")
                                        for n in ours):
                        wrong.append(f"{os.path.relpath(path, ROOT)}: {', '.join(ours)}")
        self.assertEqual(wrong, [])

    def test_each_library_links_only_what_its_layer_stands_on(self):
        text = read(os.path.join(ROOT, "src", "CMakeLists.txt"))
        declared = re.findall(r"^quecsim_layer\(([a-z_]+)([^)]*)\)", text, re.M)
        self.assertTrue(declared)
        for name, deps in declared:
            linked = set(re.findall(r"quecsim::([a-z_]+)", deps))
            self.assertLessEqual(linked, closure(self.layers, name), name)
        self.assertEqual({n for n, _ in declared} | {"core", "cli", "ftpd"}, set(self.layers))

    def test_subcommands_use_support_and_not_each_other(self):
        sim = os.path.join(ROOT, "sim")
        tools = [d for d in os.listdir(sim) if os.path.isdir(os.path.join(sim, d))]
        self.assertIn("support", tools)
        wrong = []
        for tool in tools:
            for path in sources(os.path.join(sim, tool)):
                text = read(path)
                for used in LOCAL_INCLUDE.findall(text):
                    if used not in ("support", tool, "quecsim"):
                        wrong.append(f"{os.path.relpath(path, ROOT)} includes {used}/")
                opened = re.findall(r"^namespace ([a-z_:]+) \{", text, re.M)
                if not any(n == f"quecsim::sim::{tool}" or n.startswith(f"quecsim::sim::{tool}::")
                           for n in opened):
                    wrong.append(f"{os.path.relpath(path, ROOT)}: not in quecsim::sim::{tool}")
        self.assertEqual(wrong, [])

    def test_the_exit_codes_are_defined_once(self):
        wrong = []
        for path in sources(os.path.join(ROOT, "sim")):
            if re.search(r"constexpr int exit_[a-z]+ = \d", read(path)):
                wrong.append(os.path.relpath(path, ROOT))
        self.assertEqual(wrong, [])


if __name__ == "__main__":
    unittest.main()
