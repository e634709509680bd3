#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Two TCG guests from IMAGEDIR share an ivshmem-doorbell device served by ivshmem_server.py and
# exercise the shype_ivshmem module through shype-guest: A writes "hello", B reads it; B's
# `shm wait 2` times out (nobody rings); B waits, A rings B's ID (found in the shared memory) and B
# prints `doorbell 1`; A unloads and reloads the module; finally the host hot-unplugs B's device
# (QMP device_del, ACPI hotplug) while B waits: the wait fails cleanly and the node disappears.
# A stays up until then: QEMU 7.2 frees a peer's eventfds twice when a device that has seen that
# peer disconnect is unplugged (heap corruption, QEMU crashed at exit), so B must not see A leave
# first. A is then stopped with QMP quit.
set -euo pipefail

img="$(cd "${1:?usage: doorbell_test.sh IMAGEDIR}" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f "$img/vmlinuz" ] || [ ! -f "$img/initrd.img" ]; then
  echo "doorbell_test.sh: no guest image in $img (run build-image.sh first)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null; then
  echo "skip: doorbell_test (no python3 for the ivshmem server and QMP)"
  exit 0
fi
tmp="$(mktemp -d)"
declare -A pids=()
server_pid=''
cleanup() {
  local pid
  for pid in "${pids[@]}" $server_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
started=$EPOCHREALTIME

fail() {  # MESSAGE: prints both consoles and the server log, then fails the test
  echo "FAIL: $1" >&2
  local log
  for log in "$tmp"/*.log "$tmp"/server.err; do
    [ -f "$log" ] || continue
    echo "--- $log (last 30 lines) ---" >&2
    tr -d '\r' <"$log" | tail -n 30 >&2
  done
  exit 1
}

b64() { printf '%s' "$1" | base64 -w0; }

wait_for() {  # NAME PATTERN [SECONDS]: waits (60 s) for PATTERN (grep -E) on guest NAME's console
  local deadline=$((SECONDS + ${3:-60}))
  until tr -d '\r' <"$tmp/$1.log" | grep -qE -- "$2"; do
    if ! kill -0 "${pids[$1]}" 2>/dev/null || ((SECONDS >= deadline)); then
      tr -d '\r' <"$tmp/$1.log" | grep -qE -- "$2"
      return
    fi
    sleep 0.05
  done
}

start_guest() {  # NAME HALT SCRIPT: boots a guest on the doorbell server; QMP on $tmp/NAME.qmp
  local name="$1"
  timeout 90 qemu-system-x86_64 -accel tcg -m 128 -nodefaults -display none -no-reboot \
    -serial "file:$tmp/$name.log" -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "console=ttyS0 shype.name=$name shype.halt=$2 shype.run=$(b64 "$3")" \
    -chardev "socket,id=ivs,path=$tmp/ivshmem.sock" \
    -device ivshmem-doorbell,id=shm0,chardev=ivs,vectors=1 \
    -qmp "unix:$tmp/$name.qmp,server=on,wait=off" </dev/null 2>"$tmp/$name.err" &
  pids[$name]=$!
  for _ in $(seq 100); do [ -f "$tmp/$name.log" ] && break; sleep 0.05; done
}

finish_guest() {  # NAME: waits for the guest to power off; fails unless QEMU exits with 0
  local rc=0
  wait "${pids[$1]}" || rc=$?
  unset "pids[$1]"
  [ "$rc" -eq 0 ] || fail "qemu $1 exited with rc=$rc (124 = timeout): $(grep -v ui-gtk "$tmp/$1.err")"
}

expect() {  # NAME LINE: guest NAME's shype.run output must contain exactly LINE
  tr -d '\r' <"$tmp/$1.log" | sed -n '/^SHYPE-RUN-BEGIN$/,/^SHYPE-RUN-END/p' | grep -qxF -- "$2" \
    || fail "guest $1: no output line '$2'"
}

expect_re() {  # NAME REGEX: like expect, for a whole line matching the grep -E REGEX
  tr -d '\r' <"$tmp/$1.log" | sed -n '/^SHYPE-RUN-BEGIN$/,/^SHYPE-RUN-END/p' | grep -qxE -- "$2" \
    || fail "guest $1: no output line matching /$2/"
}

# QMP on socket $1: `qmp SOCKET device_del ID` (waits 30 s for DEVICE_DELETED) or `qmp SOCKET quit`.
qmp() {
  python3 - "$@" <<'PY'
import json, socket, sys
path, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(30)
sock.connect(path)
stream = sock.makefile("rw")
json.loads(stream.readline())  # greeting
arguments = {"id": args[0]} if command == "device_del" else {}
for request in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
    stream.write(json.dumps(request) + "\n")
    stream.flush()
    while True:
        reply = json.loads(stream.readline())
        if "error" in reply:
            sys.exit(f"qmp {request['execute']}: {reply['error']}")
        if "return" in reply:
            break
while command == "device_del":  # the guest ejects the device (ACPI), then QEMU reports it
    event = json.loads(stream.readline())
    if event.get("event") == "DEVICE_DELETED" and event["data"].get("device") == args[0]:
        break
PY
}

python3 "$here/ivshmem_server.py" --vectors 1 --size 1048576 "$tmp/ivshmem.sock" \
  >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/server.out" 2>/dev/null && break; sleep 0.05; done
grep -q listening "$tmp/server.out" || fail "ivshmem_server.py did not start"

# A (ID 0): writes hello, rings whoever asks with "ring-me ID", then unloads + reloads the module
# and idles until the host quits it.
# shellcheck disable=SC2016  # the guests' shells expand these
start_guest a 0 '
  echo "A-ID $(shype-guest shm id)"
  shype-guest shm write hello && echo A-WROTE
  i=0
  until v="$(shype-guest shm read)" && [ "${v%% *}" = ring-me ]; do
    i=$((i + 1)); [ "$i" -lt 600 ] || { echo A-NOBODY-ASKED; exit 1; }; sleep 0.05
  done
  shype-guest shm ring "${v#ring-me }" && echo A-RANG
  rmmod shype_ivshmem && echo "A-UNLOADED nodes=$(ls /dev | grep -c ^ivshmem-)"
  insmod /lib/modules/shype_ivshmem.ko && echo "A-RELOADED id=$(shype-guest shm id)"
  echo A-DONE
  sleep 120'
# B boots meanwhile; it only needs A to connect first (the server hands out IDs in order).
for _ in $(seq 200); do grep -q 'peer 0 connected' "$tmp/server.err" && break; sleep 0.05; done

# B (ID 1): reads hello (once A wrote it), times out once, then waits while asking A to ring; then waits again
# until the host unplugs the device.
# shellcheck disable=SC2016
start_guest b 1 '
  opened() {  # PID: returns once PID has the device node open (fails if PID exits first)
    until ls -l "/proc/$1/fd" 2>/dev/null | grep -q /dev/ivshmem-; do
      kill -0 "$1" 2>/dev/null || return 1; sleep 0.02
    done
  }
  echo "B-ID $(shype-guest shm id)"
  i=0  # A writes hello once it is up
  until [ "$(shype-guest shm read)" = hello ] || [ "$i" -ge 400 ]; do i=$((i + 1)); sleep 0.05; done
  echo "B-READ $(shype-guest shm read)"
  shype-guest shm wait 2; echo "B-NEGATIVE rc=$?"
  shype-guest shm wait 20 & w=$!
  opened $w  # the count is sampled at open: from here on no doorbell can be missed
  shype-guest shm write "ring-me $(shype-guest shm id)"
  wait $w; echo "B-WAIT rc=$?"
  echo "B-COUNT $(cat /sys/bus/pci/devices/*/doorbells)"
  shype-guest shm wait 30 & w=$!
  opened $w
  echo B-UNPLUG-READY
  wait $w; echo "B-UNPLUGGED rc=$?"
  echo "B-NODES $(ls /dev | grep -c ^ivshmem-)"
  sleep 5'
wait_for b '^B-UNPLUG-READY' || fail "guest b never got ready for the unplug"
wait_for a '^A-DONE' || fail "guest a did not finish"
qmp "$tmp/b.qmp" device_del shm0 || fail "QMP device_del shm0 on guest b"
# B idles 5 s after its last line before it powers off: a poweroff racing the unplug's
# DEVICE_DELETED made this flaky (QMP closed before the event came).
finish_guest b
qmp "$tmp/a.qmp" quit || fail "QMP quit on guest a"
finish_guest a

expect a 'A-ID 0'
expect a 'A-RANG'
expect a 'A-UNLOADED nodes=0'
expect a 'A-RELOADED id=0'
expect b 'B-ID 1'
expect b 'B-READ hello'
expect b 'timeout'
expect b 'B-NEGATIVE rc=1'
expect b 'doorbell 1'
expect b 'B-WAIT rc=0'
expect b 'B-COUNT 1'
expect_re b 'shype-guest shm wait: cannot read /dev/ivshmem-[0-9a-f:.]+: No such device'
expect b 'B-UNPLUGGED rc=1'
expect b 'B-NODES 0'
expect b 'SHYPE-RUN-END rc=0'
grep -q 'peer 1 disconnected' "$tmp/server.err" || fail "the server did not see B leave"
echo "doorbell_test: all passed in $(awk -v a="$started" -v b="$EPOCHREALTIME" \
  'BEGIN {printf "%.1f", b - a}')s (hello shared, wait timeout, doorbell 1, rmmod/insmod, hot-unplug)"
