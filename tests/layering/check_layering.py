#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# The layering of src/ (issue 7) as one table, checked against the tree: every include of
# another component in src/**/*.{h,cc}, every shype::<target> or src/<dir> named in a
# src/*/CMakeLists.txt, and each folder's README "May include:" line. Exits 1 naming each
# forbidden include or link as file:line; docs/design.md "Layers" explains the order.
"""Usage: check_layering.py [--root DIR] [--verbose] [--strict-allowlist]"""

import argparse
import os
import re
import sys
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# The table: what each folder under src/ may include and link, besides itself.
# A name is a folder (all its libraries) or one library of a folder (src/policyc holds
# policyc_core and policyc_builtin, which link no XML code, and policyc, the XML compiler).
# Order, bottom to top: common < policy < policyc < acm < enforce < vm, vswitch, shm < admin < daemon,
# cli; web (on api) is the CLI's alone (`shype web`);
# config, store and api are helpers on common, each reachable only from the layers that need it.
ALLOWED = {
    "common": [],
    "policy": ["common"],
    "policyc": ["policy", "common"],
    "acm": ["policyc_core", "policy", "common"],  # never the XML compiler: shyped links acm
    "config": ["common"],  # config file syntax; decisions (acm and below) get typed values
    "store": ["common"],  # the state directory; used by the services and the wiring only
    "api": ["common"],  # the wire, shared by both ends of the socket: links nothing of the monitor
    "enforce": ["acm", "config", "common"],  # asks the ACM; never reads the policy itself
    "vm": ["enforce", "acm", "config", "common"],
    "vswitch": ["enforce", "acm", "config", "common"],  # an enforcement point: asks the ACM
    "shm": ["enforce", "acm", "config", "common"],  # an enforcement point: asks the ACM
    "vtpm": ["common"],  # swtpm + tpm2-tss + OpenSSL; the ACM is asked by the daemon before Start
    "admin": ["vm", "enforce", "acm", "policyc_core", "policyc_builtin", "policy", "config",
              "store", "api", "common"],  # api: its typed replies only (ONLY_HEADERS)
    "daemon": ["admin", "vm", "vswitch", "shm", "vtpm", "enforce", "acm", "policyc_core", "policyc_builtin", "policy",
               "config", "store", "api", "common"],
    "web": ["api", "common"],  # `shype web`: the browser's edge, a client of shyped like the CLI
    "cli": ["admin", "web", "api", "vtpm_verify", "config", "policyc", "policy", "common"],  # admin: offline mode only; vtpm_verify: `shype verify` runs offline
}
# Test sources (*_test.cc, test_*.h, ...) may also build their fixtures with these: the tests
# are not linked into shyped, so the XML compiler is fine there.
TEST_EXTRA = ["policyc"]
# Headers private to their folder (issue 7: the ACM's tables are private; its public headers are
# the hooks, the queries, the update transaction and their types). Including one from elsewhere
# fails, and so does putting one back under the folder's include/ (re-exposing it).
INTERNAL_HEADERS = {
    "acm": ["policy_snapshot.h", "decision_cache.h", "domain_index.h", "chinese_wall.h"],
}
# The library a header without its own .cc belongs to, where a folder holds several.
DEFAULT_UNIT = {"policyc": "policyc_core"}
# Header-only headers of a library other than their folder's default.
HEADER_UNIT = {("api", "api_options.h"): "api_server"}
UNIT_NOTES = {"policyc": "the XML compiler (libxml2)",
              "api_server": "shyped's HTTP server (Beast coroutines)"}
# Libraries only these folders may use, though others may use the rest of their folder: the CLI
# links the wire (shype::api), never shyped's server.
ONLY_FOR = {"api_server": ["daemon"], "vtpm": ["daemon"], "web": ["cli"]}
# The headers of a component another folder may include, where it may not include the rest:
# services return typed replies (issue 7) and never see JSON; the API's edge encodes them.
ONLY_HEADERS = {"admin": {"api": ["replies.h", "state_dir.h"]}}

# Violations present when this check was written. Each is to be removed by issue 7; a new
# violation is never added here without review. Matched by (file, what), not by line.
ALLOWLIST = [
]
# ---------------------------------------------------------------------------------------------

