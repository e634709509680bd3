#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerates golden/<policy>.hex (binary bytes), .dump (DumpBinaryPolicy text) and .map for every
# tests/data/policies/*.xml by running policyc's golden test in rewrite mode.
# Usage: tests/data/policies/regen-golden.sh <path to shype_policyc_test>
#   e.g. tests/data/policies/regen-golden.sh build/tests/shype_policyc_test
# Review the resulting `git diff tests/data/policies/golden` before committing it.
set -eu
if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 <path to the shype_policyc_test executable>" >&2
  exit 2
fi
SHYPE_REGEN_GOLDEN=1 "$1" --gtest_filter='Project/GoldenPolicyTest.*' --gtest_brief=1
"$1" --gtest_filter='Project/GoldenPolicyTest.*' --gtest_brief=1
echo "goldens rewritten under $(dirname "$0")/golden; review with git diff"
