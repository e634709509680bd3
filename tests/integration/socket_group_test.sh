#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Who may use shyped's API: with socket_group (config file or --socket-group) the socket is
# root:GROUP 0660 in a root:GROUP 0710 state directory, a member may `shype list` and a
# non-member gets a permission error; without it the socket is root's alone (0600 in 0700).
# Bad settings (unknown group, bad config line, bad log level) stop shyped with exit 2.
# Needs root (creates a group and two users, removed at exit). No guests.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then echo "skipped: needs root (groupadd/useradd)"; exit 0; fi
GROUP="shypeit$$"
MEMBER="shypeitm$$"
OTHER="shypeito$$"
remove_accounts() {
  userdel "$MEMBER" 2>/dev/null
  userdel "$OTHER" 2>/dev/null
  groupdel "$GROUP" 2>/dev/null
}
trap 'remove_accounts; cleanup' EXIT
groupadd "$GROUP" && useradd -M -N -g nogroup -G "$GROUP" -s /usr/sbin/nologin "$MEMBER" &&
  useradd -M -N -g nogroup -s /usr/sbin/nologin "$OTHER" || { echo "cannot create accounts"; exit 1; }
chmod 0711 "$T"  # the test's directory: others may pass through to the state directory

# as USER CMD...: runs CMD as USER with USER's groups (and this environment: SHYPE_STATE_DIR).
as() { local user="$1"; shift; setpriv --reuid "$user" --regid nogroup --init-groups -- "$@"; }

run_daemon() {  # run_daemon ARGS...: starts shyped and waits for its socket
  "$BUILD/bin/shyped" --state-dir "$SHYPE_STATE_DIR" --isolated-instance "$@" >>"$T/shyped.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 300); do shype list >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "shyped did not come up:"; cat "$T/shyped.log"; exit 1
}
stop_daemon() { kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
SOCK="$SHYPE_STATE_DIR/shyped.sock"

echo "socket_group = $GROUP" >"$T/shyped.conf"
run_daemon --config "$T/shyped.conf"
OUT="$(stat -c '%U:%G %a' "$SOCK")"
expect_out "^root:$GROUP 660$" "socket_group: the socket is root:$GROUP 0660"
OUT="$(stat -c '%U:%G %a' "$SHYPE_STATE_DIR")"
expect_out "^root:$GROUP 710$" "socket_group: the state directory is root:$GROUP 0710"
OUT="$(find "$SHYPE_STATE_DIR" -mindepth 1 ! -name shyped.sock \( -perm /022 -o ! -user root \) -print)"
[ -z "$OUT" ] && pass "nothing in the state directory is the group's to write" || fail "writable by others: $OUT"
expect_rc 0 "a member of $GROUP may shype list" -- as "$MEMBER" "$BUILD/bin/shype" list
expect_out "^Name " "the member sees the domain list"
expect_rc 0 "a member may getpolicy" -- as "$MEMBER" "$BUILD/bin/shype" getpolicy
# shyped (root) opens a save or restore's image file itself: the group may not reach files so.
expect_rc 1 "a member may not save a domain into a file" -- as "$MEMBER" "$BUILD/bin/shype" save web /etc/cron.d/x
expect_out "^Error: domain.save: only root may save or restore a domain" "... told only root may"
expect_rc 1 "a member may not restore from a file" -- as "$MEMBER" "$BUILD/bin/shype" restore /etc/shadow
expect_out "^Error: domain.restore: only root may save or restore a domain" "... told only root may"
[ ! -e /etc/cron.d/x ] && pass "no file was created for the member" || fail "/etc/cron.d/x exists"
OUT="$(as "$OTHER" "$BUILD/bin/shype" list 2>&1)"; rc=$?
[ "$rc" != 0 ] && pass "a non-member's shype list fails (exit $rc)" || fail "a non-member may shype list: $OUT"
expect_out "permission denied on shyped's API socket '$SOCK'" "the non-member is told permission is denied"
expect_no_out "not running|start shyped" "the non-member is not told shyped is down"
stop_daemon

# The flag does the same, and wins over the file.
echo "socket_group = no-such-group-$$" >"$T/other.conf"
run_daemon --config "$T/other.conf" --socket-group "$GROUP"
OUT="$(stat -c '%U:%G %a' "$SOCK")"
expect_out "^root:$GROUP 660$" "--socket-group (over the file's): root:$GROUP 0660"
expect_rc 0 "a member may shype list" -- as "$MEMBER" "$BUILD/bin/shype" list
stop_daemon

# Without a group: root's alone, as before.
run_daemon --config /dev/null
OUT="$(stat -c '%U %a' "$SOCK") $(stat -c '%a' "$SHYPE_STATE_DIR")"
expect_out "^root 600 700$" "no socket group: socket 0600, state directory 0700"
OUT="$(as "$MEMBER" "$BUILD/bin/shype" list 2>&1)"; rc=$?
[ "$rc" != 0 ] && pass "without a socket group a member may not shype list" || fail "member listed: $OUT"
expect_out "permission denied" "... and is told permission is denied"
expect_rc 0 "root may shype list" -- shype list
stop_daemon

# Bad settings: exit 2 with a message naming what is wrong.
expect_rc 2 "an unknown --socket-group is refused" -- \
  "$BUILD/bin/shyped" --state-dir "$T/st2" --isolated-instance --config /dev/null --socket-group "no-such-group-$$"
expect_out "no such group 'no-such-group-$$'" "... naming the group"
expect_rc 2 "an unknown socket_group in the file is refused" -- \
  "$BUILD/bin/shyped" --state-dir "$T/st2" --isolated-instance --config "$T/other.conf"
expect_out "$T/other.conf:1: --socket-group: no such group" "... naming file:line"
printf 'accel = tcg\nsocket group = x\n' >"$T/bad.conf"
expect_rc 2 "a bad config line is refused" -- \
  "$BUILD/bin/shyped" --state-dir "$T/st2" --isolated-instance --config "$T/bad.conf"
expect_out "$T/bad.conf:2: expected 'key = value'" "... naming file:line"
expect_rc 2 "a missing --config file is refused" -- \
  "$BUILD/bin/shyped" --state-dir "$T/st2" --isolated-instance --config "$T/none.conf"
expect_rc 2 "an invalid --log-level is refused" -- \
  "$BUILD/bin/shyped" --state-dir "$T/st2" --isolated-instance --config /dev/null --log-level loud
expect_out "trace,debug,info,warn,error,off" "... naming the allowed levels"
[ ! -e "$T/st2" ] && pass "a refused start creates no state directory" || fail "$T/st2 was created"

finish
