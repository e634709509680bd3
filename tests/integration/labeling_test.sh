#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The labeling commands offline (no shyped) on a temporary state directory, against Xen's example
# policies (used in place from ../shared/policies): exact xm output formats, round trips, config
# files rewritten with comments intact, dry-run, refusals that change nothing, labels an update
# invalidates, reset, and two shype processes racing on the label database.
source "$(dirname "$0")/lib.sh"

TESTPOL="$SHARED/policies/test-security_policy.xml"
CLIENT="$SHARED/policies/client_v1-security_policy.xml"

# --- offline policy tools (no state directory involved) ---
expect_rc 0 "policy validate" -- shype policy validate "$CLIENT"
expect_out "valid policy 'example.client_v1' version 1.0" "validate names policy and version"
expect_rc 0 "policy compile with map" -- shype policy compile "$CLIENT" -o "$T/c.bin" --map "$T/c.map"
[ "$(stat -c %s "$T/c.bin")" = 380 ] && pass "client_v1 compiles to Xen's 380 bytes" || fail "size $(stat -c %s "$T/c.bin")"
grep -q '^LABEL->SSID VM  STE    dom_HomeBanking      4$' "$T/c.map" && pass "map file in Xen's format" || fail "map: $(head -30 "$T/c.map")"
expect_rc 0 "policy dump of the binary" -- shype policy dump "$T/c.bin"
DUMP_BIN="$OUT"
expect_out "^   ssidref 4:  00 00 01 00 $" "CHWALL rows as xm dumppolicy prints them (%02x plus a space each)"
expect_out "^Primary   = CHINESE WALL \\(c=1, off=54\\)\\.$" "header lines as xm dumppolicy"
expect_rc 0 "policy dump of the XML" -- shype policy dump "$CLIENT"
[ "$OUT" = "$DUMP_BIN" ] && pass "XML and binary dump the same" || fail "dumps differ"
expect_rc 0 "policy labels --type res" -- shype policy labels "$CLIENT" --type res
expect_out "^res_SecurityToken$" "resource labels listed"
printf 'corrupt' >"$T/bad.bin"; cp "$T/c.bin" "$T/trunc.bin"; truncate -s 100 "$T/trunc.bin"
expect_rc 2 "a truncated binary is refused" -- shype policy dump "$T/trunc.bin"
expect_out "binary policy:" "the reader names what is wrong"
for broken in "$SRC"/tests/data/policies/negative/BAD_XML__*.xml; do
  expect_rc 2 "a broken policy is refused: $(basename "$broken")" -- shype policy validate "$broken"
  expect_out "$(basename "$broken"):[0-9]+:" "the error names file and line"
  break
done
expect_rc 2 "getpolicy on a missing state directory" -- shype getpolicy
expect_out "^Error: state directory '$SHYPE_STATE_DIR' does not exist" "is refused, naming it"
mkdir "$SHYPE_STATE_DIR"
expect_rc 0 "getpolicy on an empty state directory" -- shype getpolicy
expect_out "Policy name +: DEFAULT" "the DEFAULT policy applies before any setpolicy"
expect_rc 0 "setpolicy of Xen's example.test policy" -- shype setpolicy "$TESTPOL"
expect_out "^Successfully set the new policy.$" "setpolicy says so"
expect_rc 0 "getpolicy" -- shype getpolicy
EXPECTED_GETPOLICY="Supported security subsystems   : ACM 

Policy name           : example.test
Policy type           : ACM
Reference             : $(sha1sum "$TESTPOL" | cut -d' ' -f1)
Version of XML policy : 1.0
Policy configuration  : activated for boot"
[ "$OUT" = "$EXPECTED_GETPOLICY" ] && pass "getpolicy output is exact (reference = SHA-1 of the XML)" \
  || fail "getpolicy output: $OUT"

expect_rc 0 "labels" -- shype labels
[ "$OUT" = $'CocaCola\nPepsiCo\nSystemManagement\nVIO' ] && pass "VM labels, sorted" || fail "labels: $OUT"
expect_rc 0 "labels type=res" -- shype labels type=res
[ "$OUT" = $'CocaCola\nPepsiCo\nSystemManagement' ] && pass "resource labels, sorted" || fail "res labels: $OUT"
expect_rc 1 "labels of a policy that is not installed" -- shype labels other.policy
expect_rc 2 "labels with a bad type" -- shype labels type=xyz