SOURCE_SUFFIXES = (".h", ".cc", ".hpp", ".cpp", ".cc.in", ".h.in")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
TARGET_RE = re.compile(r"\bshype(?:::|_)([a-z][a-z0-9_]*)\b")
SRC_PATH_RE = re.compile(r"(?:\bsrc/|\.\./)([a-z][a-z0-9_]*)(/[^\s)\"]*)?")
COMMAND_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")
README_MAX_LINES = 40


def render_may_include(folder):
    names = ALLOWED[folder]
    return "May include: " + (", ".join(names) + "." if names else "nothing (the bottom layer).")


def is_test_file(path):
    name = path.name.split(".")[0]
    return "test" in name.split("_")


def unit_folder(unit):
    """The src/ folder a library lives in (policyc_core -> policyc)."""
    if unit in ALLOWED:
        return unit
    for folder in ALLOWED:
        if unit.startswith(folder + "_"):
            return folder
    return unit


def check_table():
    """Returns errors in the table itself: unknown names and cycles between folders."""
    errors = []
    for folder, names in list(ALLOWED.items()) + [("tests", TEST_EXTRA)]:
        for name in names:
            if unit_folder(name) not in ALLOWED:
                errors.append(f"table: {folder} names unknown component {name}")
    graph = {f: sorted({unit_folder(n) for n in names} - {f}) for f, names in ALLOWED.items()}
    done, trail = set(), []

    def visit(node):
        trail.append(node)
        for nxt in graph.get(node, []):
            if nxt in trail:
                errors.append("table: dependency cycle "
                              + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt)
        trail.pop()
        done.add(node)

    for folder in sorted(graph):
        if folder not in done:
            visit(folder)
    return errors


def strip_cmake_comments(text):
    lines = []
    for line in text.split("\n"):
        quoted = False
        for i, ch in enumerate(line):
            if ch == '"':
                quoted = not quoted
            elif ch == "#" and not quoted:
                line = line[:i]
                break
        lines.append(line)
    return "\n".join(lines)


def cmake_commands(text):
    """Yields (command, offset of its arguments, arguments, the comment-free text) per command."""
    text = strip_cmake_comments(text)
    pos = 0
    while True:
        m = COMMAND_RE.search(text, pos)
        if not m:
            return
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield m.group(1).lower(), m.end(), text[m.end():i - 1], text
        pos = i


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


class Tree:
    def __init__(self, root):
        self.root = root
        self.src = root / "src"
        self.folders = sorted(p.name for p in self.src.iterdir()
                              if p.is_dir() and not p.name.startswith("."))
        self.libs = {}  # library name -> folder
        self.header_unit = {}  # (folder, header path under include/shype/<folder>/) -> library
        for folder in self.folders:
            self._read_libraries(folder)

    def _read_libraries(self, folder):
        cmake = self.src / folder / "CMakeLists.txt"
        sources = {}
        if cmake.exists():
            for cmd, _, args, _ in cmake_commands(cmake.read_text(errors="replace")):
                if cmd != "shype_add_library":
                    continue
                words = args.split()
                if not words:
                    continue
                lib = words[0]
                self.libs[lib] = folder
                for w in words[1:]:
                    if w.endswith((".cc", ".cpp")) and "$" not in w:
                        sources[Path(w).stem] = lib
        if folder not in self.libs.values():
            self.libs.setdefault(folder, folder)
        include_dir = self.src / folder / "include" / "shype" / folder
        default = DEFAULT_UNIT.get(folder, folder)
        if include_dir.is_dir():
            for h in include_dir.rglob("*"):
                if h.is_file():
                    rel = h.relative_to(include_dir).as_posix()
                    self.header_unit[(folder, rel)] = HEADER_UNIT.get(
                        (folder, rel), sources.get(h.stem, default))

    def unit_of_header(self, folder, rel):
        return self.header_unit.get((folder, rel), DEFAULT_UNIT.get(folder, folder))


