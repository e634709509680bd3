#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The CLI's conventions (issue 8), each asserted exactly, stdout and stderr apart: errors on
# stderr as `Error: MESSAGE` (JSON with --json, CLI11's usage errors too, exit 2), --version,
# `shype help CMD`, unknown commands with the nearest one suggested, warnings for unknown keys
# of a domain config, xl's `cmdline`, and a missing state directory refused, never created,
# by every command but setpolicy. Offline: no daemon, no guests.
source "$(dirname "$0")/lib.sh"

POLICY="$SRC/examples/policies/shype-demo.xml"
cd "$T" || exit 1

# --- --version: CMake's project version ---
VERSION="$(sed -n 's/^project(shype VERSION \([0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")"
expect_split 0 "--version" -- shype --version
expect_eq "$STDOUT" "shype $VERSION" "--version prints CMake's project version on stdout"
expect_eq "$STDERR" "" "--version: nothing on stderr"

# --- help ---
for cmd in setpolicy "policy compile" "vnet show" policy list; do
  # shellcheck disable=SC2086
  expect_split 0 "shype help $cmd" -- shype help $cmd
  HELP="$STDOUT"
  # shellcheck disable=SC2086
  WANT="$(shype $cmd --help)"
  expect_eq "$HELP" "$WANT" "'shype help $cmd' prints what 'shype $cmd --help' prints"
  expect_eq "$STDERR" "" "'shype help $cmd': nothing on stderr"
done
grep -q "^Usage: shype setpolicy " <<<"$(shype help setpolicy)" && pass "the usage line names 'shype setpolicy'" \
  || fail "usage line: $(shype help setpolicy | head -2)"
expect_split 0 "shype help" -- shype help
expect_eq "$STDOUT" "$(shype --help)" "'shype help' prints the overview of 'shype --help'"
grep -q "^  dry-run " <<<"$STDOUT" && pass "the overview lists the commands" || fail "overview: $STDOUT"

# --- unknown commands: named, the nearest suggested, exit 2, nothing on stdout ---
expect_split 2 "an unknown command" -- shype lst
expect_eq "$STDERR" "Error: unknown command 'lst'; did you mean 'list'?" "it is named with the nearest command"
expect_eq "$STDOUT" "" "nothing on stdout"
expect_split 2 "an unknown command after options" -- shype --state-dir "$T/st" --json destory web
expect_eq "$STDERR" '{
  "error": {
    "code": "invalid_argument",
    "message": "unknown command '"'destory'"'; did you mean '"'destroy'"'?"
  }
}' "--json: the same error as JSON on stderr"
expect_split 2 "an unknown subcommand of a group" -- shype vnet lst
expect_eq "$STDERR" "Error: unknown command 'vnet lst'; did you mean 'vnet list'?" "the group is named too"
expect_split 2 "a command far from every other" -- shype frobnicate
expect_eq "$STDERR" "Error: unknown command 'frobnicate'; the commands are listed by: shype help" \
  "no suggestion, where to look instead"
expect_split 2 "help of an unknown command" -- shype help lables
expect_eq "$STDERR" "Error: unknown command 'lables'; did you mean 'labels'?" "help suggests too"
expect_eq "$STDOUT" "" "help of an unknown command prints no help"
[ -e "$T/st" ] && fail "an unknown command created $T/st" || pass "an unknown command created nothing"

