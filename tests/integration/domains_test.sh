#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# End to end with real QEMU (TCG) guests: create/list/console/destroy, the Chinese Wall refusal
# and its release, a disk denied by label, kill -9 of shyped with domains re-found, live policy
# updates refused and accepted, and bad input that changes nothing. At most 3 guests at once.
source "$(dirname "$0")/lib.sh"

start_daemon
POLICY="$SRC/examples/policies/shype-demo.xml"
expect_rc 0 "setpolicy installs the demo policy live" -- shype setpolicy "$POLICY"
expect_out "Policy name +: shype.demo" "getpolicy output after setpolicy"

printf 'BANK-DISK-MAGIC' | dd of="$T/bank.img" bs=1M count=1 conv=sync status=none
printf 'GAME-DISK-MAGIC' | dd of="$T/game.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "label the bank disk" -- shype addlabel res_Bank res "file:$T/bank.img"
expect_rc 0 "label the game disk" -- shype addlabel res_Game res "file:$T/game.img"

run_b64() { printf '%s' "$1" | base64 -w0; }
BANK_CMD="$(run_b64 'head -c 15 /dev/vda; echo; cat /proc/cmdline | tr " " "\n" | grep shype.label')"
domain_config bank1 Bank "disk = [ 'file:$T/bank.img,xvda,w' ]" >/dev/null
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.run=$BANK_CMD\"|" "$T/bank1.cfg"
domain_config mon1 Monitor >/dev/null
domain_config game1 Game "disk = [ 'file:$T/game.img,xvda,w' ]" >/dev/null
domain_config bank2 Bank "disk = [ 'file:$T/game.img,xvda,w' ]" >/dev/null

# --- create / list / console ---
expect_rc 0 "create bank1" -- shype create "$T/bank1.cfg"
expect_rc 0 "create mon1" -- shype create "$T/mon1.cfg"
expect_rc 0 "list --label" -- shype list --label
expect_out "^Domain-0 .* ACM:shype.demo:SystemManagement" "Domain-0 listed with the bootstrap label"
expect_out "^bank1 +1 +128 +1 +running .* ACM:shype.demo:Bank" "bank1 listed running with its label"
expect_out "^mon1 .* ACM:shype.demo:Monitor" "mon1 listed with its label"
if wait_console bank1 "SHYPE-RUN-END rc=0" 60; then pass "bank1 ran its command"; else fail "bank1 console: $OUT"; fi
expect_out "BANK-DISK-MAGIC" "bank1 read its fd-passed disk"
expect_out "shype.label=shype.demo:Bank" "bank1 sees its label on the kernel command line"
QEMU_PID="$(shype info bank1 --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"
[ -n "$QEMU_PID" ] && pass "info gives the QEMU pid" || fail "no pid in info"
if tr '\0' ' ' </proc/"$QEMU_PID"/cmdline | grep -q "bank.img"; then
  fail "QEMU's command line names the disk path"
else
  pass "QEMU gets the disk as an fd, never its path"
fi

