#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Boots the guest image from IMAGEDIR (built by build-image.sh) under QEMU TCG and checks the init
# protocol: shype.run output and rc, a virtio-blk disk passed as an inherited fd, ivshmem shared
# memory through shype-guest, the respawning console shell, and power-off on the ACPI power button
# (QMP system_powerdown, as `shype shutdown` sends). Prints the boot and power-off times.
set -euo pipefail

img="$(cd "${1:?usage: boot_test.sh IMAGEDIR}" && pwd)"
if [ ! -f "$img/vmlinuz" ] || [ ! -f "$img/initrd.img" ]; then
  echo "boot_test.sh: no guest image in $img (run build-image.sh first)" >&2
  exit 1
fi
tmp="$(mktemp -d)"
guest_pid=''
cleanup() {
  if [ -n "$guest_pid" ]; then kill "$guest_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
kernel_release="$(sed -n 's/^kernel=linux-image-//p' "$img/manifest.txt")"
boot_times=()

fail() {  # MESSAGE: prints the current guest's console and stderr, then fails the test
  echo "FAIL [$name]: $1" >&2
  echo "--- console ($tmp/$name.log, last 40 lines) ---" >&2
  tail -n 40 "$tmp/$name.log" | tr -d '\r' >&2 || true
  echo "--- qemu stderr ---" >&2
  grep -v 'module ui-ui-gtk' "$tmp/$name.err" >&2 || true
  exit 1
}

b64() { printf '%s' "$1" | base64 -w0; }

start_guest() {  # NAME APPEND [QEMU ARGS...]: boots in the background; console in $tmp/NAME.log
  name="$1"
  local append="$2"
  shift 2
  mkfifo "$tmp/$name.in"
  timeout 90 qemu-system-x86_64 -accel tcg -m 128 -nodefaults -display none -no-reboot \
    -serial stdio -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "console=ttyS0 $append" "$@" \
    <"$tmp/$name.in" >"$tmp/$name.log" 2>"$tmp/$name.err" &
  guest_pid=$!
  exec {guest_in}>"$tmp/$name.in"
  guest_start=$EPOCHREALTIME
  wait_for SHYPE-GUEST-UP || fail "no SHYPE-GUEST-UP"
  boot_times+=("$name=$(awk -v a="$guest_start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2fs", b - a}')")
}

wait_for() {  # PATTERN [SECONDS]: waits (60 s) for PATTERN (grep -E) on the console while it runs
  local deadline=$((SECONDS + ${2:-60}))
  until grep -qE -- "$1" "$tmp/$name.log"; do
    if ! kill -0 "$guest_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      grep -qE -- "$1" "$tmp/$name.log"
      return
    fi
    sleep 0.05
  done
}

finish_guest() {  # waits for QEMU to exit by itself (the guest powers off); fails on rc != 0
  local rc=0
  wait "$guest_pid" || rc=$?
  guest_pid=''
  exec {guest_in}>&-
  [ "$rc" -eq 0 ] || fail "qemu exited with rc=$rc (124 = timeout)"
}

run_output() {  # prints the console lines between SHYPE-RUN-BEGIN and SHYPE-RUN-END, \r removed
  tr -d '\r' <"$tmp/$name.log" | sed -n '/^SHYPE-RUN-BEGIN$/,/^SHYPE-RUN-END/p' | sed '1d;$d'
}

expect_console() {  # LINE: the console must contain exactly this line
  tr -d '\r' <"$tmp/$name.log" | grep -qxF -- "$1" || fail "no console line '$1'"
}

expect_line() {  # LINE: the run output must contain exactly this line
  run_output | grep -qxF -- "$1" || fail "missing output line '$1'"
}

test_run() {
  start_guest run "shype.name=boot-test shype.label=test_label shype.halt=1 shype.run=$(
    b64 'echo hello; uname -r; hostname; shype-guest info | grep ^shype.label=; echo to-stderr >&2; exit 3')"
  finish_guest
  expect_console 'SHYPE-RUN-END rc=3'
  expect_line hello
  expect_line "$kernel_release"
  expect_line boot-test
  expect_line shype.label=test_label
  expect_line to-stderr
}

