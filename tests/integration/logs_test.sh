#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What stays after the fact, with a real QEMU (TCG) guest: a domain's console output kept once it
# ends (`shype console NAME --log` of a destroyed domain, `running: false`; the previous log
# rotated to NAME.log.1); the audit log rotated by size (a tiny limit from shyped.conf) and read
# back across its files, oldest first, by `shype audit -n` and `--follow`, no record lost; an
# audit record for each resource label added and removed. One guest.
source "$(dirname "$0")/lib.sh"

cat >"$T/shyped.conf" <<CONF
audit_max_size = 4K
audit_keep = 50
CONF
start_daemon --config "$T/shyped.conf"
STATE="$SHYPE_STATE_DIR"
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/tests/data/policies/shype-demo.xml"

# --- a domain's console is kept once it ends ---
domain_config web1 Bank >/dev/null
expect_rc 0 "create web1" -- shype create "$T/web1.cfg"
wait_console web1 "SHYPE-GUEST-UP" 90 && pass "web1 is up" || fail "web1 console: $OUT"
expect_rc 0 "console --log of the running web1" -- shype console web1 --log --json
expect_out '"running": true' "the reply says it runs"
expect_rc 0 "destroy web1" -- shype destroy web1
expect_rc 0 "console --log of the destroyed web1" -- shype console --log web1
expect_out "SHYPE-GUEST-UP" "the kept log has the guest's marker"
expect_rc 0 "console --log --json of the destroyed web1" -- shype console --log web1 --json
expect_out '"running": false' "the reply says it does not run"
expect_eq "$(stat -c %a "$STATE/logs/web1.log")" 600 "the kept log is mode 0600"
expect_eq "$(stat -c %a "$STATE/logs")" 700 "STATE/logs is mode 0700"
expect_rc 1 "console --log of a name that never ran" -- shype console --log nobody
expect_out "no domain named 'nobody' runs, and none by that name left a console log" "a clear not-found error"
expect_rc 1 "console (attach) of the destroyed web1" -- shype console web1
expect_out "shype console web1 --log" "the refusal points to the kept log"
OUT="$(shype console --log ../audit 2>&1)" && fail "a path as a name was answered: $OUT" || pass "a path as a name is refused"
expect_no_out '"action"' "the audit log is not reached through a path as a name"
expect_rc 0 "create web1 again" -- shype create "$T/web1.cfg"
wait_console web1 "SHYPE-GUEST-UP" 90 && pass "web1 is up again" || fail "web1 console: $OUT"
expect_rc 0 "web1 powers itself off" -- shype shutdown web1
[ -f "$STATE/logs/web1.log.1" ] && pass "the first run's log rotated to web1.log.1" || fail "no web1.log.1: $(ls "$STATE/logs")"
grep -q "SHYPE-GUEST-UP" "$STATE/logs/web1.log" && pass "the second run's log is web1.log" || fail "web1.log: $(head -c 300 "$STATE/logs/web1.log")"

# --- resource label changes are audited ---
mkdir -p "$T/img"
for i in $(seq 1 12); do : >"$T/img/r$i.img"; done
expect_rc 0 "addlabel BankDisk res r1" -- shype addlabel BankDisk res "file:$T/img/r1.img"
expect_rc 0 "rmlabel res r1" -- shype rmlabel res "file:$T/img/r1.img"
expect_rc 0 "audit" -- shype audit --json -n 100000
records="$(grep '"action":"resource-label"' <<<"$OUT" | grep -F "\"resource\":\"file:$T/img/r1.img\"")"
added="$(head -n 1 <<<"$records")"; removed="$(sed -n 2p <<<"$records")"
OUT="$added"
expect_out '"subject":\{[^}]*"domain":0,[^}]*"name":"Domain-0"' "the add's subject is Domain-0"
expect_out '"object":\{[^}]*"label":"BankDisk"' "the add's object is the resource with its new label"
expect_out '"decision":"permit"' "the add is a permit"
OUT="$removed"
expect_out '"object":\{[^}]*"label":"__UNLABELED__"' "the removal's new label is __UNLABELED__"
expect_out '"reason":"label ACM:shype.demo:BankDisk removed' "the removal names the label it took"

# --- the audit log rotates by size and reads back across its files ---
shype audit --follow --json -n 0 >"$T/follow.log" 2>&1 &
FOLLOW=$!; EXTRA_PIDS="$FOLLOW"
sleep 1
for i in $(seq 2 12); do
  shype addlabel BankDisk res "file:$T/img/r$i.img" >/dev/null || fail "addlabel r$i"
  shype rmlabel res "file:$T/img/r$i.img" >/dev/null || fail "rmlabel r$i"
done
files=$(ls "$STATE"/audit.log.* 2>/dev/null | wc -l)
[ "$files" -ge 3 ] && pass "audit.log rotated ($files rotated files at 4 KiB)" || fail "only $files rotated files: $(ls -l "$STATE")"
big=$(for f in "$STATE"/audit.log*; do stat -c %s "$f"; done | sort -n | tail -1)
[ "$big" -le 4096 ] && pass "no audit file is over the limit (largest $big bytes)" || fail "an audit file has $big bytes"
on_disk="$(for n in $(seq "$files" -1 1); do cat "$STATE/audit.log.$n"; done; cat "$STATE/audit.log")"
expect_rc 0 "audit -n of every record" -- shype audit --json -n 100000
expect_eq "$OUT" "$on_disk" "shype audit reads every file, oldest first: the records as written"
order="$(grep -o "\"resource\":\"file:$T/img/r[0-9]*.img\"" <<<"$OUT" | grep -o 'r[0-9]*\.img' | uniq | tr '\n' ' ')"
expect_eq "$order" "$(for i in $(seq 1 12); do printf 'r%s.img ' "$i"; done)" "the records across the files are in order"
expect_rc 0 "audit -n 3" -- shype audit --json -n 3
expect_eq "$OUT" "$(tail -n 3 <<<"$on_disk")" "-n 3 gives the last three"
for _ in $(seq 1 50); do [ "$(grep -c '"resource-label"' "$T/follow.log")" -ge 22 ] && break; sleep 0.1; done
followed="$(grep -o "\"resource\":\"file:$T/img/r[0-9]*.img\"" "$T/follow.log" | grep -o 'r[0-9]*\.img' | uniq | tr '\n' ' ')"
expect_eq "$followed" "$(for i in $(seq 2 12); do printf 'r%s.img ' "$i"; done)" "--follow saw every record across the rotations, in order"
expect_eq "$(grep -c '"resource-label"' "$T/follow.log")" 22 "--follow lost none and doubled none"
kill "$FOLLOW" 2>/dev/null; wait "$FOLLOW" 2>/dev/null
finish
