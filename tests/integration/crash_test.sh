#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Crash and corruption fail closed: kill -9 of shyped at random points of a create (restart always
# works, nothing half-made lingers, the name can be created again); missing, empty or corrupt
# security state with a guest running is a refusal to start naming the file (the guest keeps
# running, and is found again once the file is restored); one shyped per host; offline writes
# refused while shyped holds the state directory. At most one guest at a time.
source "$(dirname "$0")/lib.sh"

POLICY="$SRC/examples/policies/shype-demo.xml"
STATE="$SHYPE_STATE_DIR"
IMAGES=(--image-dir "$GUEST")  # the guest's kernel and initrd are trusted boot images

# start_refused PATTERN DESCRIPTION: shyped must exit non-zero, its output matching PATTERN.
start_refused() {
  "$BUILD/bin/shyped" --state-dir "$STATE" --accel tcg --isolated-instance "${IMAGES[@]}" \
    >"$T/refused.log" 2>&1 &
  local pid=$! rc
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    fail "$2: shyped started: $(cat "$T/refused.log")"; return
  fi
  wait "$pid"; rc=$?
  OUT="$(cat "$T/refused.log")"
  if [ "$rc" != 0 ] && grep -Eq -- "$1" <<<"$OUT"; then pass "$2"; else fail "$2 (exit $rc): /$1/ not in: $OUT"; fi
}

# qemu_of NAME: pids of QEMU processes of domain NAME of this state directory: comm
# "shype-NAME" (cut to 15 bytes) with an open file under STATE/run/NAME/ (their command lines
# name no path: everything is passed as an fd).
qemu_of() {
  local p
  for p in $(pgrep -x "$(printf 'shype-%s' "$1" | cut -c1-15)"); do
    ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "$STATE/run/$1/" && echo "$p"
  done
}

# stand_in COMM [ARG] (env HOLD=FILE): a process named COMM that keeps FILE open (if given) and
# waits, as a QEMU looks whose pid no file recorded yet; its pid in $STAND_IN.
mkdir -p "$T/bin" && mkfifo "$T/ghost.fifo"
stand_in() {
  [ -x "$T/bin/$1" ] || { printf '#!/bin/bash\n[ -n "${HOLD:-}" ] && exec 3>>"$HOLD"\nread -rt 300 _ <>"%s"\n' "$T/ghost.fifo" >"$T/bin/$1"; chmod +x "$T/bin/$1"; }
  "$T/bin/$1" "${@:2}" & STAND_IN=$!; EXTRA_PIDS="${EXTRA_PIDS:-} $STAND_IN"
}

start_daemon "${IMAGES[@]}"
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$POLICY"
printf 'BANK' | dd of="$T/bank.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "label the bank disk" -- shype addlabel res_Bank res "file:$T/bank.img"

# --- a run directory without a record (kill -9 between mkdir and domain.json) ---
kill9_daemon
mkdir -p "$STATE/run/ghost" "$STATE/run/ghost2" "$T/other/run/ghost"
: >"$STATE/run/ghost/.domain.json.tmp-1-abc"
stand_in shype-ghost "$STATE/run/ghost/qmp.sock"; GHOST_QEMU=$STAND_IN  # named, path in argv
HOLD="$STATE/run/ghost2/qemu.log" stand_in qemu-system-x86_64; GHOST2_QEMU=$STAND_IN  # not renamed yet
HOLD="$STATE/run/ghost2/console.log" stand_in viewer; VIEWER=$STAND_IN  # a person's log viewer
stand_in shype-ghost "$T/other/run/ghost/qmp.sock"; DECOY=$STAND_IN  # another instance's domain
sleep 0.2
start_daemon "${IMAGES[@]}"
pass "shyped restarts over a run directory without domain.json"
[ -e "$STATE/run/ghost" ] && fail "the record-less run directory lingers" || pass "the record-less run directory is removed"
sleep 0.2
alive "$GHOST_QEMU" && fail "the domain's unrecorded QEMU still runs" || pass "the domain's unrecorded QEMU (found by comm + run dir) was killed"
alive "$GHOST2_QEMU" && fail "a QEMU not yet renamed still runs" || pass "a QEMU not yet renamed (found by an open file in its run dir) was killed"
[ -e "$STATE/run/ghost2" ] && fail "run/ghost2 lingers" || pass "run/ghost2 is removed"
alive "$VIEWER" && pass "a log viewer of the run dir is left alone" || fail "a log viewer was killed"
alive "$DECOY" && pass "a same-named process of another instance is left alone" || fail "another instance's process was killed"
expect_rc 0 "audit" -- shype audit --json
expect_out "removed half-created domain 'ghost' \(no domain.json; 1 QEMU" "the cleanup is audited"

