#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `cmake --install BUILD --prefix TMP`, then the demo's first steps with the installed programs
# only: the installed shyped (its installed config) on a temporary state directory, setpolicy of
# the installed example policy, addlabel, labels, getpolicy, stop. Also the installed unit,
# config, completion (against `shype --help`) and man pages. No guests.
source "$(dirname "$0")/lib.sh"

P="$T/prefix"
# Like a real prefix, others may pass through it: the sandboxed policy compiler runs unprivileged.
chmod 0711 "$T"
expect_rc 0 "cmake --install into a temporary prefix" -- cmake --install "$BUILD" --prefix "$P"
for f in bin/shype bin/shyped bin/shype-policyc; do
  [ -x "$P/$f" ] && pass "$f installed" || fail "$f not installed"
done
for f in etc/shype/shyped.conf lib/systemd/system/shyped.service \
  share/bash-completion/completions/shype share/man/man1/shype.1 share/man/man8/shyped.8 \
  share/doc/shype/README.md share/doc/shype/domain-config.md share/doc/shype/install.md \
  share/doc/shype/examples/policies/shype-demo.xml; do
  [ -f "$P/$f" ] && pass "$f installed" || fail "$f not installed"
done

UNIT="$P/lib/systemd/system/shyped.service"
OUT="$(cat "$UNIT" 2>&1)"
expect_out "^Type=notify$" "the unit is Type=notify"
expect_out "^ExecStart=$P/bin/shyped --config $P/etc/shype/shyped.conf$" \
  "the unit starts the installed shyped with the installed config"
expect_out "^KillMode=process$" "stopping the unit leaves the domains running"
if command -v systemd-analyze >/dev/null; then
  expect_rc 0 "systemd-analyze verify accepts the unit" -- systemd-analyze verify --man=no "$UNIT"
fi

OUT="$(cat "$P/share/man/man8/shyped.8" 2>&1)"  # troff: \-\-socket\-group
expect_out '^\.TH SHYPED "8"' "shyped(8) is a section 8 man page"
expect_out 'socket\\?-group' "shyped(8) lists --socket-group"
OUT="$(cat "$P/share/man/man1/shype.1" 2>&1)"
expect_out '^\.TH SHYPE "1"' "shype(1) is a section 1 man page"
expect_out "setpolicy" "shype(1) lists the commands"

# The completion's command list is shype --help's.
help_commands="$("$P/bin/shype" --help | awk '/^Subcommands:/ {on = 1; next} on && NF {print $1}' | sort)"
# shellcheck disable=SC1090
completion_commands="$(bash -c 'source "$1"; COMP_WORDS=(shype ""); COMP_CWORD=1; _shype
  printf "%s\n" "${COMPREPLY[@]}"' _ "$P/share/bash-completion/completions/shype" | grep -v '^-' | sort)"
if [ -n "$help_commands" ] && [ "$help_commands" = "$completion_commands" ]; then
  pass "bash completion offers exactly shype --help's commands"
else
  fail "bash completion's commands differ from shype --help's: $(diff <(echo "$help_commands") <(echo "$completion_commands") | tr '\n' ' ')"
fi
OUT="$(bash -c 'source "$1"; COMP_WORDS=(shype --json pau); COMP_CWORD=2; _shype; echo "${COMPREPLY[*]}"' _ "$P/share/bash-completion/completions/shype")"
expect_out "^pause$" "'shype --json pau<TAB>' completes to pause"

# The demo's first steps with the installed programs.
"$P/bin/shyped" --config "$P/etc/shype/shyped.conf" --state-dir "$SHYPE_STATE_DIR" \
  --isolated-instance >"$T/shyped.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 300); do "$P/bin/shype" list >/dev/null 2>&1 && break; sleep 0.1; done
expect_rc 0 "the installed shyped serves" -- "$P/bin/shype" list
expect_rc 0 "setpolicy the installed demo policy" -- \
  "$P/bin/shype" setpolicy "$P/share/doc/shype/examples/policies/shype-demo.xml"
printf 'ledger: 1000 EUR' >"$T/bank.img"
expect_rc 0 "addlabel a resource" -- "$P/bin/shype" addlabel res_Bank res "file:$T/bank.img"
expect_rc 0 "labels" -- "$P/bin/shype" labels type=any
expect_out "res_Bank" "labels lists the demo's labels"
expect_rc 0 "getpolicy" -- "$P/bin/shype" getpolicy
expect_out "shype.demo" "getpolicy names the demo policy"
expect_rc 0 "getlabel of the resource" -- "$P/bin/shype" getlabel res "file:$T/bank.img"
expect_out "res_Bank" "the resource carries its label"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"; rc=$?
DAEMON_PID=""
[ "$rc" = 0 ] && pass "the installed shyped stops on SIGTERM (exit 0)" || fail "shyped exited $rc on SIGTERM"
expect_rc 0 "the labels stay (offline getpolicy)" -- "$P/bin/shype" getpolicy
expect_out "shype.demo" "the policy is still active"

finish
