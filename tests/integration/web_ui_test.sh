#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The web UI end to end (issue 10): a real shyped with the demo policy and labeled disks, real
# QEMU (TCG) guests, `shype web --listen 127.0.0.1:0 --configs DIR`, and web/e2e/web_ui.mjs
# driving Debian's Chromium (headless, playwright-core): edit a policy, a validation error at its
# field, fix, activate, the matrix changes; a refused activation lists its violations; a start
# refused by the Chinese Wall shows why; no token, a wrong token, no or a wrong anti-CSRF token
# and cross-site requests are refused. Screenshots of each view go to $SHYPE_SCREENSHOTS (default
# build/screenshots; `SHYPE_SCREENSHOTS=$PWD/docs/screenshots ctest -R e2e_web_ui` refreshes the
# README's).
# Two guests at a time (bank1, mon1; game1 is refused).
source "$(dirname "$0")/lib.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
WEB="$SRC/web"
[ -x "$CHROMIUM" ] || { echo "FAIL - $CHROMIUM is missing (apt-get install chromium; scripts/setup.sh)"; exit 1; }
[ -d "$WEB/node_modules/playwright-core" ] || { echo "FAIL - web/node_modules is missing (build shype_web_ui)"; exit 1; }
[ -f "$BUILD/web/dist/index.html" ] || { echo "FAIL - $BUILD/web/dist is missing (build shype_web_ui)"; exit 1; }

start_daemon
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/examples/policies/shype-demo.xml"
mkdir -p "$T/img" "$T/configs"
head -c 1048576 /dev/zero >"$T/img/bank.img"
head -c 1048576 /dev/zero >"$T/img/game.img"
expect_rc 0 "label bank.img res_Bank" -- shype addlabel res_Bank res "file:$T/img/bank.img"
expect_rc 0 "label game.img res_Game" -- shype addlabel res_Game res "file:$T/img/game.img"
domain_config bank1 Bank "disk = ['file:$T/img/bank.img,xvda,w']" >/dev/null
domain_config mon1 Monitor >/dev/null
domain_config game1 Game "disk = ['file:$T/img/game.img,xvda,w']" >/dev/null
mv "$T/bank1.cfg" "$T/mon1.cfg" "$T/game1.cfg" "$T/configs/"

"$BUILD/bin/shype" web --listen 127.0.0.1:0 --configs "$T/configs" --ui "$BUILD/web/dist" \
  >"$T/web.out" 2>"$T/web.err" &
WEB_PID=$!
EXTRA_PIDS="$WEB_PID"
if wait_file "$T/web.out" "^shype web: open http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{64}$" 30; then
  pass "shype web prints the URL with its token"
else
  fail "shype web printed no URL: $(cat "$T/web.out" "$T/web.err")"; finish; exit 1
fi
URL="$(grep -o 'http://[^ ]*' "$T/web.out" | head -1)"

SHOTS="${SHYPE_SCREENSHOTS:-$BUILD/screenshots}"
mkdir -p "$SHOTS"
SHYPE_SCREENSHOTS="$SHOTS" CHROMIUM="$CHROMIUM" \
  node "$WEB/e2e/web_ui.mjs" "$URL" >"$T/e2e.log" 2>&1
E2E_RC=$?
cat "$T/e2e.log"
OK_LINES="$(grep -c '^ok - ' "$T/e2e.log")"
FAIL_LINES="$(grep -c '^FAIL - ' "$T/e2e.log")"
CHECKS=$((CHECKS + OK_LINES + FAIL_LINES)); FAILURES=$((FAILURES + FAIL_LINES))
[ "$E2E_RC" = 0 ] && [ "$OK_LINES" -gt 0 ] && pass "the browser test ran and passed" \
  || fail "the browser test exited $E2E_RC"

# What the browser did, seen from the CLI: the activated policy, the refused domain, bank1 up.
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Version of XML policy : 1.1" "the policy the UI activated is in force"
expect_rc 0 "list" -- shype list
expect_out "^bank1 " "bank1 (started from the UI) runs"
expect_no_out "^game1 " "game1 (refused) does not"
expect_no_out "^mon1 " "mon1 (stopped from the UI) does not"
kill "$WEB_PID" 2>/dev/null; wait "$WEB_PID" 2>/dev/null
finish
