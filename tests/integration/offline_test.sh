#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The offline CLI (no shyped) as an attack on the state directory: a command that needs shyped
# (create, list, destroy, ...) and a read-only command (getpolicy, labels, dry-run, ...) must not
# create or change anything in it, a missing one is refused by every command but setpolicy (and
# not created), a refused setpolicy on a fresh directory leaves nothing, and only the security
# administration commands write, through the admin service. No daemon, no guests.
source "$(dirname "$0")/lib.sh"

POLICY="$SRC/examples/policies/shype-demo.xml"

# tree_state DIR: every entry (path, type, mode, size, mtime) and every file's SHA-256; "absent"
# when DIR does not exist.
tree_state() {
  [ -e "$1" ] || { echo absent; return; }
  find "$1" -printf '%p %y %m %s %T@\n' | sort
  find "$1" -type f -exec sha256sum {} + | sort
}
# files_state DIR: as tree_state, without directories' mtimes (an SQLite reader creates and removes
# labels.db-wal/-shm beside the database; the files themselves must be as they were).
files_state() {
  [ -e "$1" ] || { echo absent; return; }
  find "$1" -printf '%p %y\n' | sort
  find "$1" -type f -printf '%p %m %s %T@\n' | sort
  find "$1" -type f -exec sha256sum {} + | sort
}

CFG="$T/web.cfg"
printf 'name = "web"\nmemory = 64\nkernel = "/boot/vmlinuz"\n' >"$CFG"
# daemon_only ST WHAT REFUSAL: every command that needs shyped, run offline on ST: refused (exit 2)
# with the REFUSAL pattern.
daemon_only() {
  local st="$1" what="$2" refusal="$3"
  local -a cmds=("create $CFG" "--json create $CFG" "list" "list --label" "info web" "shutdown web"
    "destroy web" "pause web" "unpause web" "console web" "console web --log" "audit -n 1")
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    expect_rc 2 "offline '$c' on $what is refused" -- shype --state-dir "$st" $c
    expect_out "$refusal" "'$c' names what to do"
  done
}

# --- a state directory that does not exist (nor its parent) ---
FRESH="$T/new/state"
NO_STATE="^Error: state directory '$FRESH' does not exist \\(start shyped or run 'shype setpolicy' first\\)$"
daemon_only "$FRESH" "a missing state directory" "state directory '$FRESH' does not exist \\(start shyped"
[ -e "$T/new" ] && fail "refused daemon commands created $(find "$T/new")" \
  || pass "refused daemon commands created no state directory"

for c in getpolicy "--json getpolicy" dumppolicy labels "labels type=res" resources \
  "getlabel res file:$T/disk.img" "dry-run $CFG" "addlabel Bank dom $CFG" resetpolicy \
  "addlabel NoSuch res file:$T/disk.img" "rmlabel res file:$T/disk.img" "setpolicy --check $POLICY"; do
  # shellcheck disable=SC2086
  expect_rc 2 "'$c' on a missing state directory is refused" -- shype --state-dir "$FRESH" $c
  [[ "$c" == --json* ]] && NEEDS='"message": "state directory .* does not exist' || NEEDS="$NO_STATE"
  expect_out "$NEEDS" "'$c' names the missing directory"
done
[ -e "$T/new" ] && fail "refused commands created $(find "$T/new")" \
  || pass "reads and writes other than setpolicy created no state directory"

# --- a refused setpolicy on a fresh directory leaves nothing behind ---
printf '<not a policy' >"$T/bad.xml"
mkdir "$T/parent"
expect_rc 2 "setpolicy of a broken policy on a fresh directory" -- shype --state-dir "$T/parent/st" setpolicy "$T/bad.xml"
[ -z "$(ls -A "$T/parent")" ] && pass "the refused write left nothing (no directory, lock, labels.db, policies/)" \
  || fail "a refused write left: $(find "$T/parent")"
expect_rc 2 "setpolicy refused where the parent is missing too" -- shype --state-dir "$T/np/a/st" setpolicy "$T/bad.xml"
[ -e "$T/np" ] && fail "a refused write created $(find "$T/np")" || pass "and created no parent directory"

# --- an existing, empty state directory reads as a fresh state ---
EMPTY="$T/empty"
mkdir "$EMPTY"
expect_rc 0 "getpolicy on an empty state directory" -- shype --state-dir "$EMPTY" getpolicy
expect_out "Policy name +: DEFAULT" "it answers from the built-in DEFAULT policy"
expect_rc 0 "getpolicy --json" -- shype --state-dir "$EMPTY" --json getpolicy
expect_out '"is_default": true' "--json says it is the default"
expect_rc 0 "dumppolicy" -- shype --state-dir "$EMPTY" dumppolicy
expect_rc 0 "labels" -- shype --state-dir "$EMPTY" labels
expect_out "SystemManagement" "the DEFAULT policy's labels"
expect_rc 0 "labels type=res" -- shype --state-dir "$EMPTY" labels type=res
expect_rc 0 "resources" -- shype --state-dir "$EMPTY" resources
expect_rc 1 "getlabel res" -- shype --state-dir "$EMPTY" getlabel res "file:$T/disk.img"
expect_out "not labeled" "nothing is labeled in a fresh state directory"
expect_rc 0 "dry-run" -- shype --state-dir "$EMPTY" dry-run "$CFG"
expect_out "^Dry Run: PASSED$" "dry-run answers from the DEFAULT policy"
expect_rc 1 "addlabel dom of a label the DEFAULT policy lacks" -- shype --state-dir "$EMPTY" addlabel Bank dom "$CFG"
[ -z "$(ls -A "$EMPTY")" ] && pass "read-only commands created nothing in it" \
  || fail "read-only commands created $(find "$EMPTY")"