# --- domain labels in config files ---
CFG="$T/pepsi.cfg"
cat >"$CFG" <<'CFG'
# Pepsi's web front end
name = "pepsi1"   # keep this comment
memory = 128
kernel = "/boot/vmlinuz"
disk = [ 'file:/tmp/none.img,xvda,w',  # a list spanning lines
         ]
unknown_key = "kept as is"
CFG
cp "$CFG" "$T/pepsi.orig"
expect_split 0 "addlabel dom" -- shype addlabel PepsiCo dom "$CFG"
[ -z "$STDOUT" ] && pass "addlabel prints nothing" || fail "addlabel printed: $STDOUT"
expect_eq "$STDERR" "Warning: $CFG:7: unknown key 'unknown_key'; it is ignored" "but warns about the unknown key"
if diff <(head -n "$(wc -l <"$T/pepsi.orig")" "$CFG") "$T/pepsi.orig" >/dev/null &&
   [ "$(tail -n 1 "$CFG")" = "access_control = ['policy=example.test,label=PepsiCo']" ]; then
  pass "the config keeps every line and comment, the label line appended"
else
  fail "config after addlabel: $(cat "$CFG")"
fi
expect_rc 0 "getlabel dom" -- shype getlabel dom "$CFG"
[ "$OUT" = "policytype=ACM,policy=example.test,label=PepsiCo" ] && pass "getlabel dom format" || fail "getlabel: $OUT"
expect_rc 1 "addlabel on a labeled config is refused" -- shype addlabel CocaCola dom "$CFG"
expect_out "is already labeled" "it says the config is already labeled"
expect_rc 0 "rmlabel dom" -- shype rmlabel dom "$CFG"
[ -z "$OUT" ] && pass "rmlabel prints nothing" || fail "rmlabel printed: $OUT"
cmp -s "$CFG" "$T/pepsi.orig" && pass "rmlabel gives back the original bytes" || fail "config differs after rmlabel"
expect_rc 1 "getlabel of an unlabeled config" -- shype getlabel dom "$CFG"
[ "$OUT" = "Error: Domain not labeled" ] && pass "xm's error text" || fail "unlabeled: $OUT"
expect_rc 1 "a label not in the policy is refused" -- shype addlabel Nope dom "$CFG"
expect_out "Label 'Nope' not found in policy 'example.test'" "the refusal names label and policy"
cmp -s "$CFG" "$T/pepsi.orig" && pass "a refused addlabel writes nothing" || fail "config changed"

# --- resource labels ---
printf 'x' >"$T/p.img"; printf 'x' >"$T/c.img"
expect_rc 0 "addlabel res" -- shype addlabel PepsiCo res "file:$T/p.img"
expect_rc 0 "addlabel res with an explicit policy" -- shype addlabel CocaCola res "file:$T/c.img" example.test
expect_rc 0 "getlabel res" -- shype getlabel res "file:$T/p.img"
[ "$OUT" = "ACM:example.test:PepsiCo" ] && pass "getlabel res format" || fail "getlabel res: $OUT"
expect_rc 1 "a labeled resource is not relabeled" -- shype addlabel CocaCola res "file:$T/p.img"
expect_out "is already labeled with 'ACM:example.test:PepsiCo'" "xm's already-labeled message"
expect_rc 2 "a VM-only label is refused for a resource" -- shype addlabel VIO res "file:$T/x.img"
expect_out "'VIO' is a VM label" "the refusal explains the label kind"
expect_rc 2 "a resource spec without a type is refused" -- shype addlabel PepsiCo res "$T/p.img"
expect_rc 0 "resources" -- shype resources
EXPECTED_RES="file:$T/c.img
      type: ACM
    policy: example.test
    label:  CocaCola
file:$T/p.img
      type: ACM
    policy: example.test
    label:  PepsiCo"
[ "$OUT" = "$EXPECTED_RES" ] && pass "resources output is exact" || fail "resources: $OUT"

# --- dry-run ---
cp "$T/pepsi.orig" "$T/dry.cfg"
sed -i "s|file:/tmp/none.img|file:$T/p.img|" "$T/dry.cfg"
shype addlabel PepsiCo dom "$T/dry.cfg" 2>/dev/null
expect_split 0 "dry-run of a permitted domain" -- shype dry-run "$T/dry.cfg"
OUT="$STDOUT"
EXPECTED_DRY="Checking domain:
   pepsi1: PERMITTED
Checking resources:
   file:$T/p.img: PERMITTED
Checking Chinese Wall: NOT CHECKED
   --> shyped is not running: the Chinese Wall depends on the running domains, so it could not be checked