# --- offline writes while shyped holds the state directory (as while it starts) ---
mv "$STATE/shyped.sock" "$T/sock.away"
expect_rc 1 "offline setpolicy is refused while shyped runs" -- shype setpolicy "$POLICY"
expect_out "shyped is running on '$STATE'" "the refusal says shyped runs on the state directory"
expect_out "pid=$DAEMON_PID" "the refusal names the daemon's pid"
expect_rc 1 "offline rmlabel is refused too" -- shype rmlabel res "file:$T/bank.img"
mv "$T/sock.away" "$STATE/shyped.sock"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Policy name +: shype.demo" "the daemon's policy is unchanged"

# --- one shyped per host ---
if [ -e /run/shype/shyped.lock ] && ! flock -n /run/shype/shyped.lock true; then
  echo "# skipped host-lock checks: a host-wide shyped runs ($(cat /run/shype/shyped.lock))"
else
  "$BUILD/bin/shyped" --state-dir "$T/host1" --accel tcg >"$T/host1.log" 2>&1 &
  HOST1=$!; EXTRA_PIDS="${EXTRA_PIDS:-} $HOST1"
  for _ in $(seq 1 100); do shype --state-dir "$T/host1" list >/dev/null 2>&1 && break; sleep 0.1; done
  expect_rc 0 "a host-wide shyped starts" -- shype --state-dir "$T/host1" list --json
  expect_out '"isolated_instance": false' "list says it is not an isolated instance"
  OUT="$(cat /run/shype/shyped.lock)"
  expect_out "pid=$HOST1 state_dir=$T/host1" "the host lock file names its holder"
  timeout 20 "$BUILD/bin/shyped" --state-dir "$T/host2" --accel tcg >"$T/host2.log" 2>&1
  RC=$?; OUT="$(cat "$T/host2.log")"
  [ "$RC" != 0 ] && pass "a second shyped on another state directory is refused" || fail "a second shyped started"
  expect_out "another shyped runs on this host .*pid=$HOST1 state_dir=$T/host1" "the refusal names the holder"
  expect_out "--isolated-instance" "the refusal names the way out for tests"
  "$BUILD/bin/shyped" --state-dir "$T/host2" --accel tcg --isolated-instance >"$T/host2.log" 2>&1 &
  HOST2=$!; EXTRA_PIDS="${EXTRA_PIDS:-} $HOST2"
  for _ in $(seq 1 100); do shype --state-dir "$T/host2" list >/dev/null 2>&1 && break; sleep 0.1; done
  expect_rc 0 "an isolated instance starts beside it" -- shype --state-dir "$T/host2" list --json
  expect_out '"isolated_instance": true' "list says it is an isolated instance"
  OUT="$(cat "$T/host2.log")"
  expect_out "ISOLATED INSTANCE" "its log says so at start"
  kill "$HOST1" "$HOST2"; wait "$HOST1" "$HOST2" 2>/dev/null
  "$BUILD/bin/shyped" --state-dir "$T/host2" --accel tcg >"$T/host2.log" 2>&1 &
  HOST2=$!; EXTRA_PIDS="${EXTRA_PIDS:-} $HOST2"
  for _ in $(seq 1 100); do shype --state-dir "$T/host2" list >/dev/null 2>&1 && break; sleep 0.1; done
  expect_rc 0 "once the first stopped, a host-wide shyped starts on the other directory" -- shype --state-dir "$T/host2" list
  kill "$HOST2"; wait "$HOST2" 2>/dev/null
fi

