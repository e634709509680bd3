#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# shype policy analyze / diff offline (no shyped: the admin service on the state directory, the
# sandboxed compiler): the exact text of one policy's analysis and of one diff, the JSON reply's
# shape, the active policy, usage and compiler errors, and that nothing in the state changes.
# No daemon, no guests.
source "$(dirname "$0")/lib.sh"

DEMO="$SRC/tests/data/policies/shype-demo.xml"
EXAMPLE="$SRC/examples/policies/shype-demo.xml"
ST="$T/state"
expect_rc 0 "offline setpolicy of the example policy" -- shype --state-dir "$ST" setpolicy "$EXAMPLE"
: >"$T/bank.img"
RES="file:$T/bank.img"
expect_rc 0 "a stored resource label" -- shype --state-dir "$ST" addlabel res_Bank res "file:$T/bank.img"
BEFORE="$(find "$ST" -type f -exec sha256sum {} + | sort)"

expect_split 0 "policy analyze FILE" -- shype --state-dir "$ST" policy analyze "$DEMO"
expect_eq "$STDOUT" "Policy 'shype.demo' version 1.0 ($DEMO)

STE types: Bank, Game, SystemManagement
Chinese Wall types: Bank, Game, SystemManagement

Conflict sets:
Conflict set  Types
BankVsGame    Bank, Game

VM labels:
VM label          STE types                     Chinese Wall types
SystemManagement  Bank, Game, SystemManagement  SystemManagement
Bank              Bank                          Bank
BankAudit         Bank                          Bank
Game              Game                          Game

Resource labels:
Resource label  STE types
ManagementDisk  SystemManagement
BankDisk        Bank
BankNet         Bank
GameDisk        Game
GameNet         Game

VM labels sharing (common STE types; '-': may not share):
VM label          SystemManagement            Bank  BankAudit  Game
SystemManagement  Bank,Game,SystemManagement  Bank  Bank       Game
Bank              Bank                        Bank  Bank       -
BankAudit         Bank                        Bank  Bank       -
Game              Game                        -     -          Game

VM labels using resources (common STE types; '-': may not use):
VM label          ManagementDisk    BankDisk  BankNet  GameDisk  GameNet
SystemManagement  SystemManagement  Bank      Bank     Game      Game
Bank              -                 Bank      Bank     -         -
BankAudit         -                 Bank      Bank     -         -
Game              -                 -         -        Game      Game

Chinese Wall conflicts (never run together):
Label      Label  Conflict set  Types
Bank       Game   BankVsGame    Bank / Game
BankAudit  Game   BankVsGame    Bank / Game

Labels reaching nothing: -
Labels reaching everything: SystemManagement
Unused STE types: -
Unused Chinese Wall types: -

Running domains:
Domain    ID  Label
Domain-0  0   SystemManagement

Running domains able to share now: -" "the analysis as aligned tables"
expect_eq "$STDERR" "" "nothing on stderr"

expect_split 0 "policy analyze --active" -- shype --state-dir "$ST" policy analyze --active
expect_eq "$(head -1 <<<"$STDOUT")" "Policy 'shype.demo' version 1.0 (active)" "the active policy"
grep -q "^Bank   Game   Rivals        Bank / Game$" <<<"$STDOUT" && pass "with its conflict set's name" \
  || fail "no Rivals conflict in: $STDOUT"

expect_split 0 "--json policy analyze" -- shype --state-dir "$ST" --json policy analyze "$DEMO"
expect_eq "$(python3 -c 'import json, sys
a = json.load(sys.stdin)
print(sorted(a))
print(a["policy"], a["vm_matrix"]["types"][1], a["conflicts"][0], a["running"])' <<<"$STDOUT")" \
  "['chwall_types', 'conflict_sets', 'conflicts', 'policy', 'reach_everything', 'reach_nothing', 'resource_labels', 'resource_matrix', 'running', 'ste_types', 'unused_chwall_types', 'unused_ste_types', 'vm_labels', 'vm_matrix']
{'name': 'shype.demo', 'source': '$DEMO', 'version': '1.0'} [['Bank'], ['Bank'], ['Bank'], []] {'a': 'Bank', 'b': 'Game', 'sets': [{'name': 'BankVsGame', 'types': ['Bank', 'Game']}]} {'domains': [{'id': 0, 'label': 'SystemManagement', 'name': 'Domain-0'}], 'sharing': []}" \
  "the JSON reply has the contract's fields"

# The test policy replaces the example without <FromPolicy>: setpolicy --check would refuse it.
expect_split 0 "policy diff --active NEW" -- shype --state-dir "$ST" policy diff --active "$DEMO"
expect_eq "$STDOUT" "Policy diff: 'shype.demo' version 1.0 (active) -> 'shype.demo' version 1.0 ($DEMO)