# --- usage errors (CLI11): shype's error format, JSON with --json, exit 2 ---
expect_split 2 "a missing argument" -- shype setpolicy
expect_eq "$STDERR" "Error: setpolicy: file is required; see 'shype help setpolicy'" "text usage error"
expect_eq "$STDOUT" "" "usage error: nothing on stdout"
expect_split 2 "a missing argument, --json" -- shype --json setpolicy
expect_eq "$STDERR" '{
  "error": {
    "code": "invalid_argument",
    "message": "setpolicy: file is required; see '"'shype help setpolicy'"'"
  }
}' "--json usage error: api::ErrorToJson's shape on stderr"
expect_split 2 "an unknown option, --json after the command" -- shype list --bogus --json
expect_eq "$STDERR" '{
  "error": {
    "code": "invalid_argument",
    "message": "list: The following argument was not expected: --bogus; see '"'shype help list'"'"
  }
}' "--json given after the command counts too"
expect_split 2 "a bad option value" -- shype audit -n many
expect_eq "$STDERR" "Error: audit: Could not convert: --tail = many; see 'shype help audit'" \
  "the option and value are named"
expect_split 2 "no command" -- shype
expect_eq "$STDERR" "Error: A subcommand is required; see 'shype help'" "no command: where to look"

# --- a missing state directory: refused by every command but setpolicy, and never created ---
MISSING="$T/nope/state"
NO_STATE="Error: state directory '$MISSING' does not exist (start shyped or run 'shype setpolicy' first)"
printf 'name = "web"\nmemory = 64\nkernel = "/boot/vmlinuz"\n' >web.cfg
: >disk.img
for c in getpolicy dumppolicy resetpolicy labels "labels type=res" resources "getlabel res file:$T/disk.img" \
  "addlabel res_Bank res file:$T/disk.img" "rmlabel res file:$T/disk.img" "addlabel Bank dom web.cfg" \
  "dry-run web.cfg" "setpolicy --check $POLICY" "create web.cfg" list "info web" "destroy web" \
  "console web --log" "audit -n 1" "vnet list" "shm list"; do
  # shellcheck disable=SC2086
  expect_split 2 "'$c' on a missing state directory" -- shype --state-dir "$MISSING" $c
  expect_eq "$STDERR" "$NO_STATE" "'$c' names the missing state directory"
  expect_eq "$STDOUT" "" "'$c': nothing on stdout"
done
expect_split 2 "--json, a missing state directory" -- shype --state-dir "$MISSING" --json getpolicy
expect_eq "$STDERR" '{
  "error": {
    "code": "unavailable",
    "message": "state directory '"'$MISSING'"' does not exist (start shyped or run '"'shype setpolicy'"' first)"
  }
}' "--json: the same refusal as JSON"
SHYPE_STATE_DIR="$MISSING" expect_split 2 "\$SHYPE_STATE_DIR missing too" -- shype labels
expect_eq "$STDERR" "$NO_STATE" "the directory from the environment is named"
[ -e "$T/nope" ] && fail "a refused command created $(find "$T/nope")" || pass "no command created the state directory"
cmp -s web.cfg <(printf 'name = "web"\nmemory = 64\nkernel = "/boot/vmlinuz"\n') && pass "addlabel dom left the config as it was" \
  || fail "web.cfg changed: $(cat web.cfg)"
expect_split 0 "offline policy tools need no state directory" -- shype --state-dir "$MISSING" policy validate "$POLICY"
expect_split 0 "setpolicy creates the state directory" -- shype --state-dir "$MISSING" setpolicy "$POLICY"
expect_eq "$(head -1 <<<"$STDOUT")" "Successfully set the new policy." "setpolicy says so on stdout"
expect_eq "$STDERR" "" "setpolicy: nothing on stderr"
[ -s "$MISSING/labels.db" ] && pass "the state directory exists now" || fail "after setpolicy: $(find "$T/nope")"
export SHYPE_STATE_DIR="$MISSING"

