#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The vTPM with real QEMU (TCG) guests and swtpm (issue 9): a domain with vtpm = ['type=tpm2']
# reads PCRs 7-9 equal to the replay of the launch log (also after a guest reboot); attest +
# verify pass, and verify fails for a tampered log, a wrong nonce, another expected label, a
# quote of another domain's vTPM and another CA's certificate, and names bad input; an NV index
# the guest wrote survives reboot, destroy + create, kill -9 of shyped and of swtpm; the state
# on disk is not plaintext; a domain of another label is refused the vTPM; vtpm destroy removes
# it. At most 2 guests at once.
source "$(dirname "$0")/lib.sh"

start_daemon
expect_rc 0 "setpolicy installs the cloud policy" -- shype setpolicy "$SRC/tests/data/policies/shype-cloud.xml"
POLICY=shype.cloud

b64() { printf '%s' "$1" | base64 -w0; }
# guest NAME LABEL SCRIPT: a config with a vTPM whose guest runs SCRIPT.
guest() {
  domain_config "$1" "$2" "vtpm = [ 'type=tpm2' ]" >/dev/null
  sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=$1 shype.run=$(b64 "$3")\"|" "$T/$1.cfg"
}
SECRET=73687970652d6e762d7365637265742d73687970652d6e762d7365637265742d  # "shype-nv-secret-" x2
# First boot: the NV index is not there yet: write it and reboot in place; the reboot reads it.
guest bank CustomerA "shype-guest tpm-pcrs; if shype-guest tpm-nv-read; then echo BANK-DONE; else shype-guest tpm-nv-write $SECRET && sync && reboot -f; fi"

expect_rc 0 "create bank with a vTPM" -- shype create "$T/bank.cfg"
wait_console bank "BANK-DONE" 150 && pass "bank rebooted and ran again" || fail "bank console: $OUT"
CONSOLE="$OUT"
grep -q "nv $SECRET" <<<"$CONSOLE" && pass "the NV index written before the reboot is read after it" \
  || fail "no NV value after the reboot: $CONSOLE"
expect_rc 0 "info shows the vTPM" -- shype info bank --json
expect_out '"vtpm"' "... a vtpm section"
expect_out '"state": ?"running"' "... running"
expect_out '"measured_launches": ?[2-9]' "... the launch measured at each TPM reset (start, reboot)"

NONCE=00112233445566778899aabbccddeeff
expect_rc 0 "shype vtpm ca writes the host CA" -- shype vtpm ca -o "$T/ca.pem"
expect_rc 0 "attest bank" -- shype attest bank --nonce "$NONCE" -o "$T/att"
for f in quote.msg quote.sig eventlog.json ak-cert.pem ak.pub.pem ek-cert.pem nonce; do
  [ -s "$T/att/$f" ] && pass "attest wrote $f" || fail "attest wrote no $f"
done

# The guest's PCRs (the last tpm-pcrs, after the reboot) are the replay of the launch log.
python3 - "$T/att/eventlog.json" >"$T/replay.txt" <<'PY'
import hashlib, json, sys
log = json.load(open(sys.argv[1]))
pcrs = {7: bytes(32), 8: bytes(32), 9: bytes(32)}
for e in log["events"]:
    pcrs[e["pcr"]] = hashlib.sha256(pcrs[e["pcr"]] + bytes.fromhex(e["digest"])).digest()
for n in (7, 8, 9):
    print(f"pcr{n} {pcrs[n].hex()}")
PY
GUEST_PCRS="$(grep -E '^pcr[789] [0-9a-f]{64}' <<<"$CONSOLE" | tr -d '\r' | tail -3)"
expect_eq "$GUEST_PCRS" "$(cat "$T/replay.txt")" "the PCRs the guest reads are the replayed event log"
grep -q '"type": "shype-record"' "$T/att/eventlog.json" && pass "the log holds the shype record" \
  || fail "no shype record in the log"

expect_split 0 "verify passes with the nonce, label and policy expected" -- \
  shype verify "$T/att" --ca "$T/ca.pem" --nonce "$NONCE" --expect-label CustomerA --expect-policy "$POLICY" \
  --expect-domain bank
