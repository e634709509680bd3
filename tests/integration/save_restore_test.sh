#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Save and restore (issue 8) with real QEMU (TCG) guests: `shype save NAME FILE` suspends a
# domain into an image that records its label and policy and ends it; `shype restore FILE`
# resumes the very guest (its tick counter goes on, it does not boot again) after every check
# create makes under the policy and labels in force then — refused after its disk was relabeled,
# and beside a rival (Chinese Wall). A save never overwrites a file; each action is audited.
source "$(dirname "$0")/lib.sh"

start_daemon
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/tests/data/policies/shype-demo.xml"
mkdir -p "$T/img" "$T/saves"
head -c 1048576 /dev/zero >"$T/img/bank.img"
expect_rc 0 "label bank.img BankDisk" -- shype addlabel BankDisk res "file:$T/img/bank.img"

# The guest counts seconds on its console from boot: a restored guest goes on counting.
TICKER="$(printf 'i=0; while true; do echo TICK-$i; i=$((i+1)); sleep 1; done' | base64 -w0)"
domain_config bank1 Bank "disk = ['file:$T/img/bank.img,xvda,w']" >/dev/null
sed -i "s|^extra = \"\(.*\)\"|extra = \"\1 shype.run=$TICKER\"|" "$T/bank1.cfg"
expect_rc 0 "create bank1 (Bank, with the Bank disk)" -- shype create "$T/bank1.cfg"
wait_console bank1 "TICK-3" 90 && pass "bank1 is up and counting" || fail "bank1 console: $OUT"

# --- save: the image records the label; the domain ends; nothing is overwritten ---
echo "precious" >"$T/saves/taken"
expect_split 1 "a save onto an existing file is refused" -- shype save bank1 "$T/saves/taken"
expect_eq "$STDERR" "Error: save of 'bank1': '$T/saves/taken' exists; a save never overwrites a file" "the error names the file"
expect_eq "$(cat "$T/saves/taken")" "precious" "the file is untouched"
expect_rc 0 "bank1 still runs" -- shype list bank1
(cd "$T/saves" && "$BUILD/bin/shype" save bank1 bank1.save) >"$T/save.out" 2>&1; rc=$?
expect_eq "$rc" 0 "save bank1 bank1.save (a relative name)"
expect_eq "$(cat "$T/save.out")" "Saved domain bank1 (id 1, label ACM:shype.demo:Bank, running) to $T/saves/bank1.save" "the save is reported with its label"
expect_rc 1 "bank1 ended with its save" -- shype list bank1
expect_eq "$(head -c 13 "$T/saves/bank1.save")" "SHYPE-SAVE 1 " "the image starts with shype's header"
OUT="$(head -c 4096 "$T/saves/bank1.save" | tr -d '\0' | sed -n 2p)"
expect_out '"label":"Bank"' "the header records the label"
expect_out '"policy":"shype.demo"' "... and the policy"
expect_eq "$(stat -c %a "$T/saves/bank1.save")" "600" "the image is root's alone (0600)"
[ -z "$(ls -A "$T/saves" | grep -v -e '^bank1.save$' -e '^taken$')" ] && pass "no partial file left" || fail "saves: $(ls -A "$T/saves")"

# --- restore: the same guest goes on ---
expect_rc 0 "restore bank1" -- shype restore "$T/saves/bank1.save"
expect_out "^Restored domain bank1 \(id [0-9]+, label ACM:shype.demo:Bank\)" "the restore is reported"
wait_console bank1 "TICK-[0-9]+" 60 && pass "the restored guest counts on" || fail "console: $OUT"
FIRST="$(grep -o 'TICK-[0-9]*' <<<"$OUT" | head -1 | cut -d- -f2)"
[ "${FIRST:-0}" -ge 3 ] && pass "it counts on from where it was saved (TICK-$FIRST)" || fail "first tick after restore: $FIRST"
expect_no_out "SHYPE-GUEST-UP" "it did not boot again"
expect_rc 0 "getlabel dom bank1" -- shype getlabel dom bank1
expect_eq "$OUT" "policytype=ACM,policy=shype.demo,label=Bank" "it has its saved label"
OUT="$(shype info bank1 --json)"
expect_out "\"config\": \"$T/saves/bank1.save\"" "info names the image it came from"

# --- restore re-checks under the labels in force: its disk relabeled meanwhile ---
expect_rc 0 "save bank1 again" -- shype save bank1 "$T/saves/bank1-2.save"
expect_rc 0 "rmlabel res bank.img" -- shype rmlabel res "file:$T/img/bank.img"
expect_rc 0 "relabel bank.img GameDisk while bank1 is saved" -- shype addlabel GameDisk res "file:$T/img/bank.img"
expect_split 1 "restore after its disk was relabeled is refused" -- shype restore "$T/saves/bank1-2.save"
grep -q "may not use resource 'file:$T/img/bank.img' (label GameDisk): labels 'Bank' and 'GameDisk' share no STE type" <<<"$STDERR" && pass "the refusal names the disk and its new label" || fail "stderr: $STDERR"
expect_eq "$STDOUT" "" "nothing on stdout for a refusal"
expect_rc 1 "nothing of bank1 runs" -- shype list bank1
expect_rc 0 "rmlabel res bank.img" -- shype rmlabel res "file:$T/img/bank.img"
expect_rc 0 "label bank.img BankDisk again" -- shype addlabel BankDisk res "file:$T/img/bank.img"

# --- ... and beside a rival: the Chinese Wall ---
domain_config game1 Game >/dev/null
expect_rc 0 "create game1 (Game)" -- shype create "$T/game1.cfg"
expect_split 1 "restore of the Bank domain beside game1 is refused" -- shype restore "$T/saves/bank1-2.save"
grep -q "Chinese Wall: type 'Bank' conflicts with type 'Game' of running domain 'game1'" <<<"$STDERR" && pass "the refusal names the rule and the other party" || fail "stderr: $STDERR"
expect_rc 0 "destroy game1" -- shype destroy game1
expect_rc 0 "restore once the rival is gone" -- shype restore "$T/saves/bank1-2.save"
wait_console bank1 "TICK-[0-9]+" 60 && pass "bank1 counts on again" || fail "console: $OUT"

# --- bad images: named, and nothing changes ---
echo 'name = "x"' >"$T/saves/not-an-image"
expect_rc 2 "restore of a file that is no image (bad input)" -- shype restore "$T/saves/not-an-image"
expect_out "Error: $T/saves/not-an-image: it is not a shype save image" "the error says so"
expect_rc 1 "restore of a missing file" -- shype restore "$T/saves/none"
expect_out "cannot open '$T/saves/none'" "the error names the file"
expect_rc 1 "restore while bank1 runs (same name)" -- shype restore "$T/saves/bank1.save"
expect_out "a domain named 'bank1' is already running" "the error names the domain"

# --- the audit trail: save and restore with their labels ---
expect_rc 0 "audit" -- shype audit --json -n 1000
grep '"action":"domain-save"' <<<"$OUT" | grep -q '"label":"Bank"' && pass "domain-save audited with the label" || fail "no domain-save record"
grep '"action":"domain-save"' <<<"$OUT" | grep -q "$T/saves/bank1.save" && pass "... naming the image" || fail "no image in domain-save"
grep -q '"action":"domain-restore"' <<<"$OUT" && pass "domain-restore audited" || fail "no domain-restore record"
expect_rc 0 "destroy bank1" -- shype destroy bank1
finish