# --- Chinese Wall ---
expect_rc 1 "dry-run of a Game domain fails while a Bank domain runs" -- shype dry-run "$T/game1.cfg"
expect_out "Checking Chinese Wall:" "dry-run checks the Chinese Wall live"
expect_out "type 'Game' conflicts with type 'Bank' of running domain 'bank1'" "dry-run names the conflict"
# dry-run reports what create refuses besides the labels: a kernel not in the image directories,
# a device this shyped does not run, a running name (each in create's words), and passes nothing.
sed -e 's|^kernel = .*|kernel = "no-such-vmlinuz"|' -e 's|^name = .*|name = "bank1"|' "$T/mon1.cfg" >"$T/refused.cfg"
echo "vtpm = [ 'type=tpm1.2' ]" >>"$T/refused.cfg"
expect_split 1 "dry-run of a config create refuses fails" -- shype dry-run "$T/refused.cfg"
OUT="$STDOUT"
expect_out "^Checking Chinese Wall:$" "... its labels are still checked"
expect_out "^Checking create: DENIED$" "... create is denied"
expect_out "^   --> $T/refused.cfg: vtpm option 'type=tpm1.2' is not supported: write vtpm = \\[ 'type=tpm2' \\] \\(a TPM 2.0 from the domain's own swtpm\\)$" "... the vtpm named"
expect_out "^   --> .*no-such-vmlinuz" "... the missing kernel named"
expect_out "^   --> a domain named 'bank1' is already running$" "... the running name named"
expect_out "^Dry Run: FAILED$" "... the dry run fails"
expect_split 2 "create of that config is refused (its first refusal, bad input)" -- shype create "$T/refused.cfg"
expect_eq "$STDERR" "Error: $T/refused.cfg: vtpm option 'type=tpm1.2' is not supported: write vtpm = [ 'type=tpm2' ] (a TPM 2.0 from the domain's own swtpm)" "... in dry-run's words"
sleep 0.5  # the audit log is written from a queue
expect_rc 0 "audit after the dry-run" -- shype audit --json
expect_no_out '"hook": ?"conflict-set"' "dry-run's Chinese Wall query wrote no audit record (a query, not a hook)"
shype audit --follow --json -n 1 >"$T/follow.log" 2>&1 &
FOLLOW=$!
EXTRA_PIDS="$FOLLOW"
expect_rc 1 "create game1 is refused by the Chinese Wall" -- shype create "$T/game1.cfg"
expect_out "bank1" "the refusal names the running domain in conflict"
expect_out "type .Game. conflicts with type .Bank. of running domain .bank1." "the refusal names the types and the running domain"
expect_rc 0 "list after refusal" -- shype list
expect_no_out "^game1" "nothing was started for game1"
expect_rc 0 "audit shows the denial" -- shype audit --json
expect_out '"hook": ?"domain-create"' "an audit record of the Chinese Wall denial"
if wait_file "$T/follow.log" '"hook":"domain-create"' 30; then pass "audit --follow streamed the denial"
else fail "audit --follow: $(cat "$T/follow.log")"; fi
kill "$FOLLOW" 2>/dev/null; wait "$FOLLOW" 2>/dev/null
wait_console mon1 "SHYPE-GUEST-UP" 60 || true
for _ in 1 2 3 4 5; do
  OUT="$(printf 'echo console-says-$((6*7))\n' | shype console mon1 2>&1)"
  grep -q "console-says-42" <<<"$OUT" && break
  sleep 1
done
expect_out "console-says-42" "the interactive console runs a command in the guest"

# --- disk denied by label ---
expect_rc 1 "a Bank domain may not use the Game disk" -- shype create "$T/bank2.cfg"
expect_out "game.img" "the refusal names the disk"
expect_out "res_Game" "the refusal names the disk's label"

# --- pause / unpause ---
expect_rc 0 "pause bank1" -- shype pause bank1
expect_rc 0 "list" -- shype list
expect_out "^bank1 .* paused" "bank1 paused"
expect_rc 0 "unpause bank1" -- shype unpause bank1

# --- kill -9 shyped: domains keep running and are found again ---
kill9_daemon
if alive "$QEMU_PID"; then pass "QEMU survives kill -9 of shyped"; else fail "QEMU died with shyped"; fi
expect_rc 1 "offline, a policy change is refused while domains are recorded running" -- shype resetpolicy
expect_out "start shyped first" "the refusal says what to do"
printf 'name = "."\nmemory = 128\nkernel = "%s"\n' "$GUEST/vmlinuz" >"$T/dot.cfg"

# A domain the killed daemon had half-created (record still "creating"): a stand-in process.
sleep 300 &
HALF=$!
EXTRA_PIDS="${EXTRA_PIDS:-} $HALF"
HALF_START="$(sed 's/.*) //' /proc/$HALF/stat | cut -d' ' -f20)"
mkdir -p "$SHYPE_STATE_DIR/run/halfmade"
cat >"$SHYPE_STATE_DIR/run/halfmade/domain.json" <<JSON
{"id": 9, "name": "halfmade", "policy": "shype.demo", "label": "Game", "ssidref": 196611,
 "state": "creating", "pid": $HALF, "start_time": $HALF_START, "memory_mib": 128, "vcpus": 1,
 "config_path": "x", "resources": [], "created_at": 0}
JSON
start_daemon
expect_rc 0 "list after restart" -- shype list --label
expect_out "^bank1 .* ACM:shype.demo:Bank" "bank1 found again after restart"
expect_out "^mon1 " "mon1 found again after restart"
expect_rc 1 "the Chinese Wall still holds after restart" -- shype create "$T/game1.cfg"
expect_rc 0 "list" -- shype list
[ "$(grep -c '^bank1 ' <<<"$OUT")" = 1 ] && pass "no domain duplicated" || fail "bank1 listed $(grep -c '^bank1 ' <<<"$OUT") times"
expect_no_out "^halfmade " "a half-created domain is not adopted"
sleep 0.2
if alive "$HALF"; then fail "the half-created domain's process still runs"; else pass "the half-created domain's process was killed"; fi
[ -d "$SHYPE_STATE_DIR/run/halfmade" ] && fail "its run directory lingers" || pass "its run directory is gone"