VM label renames: -
Resource label renames: -
VM labels added: BankAudit
VM labels removed: Monitor
Resource labels added: ManagementDisk, BankDisk, BankNet, GameDisk, GameNet
Resource labels removed: res_Bank, res_Game, res_Monitoring

Sharing gained:
Kind      Label             Label           STE types
vm        SystemManagement  BankAudit       Bank
vm        Bank              BankAudit       Bank
vm        BankAudit         BankAudit       Bank
resource  SystemManagement  ManagementDisk  SystemManagement
resource  SystemManagement  BankDisk        Bank
resource  SystemManagement  BankNet         Bank
resource  SystemManagement  GameDisk        Game
resource  SystemManagement  GameNet         Game
resource  Bank              BankDisk        Bank
resource  Bank              BankNet         Bank
resource  BankAudit         BankDisk        Bank
resource  BankAudit         BankNet         Bank
resource  Game              GameDisk        Game
resource  Game              GameNet         Game

Sharing lost:
Kind      Label             Label           STE types
vm        SystemManagement  Monitor         Monitoring
vm        Monitor           Monitor         Monitoring
resource  SystemManagement  res_Bank        Bank
resource  SystemManagement  res_Game        Game
resource  SystemManagement  res_Monitoring  Monitoring
resource  Bank              res_Bank        Bank
resource  Game              res_Game        Game
resource  Monitor           res_Monitoring  Monitoring

Chinese Wall conflicts added:
Label      Label  Conflict set  Types
BankAudit  Game   BankVsGame    Bank / Game

Chinese Wall conflicts dropped: -

Resource labels invalidated:
$(printf '%-*s  %s\n%s  %s' ${#RES} Resource Label "$RES" res_Bank)

Dry run against the running host (setpolicy --check): refused, 2 violations:
  - version: policy 'shype.demo' version 1.0 may replace the active policy 'shype.demo' version 1.0 only with <FromPolicy> naming it: add <FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy> (or reset the policy)
  - version: new version 1.0 of policy 'shype.demo' is not greater than the active version 1.0" \
  "the diff as aligned tables, with setpolicy --check's violations"

expect_split 0 "policy diff OLD NEW" -- shype --state-dir "$ST" policy diff "$DEMO" "$EXAMPLE"
expect_eq "$(sed -n '3,8p' <<<"$STDOUT")" "VM label renames: -
Resource label renames: -
VM labels added: Monitor
VM labels removed: BankAudit
Resource labels added: res_Bank, res_Game, res_Monitoring
Resource labels removed: ManagementDisk, BankDisk, BankNet, GameDisk, GameNet" "the other way round"
expect_eq "$(sed -n '/^Resource labels invalidated/,$p' <<<"$STDOUT")" "Resource labels invalidated: -

Dry run against the running host (setpolicy --check): refused, 2 violations:
  - version: policy 'shype.demo' version 1.0 may replace the active policy 'shype.demo' version 1.0 only with <FromPolicy> naming it: add <FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy> (or reset the policy)
  - version: new version 1.0 of policy 'shype.demo' is not greater than the active version 1.0" \
  "the dry run is NEW's against the active policy"

# Errors: the compiler's message, usage.
printf '<not a policy' >"$T/bad.xml"
expect_split 2 "policy analyze of a broken file" -- shype --state-dir "$ST" policy analyze "$T/bad.xml"
grep -Eq "^Error: $T/bad.xml:1: .*\[BAD_XML\]$" <<<"$STDERR" && pass "the compiler's file:line message" \
  || fail "stderr: $STDERR"
expect_split 2 "policy analyze with neither FILE nor --active" -- shype --state-dir "$ST" policy analyze
expect_eq "$STDERR" "Error: policy analyze: give a policy FILE or --active (not both)" "names what to give"
expect_split 2 "policy diff with one file" -- shype --state-dir "$ST" policy diff "$DEMO"
expect_eq "$STDERR" "Error: policy diff: give OLD and NEW policy files, or --active NEW" "names what to give"

AFTER="$(find "$ST" -type f -exec sha256sum {} + | sort)"
[ "$BEFORE" = "$AFTER" ] && pass "analyze and diff changed no file of the state directory" \
  || fail "the state changed: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"

# A policy file alone needs no state directory, and none is created; --active needs one.
NONE="$T/no-such-state"
expect_rc 0 "analyze FILE without a state directory" -- shype --state-dir "$NONE" policy analyze "$DEMO"
expect_out "^Policy 'shype.demo' version 1.0" "it analyzes the file"
expect_rc 0 "diff OLD NEW without a state directory" -- shype --state-dir "$NONE" policy diff "$EXAMPLE" "$DEMO"
expect_rc 2 "analyze --active without a state directory" -- shype --state-dir "$NONE" policy analyze --active
expect_out "state directory '$NONE' does not exist" "it names the missing directory"
[ -e "$NONE" ] && fail "analyze/diff created $NONE" || pass "analyze and diff created no state directory"

finish
