#!/usr/bin/env bash
# The main job: builds shype and its guest image, then shows mandatory access control of VMs on
# a private state directory — shyped starts, the demo policy (a bank and a game studio, rivals
# under the Chinese Wall) is installed, three labeled guests boot under QEMU, a conflicting guest
# is refused with its reason, dry-run and the audit trail are shown, and everything is cleaned up.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
bash scripts/setup.sh
bash guest/build-image.sh build/guest

B="$ROOT/build/bin"
DEMO="$(mktemp -d /tmp/shype-demo.XXXXXX)"
export SHYPE_STATE_DIR="$DEMO/state"
DAEMON=""
cleanup() {
  if [ -n "$DAEMON" ]; then
    for d in $("$B/shype" list 2>/dev/null | awk 'NR>2 {print $1}'); do "$B/shype" destroy "$d" || true; done
    kill "$DAEMON" 2>/dev/null || true
    wait "$DAEMON" 2>/dev/null || true
  fi
  rm -rf "$DEMO"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s|$DEMO|\$DEMO|g; s|$B/||g"; "$@" 2>&1 | sed "s|$DEMO|\$DEMO|g" || true; }
guest() {  # guest NAME LABEL [disk]
  local cmd; cmd="$(printf 'echo "I am $(hostname), label $(tr " " "\\n" </proc/cmdline | grep shype.label)"; %s' "${4:-true}" | base64 -w0)"
  {
    echo "# $1: a small demo guest"
    echo "name = \"$1\""
    echo "memory = 128"
    echo "vcpus = 1"
    echo "kernel = \"$ROOT/build/guest/vmlinuz\""
    echo "ramdisk = \"$ROOT/build/guest/initrd.img\""
    echo "extra = \"console=ttyS0 shype.name=$1 shype.run=$cmd\""
    [ -n "${3:-}" ] && echo "disk = [ 'file:$3,xvda,w' ]"
  } >"$DEMO/$1.cfg"
  "$B/shype" addlabel "$2" dom "$DEMO/$1.cfg"
}

step "Start shyped (state in \$DEMO/state, guests under TCG here)"
"$B/shyped" --state-dir "$SHYPE_STATE_DIR" --accel auto --isolated-instance --image-dir "$ROOT/build/guest" >"$DEMO/shyped.log" 2>&1 &
DAEMON=$!
for _ in $(seq 1 100); do [ -S "$SHYPE_STATE_DIR/shyped.sock" ] && "$B/shype" list >/dev/null 2>&1 && break; sleep 0.1; done
"$B/shype" list >/dev/null 2>&1 || { echo "shyped did not start:"; cat "$DEMO/shyped.log"; exit 1; }
show "$B/shype" getpolicy

step "Install the demo policy: Bank and Game are rivals (Chinese Wall), Monitor is neutral"
show "$B/shype" setpolicy examples/policies/shype-demo.xml
show "$B/shype" labels type=any

step "What the policy means, before anything runs: who may share, who may never run together"
show "$B/shype" policy analyze --active

step "Label the disks (resources) and the guests (domains)"
printf 'ledger: 1000 EUR' | dd of="$DEMO/bank.img" bs=1M count=1 conv=sync status=none
printf 'savegame: level 7' | dd of="$DEMO/game.img" bs=1M count=1 conv=sync status=none
show "$B/shype" addlabel res_Bank res "file:$DEMO/bank.img"
show "$B/shype" addlabel res_Game res "file:$DEMO/game.img"
guest bank-web Bank "$DEMO/bank.img" 'head -c 16 /dev/vda; echo'
echo "vtpm = [ 'type=tpm2' ]" >>"$DEMO/bank-web.cfg"  # its own TPM: measured launch, attestation
guest bank-batch Bank
guest monitor Monitor
guest game Game "$DEMO/game.img"
guest sneaky Bank "$DEMO/game.img"
show "$B/shype" resources
show "$B/shype" getlabel dom "$DEMO/bank-web.cfg"

step "Dry-run before starting anything"
show "$B/shype" dry-run "$DEMO/bank-web.cfg"
show "$B/shype" dry-run "$DEMO/sneaky.cfg"

step "Boot three labeled guests"
show "$B/shype" create "$DEMO/bank-web.cfg"
show "$B/shype" create "$DEMO/bank-batch.cfg"
show "$B/shype" create "$DEMO/monitor.cfg"
show "$B/shype" list --label
for _ in $(seq 1 150); do "$B/shype" console bank-web --log | grep -q SHYPE-RUN-END && break; sleep 0.2; done
show "$B/shype" console bank-web --log | grep -A4 SHYPE-RUN-BEGIN

step "bank-web proves to a remote party which policy and label it runs under (its vTPM)"
NONCE="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
show "$B/shype" vtpm list
"$B/shype" vtpm ca -o "$DEMO/host-ca.pem"
show "$B/shype" attest bank-web --nonce "$NONCE" -o "$DEMO/attest-bank-web"
show "$B/shype" verify "$DEMO/attest-bank-web" --ca "$DEMO/host-ca.pem" --nonce "$NONCE" --expect-label Bank
show "$B/shype" verify "$DEMO/attest-bank-web" --ca "$DEMO/host-ca.pem" --nonce "$NONCE" --expect-label Game

step "What an update would change (Monitor renamed Auditor, reading Bank data, a rival of Bank), checked against what runs (nothing changes)"
perl -0pe 's#<Version>1.0</Version>#<Version>1.1</Version><FromPolicy><PolicyName>shype.demo</PolicyName><Version>1.0</Version></FromPolicy>#;
  s#(<Type>Game</Type>\s*)</Conflict>#$1<Type>Monitoring</Type></Conflict>#;
  s#<Name>Monitor</Name>(\s*<SimpleTypeEnforcementTypes>)#<Name from="Monitor">Auditor</Name>$1<Type>Bank</Type>#' \
  examples/policies/shype-demo.xml >"$DEMO/next.xml"
show "$B/shype" policy diff --active "$DEMO/next.xml"

step "A Game guest while Bank guests run: refused by the Chinese Wall"
show "$B/shype" dry-run "$DEMO/game.cfg"
show "$B/shype" create "$DEMO/game.cfg"
step "A Bank guest asking for the Game disk: refused by STE"
show "$B/shype" create "$DEMO/sneaky.cfg"

step "...and by the back door: a Bank overlay whose qcow2 header names the Game disk"
qemu-img create -q -f qcow2 -b "$DEMO/game.img" -F raw "$DEMO/bank-overlay.qcow2"
show "$B/shype" addlabel res_Bank res "file:$DEMO/bank-overlay.qcow2"
guest overlay Bank
echo "disk = [ 'qcow2:$DEMO/bank-overlay.qcow2,xvda,w' ]" >>"$DEMO/overlay.cfg"
show "$B/shype" create "$DEMO/overlay.cfg"

step "Each QEMU is jailed: its own uid, no capabilities, only the fds shyped opened"
QPID="$("$B/shype" info bank-web --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"
show grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' "/proc/$QPID/status"
printf '$ ls -l /proc/%s/fd   (what bank-web'"'"'s QEMU holds besides sockets)\n' "$QPID"
ls -l "/proc/$QPID/fd" 2>/dev/null | awk '{print $NF}' | grep '^/' | sed "s|$DEMO|\$DEMO|g" | sort -u
step "The audit trail of the denials"
show "$B/shype" audit -n 3

step "Once no Bank guest runs, the Game guest may start"
show "$B/shype" destroy bank-web
show "$B/shype" destroy bank-batch
show "$B/shype" create "$DEMO/game.cfg"
show "$B/shype" list --label

step "Clean up"
