#!/usr/bin/env bash
# The test command: installs what is needed, builds, runs every test (unit, integration with
# real QEMU guests, benchmark smoke runs) and a short fuzz smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f guest/build-image.sh ]; then bash guest/build-image.sh build/guest; fi
ctest --test-dir build --output-on-failure --no-tests=error -j 2 --timeout 900
if [ -f fuzz/CMakeLists.txt ]; then bash scripts/fuzz-smoke.sh; fi
