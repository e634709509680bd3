#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Xen ACM parity for the running system (issue 8), with real QEMU (TCG) guests: live relabel of
# a running and of a paused domain, permitted and refused (Chinese Wall, a disk's label); Domain-0
# as a domain to every command and relabeled live (refused beside a rival guest, kept across a
# shyped restart); a policy update that invalidates a resource label (INV_ACM) instead of
# refusing; a refused update listing violations of two kinds in one reply; an audit record for
# each of these actions, in one shape. Two guests.
source "$(dirname "$0")/lib.sh"

start_daemon
DEMO="$SRC/tests/data/policies/shype-demo.xml"
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$DEMO"
# demo_next VERSION FROM PERL-EXPR OUT: the demo policy at VERSION, replacing version FROM.
demo_next() {
  perl -0pe 's|<Version>1.0</Version>|<Version>'"$1"'</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>'"$2"'</Version></FromPolicy>|; '"$3" \
    "$DEMO" >"$4"
}
mkdir -p "$T/img"
head -c 1048576 /dev/zero >"$T/img/bank.img"
head -c 1048576 /dev/zero >"$T/img/game.img"
expect_rc 0 "label bank.img BankDisk" -- shype addlabel BankDisk res "file:$T/img/bank.img"
expect_rc 0 "label game.img GameDisk" -- shype addlabel GameDisk res "file:$T/img/game.img"

domain_config bank1 Bank "disk = ['file:$T/img/bank.img,xvda,w']" >/dev/null
domain_config audit1 BankAudit >/dev/null
expect_rc 0 "create bank1 (Bank, with the Bank disk)" -- shype create "$T/bank1.cfg"
expect_rc 0 "create audit1 (BankAudit)" -- shype create "$T/audit1.cfg"
wait_console audit1 "SHYPE-GUEST-UP" 90 && pass "audit1 is up" || fail "audit1 console: $OUT"

# --- Domain-0 is a domain like the others; ids work where names do ---
expect_rc 0 "info Domain-0" -- shype info Domain-0 --json
expect_out '"label": "ACM:shype.demo:SystemManagement"' "info shows Domain-0's live label"
expect_rc 0 "list Domain-0 bank1" -- shype list --label Domain-0 bank1
expect_out "^Domain-0 .*ACM:shype.demo:SystemManagement" "list NAME shows Domain-0"
expect_out "^bank1 .*ACM:shype.demo:Bank" "list NAME shows bank1"
expect_no_out "^audit1" "list NAME shows only the domains named"
expect_rc 1 "list of a domain that does not exist" -- shype list nobody
expect_out "the domain 'nobody' does not exist" "the error names it"
expect_rc 0 "getlabel mgt Domain-0" -- shype getlabel mgt Domain-0
expect_eq "$OUT" "policytype=ACM,policy=shype.demo,label=SystemManagement" "Domain-0's label, as xm prints it"
AUDIT1_ID="$(shype info audit1 --json | sed -n 's/^  "id": \([0-9]*\),/\1/p')"
expect_rc 0 "info by id" -- shype info "$AUDIT1_ID" --json
expect_out '"name": "audit1"' "a domain's id names it"

# --- relabel of a running domain: refused, then permitted ---
expect_split 1 "relabel audit1 Game beside bank1 is refused" -- shype addlabel Game dom audit1
grep -q "chinese-wall-conflict" <<<"$STDERR" && pass "the refusal names the rule" || fail "stderr: $STDERR"
grep -q "'bank1' (id [0-9]*)" <<<"$STDERR" && pass "the refusal names the other party" || fail "stderr: $STDERR"
expect_eq "$STDOUT" "" "nothing on stdout for a refusal"
expect_rc 1 "relabel bank1 Game (its disk is BankDisk) is refused" -- shype addlabel Game mgt bank1
expect_out "sharing-broken: disk resource 'file:$T/img/bank.img'" "the refusal names the disk"
expect_rc 1 "relabel to a label the policy lacks" -- shype addlabel acme dom audit1
expect_out "Error: 'acme' is not a label of policy 'shype.demo'" "the error names label and policy"
expect_rc 0 "getlabel dom audit1" -- shype getlabel dom audit1
expect_eq "$OUT" "policytype=ACM,policy=shype.demo,label=BankAudit" "audit1 keeps its label"
expect_rc 0 "relabel audit1 (by id) Bank while it runs" -- shype addlabel Bank dom "$AUDIT1_ID"
expect_out "Domain 'audit1' relabeled from ACM:shype.demo:BankAudit to ACM:shype.demo:Bank" "the relabel is reported"
expect_rc 0 "getlabel dom audit1" -- shype getlabel dom audit1
expect_out "label=Bank$" "audit1 runs as Bank now"

