#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Fails when a function in src/ is longer than LIMIT lines without a reason: a comment line
# "// Long: <why>" in the comment block just above it (style.md: functions <= 40 lines, past
# ~60 needs a stated reason). Functions are found by brace matching outside strings and
# comments; a function is a top-level brace block (inside namespaces only) whose header ends
# with ')' plus qualifiers, or a lambda/coroutine body counted as part of its enclosing function.
import argparse
import pathlib
import re
import sys

LIMIT = 60
REASON = re.compile(r"//\s*Long:\s*\S")


DIGIT_SEPARATOR = re.compile(r"[0-9a-fA-F]")
NUMBER_BEFORE = re.compile(r"(?<![A-Za-z0-9_'])(0[xXbB])?[0-9][0-9a-fA-F']*$")


def strip_code(text):
    """Blanks string/char literals and comments, keeping newlines (so line numbers hold)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == "'" and DIGIT_SEPARATOR.match(text, i + 1) and NUMBER_BEFORE.search(text, 0, i):
            out.append(c)  # a digit separator (5'000), not a character literal
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(" " * (min(j + 1, n) - i))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


HEADER_END = re.compile(r"\)\s*(const|override|final|noexcept|mutable|->[^{;]*|\s)*$")
TYPE_BLOCK = re.compile(r"(^|[\s;}])(class|struct|union|enum)\b[^;{()]*$")


def functions(path):
    raw = path.read_text(encoding="utf-8", errors="replace")
    code = strip_code(raw)
    lines = raw.split("\n")
    stack = []  # (kind, start_line)
    found = []
    header_start = 0
    for i, ch in enumerate(code):
        if ch == "{":
            line = code.count("\n", 0, i) + 1
            before = code[max(0, code.rfind(";", 0, i), code.rfind("}", 0, i), code.rfind("{", 0, i)) + 1:i]
            in_function = any(kind == "fn" for kind, _ in stack)
            if in_function:
                kind = "inner"
            elif re.search(r"\bnamespace\b", before):
                kind = "ns"
            elif TYPE_BLOCK.search(before):
                kind = "type"
            elif HEADER_END.search(before.rstrip()) or re.search(r"\)\s*:\s", before):
                kind = "fn"
                # The header's first line: skip blank and preprocessor lines before it.
                head = before.split("\n")
                skip = 0
                while skip < len(head) - 1 and (not head[skip].strip() or
                                                head[skip].lstrip().startswith("#")):
                    skip += 1
                header_start = line - (len(head) - 1) + skip
            else:
                kind = "other"
            stack.append((kind, header_start if kind == "fn" else line))
        elif ch == "}" and stack:
            kind, start = stack.pop()
            if kind == "fn":
                end = code.count("\n", 0, i) + 1
                found.append((start, end))
    return found, lines


def has_reason(lines, start):
    j = start - 2  # the line above the header (0-based)
    while j >= 0 and (lines[j].strip().startswith("//") or lines[j].strip().startswith("[[")
                      or lines[j].strip().startswith("template")):
        if REASON.search(lines[j]):
            return True
        j -= 1
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=pathlib.Path(__file__).resolve().parents[2])
    ap.add_argument("--limit", type=int, default=LIMIT)
    ap.add_argument("--list", action="store_true", help="print every long function")
    args = ap.parse_args()
    root = pathlib.Path(args.root)
    bad = []
    for path in sorted((root / "src").rglob("*.cc")):
        if path.name.endswith("_test.cc"):
            continue  # tests read as a list of cases; their length is their content
        found, lines = functions(path)
        for start, end in found:
            length = end - start + 1
            if length > args.limit and (args.list or not has_reason(lines, start)):
                bad.append((path.relative_to(root), start, length, has_reason(lines, start)))
    for p, start, length, ok in bad:
        note = " (reason given)" if ok else f"; split it, or say why above it: // Long: <reason>"
        print(f"{p}:{start}: function of {length} lines, more than {args.limit}{note}")
    failing = [b for b in bad if not b[3]]
    print(f"function length: {'ok' if not failing else f'{len(failing)} over {args.limit} lines'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