Checking create: PERMITTED
   (not checked: the boot images, the accelerator and the running domains' names: shyped is not running)
Dry Run: PASSED"
[ "$OUT" = "$EXPECTED_DRY" ] && pass "dry-run PASSED output is exact" || fail "dry-run: $OUT"
sed -i "s|file:$T/p.img|file:$T/c.img|" "$T/dry.cfg"
expect_split 1 "dry-run of a denied disk" -- shype dry-run "$T/dry.cfg"
OUT="$STDOUT"
EXPECTED_DENY="Checking domain:
   pepsi1: PERMITTED
Checking resources:
   file:$T/c.img: DENIED
   --> res: CocaCola (ACM:example.test)
   --> dom: PepsiCo (ACM:example.test)
   --> labels 'PepsiCo' and 'CocaCola' share no STE type
Checking Chinese Wall: NOT CHECKED
   --> shyped is not running: the Chinese Wall depends on the running domains, so it could not be checked
Checking create: PERMITTED
   (not checked: the boot images, the accelerator and the running domains' names: shyped is not running)
Dry Run: FAILED"
[ "$OUT" = "$EXPECTED_DENY" ] && pass "dry-run FAILED output is exact" || fail "dry-run denied: $OUT"
shype rmlabel dom "$T/dry.cfg"
expect_rc 1 "dry-run of an unlabeled domain" -- shype dry-run "$T/dry.cfg"
expect_out "--> Domain not labeled" "the denial reason"
expect_out "Checking resources: \(skipped\)" "resources are skipped"

# --- two shype processes racing on the label database ---
for p in a b; do
  ( for i in $(seq 1 20); do shype addlabel SystemManagement res "vnet:race-$p-$i" || echo "LOST $p $i"; done ) >"$T/race-$p.log" 2>&1 &
done
wait
if grep -q LOST "$T"/race-*.log; then fail "a racing addlabel failed: $(cat "$T"/race-*.log)"; else pass "40 racing addlabels all succeeded"; fi
expect_rc 0 "resources" -- shype resources
[ "$(grep -c '^vnet:race-' <<<"$OUT")" = 40 ] && pass "every racing write is in the database" \
  || fail "expected 40 race labels, got $(grep -c '^vnet:race-' <<<"$OUT")"

# --- policy updates ---
V11="$T/v11.xml"
sed 's|<Version>1.0</Version>|<Version>1.1</Version><FromPolicy><PolicyName>example.test</PolicyName><Version>1.0</Version></FromPolicy>|' \
  "$TESTPOL" >"$V11"
python3 - "$V11" <<'PY'
import re, sys
p = sys.argv[1]; s = open(p).read()
s = re.sub(r'<ResourceLabel>\s*<Name>PepsiCo</Name>.*?</ResourceLabel>', '', s, flags=re.S)
open(p, 'w').write(s)
PY
expect_rc 0 "an update without a stored resource label commits, as Xen's" -- shype setpolicy "$V11"
expect_out "Resource label invalidated: file:$T/p.img is now INV_ACM:example.test:PepsiCo" "the reply lists the invalidated label"
expect_rc 0 "getlabel res of the invalidated resource" -- shype getlabel res "file:$T/p.img"
[ "$OUT" = "INV_ACM:example.test:PepsiCo" ] && pass "its label is INV_ACM, never left dangling" || fail "after update: $OUT"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "Version of XML policy : 1.1" "the update committed"
expect_rc 2 "the same version again is refused (bad input: the XML must be changed)" -- shype setpolicy "$TESTPOL"
expect_out "VERSION_PREVENTS_UPDATE" "the version rule is named"
expect_rc 0 "resetpolicy" -- shype resetpolicy
[ "$OUT" = "Successfully reset the system's policy." ] && pass "resetpolicy output" || fail "reset: $OUT"
expect_rc 0 "getlabel res after reset" -- shype getlabel res "file:$T/p.img"
[ "$OUT" = "INV_ACM:example.test:PepsiCo" ] && pass "old labels are invalidated, as xm" || fail "after reset: $OUT"

# --- JSON output ---
expect_rc 0 "getpolicy --json" -- shype getpolicy --json
expect_out '"name": "DEFAULT"' "--json gives the structured result"
expect_rc 1 "getlabel --json of an unlabeled resource" -- shype --json getlabel res "file:$T/none.img"
expect_out '"code": "not_found"' "--json errors carry a code"

finish