# --- live policy updates ---
V11_BAD="$T/demo-1.1-conflict.xml"
sed -e 's|<Version>1.0</Version>|<Version>1.1</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy>|' \
    -e 's|<Conflict name="Rivals">|<Conflict name="NoWatchers"><Type>Bank</Type><Type>Monitoring</Type></Conflict><Conflict name="Rivals">|' \
    "$POLICY" >"$V11_BAD"
expect_rc 1 "an update putting two running domains in conflict is refused" -- shype setpolicy "$V11_BAD"
expect_out "bank1" "the violation names bank1"
expect_out "mon1" "the violation names mon1"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Version of XML policy : 1.0" "the refused update changed nothing"
V11_OK="$T/demo-1.1.xml"
sed -e 's|<Version>1.0</Version>|<Version>1.1</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy>|' \
    -e 's|<Name>Monitor</Name>|<Name>Monitor</Name>|' "$POLICY" >"$V11_OK"
expect_rc 0 "a compatible update is committed with domains running" -- shype setpolicy "$V11_OK"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Version of XML policy : 1.1" "the update is active"

# --- release after destroy ---
expect_rc 0 "destroy bank1" -- shype destroy bank1
if alive "$QEMU_PID"; then fail "bank1's QEMU still runs"; else pass "bank1's QEMU is gone"; fi
expect_rc 0 "game1 is admitted once no Bank domain runs" -- shype create "$T/game1.cfg"
expect_rc 0 "list" -- shype list --label
expect_out "^game1 .* ACM:shype.demo:Game" "game1 runs"

# --- bad input: clear errors, nothing changes, the daemon keeps running ---
printf 'name = "broken"\nmemory = [\n' >"$T/broken.cfg"
expect_rc 2 "a malformed config is refused" -- shype create "$T/broken.cfg"
expect_out "broken.cfg:[0-9]+" "the error names file and line"
domain_config nolabel NoSuchLabel >/dev/null
expect_rc 1 "an unknown label is refused" -- shype create "$T/nolabel.cfg"
expect_out "NoSuchLabel" "the error names the label"
domain_config nokernel Monitor >/dev/null
sed -i "s|^kernel = .*|kernel = \"$T/missing-vmlinuz\"|" "$T/nokernel.cfg"
expect_rc 1 "a kernel outside the image directories is refused" -- shype create "$T/nokernel.cfg"
expect_out "missing-vmlinuz' is not in an image directory" "the error names the kernel and why"
sed -i "s|^kernel = .*|kernel = \"$GUEST/missing-vmlinuz\"|" "$T/nokernel.cfg"
expect_rc 1 "a missing kernel is refused" -- shype create "$T/nokernel.cfg"
expect_out "missing-vmlinuz" "the error names the kernel"
expect_rc 2 "a domain named '.' is refused" -- shype create "$T/dot.cfg"
[ -f "$SHYPE_STATE_DIR/labels.db" ] && pass "and the state directory is intact" || fail "state directory damaged"
expect_rc 1 "a duplicate name is refused" -- shype create "$T/mon1.cfg"
expect_out "already running" "the error says the name is taken"
if command -v curl >/dev/null; then
  OUT="$(curl -s --unix-socket "$SHYPE_STATE_DIR/shyped.sock" -X POST -d '{bad json' http://shyped/v1/domains)"
  expect_out '"invalid_argument"' "bad JSON gets a 400 invalid_argument"
  OUT="$(curl -s --unix-socket "$SHYPE_STATE_DIR/shyped.sock" -X POST -d '{"config": 42}' http://shyped/v1/domains)"
  expect_out "must be a string" "a wrongly typed field is named"
fi
expect_rc 0 "list" -- shype list
expect_out "^game1 " "the daemon still runs its domains"
expect_no_out "^(broken|nolabel|nokernel) " "no bad config started anything"

expect_rc 0 "destroy game1" -- shype destroy game1
expect_rc 0 "shutdown mon1 (ACPI power button; waits for the guest to power off)" -- shype shutdown mon1
expect_rc 0 "list" -- shype list
expect_no_out "^mon1 " "mon1 is gone after its shutdown"
finish