# Guests from here on: at most one at a time (ctest's RESOURCE_LOCK qemu_guests serializes the
# guest-booting tests).
# --- kill -9 of shyped at random points of a create ---
domain_config crash1 Bank "disk = [ 'file:$T/bank.img,xvda,w' ]" >/dev/null
for i in $(seq 1 10); do
  delay=$((RANDOM % 301))  # the last two wait longer, for creates that completed
  [ "$i" -gt 8 ] && delay=$((300 + RANDOM % 700))
  shype create "$T/crash1.cfg" >"$T/create.log" 2>&1 &
  CREATE=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill9_daemon
  wait "$CREATE" 2>/dev/null
  at="none"; [ -d "$STATE/run/crash1" ] && at="run dir"
  UID_AT=""
  if [ -f "$STATE/run/crash1/domain.json" ]; then
    at="$(sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' "$STATE/run/crash1/domain.json")"
    UID_AT="$(sed -n 's/.*"uid": *\([0-9]*\).*/\1/p' "$STATE/run/crash1/domain.json")"
  fi
  [ -n "$UID_AT" ] && [ -d "/sys/fs/cgroup/pids/shype/$UID_AT" ] && at="$at, cgroup shype/$UID_AT"
  echo "# iteration $i: kill -9 after ${delay} ms, left: $at"
  start_daemon "${IMAGES[@]}"
  OUT="$(shype list --json)"
  if grep -q '"name": *"crash1"' <<<"$OUT"; then
    PID="$(shype info crash1 --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"
    if grep -q '"state": *"running"' <<<"$(shype info crash1 --json)" && alive "$PID" &&
       [ "$(qemu_of crash1)" = "$PID" ]; then
      pass "iteration $i: restart finds crash1 running (pid $PID)"
    else
      fail "iteration $i: crash1 listed but not running: $(shype info crash1 --json)"
    fi
    expect_rc 0 "iteration $i: destroy crash1" -- shype destroy crash1
  else
    pass "iteration $i: restart works, crash1 not listed"
  fi
  [ -e "$STATE/run/crash1" ] && fail "iteration $i: run/crash1 lingers" || pass "iteration $i: no leftover run directory"
  ORPHANS="$(qemu_of crash1)"
  if [ -n "$ORPHANS" ]; then fail "iteration $i: an orphan QEMU of crash1 runs: pid $ORPHANS"
  else pass "iteration $i: no orphan QEMU"; fi
  if [ -n "$UID_AT" ] && [ "$UID_AT" != 0 ] && [ -d /sys/fs/cgroup/pids/shype ]; then
    [ -d "/sys/fs/cgroup/pids/shype/$UID_AT" ] && fail "iteration $i: the cgroup shype/$UID_AT lingers" || pass "iteration $i: no leftover cgroup"
  fi
  expect_rc 0 "iteration $i: crash1 can be created again" -- shype create "$T/crash1.cfg"
  expect_rc 0 "iteration $i: destroy crash1" -- shype destroy crash1
done

# --- missing, empty or corrupt security state with a guest running ---
domain_config bank1 Bank "disk = [ 'file:$T/bank.img,xvda,w' ]" >/dev/null
expect_rc 0 "create bank1" -- shype create "$T/bank1.cfg"
BANK_PID="$(shype info bank1 --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"
[ -n "$BANK_PID" ] && [ "$(qemu_of bank1)" = "$BANK_PID" ] && pass "qemu_of finds a domain's QEMU (so the orphan check can fail)" || fail "qemu_of bank1: '$(qemu_of bank1)', pid '$BANK_PID'"
printf 'BANK2' | dd of="$T/bank2.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "a label written just before the crash" -- shype addlabel res_Bank res "file:$T/bank2.img"
kill9_daemon
# The backup holds the security state only: run/ keeps the sockets the running QEMU listens on.
mkdir -p "$T/backup" && cp -a "$STATE"/labels.db* "$STATE/policies" "$STATE/run/bank1/domain.json" "$T/backup/"
PDIR="$STATE/policies/shype.demo/1.0"
restore() {
  rm -rf "$STATE"/labels.db* "$STATE/policies"
  cp -a "$T/backup"/labels.db* "$T/backup/policies" "$STATE/"
  cp -a "$T/backup/domain.json" "$STATE/run/bank1/domain.json"
}
refused_with_guest() {  # refused_with_guest PATTERN WHAT
  start_refused "$1" "$2: shyped refuses to start"
  alive "$BANK_PID" && pass "$2: the guest keeps running" || fail "$2: the guest was stopped"
  restore
}
rm -f "$STATE"/labels.db*
refused_with_guest "labels.db' is missing, but 1 domain\(s\) are recorded running under run/ \(bank1\)" "labels.db deleted"
rm -f "$STATE"/labels.db*
start_refused "is missing" "again"; [ -e "$STATE/labels.db" ] && fail "a fresh labels.db was created" || pass "no fresh labels.db was created"
expect_rc 2 "the offline CLI refuses too" -- shype getpolicy
expect_out "labels.db' is missing" "the CLI names the file"
[ -e "$STATE/labels.db" ] && fail "the CLI created a fresh labels.db" || pass "the CLI created no fresh labels.db"
restore
: >"$STATE/labels.db"; rm -f "$STATE/labels.db-wal" "$STATE/labels.db-shm"
refused_with_guest "labels.db' is empty \(0 bytes\)" "labels.db emptied"
head -c 65536 /dev/urandom >"$STATE/labels.db"
refused_with_guest "labels.db' is not an SQLite database" "labels.db garbage"
rm -f "$STATE"/labels.db*; sqlite3 "$STATE/labels.db" 'PRAGMA journal_mode=WAL; PRAGMA user_version=7;' >/dev/null
refused_with_guest "labels.db' holds no tables" "labels.db replaced by an empty database"
if [ -s "$STATE/labels.db-wal" ]; then
  head -c "$(stat -c %s "$STATE/labels.db-wal")" /dev/urandom >"$STATE/labels.db-wal"
  refused_with_guest "labels.db-wal' is not an SQLite write-ahead log" "labels.db-wal garbage"