# --- errors: `Error: MESSAGE` on stderr, quotes only where the message quotes a name ---
expect_split 1 "a label the policy lacks" -- shype addlabel acme dom web.cfg
expect_eq "$STDERR" "Error: Label 'acme' not found in policy 'shype.demo'" "the message as it is, no added quotes"
expect_eq "$STDOUT" "" "a refusal prints nothing on stdout"
expect_split 1 "getlabel of an unlabeled config" -- shype getlabel dom web.cfg
expect_eq "$STDERR" "Error: Domain not labeled" "xm's text, unquoted"
expect_split 1 "getlabel --json" -- shype --json getlabel dom web.cfg
expect_eq "$STDERR" '{
  "error": {
    "code": "not_found",
    "message": "Domain not labeled"
  }
}' "--json errors go to stderr too"
expect_eq "$STDOUT" "" "--json error: nothing on stdout"
expect_split 0 "a result" -- shype --json labels type=res
expect_eq "$STDERR" "" "a result: nothing on stderr"
grep -q '"res_Bank"' <<<"$STDOUT" && pass "the JSON result is on stdout" || fail "labels: $STDOUT"
expect_split 2 "a command that needs shyped" -- shype list
expect_eq "$STDERR" "Error: domain.list needs shyped, and none answers on '$MISSING/shyped.sock'; start shyped first: shyped --state-dir $MISSING" \
  "an existing state directory without shyped: start it"

# --- domain configs: unknown keys warn with file:line and the likely key; the config still loads ---
cat >bank.cfg <<CFG
name = "bank"
kernel = "/boot/vmlinuz"
memroy = 128
frobnicate = 1
memory = 128
CFG
cp bank.cfg bank.orig
W1="Warning: bank.cfg:3: unknown key 'memroy'; did you mean 'memory'?"
W2="Warning: bank.cfg:4: unknown key 'frobnicate'; it is ignored"
expect_split 0 "addlabel dom of a config with unknown keys" -- shype addlabel Bank dom bank.cfg
expect_eq "$STDERR" "$W1"$'\n'"$W2" "addlabel dom warns on stderr, naming file, line and the likely key"
expect_eq "$STDOUT" "" "and prints nothing on stdout"
expect_eq "$(shype getlabel dom bank.cfg)" "policytype=ACM,policy=shype.demo,label=Bank" "the config was labeled all the same"
expect_split 0 "dry-run of a config with unknown keys" -- shype dry-run bank.cfg
expect_eq "$STDERR" "$W1"$'\n'"$W2" "dry-run warns on stderr"
grep -q "^Dry Run: " <<<"$STDOUT" && pass "and reports on stdout" || fail "dry-run stdout: $STDOUT"
expect_split 2 "create of a config with unknown keys (no shyped)" -- shype create bank.cfg
expect_eq "$STDERR" "$W1"$'\n'"$W2"$'\n'"Error: domain.create needs shyped, and none answers on '$MISSING/shyped.sock'; start shyped first: shyped --state-dir $MISSING" \
  "create warns before it is refused"
expect_split 2 "--json create" -- shype --json create bank.cfg
expect_eq "$(head -5 <<<"$STDERR")" '{
  "warning": {
    "message": "bank.cfg:3: unknown key '"'memroy'"'; did you mean '"'memory'"'?"
  }
}' "--json warnings are JSON on stderr"

# --- xl's cmdline beside extra ---
printf 'name = "web"\nmemory = 64\nkernel = "/boot/vmlinuz"\ncmdline = "console=ttyS0"\n' >xl.cfg
expect_split 1 "dry-run of a config with cmdline" -- shype dry-run xl.cfg
expect_eq "$STDERR" "" "cmdline is a known key: no warning"
printf 'name = "web"\nextra = "quiet"\nmemory = 64\ncmdline = "console=ttyS0"\n' >both.cfg
expect_split 2 "dry-run of a config with extra and cmdline" -- shype dry-run both.cfg
expect_eq "$STDERR" "Error: $T/both.cfg:4: 'cmdline' and 'extra' (line 2) both set the kernel command line; keep one" \
  "both: an error naming both"
expect_split 2 "addlabel dom of a config with extra and cmdline" -- shype addlabel Bank dom both.cfg
expect_eq "$STDERR" "Error: both.cfg:4: 'cmdline' and 'extra' (line 2) both set the kernel command line; keep one" \
  "addlabel dom refuses it too"

finish