expect_eq "$(grep -c 'VERIFIED' <<<"$STDOUT")" 1 "... it says VERIFIED"
grep -q "Label:    CustomerA" <<<"$STDOUT" && pass "... and prints the label" || fail "no label: $STDOUT"
if command -v tpm2_checkquote >/dev/null; then
  expect_rc 0 "tpm2_checkquote accepts the quote with the AK's public key" -- \
    tpm2_checkquote -u "$T/att/ak.pub.pem" -m "$T/att/quote.msg" -s "$T/att/quote.sig" -g sha256 -q "$NONCE"
fi

expect_split 1 "verify fails for another nonce" -- shype verify "$T/att" --ca "$T/ca.pem" --nonce 99
grep -q "nonce" <<<"$STDERR" && pass "... naming the nonce" || fail "$STDERR"
expect_split 1 "verify fails for another expected label" -- \
  shype verify "$T/att" --ca "$T/ca.pem" --expect-label CustomerB
grep -q "'CustomerA', not 'CustomerB'" <<<"$STDERR" && pass "... naming both labels" || fail "$STDERR"

cp -r "$T/att" "$T/tampered"
python3 - "$T/tampered/eventlog.json" <<'PY'
import hashlib, json, sys
p = sys.argv[1]; log = json.load(open(p))
for e in log["events"]:
    if e["type"] == "cmdline":
        e["data"] = e["data"].replace("console=ttyS0", "console=ttyS1")
        e["digest"] = hashlib.sha256(e["data"].encode()).hexdigest()
json.dump(log, open(p, "w"))
PY
expect_split 1 "verify fails for a tampered event log" -- shype verify "$T/tampered" --ca "$T/ca.pem"
grep -q "does not match the quoted PCRs" <<<"$STDERR" && pass "... the replay mismatch named" || fail "$STDERR"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=other" \
  -keyout "$T/other.key" -out "$T/other.pem" -days 1 >/dev/null 2>&1
expect_split 1 "verify fails with another CA" -- shype verify "$T/att" --ca "$T/other.pem"
grep -q "does not chain" <<<"$STDERR" && pass "... the chain named" || fail "$STDERR"

for bad in eventlog.json quote.msg ak-cert.pem; do
  cp -r "$T/att" "$T/bad-$bad"
done
echo garbage >"$T/bad-eventlog.json/eventlog.json"
head -c 40 "$T/att/quote.msg" >"$T/bad-quote.msg/quote.msg"
echo garbage >"$T/bad-ak-cert.pem/ak-cert.pem"
for bad in eventlog.json quote.msg ak-cert.pem; do
  expect_split 2 "verify calls a damaged $bad bad input" -- shype verify "$T/bad-$bad" --ca "$T/ca.pem"
  grep -q "$bad" <<<"$STDERR" && pass "... naming $bad" || fail "$STDERR"
done

# A quote of another domain's vTPM, presented with bank's certificate and log.
guest game CustomerB "echo GAME-UP"
expect_rc 0 "create game with its own vTPM" -- shype create "$T/game.cfg"
wait_console game "GAME-UP" 90 && pass "game runs" || fail "game console: $OUT"
expect_rc 0 "attest game" -- shype attest game --nonce "$NONCE" -o "$T/game-att"
cp -r "$T/att" "$T/swapped"
cp "$T/game-att/quote.msg" "$T/game-att/quote.sig" "$T/swapped/"
expect_split 1 "verify fails for the quote of another domain's vTPM" -- shype verify "$T/swapped" --ca "$T/ca.pem"
grep -q "signature" <<<"$STDERR" && pass "... the signature named" || fail "$STDERR"
expect_rc 0 "destroy game" -- shype destroy game

# State at rest: no plaintext of what the guest stored.
STATE="$SHYPE_STATE_DIR/vtpm/domains/bank/tpm/tpm2-00.permall"
[ -s "$STATE" ] && pass "bank's vTPM state is on disk" || fail "no $STATE"
if grep -q "shype-nv-secret-" "$STATE"; then fail "the state file holds the NV data in plaintext"
else pass "the state file does not hold the NV data in plaintext"; fi
KEY="$SHYPE_STATE_DIR/vtpm/state.key"
expect_eq "$(stat -c %a "$KEY")" 600 "the host state key is 0600"

