#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Domain start benchmark (issue: "time spent in ACM checks as a share of domain start, and the
# create-to-first-guest-output time versus starting the same QEMU command by hand").
# Runs N (default 5) creates of one small guest through shyped and N starts of the equivalent
# QEMU command by hand, each timed from launch to the guest's first console line
# (SHYPE-GUEST-UP), and prints medians plus shyped's own split of each create into checks
# (label, authorization, Chinese Wall, resource STE) and launch. Usage: bench/domain-start.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${SHYPE_BUILD:-$ROOT/build}"
N="${1:-5}"
B="$BUILD/bin"; G="$BUILD/guest"
T="$(mktemp -d /tmp/shype-bench.XXXXXX)"
export SHYPE_STATE_DIR="$T/state"
cleanup() { [ -n "${D:-}" ] && kill "$D" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
wait_line() {  # wait_line FILE PATTERN: until FILE has a line matching PATTERN (60 s max)
  for _ in $(seq 1 6000); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.01; done; return 1
}

"$B/shyped" --state-dir "$SHYPE_STATE_DIR" --accel tcg --log-level warn --isolated-instance --image-dir "$G" >"$T/shyped.log" 2>&1 &
D=$!
for _ in $(seq 1 100); do "$B/shype" list >/dev/null 2>&1 && break; sleep 0.05; done
"$B/shype" setpolicy "$ROOT/examples/policies/shype-demo.xml" >/dev/null
printf 'bench' | dd of="$T/disk.img" bs=1M count=1 conv=sync status=none
"$B/shype" addlabel res_Monitoring res "file:$T/disk.img"
APPEND="console=ttyS0 shype.name=bench"
cat >"$T/bench.cfg" <<CFG
name = "bench"
memory = 128
vcpus = 1
kernel = "$G/vmlinuz"
ramdisk = "$G/initrd.img"
extra = "$APPEND"
disk = [ 'file:$T/disk.img,xvda,w' ]
access_control = ['policy=shype.demo,label=Monitor']
CFG

for i in $(seq 1 "$N"); do
  start=$(now)
  "$B/shype" create "$T/bench.cfg" >/dev/null
  log="$("$B/shype" info bench --json | sed -n 's/.*"console_log": "\([^"]*\)".*/\1/p')"
  wait_line "$log" SHYPE-GUEST-UP
  end=$(now)
  echo "$end - $start" | bc >>"$T/shyped.times"
  info="$("$B/shype" info bench --json | tr -d ' \n')"
  a="$(grep -oE '"admission_us":[0-9.]+' <<<"$info" | cut -d: -f2)"
  l="$(grep -oE '"launch_ms":[0-9.]+' <<<"$info" | cut -d: -f2)"
  echo "$a $l" >>"$T/split"
  "$B/shype" destroy bench
done

for i in $(seq 1 "$N"); do
  rm -f "$T/hand.log"
  exec 7<>"$T/disk.img"
  start=$(now)
  qemu-system-x86_64 -accel tcg -m 128 -smp 1 -nodefaults -no-user-config -display none -vga none \
    -machine pc -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \
    -kernel "$G/vmlinuz" -initrd "$G/initrd.img" -append "$APPEND" \
    -add-fd fd=7,set=1 -blockdev driver=file,node-name=f1,filename=/dev/fdset/1 \
    -blockdev driver=raw,node-name=d1,file=f1 -device virtio-blk-pci,drive=d1 \
    -chardev file,id=ser0,path="$T/hand.log" -serial chardev:ser0 >/dev/null 2>&1 &
  Q=$!
  wait_line "$T/hand.log" SHYPE-GUEST-UP
  end=$(now)
  echo "$end - $start" | bc >>"$T/hand.times"
  kill -9 $Q; wait $Q 2>/dev/null || true
  exec 7>&-
done

# The vTPM's cost: the same guest with vtpm = ['type=tpm2']. The first create manufactures it
# (EK, certificate, AK); the others start it warm. launch_ms includes swtpm, the measured
# launch (memfd copies + hashes of kernel and initrd, extends) and QEMU's TPM set-up.
sed -e 's/^name = "bench"/name = "benchtpm"/' "$T/bench.cfg" >"$T/benchtpm.cfg"
echo "vtpm = [ 'type=tpm2' ]" >>"$T/benchtpm.cfg"
for i in $(seq 0 "$N"); do
  "$B/shype" create "$T/benchtpm.cfg" >/dev/null
  log="$("$B/shype" info benchtpm --json | sed -n 's/.*"console_log": "\([^"]*\)".*/\1/p')"
  wait_line "$log" SHYPE-GUEST-UP
  l="$("$B/shype" info benchtpm --json | tr -d ' \n' | grep -oE '"launch_ms":[0-9.]+' | cut -d: -f2)"
  if [ "$i" = 0 ]; then echo "$l" >"$T/tpm.first"; else echo "$l" >>"$T/tpm.warm"; fi
  if [ "$i" = "$N" ]; then
    "$B/shype" vtpm ca -o "$T/ca.pem"
    for j in $(seq 1 "$N"); do
      start=$(now)
      "$B/shype" attest benchtpm --nonce 0011223344556677 -o "$T/att" >/dev/null
      mid=$(now)
      "$B/shype" verify "$T/att" --ca "$T/ca.pem" --nonce 0011223344556677 >/dev/null
      end=$(now)
      echo "$mid - $start" | bc >>"$T/attest.times"
      echo "$end - $mid" | bc >>"$T/verify.times"
    done
  fi
  "$B/shype" destroy benchtpm
done

shyped_med=$(median <"$T/shyped.times")
hand_med=$(median <"$T/hand.times")
checks_med=$(cut -d' ' -f1 "$T/split" | median)
launch_med=$(cut -d' ' -f2 "$T/split" | median)
share=$(echo "scale=6; $checks_med * 100 / 1000000 / $shyped_med" | bc)
printf 'runs: %s each (TCG, 128 MiB guest, one fd-passed disk)\n' "$N"
printf 'shype create -> first guest output  median %.3f s\n' "$shyped_med"
printf 'QEMU by hand  -> first guest output  median %.3f s\n' "$hand_med"
printf 'shyped checks (label, Chinese Wall, resource STE) median %.0f us = %s %% of the start\n' "$checks_med" "$share"
printf 'shyped launch (spawn, QMP handshake, cont)        median %.1f ms\n' "$launch_med"
tpm_warm=$(median <"$T/tpm.warm")
printf 'with a vTPM: launch, first start (manufacture)    %.1f ms\n' "$(cat "$T/tpm.first")"
printf 'with a vTPM: launch, warm start                   median %.1f ms (+%.1f ms)\n' "$tpm_warm" \
  "$(echo "$tpm_warm - $launch_med" | bc)"
printf 'shype attest (quote via the relay, CLI round trip) median %.3f s\n' "$(median <"$T/attest.times")"
printf 'shype verify (offline)                              median %.3f s\n' "$(median <"$T/verify.times")"