# --- relabel of a paused domain ---
expect_rc 0 "pause audit1" -- shype pause audit1
expect_rc 1 "a paused domain's relabel is checked too (Game beside bank1)" -- shype addlabel Game mgt audit1
expect_rc 0 "relabel paused audit1 back to BankAudit" -- shype addlabel BankAudit mgt audit1
expect_rc 0 "unpause audit1" -- shype unpause audit1
expect_rc 0 "list --label" -- shype list --label
expect_out "^audit1 .*running.*ACM:shype.demo:BankAudit" "audit1 runs on with its new label"

# --- Domain-0 relabel refused beside Bank guests ---
expect_rc 1 "Domain-0 relabeled Game beside Bank guests is refused" -- shype addlabel Game mgt Domain-0
expect_out "relabel of Domain-0 from 'SystemManagement' to 'Game' refused" "the refusal names Domain-0"
expect_out "'bank1' \(id [0-9]*\)" "and the guest it would conflict with"

# --- one refused update, violations of two kinds ---
demo_next 1.1 1.0 's|\s*<VirtualMachineLabel>\s*<!--[^>]*-->\s*<Name>BankAudit</Name>.*?</VirtualMachineLabel>||s; s|(<Name>BankDisk</Name>\s*<SimpleTypeEnforcementTypes>\s*)<Type>Bank</Type>|$1<Type>Game</Type>|' "$T/demo-1.1.xml"
grep -q "<Name>BankAudit</Name>" "$T/demo-1.1.xml" && fail "the 1.1 policy still has BankAudit" || pass "1.1 drops BankAudit"
expect_split 1 "the update is refused" -- shype setpolicy "$T/demo-1.1.xml"
grep -q "label-missing: label 'BankAudit'" <<<"$STDERR" && pass "it lists the running label it lacks" || fail "stderr: $STDERR"
grep -q "sharing-broken: disk resource 'file:$T/img/bank.img'" <<<"$STDERR" && pass "and, in the same reply, the disk sharing it breaks" || fail "stderr: $STDERR"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Version of XML policy : 1.0" "nothing changed"

# --- an update that invalidates a resource label (not in use) ---
demo_next 1.1 1.0 's|\s*<ResourceLabel>\s*<Name>GameDisk</Name>.*?</ResourceLabel>||s' "$T/demo-1.1b.xml"
expect_split 0 "an update without the GameDisk label commits" -- shype setpolicy "$T/demo-1.1b.xml"
grep -q "Resource label invalidated: file:$T/img/game.img is now INV_ACM:shype.demo:GameDisk" <<<"$STDOUT" \
  && pass "the reply lists the invalidated resource" || fail "stdout: $STDOUT"
expect_rc 0 "getlabel res game.img" -- shype getlabel res "file:$T/img/game.img"
expect_out "INV_ACM" "game.img's label is invalid now"

# --- Domain-0 relabeled with nothing else running, kept across a restart ---
expect_rc 0 "destroy bank1" -- shype destroy bank1
expect_rc 0 "destroy audit1" -- shype destroy audit1
expect_rc 0 "Domain-0 relabeled Bank with no guest running" -- shype addlabel Bank mgt Domain-0
expect_rc 0 "getlabel dom Domain-0" -- shype getlabel dom Domain-0
expect_eq "$OUT" "policytype=ACM,policy=shype.demo,label=Bank" "Domain-0 carries Bank"
kill9_daemon
start_daemon
expect_rc 0 "getlabel mgt Domain-0 after a restart" -- shype getlabel mgt Domain-0
expect_out "label=Bank$" "Domain-0's relabel survives shyped's restart"
domain_config game1 Game >/dev/null
expect_rc 1 "a Game guest may not start beside a Bank Domain-0" -- shype create "$T/game1.cfg"
expect_rc 0 "Domain-0 back to its bootstrap label" -- shype addlabel SystemManagement mgt Domain-0

# --- every action audited, one record shape ---
expect_rc 0 "audit" -- shype audit --json -n 1000
for action in policy-install policy-update relabel domain-create domain-end; do
  expect_out "\"action\": ?\"$action\"" "an audit record for $action"
done
expect_out '"action": ?"relabel".*"decision": ?"deny"' "a refused relabel is audited"
expect_out '"name": ?"audit1"' "the subject is the domain, by name"
expect_no_out '"resource": ?"(bank1|audit1)"' "no domain name recorded as a resource"
finish
