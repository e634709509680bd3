#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Helpers for shype's end-to-end tests: a private state directory, a real shyped, the shype CLI,
# real QEMU guests (TCG) from the guest image, and assertions that print what they saw.
# Usage in a test: source lib.sh; then `shype ...`, `start_daemon`, `expect_ok`, ...
set -uo pipefail

BUILD="${SHYPE_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${SHYPE_SHARED:-$SRC/../shared}"
GUEST="$BUILD/guest"
T="$(mktemp -d /tmp/shype-it.XXXXXX)"
export SHYPE_STATE_DIR="$T/state"
DAEMON_PID=""
FAILURES=0
CHECKS=0

shype() { "$BUILD/bin/shype" "$@"; }

cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    "$BUILD/bin/shype" list 2>/dev/null | awk 'NR>2 {print $1}' | while read -r d; do
      "$BUILD/bin/shype" destroy "$d" >/dev/null 2>&1
    done
    kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null
  fi
  # Whatever QEMU this test started must not outlive it (their command lines name $T).
  pkill -9 -f "$T/state/run" 2>/dev/null
  pkill -9 -f "swtpm socket .*$T/" 2>/dev/null
  # A jailed QEMU's command line names no path: find this test's by the files it holds open.
  for p in $(pgrep -f qemu-system-x86_64); do
    ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "$T/" && kill -9 "$p" 2>/dev/null
  done
  [ -n "${EXTRA_PIDS:-}" ] && kill -9 $EXTRA_PIDS 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

start_daemon() {
  "$BUILD/bin/shyped" --state-dir "$SHYPE_STATE_DIR" --accel tcg --isolated-instance --image-dir "$GUEST" "$@" >>"$T/shyped.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 300); do
    [ -S "$SHYPE_STATE_DIR/shyped.sock" ] && shype list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "shyped did not come up; its log:"; cat "$T/shyped.log"; exit 1
}

kill9_daemon() { kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }

# alive PID: the process exists and is not a zombie (a re-parented QEMU may wait to be reaped).
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }

pass() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILURES=$((FAILURES + 1)); echo "FAIL - $*"; }

# expect_rc RC DESCRIPTION -- CMD...: runs CMD, stores its output in $OUT, checks the exit code.
expect_rc() {
  local want="$1" what="$2"; shift 3
  OUT="$("$@" 2>&1)"; local rc=$?
  if [ "$rc" = "$want" ]; then pass "$what"; else fail "$what (exit $rc, wanted $want): $OUT"; fi
}

# expect_split RC DESCRIPTION -- CMD...: as expect_rc, with stdout in $STDOUT and stderr in $STDERR
# apart (for checking which stream says what).
expect_split() {
  local want="$1" what="$2"; shift 3
  STDOUT="$("$@" 2>"$T/.stderr")"; local rc=$?
  STDERR="$(cat "$T/.stderr")"
  if [ "$rc" = "$want" ]; then pass "$what"
  else fail "$what (exit $rc, wanted $want): stdout: $STDOUT; stderr: $STDERR"; fi
}

# expect_eq ACTUAL EXPECTED DESCRIPTION: exact equality, both shown when they differ.
expect_eq() {
  if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: got [$1], wanted [$2]"; fi
}

# expect_out PATTERN DESCRIPTION: the last command's output matches the extended regex.
expect_out() {
  if grep -Eq -- "$1" <<<"$OUT"; then pass "$2"; else fail "$2: /$1/ not in: $OUT"; fi
}
expect_no_out() {
  if grep -Eq -- "$1" <<<"$OUT"; then fail "$2: /$1/ unexpectedly in: $OUT"; else pass "$2"; fi
}

# wait_file FILE PATTERN [SECONDS]: waits until FILE has a line matching PATTERN.
wait_file() {
  for _ in $(seq 1 $((${3:-30} * 10))); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# wait_console NAME PATTERN [SECONDS]: waits until the domain's captured console matches.
wait_console() { _wait_console "$1" "$2" "${3:-60}" cat; }
# wait_seq NAME PATTERN [SECONDS]: the same over the whole console as one line, so that a pattern
# can say what came after what.
wait_seq() { _wait_console "$1" "$2" "${3:-60}" _one_line; }
_one_line() { tr -d '\r' | tr '\n' ' '; }
_wait_console() {
  local name="$1" pattern="$2" limit="$3" filter="$4"
  for _ in $(seq 1 $((limit * 5))); do
    OUT="$(shype console "$name" --log 2>&1 | "$filter")"
    grep -Eq -- "$pattern" <<<"$OUT" && return 0
    sleep 0.2
  done
  return 1
}

# cloud_1_1 PERL-SUBSTITUTION OUT: the cloud test policy as version 1.1 (an update of 1.0) with
# the substitution applied to it.
cloud_1_1() {
  perl -0pe 's|<Version>1.0</Version>|<Version>1.1</Version><FromPolicy><PolicyName>shype.cloud</PolicyName><Version>1.0</Version></FromPolicy>|; '"$1" \
    "$SRC/tests/data/policies/shype-cloud.xml" >"$2"
}

# domain_config NAME LABEL [EXTRA-LINES...]: writes a small guest config to $T/NAME.cfg.
domain_config() {
  local name="$1" label="$2"; shift 2
  local policy; policy="$(shype getpolicy --json | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' | head -1)"
  {
    echo "# $name: a test guest"
    echo "name = \"$name\""
    echo "memory = 128"
    echo "vcpus = 1"
    echo "kernel = \"$GUEST/vmlinuz\""
    echo "ramdisk = \"$GUEST/initrd.img\""
    echo "extra = \"console=ttyS0 shype.name=$name\""
    [ -n "$label" ] && echo "access_control = ['policy=$policy,label=$label']"
    for line in "$@"; do echo "$line"; done
  } >"$T/$name.cfg"
  echo "$T/$name.cfg"
}

finish() {
  echo "$((CHECKS - FAILURES)) passed, $FAILURES failed"
  [ "$FAILURES" = 0 ]
}