test_disk() {
  local magic="SHYPE-DISK-MAGIC-$RANDOM$RANDOM" disk="$tmp/disk.img"
  truncate -s 1M "$disk"
  printf '%s' "$magic" | dd of="$disk" conv=notrunc status=none
  exec 7<>"$disk"
  start_guest disk "shype.halt=1 shype.run=$(b64 "
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
    head -c ${#magic} /dev/vda; echo
    echo GUEST-WROTE-VDA | dd of=/dev/vda bs=512 seek=1 conv=sync 2>/dev/null && sync")" \
    -add-fd fd=7,set=1,opaque=disk-rw -blockdev driver=file,node-name=f1,filename=/dev/fdset/1 \
    -blockdev driver=raw,node-name=d1,file=f1 -device virtio-blk-pci,drive=d1
  exec 7>&-
  finish_guest
  expect_console 'SHYPE-RUN-END rc=0'
  expect_line "$magic"
  local written
  written="$(dd if="$disk" bs=512 skip=1 count=1 status=none | tr -d '\0')"
  [ "$written" = GUEST-WROTE-VDA ] || fail "host read '$written' from sector 1, not GUEST-WROTE-VDA"
}

test_shm() {
  local magic="HOST-SHM-MAGIC-$RANDOM" ack="GUEST-SHM-ACK-$RANDOM" shm="$tmp/shm"
  truncate -s 1M "$shm"
  printf '%s' "$magic" | dd of="$shm" bs=4096 seek=1 conv=notrunc status=none
  start_guest shm "shype.halt=1 shype.run=$(b64 "shype-guest shm-find
    shype-guest shm-read auto 4096 ${#magic}; echo
    shype-guest shm-write auto 0x2000 $ack")" \
    -object memory-backend-file,id=shm0,mem-path="$shm",size=1M,share=on \
    -device ivshmem-plain,memdev=shm0
  finish_guest
  expect_console 'SHYPE-RUN-END rc=0'
  run_output | grep -qE '^[0-9a-f:.]+ size=1048576 /sys/bus/pci/devices/' || fail "shm-find output"
  expect_line "$magic"
  local written
  written="$(dd if="$shm" bs=4096 skip=2 count=1 status=none | tr -d '\0')"
  [ "$written" = "$ack" ] || fail "host read '$written' at 0x2000, not $ack"
}

send_until() {  # COMMAND PATTERN: types COMMAND on the console every 2 s until PATTERN shows up
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    printf '%s\n' "$1" >&"$guest_in"
    if wait_for "$2" 2; then return 0; fi
  done
  fail "console never printed /$2/ for '$1'"
}

# shellcheck disable=SC2016  # the guest's shell expands these, so echoed input cannot match
test_console() {
  start_guest console "shype.name=console-test"
  send_until 'echo CONSOLE-$((6*7)) $(hostname)' '^CONSOLE-42 console-test'
  printf 'exit\n' >&"$guest_in"  # the shell must come back
  send_until 'echo AGAIN-$((2+3))' '^AGAIN-5'
  printf 'poweroff -f\n' >&"$guest_in"
  finish_guest
}

# Sends QMP capabilities + system_powerdown on unix socket $1 (python3: bash cannot do unix sockets).
qmp_powerdown() {
  python3 - "$1" <<'PY'
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(sys.argv[1])
stream = sock.makefile("rw")
json.loads(stream.readline())  # greeting
for command in ("qmp_capabilities", "system_powerdown"):
    stream.write(json.dumps({"execute": command}) + "\n")
    stream.flush()
    while True:  # skip asynchronous events (e.g. POWERDOWN) until the reply
        reply = json.loads(stream.readline())
        if "error" in reply:
            sys.exit(f"qmp {command}: {reply['error']}")
        if "return" in reply:
            break
PY
}

powerdown_time=skipped
test_powerdown() {
  if ! command -v python3 >/dev/null; then
    echo "skip: test_powerdown (no python3 on the host to speak QMP over a unix socket)"
    return
  fi
  local qmp="$tmp/qmp.sock" deadline sent
  start_guest powerdown "shype.name=powerdown-test" -qmp "unix:$qmp,server=on,wait=off"
  qmp_powerdown "$qmp" || fail "QMP system_powerdown failed"
  sent=$EPOCHREALTIME
  deadline=$((SECONDS + 15))
  while kill -0 "$guest_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.02; done
  kill -0 "$guest_pid" 2>/dev/null && fail "QEMU still runs 15 s after system_powerdown"
  powerdown_time="$(awk -v a="$sent" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2fs", b - a}')"
  finish_guest
  # The shell prompt may precede it on the same line.
  grep -qF 'shype-guest: ACPI power button pressed, powering off' "$tmp/$name.log" \
    || fail "the guest did not report the power button"
}

for test in test_run test_disk test_shm test_console test_powerdown; do
  "$test"
  echo "ok: $test"
done
echo "boot_test: all passed; time to SHYPE-GUEST-UP: ${boot_times[*]};" \
  "system_powerdown to QEMU exit: $powerdown_time; initrd $(stat -c %s "$img/initrd.img") bytes"