expect_rc 1 "addlabel res of an unknown label on an empty directory" -- shype --state-dir "$EMPTY" addlabel NoSuch res "file:$T/disk.img"
expect_rc 1 "rmlabel res of an unlabeled resource on an empty directory" -- shype --state-dir "$EMPTY" rmlabel res "file:$T/disk.img"

# --- an existing state directory ---
ST="$T/state"
expect_rc 0 "offline setpolicy creates the state" -- shype --state-dir "$ST" setpolicy "$POLICY"
[ -s "$ST/labels.db" ] && [ -d "$ST/policies/shype.demo" ] && pass "labels.db and the policy are there" \
  || fail "after setpolicy: $(find "$ST")"
: >"$T/bank.img"
expect_rc 0 "offline addlabel res" -- shype --state-dir "$ST" addlabel res_Bank res "file:$T/bank.img"
BEFORE="$(tree_state "$ST")"
sleep 0.05
daemon_only "$ST" "an existing state directory" "start shyped first: shyped --state-dir $ST"
AFTER="$(tree_state "$ST")"
[ "$BEFORE" = "$AFTER" ] && pass "refused daemon commands left the state directory untouched (mtimes too)" \
  || fail "refused daemon commands changed the state: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

BEFORE="$(files_state "$ST")"
for c in getpolicy dumppolicy labels "labels type=res" resources "getlabel res file:$T/bank.img" "dry-run $CFG"; do
  # shellcheck disable=SC2086
  shype --state-dir "$ST" $c >"$T/out" 2>&1; rc=$?
  [ "$rc" -le 1 ] && pass "offline '$c' answers (exit $rc)" || fail "offline '$c': exit $rc: $(cat "$T/out")"
done
expect_rc 0 "getlabel res" -- shype --state-dir "$ST" getlabel res "file:$T/bank.img"
expect_out "ACM:shype.demo:res_Bank" "reads see the stored label"
AFTER="$(files_state "$ST")"
[ "$BEFORE" = "$AFTER" ] && pass "read-only commands changed no file of the state directory" \
  || fail "read-only commands changed the state: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

# --- stored versions offline: savepolicy stores without activating; policies and exportpolicy read ---
sed 's#<Version>1.0</Version>#<Version>1.1</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy>#' \
  "$POLICY" >"$T/v11.xml"
expect_rc 0 "offline savepolicy stores a version" -- shype --state-dir "$ST" savepolicy "$T/v11.xml"
expect_out "^Stored policy 'shype.demo' version 1.1 \(reference [0-9a-f]{40}\); not activated\.$" \
  "savepolicy says what it stored"
expect_rc 0 "policies" -- shype --state-dir "$ST" policies
expect_out "^NAME        VERSION  REFERENCE +ACTIVE$" "policies has a header"
expect_out "^shype\.demo  1\.0      [0-9a-f]{40}  \*$" "the active version is marked"
expect_out "^shype\.demo  1\.1      [0-9a-f]{40}$" "the saved version is not active"
expect_rc 0 "getpolicy after savepolicy" -- shype --state-dir "$ST" getpolicy
expect_out "^Version of XML policy : 1\.0$" "savepolicy activated nothing"
shype --state-dir "$ST" exportpolicy shype.demo 1.1 >"$T/exported.xml" 2>&1
cmp -s "$T/exported.xml" "$T/v11.xml" && pass "exportpolicy prints the saved XML byte for byte" \
  || fail "exportpolicy: $(diff "$T/exported.xml" "$T/v11.xml" | head -5)"
expect_rc 1 "exportpolicy of a version not stored" -- shype --state-dir "$ST" exportpolicy shype.demo 9.9
expect_out "^Error: no policy 'shype.demo' version 9\.9 is stored \(stored: shype\.demo 1\.0, shype\.demo 1\.1\)$" \
  "the refusal lists what is stored"
sed 's#</PolicyHeader>#</PolicyHeader><!-- other bytes -->#' "$T/v11.xml" >"$T/v11b.xml"
expect_rc 1 "savepolicy of other XML as a stored version" -- shype --state-dir "$ST" savepolicy "$T/v11b.xml"
expect_out "raise the Version" "the refusal says to raise the version"

finish