else
  echo "# skipped the -wal garbage case: no labels.db-wal after kill -9"
fi
for f in policy.xml policy.bin policy.map; do
  rm -f "$PDIR/$f"
  refused_with_guest "$PDIR/$f' is missing" "$f deleted"
  : >"$PDIR/$f"
  refused_with_guest "$PDIR/$f' is empty" "$f emptied"
  head -c 4096 /dev/urandom >"$PDIR/$f"
  refused_with_guest "policy 'shype.demo' version 1.0.*(policy.xml' is not the XML installed|in '$PDIR' cannot be loaded)" "$f garbage"
done
printf '{"id": 1, "name": "bank1", garbage' >"$STATE/run/bank1/domain.json"
refused_with_guest "cannot read the record in '$STATE/run/bank1'" "bank1's domain.json garbage"
rm -f "$STATE/labels.db-wal"
start_daemon "${IMAGES[@]}"
pass "a deleted labels.db-wal (its commits already checkpointed) loses nothing"
expect_rc 0 "list after the restores" -- shype list --label
expect_out "^bank1 .* ACM:shype.demo:Bank" "bank1 is found again with its label"
expect_rc 0 "resources" -- shype resources
expect_out "bank.img" "the disk's label survived"
expect_out "bank2.img" "the label written just before the crash survived"
expect_rc 0 "destroy bank1" -- shype destroy bank1
flock -u 9

# --- an installed policy, no domains: labels.db deleted ---
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
mv "$STATE/labels.db" "$T/labels.db.saved"; rm -f "$STATE/labels.db-wal" "$STATE/labels.db-shm"
start_refused "labels.db' is missing, but policies are installed" "labels.db deleted, a policy installed"
expect_rc 2 "offline setpolicy refuses to start afresh" -- shype setpolicy "$POLICY"
expect_out "labels.db' is missing" "and names the file"
mv "$T/labels.db.saved" "$STATE/labels.db"
start_daemon "${IMAGES[@]}"
expect_rc 0 "getpolicy after the restore" -- shype getpolicy
expect_out "Policy name +: shype.demo" "the installed policy is active again"

# --- setpolicy racing a starting shyped: what the command reports is what shyped enforces ---
VERSION=1.0
for i in $(seq 1 6); do
  kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
  NEXT="1.$i"
  sed -e "s|<Version>1.0</Version>|<Version>$NEXT</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>$VERSION</Version></FromPolicy>|" \
    "$POLICY" >"$T/race.xml"
  "$BUILD/bin/shyped" --state-dir "$STATE" --accel tcg --isolated-instance "${IMAGES[@]}" >>"$T/shyped.log" 2>&1 &
  DAEMON_PID=$!
  sleep "$(printf '0.%03d' $((RANDOM % 40)))"
  SET="$(shype setpolicy "$T/race.xml" 2>&1)"; RC=$?
  for _ in $(seq 1 100); do shype list >/dev/null 2>&1 && break; sleep 0.1; done
  GOT="$(shype getpolicy | sed -n 's/^Version of XML policy *: *//p')"
  if [ "$RC" = 0 ] && [ "$GOT" = "$NEXT" ]; then
    pass "race $i: setpolicy succeeded and shyped enforces $NEXT"; VERSION="$NEXT"
  elif [ "$RC" != 0 ] && [ "$GOT" = "$VERSION" ] && grep -q "shyped is running on" <<<"$SET"; then
    pass "race $i: setpolicy was refused while shyped started, which kept $VERSION"
  else
    fail "race $i: setpolicy said (exit $RC) '$SET' but shyped enforces '$GOT' (before: $VERSION)"
  fi
done
finish