expect_split 1 "vtpm destroy is refused while bank runs" -- shype vtpm destroy bank
# Destroy + create: the NV index is still there.
guest bank CustomerA "shype-guest tpm-nv-read; echo BANK-AGAIN"
expect_rc 0 "destroy bank" -- shype destroy bank
expect_rc 0 "create bank again" -- shype create "$T/bank.cfg"
wait_console bank "BANK-AGAIN" 90 && pass "bank ran again" || fail "bank console: $OUT"
grep -q "nv $SECRET" <<<"$OUT" && pass "the NV index survives destroy + create" || fail "$OUT"

# kill -9 of shyped: the domain runs on; a restarted shyped says its vTPM stopped; its state is kept.
kill9_daemon
start_daemon
expect_rc 0 "vtpm list after shyped's kill -9" -- shype vtpm list
expect_out "^bank +[0-9a-f-]{36} +CustomerA +stopped" "... bank's vTPM is listed, stopped"
expect_rc 0 "bank was found again" -- shype info bank --json
expect_out '"vtpm:bank"' "... with its vTPM among its resources"
expect_split 1 "vtpm destroy is refused while the recovered bank runs" -- shype vtpm destroy bank
expect_split 1 "a relabel of the recovered bank is refused: its vTPM is CustomerA's" -- \
  shype addlabel CustomerC dom bank
grep -q "vtpm:bank" <<<"$STDERR" && pass "... naming the vTPM" || fail "$STDERR"
expect_rc 0 "destroy bank after the restart" -- shype destroy bank
expect_rc 0 "create bank after the restart" -- shype create "$T/bank.cfg"
wait_console bank "BANK-AGAIN" 90 && pass "bank ran after the restart" || fail "bank console: $OUT"
grep -q "nv $SECRET" <<<"$OUT" && pass "the NV index survives kill -9 of shyped" || fail "$OUT"

# kill -9 of swtpm: the vTPM is reported failed; the next start has the NV index.
SWTPM="$(shype info bank --json | sed -n 's/.*"swtpm_pid": *\([0-9]*\).*/\1/p')"
[ -n "$SWTPM" ] && kill -9 "$SWTPM"
sleep 1
expect_rc 0 "vtpm list after swtpm's kill -9" -- shype vtpm list
expect_out "^bank .* failed: swtpm exited" "... bank's vTPM is failed: swtpm exited"
expect_rc 0 "destroy bank after swtpm died" -- shype destroy bank
expect_rc 0 "create bank after swtpm died" -- shype create "$T/bank.cfg"
wait_console bank "BANK-AGAIN" 90 && pass "bank ran after swtpm's kill -9" || fail "bank console: $OUT"
grep -q "nv $SECRET" <<<"$OUT" && pass "the NV index survives kill -9 of swtpm" || fail "$OUT"
expect_rc 0 "destroy bank" -- shype destroy bank

# The vTPM belongs to CustomerA: bank with another label is refused it, and nothing starts.
guest bank CustomerB "echo WRONG-LABEL-RAN"
expect_split 1 "bank labeled CustomerB is refused CustomerA's vTPM" -- shype create "$T/bank.cfg"
grep -q "vtpm:bank belongs to label 'CustomerA', not 'CustomerB'" <<<"$STDERR" \
  && pass "... naming the vTPM's label" || fail "$STDERR"
expect_rc 1 "... no domain bank exists" -- shype info bank

# vtpm destroy: securely removed; a new bank gets a new vTPM without the NV index.
OLD_UUID="$(shype vtpm list | awk '$1 == "bank" {print $2}')"
expect_rc 0 "vtpm destroy bank" -- shype vtpm destroy bank
[ ! -e "$SHYPE_STATE_DIR/vtpm/domains/bank" ] && pass "its state directory is gone" || fail "state left"
expect_rc 0 "vtpm list" -- shype vtpm list
expect_no_out "^bank " "... bank's vTPM is no longer listed"
expect_rc 1 "vtpm destroy of a vTPM that does not exist" -- shype vtpm destroy bank
expect_rc 0 "create bank (CustomerB) with a new vTPM" -- shype create "$T/bank.cfg"
wait_console bank "WRONG-LABEL-RAN" 90 && pass "bank runs with a new vTPM" || fail "$OUT"
NEW_UUID="$(shype vtpm list | awk '$1 == "bank" {print $2}')"
[ -n "$NEW_UUID" ] && [ "$NEW_UUID" != "$OLD_UUID" ] && pass "the new vTPM has a new uuid" \
  || fail "uuid $OLD_UUID -> $NEW_UUID"
expect_rc 0 "destroy bank" -- shype destroy bank

finish