class Checker:
    def __init__(self, root):
        self.tree = Tree(root)
        self.root = root
        self.violations = []  # (file, line, what, message)

    def rel(self, path):
        return path.relative_to(self.root).as_posix()

    def add(self, path, line, what, message):
        self.violations.append((self.rel(path), line, what, message))

    def allowed_for(self, folder, test):
        """The libraries folder may use; a folder name stands for all its libraries."""
        names = set(ALLOWED.get(folder, [])) | (set(TEST_EXTRA) if test else set())
        names -= {lib for lib, users in ONLY_FOR.items() if folder not in users}
        return names | {lib for lib, f in self.tree.libs.items()
                        if f in names and folder in ONLY_FOR.get(lib, [folder])}

    def allowed_text(self, folder):
        return ", ".join(ALLOWED[folder]) or "nothing"

    def check_dependency(self, path, line, own, unit, what, verb, test=None):
        dep = unit_folder(unit)
        if dep == own:
            return
        if unit in self.allowed_for(own, is_test_file(path) if test is None else test):
            return
        several = sum(1 for f in self.tree.libs.values() if f == dep) > 1
        note = f", {UNIT_NOTES[unit]}" if unit in UNIT_NOTES else ""
        lib = f" ({what} belongs to shype::{unit}{note})" if several else ""
        self.add(path, line, what, f"{verb} {what} but {own} may not depend on {unit}{lib} "
                                   f"(allowed: {self.allowed_text(own)})")

    def run(self):
        for folder in self.tree.folders:
            if folder not in ALLOWED:
                self.add(self.tree.src / folder, 0, folder,
                         f"is not in the layering table: add '{folder}' to ALLOWED in "
                         f"tests/layering/check_layering.py (and its README's May include "
                         f"line), in review")
                continue
            self.check_readme(folder)
            self.check_cmake(folder)
            self.check_internal_headers(folder)
            for path in sorted((self.tree.src / folder).rglob("*")):
                if path.is_file() and path.name.endswith(SOURCE_SUFFIXES):
                    self.check_source(folder, path)
        return self.violations

    def check_source(self, own, path):
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.split("\n"), 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            inc = m.group(2).strip()
            if inc.startswith("shype/"):
                self.check_public_include(own, path, number, inc)
            elif m.group(1) == '"':
                self.check_private_include(own, path, number, inc)

    def check_public_include(self, own, path, number, inc):
        parts = inc.split("/")
        if len(parts) < 3:
            return
        dep, rel = parts[1], "/".join(parts[2:])
        if dep not in self.tree.folders and dep not in ALLOWED:
            self.add(path, number, inc, f"includes {inc} but there is no component {dep} "
                                        f"(no src/{dep}/)")
            return
        only = ONLY_HEADERS.get(own, {}).get(dep)
        if only is not None and rel not in only:
            self.add(path, number, inc, f"includes {inc} but {own} may include only "
                                        f"{', '.join(only)} of {dep} (ONLY_HEADERS)")
            return
        if dep != own and rel in INTERNAL_HEADERS.get(dep, []):
            self.add(path, number, inc, f"includes {inc}, internal to {dep} (issue 7: only "
                                        f"{dep}'s hooks, queries and their types are public)")
            return
        self.check_dependency(path, number, own, self.tree.unit_of_header(dep, rel), inc,
                              "includes")

    def check_private_include(self, own, path, number, inc):
        """A quoted include that is not "shype/..." must stay inside the own folder."""
        src = self.tree.src.resolve()
        direct = Path(os.path.normpath(path.parent.resolve() / inc))
        candidates = [direct]  # where the compiler looks first
        if not direct.exists():  # else through an include directory: the root or src/
            candidates += [Path(os.path.normpath(base / inc)) for base in (self.root.resolve(), src)]
            candidates = [direct] + [c for c in candidates[1:] if c.exists()]
        for cand in candidates:
            try:
                parts = cand.relative_to(src).parts
            except ValueError:
                continue
            if len(parts) < 2 or parts[0] == own:
                continue
            self.add(path, number, inc,
                     f"includes {inc}, a private file of {parts[0]} (src/{'/'.join(parts)}); "
                     f"other components include only \"shype/{parts[0]}/...\" public headers")
            return

    def check_cmake(self, own):
        for cmake in sorted((self.tree.src / own).rglob("CMakeLists.txt")):
            text = cmake.read_text(errors="replace")
            for cmd, start, args, stripped in cmake_commands(text):
                test = cmd == "shype_add_test"
                verb = "links (test)" if test else "links"
                for m in TARGET_RE.finditer(args):
                    lib = m.group(1)
                    if lib in self.tree.libs:
                        self.check_dependency(cmake, line_of(stripped, start + m.start()), own,
                                              lib, f"shype::{lib}", verb, test)
                for m in SRC_PATH_RE.finditer(args):
                    self.check_cmake_path(cmake, line_of(stripped, start + m.start()), own,
                                          m.group(1), m.group(2) or "", m.group(0), test)

    def check_cmake_path(self, cmake, line, own, dep, rest, what, test):
        """A directory of another folder named in CMake: only its include/ is public."""
        if dep not in self.tree.folders or dep == own:
            return
        if not rest.startswith("/include"):
            self.add(cmake, line, what,
                     f"names {what}, a private directory of {dep} (only src/{dep}/include is "
                     f"public)")
        elif not any(f == dep for lib, f in self.tree.libs.items()
                     if lib in self.allowed_for(own, test)):
            self.add(cmake, line, what, f"names {what} but {own} may not depend on {dep} "
                                        f"(allowed: {self.allowed_text(own)})")

    def check_internal_headers(self, folder):
        """An internal header must not be public: under include/ any folder could include it."""
        for header in INTERNAL_HEADERS.get(folder, []):
            public = self.tree.src / folder / "include" / "shype" / folder / header
            if public.exists():
                self.add(public, 0, header,
                         f"is internal to {folder} (issue 7): keep it in src/{folder}/, private, "
                         f"not under include/ (give {folder}'s public API what callers need)")

    def check_readme(self, folder):
        readme = self.tree.src / folder / "README.md"
        if not readme.exists():
            self.add(readme, 0, "README.md", f"missing: each folder says what it owns and "
                                             f"'{render_may_include(folder)}'")
            return
        lines = readme.read_text(errors="replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) > README_MAX_LINES:
            self.add(readme, len(lines), "README.md",
                     f"has {len(lines)} lines, more than {README_MAX_LINES} (style.md §1)")
        want = render_may_include(folder)
        found = [(i, l.strip()) for i, l in enumerate(lines, 1) if l.startswith("May include:")]
        if [l for _, l in found] != [want]:
            at = found[0][0] if found else 0
            got = "; ".join(l for _, l in found) or "no 'May include:' line"
            self.add(readme, at, "May include",
                     f"must say exactly '{want}' (the table in tests/layering/"
                     f"check_layering.py), not: {got}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the source tree (holds src/); default: this script's repository")
    parser.add_argument("--verbose", action="store_true",
                        help="also print the allow-listed violations")
    parser.add_argument("--strict-allowlist", action="store_true",
                        help="fail when an allow-list entry matches nothing any more")
    args = parser.parse_args(argv)

    table_errors = check_table()
    if table_errors:
        print("\n".join(table_errors), file=sys.stderr)
        return 2
    if not (args.root / "src").is_dir():
        print(f"{args.root}: no src/ directory (use --root)", file=sys.stderr)
        return 2

    violations = Checker(args.root).run()
    allow = {(e["file"], e["what"]): e["reason"] for e in ALLOWLIST}
    used, failures = set(), []
    for file, line, what, message in sorted(violations):
        where = f"{file}:{line}" if line else file
        if (file, what) in allow:
            used.add((file, what))
            if args.verbose:
                print(f"allowed [{allow[(file, what)]}]: {where} {message}")
            continue
        failures.append(f"{where} {message}")
    stale = [k for k in allow if k not in used]
    for file, what in stale:
        print(f"note: allow-list entry ({file}, {what}) matches nothing any more: remove it "
              f"from tests/layering/check_layering.py", file=sys.stderr)
    for failure in failures:
        print(failure)
    if failures or (stale and args.strict_allowlist):
        print(f"layering: {len(failures)} forbidden dependencies "
              f"(table and reasons: tests/layering/check_layering.py, docs/design.md 'Layers')",
              file=sys.stderr)
        return 1
    print(f"layering: ok ({len(used)} allow-listed, issue 7)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
