#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The same reply from shyped and from the offline CLI (issue 7: typed replies, encoded once at the
# API's edge): labels, resources, getlabel/addlabel/rmlabel res and dry-run print the same
# --json bytes either way (dry-run's Chinese Wall and host checks aside: offline they are not
# checked, by design, and `unchecked` says so).
# Starts shyped (boot images from the guest image), no guests.
source "$(dirname "$0")/lib.sh"

POLICY="$SRC/examples/policies/shype-demo.xml"
printf 'disk' >"$T/bank.img"
printf 'disk' >"$T/game.img"
CFG="$T/bank.cfg"
printf 'name = "bank"\nmemory = 64\nkernel = "%s/vmlinuz"\n' "$GUEST" >"$CFG"
printf "access_control = ['policy=shype.demo,label=Bank']\n" >>"$CFG"
printf "disk = [ 'file:%s,xvda,w', 'file:%s,xvdb,r' ]\n" "$T/bank.img" "$T/game.img" >>"$CFG"

# replies MODE: every reply of the label, resource and dry-run operations into $T/MODE.*; the
# state is the same before and after (a label removed is added back).
replies() {
  local m="$T/$1"
  shype --json labels >"$m.labels-dom" 2>&1 || fail "$1: labels"
  shype --json labels type=res >"$m.labels-res" 2>&1 || fail "$1: labels type=res"
  shype --json labels shype.demo type=any >"$m.labels-any" 2>&1 || fail "$1: labels any"
  shype --json resources >"$m.resources" 2>&1 || fail "$1: resources"
  shype --json getlabel res "file:$T/bank.img" >"$m.getlabel" 2>&1 || fail "$1: getlabel"
  shype --json rmlabel res "file:$T/bank.img" >"$m.rmlabel" 2>&1 || fail "$1: rmlabel"
  shype --json addlabel res_Bank res "file:$T/bank.img" >"$m.addlabel" 2>&1 || fail "$1: addlabel"
  shype --json getlabel res "file:$T/nothing.img" >"$m.getlabel-missing" 2>&1
  shype --json dry-run "$CFG" >"$m.dry-run-full" 2>&1
  jq 'del(.chinese_wall, .unchecked)' "$m.dry-run-full" >"$m.dry-run" 2>&1 || fail "$1: dry-run is not JSON"
}

expect_rc 0 "offline setpolicy" -- shype setpolicy "$POLICY"
expect_rc 0 "offline addlabel res_Bank" -- shype addlabel res_Bank res "file:$T/bank.img"
expect_rc 0 "offline addlabel res_Game" -- shype addlabel res_Game res "file:$T/game.img"
replies offline
start_daemon
replies live

for f in labels-dom labels-res labels-any resources getlabel rmlabel addlabel getlabel-missing \
         dry-run; do
  if cmp -s "$T/offline.$f" "$T/live.$f"; then
    pass "$f: the same bytes from shyped and offline"
  else
    fail "$f differs: $(diff "$T/offline.$f" "$T/live.$f")"
  fi
done
grep -q '"res_Bank"' "$T/live.labels-res" && pass "the replies are the policy's" \
  || fail "labels type=res: $(cat "$T/live.labels-res")"
grep -q '"passed": false' "$T/live.dry-run" && grep -q '"res_label": "res_Game"' "$T/live.dry-run" \
  && pass "dry-run reports the game disk's label" || fail "dry-run: $(cat "$T/live.dry-run")"
[ "$(jq -c . "$T/live.rmlabel")" = "{}" ] && pass "rmlabel replies {}" \
  || fail "rmlabel: $(cat "$T/live.rmlabel")"
jq -e '.chinese_wall.checked == false and (.chinese_wall | has("permitted") | not)' \
  "$T/offline.dry-run-full" >/dev/null && pass "offline, the Chinese Wall is not checked" \
  || fail "offline chinese_wall: $(cat "$T/offline.dry-run-full")"
jq -e '(.unchecked | length) == 1 and (.unchecked[0] | test("shyped is not running"))' \
  "$T/offline.dry-run-full" >/dev/null && pass "offline, dry-run says what it could not check" \
  || fail "offline unchecked: $(cat "$T/offline.dry-run-full")"
jq -e '.unchecked == []' "$T/live.dry-run-full" >/dev/null && pass "shyped checks the host's part" \
  || fail "live unchecked: $(cat "$T/live.dry-run-full")"
jq -e '.chinese_wall.checked == true and .chinese_wall.permitted == true' "$T/live.dry-run-full" \
  >/dev/null && pass "shyped checks the Chinese Wall" \
  || fail "live chinese_wall: $(cat "$T/live.dry-run-full")"
finish
