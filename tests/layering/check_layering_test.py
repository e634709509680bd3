#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
#
# Proves check_layering.py can fail: fake source trees with one forbidden include, private
# header, link or README line each must make it exit 1 naming the file and line; a clean
# fake tree, and the allow-listed and test-only exceptions, must pass.

import contextlib
import io
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "check_layering.py"
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(HERE))
import check_layering  # noqa: E402  (the table, for the READMEs of the fake tree)

# A small tree with the real folder names: the table is the script's own.
CLEAN = {
    "src/common/CMakeLists.txt": "shype_add_library(common SOURCES result.cc)\n",
    "src/common/include/shype/common/result.h": "#pragma once\n",
    "src/common/result.cc": '#include "shype/common/result.h"\n',
    "src/policy/CMakeLists.txt":
        "shype_add_library(policy SOURCES binary_policy.cc DEPS shype::common)\n",
    "src/policy/include/shype/policy/binary_policy.h":
        '#pragma once\n#include "shype/common/result.h"\n',
    "src/policy/binary_layout.h": "#pragma once\n",
    "src/policy/binary_policy.cc":
        '#include "shype/policy/binary_policy.h"\n#include "binary_layout.h"\n',
    "src/policyc/CMakeLists.txt": textwrap.dedent("""\
        # policyc_core has no XML; policyc is the compiler
        shype_add_library(policyc_core SOURCES default_policy.cc DEPS shype::policy)
        shype_add_library(policyc SOURCES compiler.cc DEPS shype::policyc_core
                          PRIVATE_DEPS LibXml2::LibXml2)
        """),
    "src/policyc/include/shype/policyc/default_policy.h": "#pragma once\n",
    "src/policyc/include/shype/policyc/compiler.h":
        '#pragma once\n#include "shype/policy/binary_policy.h"\n',
    "src/policyc/default_policy.cc": '#include "shype/policyc/default_policy.h"\n',
    "src/policyc/compiler.cc": '#include "shype/policyc/compiler.h"\n',
    "src/acm/CMakeLists.txt": textwrap.dedent("""\
        shype_add_library(acm SOURCES acm.cc
          DEPS shype::common shype::policy shype::policyc_core)
        target_include_directories(shype_acm PUBLIC ${PROJECT_SOURCE_DIR}/src/policy/include)
        shype_add_test(acm SOURCES acm_test.cc DEPS shype::policyc)
        """),
    "src/acm/include/shype/acm/acm.h": "#pragma once\n",
    "src/acm/policy_snapshot.h": "#pragma once\n",
    "src/acm/acm.cc": textwrap.dedent("""\
        // SPDX-License-Identifier: Apache-2.0
        #include "shype/acm/acm.h"

        #include <vector>

        #include "policy_snapshot.h"
        #include "shype/policy/binary_policy.h"
        #include "shype/policyc/default_policy.h"
        """),
    # A test may build its fixtures with the XML compiler (not linked into shyped).
    "src/acm/acm_test.cc": '#include "shype/acm/acm.h"\n#include "shype/policyc/compiler.h"\n',
}


def readme(folder):
    return f"# src/{folder}\n\nOwns: the fake {folder}.\n{check_layering.render_may_include(folder)}\n"


class LayeringCheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = Path(self.dir.name)
        files = dict(CLEAN)
        for folder in {Path(p).parts[1] for p in CLEAN}:
            files[f"src/{folder}/README.md"] = readme(folder)
        for path, text in files.items():
            self.write(path, text)

    def tearDown(self):
        self.dir.cleanup()

    def write(self, path, text):
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)

    def run_check(self, *extra):
        done = subprocess.run([sys.executable, str(SCRIPT), "--root", str(self.root), *extra],
                              capture_output=True, text=True, timeout=60)
        return done.returncode, done.stdout + done.stderr

    def assert_fails_with(self, *needles):
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        for needle in needles:
            self.assertIn(needle, out)
        return out

    def test_clean_tree_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        self.assertIn("layering: ok", out)

    def test_include_of_a_higher_layer_fails_naming_file_and_line(self):
        self.write("src/policy/label_map.cc",
                   '// SPDX\n#include <string>\n#include "shype/acm/acm.h"\n')
        out = self.assert_fails_with(
            "src/policy/label_map.cc:3 includes shype/acm/acm.h but policy may not depend on "
            "acm (allowed: common)")
        self.assertEqual(len([l for l in out.splitlines() if "may not depend" in l]), 1, out)

    def test_include_from_a_public_header_fails_too(self):
        self.write("src/common/include/shype/common/log.h",
                   '#pragma once\n#include "shype/policy/binary_policy.h"\n')
        self.assert_fails_with("src/common/include/shype/common/log.h:2 includes "
                               "shype/policy/binary_policy.h but common may not depend on policy")

    def test_the_xml_compiler_is_refused_to_the_monitor(self):
        self.write("src/acm/acm_update.cc", '#include "shype/policyc/compiler.h"\n')
        self.assert_fails_with("src/acm/acm_update.cc:1 includes shype/policyc/compiler.h but "
                               "acm may not depend on policyc (shype/policyc/compiler.h belongs "
                               "to shype::policyc, the XML compiler (libxml2))")

    def test_private_header_of_another_component_fails(self):
        self.write("src/acm/snapshot.cc",
                   '#include "shype/acm/acm.h"\n#include "../policy/binary_layout.h"\n')
        self.assert_fails_with("src/acm/snapshot.cc:2 includes ../policy/binary_layout.h, a "
                               "private file of policy")

    def test_private_header_through_a_path_from_the_root_fails(self):
        self.write("src/acm/snapshot.cc", '#include "src/policy/binary_layout.h"\n')
        self.assert_fails_with("src/acm/snapshot.cc:1 includes src/policy/binary_layout.h, a "
                               "private file of policy")

    def test_internal_header_of_the_acm_fails_outside_it(self):
        self.write("src/enforce/README.md", readme("enforce"))
        self.write("src/enforce/disk.cc", '#include "shype/acm/policy_snapshot.h"\n')
        self.assert_fails_with("src/enforce/disk.cc:1 includes shype/acm/policy_snapshot.h, "
                               "internal to acm")

    def test_an_internal_header_of_the_acm_may_not_be_made_public_again(self):
        self.write("src/acm/include/shype/acm/policy_snapshot.h", "#pragma once\n")
        self.assert_fails_with("src/acm/include/shype/acm/policy_snapshot.h is internal to acm "
                               "(issue 7): keep it in src/acm/, private")

    def test_only_the_daemon_may_use_the_api_server(self):
        self.write("src/api/CMakeLists.txt",
                   "shype_add_library(api SOURCES wire.cc DEPS shype::common)\n"
                   "shype_add_library(api_server SOURCES http_server.cc DEPS shype::api)\n")
        self.write("src/api/README.md", readme("api"))
        self.write("src/api/include/shype/api/wire.h", "#pragma once\n")
        self.write("src/api/include/shype/api/http_server.h", "#pragma once\n")
        self.write("src/api/include/shype/api/api_options.h", "#pragma once\n")  # header-only
        for folder in ("daemon", "cli"):
            self.write(f"src/{folder}/README.md", readme(folder))
            self.write(f"src/{folder}/main.cc",
                       '#include "shype/api/wire.h"\n#include "shype/api/http_server.h"\n'
                       '#include "shype/api/api_options.h"\n')
        out = self.assert_fails_with(
            "src/cli/main.cc:2 includes shype/api/http_server.h but cli may not depend on "
            "api_server (shype/api/http_server.h belongs to shype::api_server, shyped's HTTP "
            "server",
            "src/cli/main.cc:3 includes shype/api/api_options.h but cli may not depend on "
            "api_server")
        self.assertNotIn("src/daemon/", out)
        self.assertNotIn("src/cli/main.cc:1", out)

    def test_a_service_may_include_the_api_replies_but_not_json(self):
        self.write("src/api/CMakeLists.txt",
                   "shype_add_library(api SOURCES wire.cc reply_json.cc DEPS shype::common)\n")
        self.write("src/api/README.md", readme("api"))
        for header in ("wire.h", "replies.h", "reply_json.h"):
            self.write(f"src/api/include/shype/api/{header}", "#pragma once\n")
        self.write("src/admin/README.md", readme("admin"))
        self.write("src/admin/labels.cc", '#include "shype/api/replies.h"\n'
                                          '#include "shype/api/reply_json.h"\n')
        out = self.assert_fails_with("src/admin/labels.cc:2 includes shype/api/reply_json.h but "
                                     "admin may include only replies.h, state_dir.h of api")
        self.assertNotIn("labels.cc:1", out)

    def test_forbidden_link_fails_naming_the_cmake_line(self):
        self.write("src/policy/CMakeLists.txt",
                   "shype_add_library(policy SOURCES binary_policy.cc\n"
                   "  DEPS shype::common shype::acm)\n")
        self.assert_fails_with("src/policy/CMakeLists.txt:2 links shype::acm but policy may "
                               "not depend on acm")

    def test_the_monitor_may_not_link_the_xml_compiler_outside_its_tests(self):
        self.write("src/acm/CMakeLists.txt",
                   "shype_add_library(acm SOURCES acm.cc DEPS shype::policy shype::policyc)\n")
        self.assert_fails_with("src/acm/CMakeLists.txt:1 links shype::policyc but acm may not "
                               "depend on policyc")

    def test_a_commented_out_link_is_not_a_link(self):
        self.write("src/policy/CMakeLists.txt",
                   "# not shype::acm\nshype_add_library(policy SOURCES binary_policy.cc)\n")
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)

    def test_private_directory_in_cmake_fails(self):
        with open(self.root / "src/acm/CMakeLists.txt", "a") as f:
            f.write("target_include_directories(shype_acm PRIVATE ${PROJECT_SOURCE_DIR}/src/policy)\n")
        self.assert_fails_with("src/acm/CMakeLists.txt:5 names src/policy, a private directory "
                               "of policy")

    def run_with_allowlist(self, entries):
        """The check in this process with `entries` as its allow-list (the real one shrinks)."""
        saved, check_layering.ALLOWLIST = check_layering.ALLOWLIST, entries
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                rc = check_layering.main(["--root", str(self.root)])
        finally:
            check_layering.ALLOWLIST = saved
        return rc, out.getvalue()

    def test_allow_listed_violation_passes_and_a_new_one_beside_it_fails(self):
        entries = [{"file": "src/cli/main.cc", "what": "shype/store/state_store.h",
                    "reason": "a known violation"}]
        self.write("src/cli/README.md", readme("cli"))
        self.write("src/store/README.md", readme("store"))
        self.write("src/store/include/shype/store/state_store.h", "#pragma once\n")
        self.write("src/store/include/shype/store/sqlite.h", "#pragma once\n")
        self.write("src/cli/main.cc", '#include "shype/store/state_store.h"\n')
        rc, out = self.run_with_allowlist(entries)
        self.assertEqual(rc, 0, out)
        self.write("src/cli/main.cc",
                   '#include "shype/store/state_store.h"\n#include "shype/store/sqlite.h"\n')
        rc, out = self.run_with_allowlist(entries)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/cli/main.cc:2 includes shype/store/sqlite.h but cli may not depend on "
                      "store", out)
        self.assertNotIn("src/cli/main.cc:1", out)

    def test_readme_must_state_the_table(self):
        self.write("src/policy/README.md", "# src/policy\n\nMay include: common, acm.\n")
        self.assert_fails_with("src/policy/README.md:3 must say exactly 'May include: common.'")

    def test_readme_over_40_lines_fails(self):
        self.write("src/policy/README.md", readme("policy") + "more\n" * 40)
        self.assert_fails_with("src/policy/README.md:44 has 44 lines, more than 40")

    def test_folder_missing_from_the_table_fails(self):
        self.write("src/uncharted/port.cc", '#include "shype/acm/acm.h"\n')
        self.assert_fails_with("src/uncharted is not in the layering table")

    def test_unknown_component_fails(self):
        self.write("src/acm/x.cc", '#include "shype/decision/engine.h"\n')
        self.assert_fails_with("src/acm/x.cc:1 includes shype/decision/engine.h but there is no "
                               "component decision")

    def test_the_table_refuses_a_cycle(self):
        saved = dict(check_layering.ALLOWED)
        try:
            check_layering.ALLOWED["common"] = ["acm"]
            errors = check_layering.check_table()
        finally:
            check_layering.ALLOWED.clear()
            check_layering.ALLOWED.update(saved)
        self.assertTrue(any("cycle" in e and "common" in e and "acm" in e for e in errors),
                        errors)
        self.assertEqual(check_layering.check_table(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
