#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# The function-length check can fail: a long function without a reason fails it, with the file
# and line; a reason, a short function, a test file or braces inside strings and comments do not.
import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).with_name("check_function_length.py")


def run(files):
    with tempfile.TemporaryDirectory() as root:
        for name, text in files.items():
            path = pathlib.Path(root) / "src" / "x" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        done = subprocess.run([sys.executable, "-B", str(CHECK), "--root", root],
                              capture_output=True, text=True)
        return done.returncode, done.stdout


def body(n):
    return "".join(f"  x += {i};\n" for i in range(n))


def main():
    failures = []

    def expect(what, cond, out):
        if not cond:
            failures.append(f"{what}:\n{out}")

    long_fn = "namespace a {\n\nint F(int x) {\n" + body(70) + "  return x;\n}\n\n}  // namespace a\n"
    rc, out = run({"a.cc": long_fn})
    expect("a 73-line function fails", rc == 1 and "src/x/a.cc:3: function of 73 lines" in out, out)
    rc, out = run({"a.cc": long_fn.replace("int F(", "// Long: a table.\nint F(")})
    expect("a stated reason passes", rc == 0, out)
    rc, out = run({"a.cc": "int F(int x) {\n" + body(40) + "  return x;\n}\n"})
    expect("a short function passes", rc == 0, out)
    rc, out = run({"a_test.cc": long_fn})
    expect("test files are not checked", rc == 0, out)
    tricky = ("int G(int x) {\n  const char* s = \"}}}\";  // }\n  /* } */\n" + body(70) +
              "  auto f = [&] { return 1; };\n  return x + f();\n}\n")
    rc, out = run({"b.cc": tricky})
    expect("braces in strings, comments and lambdas do not end the function",
           rc == 1 and "src/x/b.cc:1: function of 76 lines" in out, out)
    rc, out = run({"c.cc": "struct S {\n" + "  int a;\n" * 80 + "};\n"})
    expect("a long type definition is not a function", rc == 0, out)
    separated = ("constexpr int kMs = 5'000;  // a digit separator, not a char literal\n"
                 "int H(int x) {\n" + body(70) + "  return x;\n}\n")
    rc, out = run({"d.cc": separated})
    expect("a digit separator does not hide the function after it",
           rc == 1 and "src/x/d.cc:2: function of 73 lines" in out, out)
    rc, out = run({"e.cc": "char C() { return 'x'; }\nint u = u8'a';\n"})
    expect("character literals still parse", rc == 0, out)
    for f in failures:
        print("FAIL -", f)
    print(f"{8 - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
