#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The ways around the reference monitor, tried as an attacker would: each attack must fail, and
# say why. A qcow2 overlay whose header names another coalition's disk or a host file; a raw disk
# carrying a qcow2 header; kernel/ramdisk naming any host file; a parent directory swapped for a
# symlink during create; a second spelling or hard link of a labeled file; /proc and /sys as
# disks; and a compromised QEMU using its monitor to open files and sockets. At most 1 guest.
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/images"
cp "$GUEST/vmlinuz" "$T/images/game-vmlinuz"
start_daemon --image-dir "$T/images"
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/examples/policies/shype-demo.xml"
mkdir -p "$T/img"
printf 'BANK-DISK-MAGIC' | dd of="$T/img/bank.img" bs=1M count=1 conv=sync status=none
printf 'GAME-DISK-MAGIC' | dd of="$T/img/game.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "label the game disk" -- shype addlabel res_Game res "file:$T/img/game.img"
expect_rc 0 "label the bank disk" -- shype addlabel res_Bank res "file:$T/img/bank.img"
qemu_pid() { shype info "$1" --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
refused() {  # refused CFG WHAT PATTERN: create and dry-run both refuse, naming PATTERN
  expect_rc 1 "$2: create is refused" -- shype create "$1"
  expect_out "$3" "$2: the refusal says why"
  expect_rc 1 "$2: dry-run fails too" -- shype dry-run "$1"
  shype list | grep -q "^$(basename "$1" .cfg) " && fail "$2: a domain was left behind" || true
}

# --- backing files: a Bank overlay naming the Game disk, or /etc/shadow ---
qemu-img create -q -f qcow2 -b "$T/img/game.img" -F raw "$T/img/bank-over.qcow2"
expect_rc 0 "label the overlay for Bank" -- shype addlabel res_Bank res "file:$T/img/bank-over.qcow2"
domain_config over Bank "disk = [ 'qcow2:$T/img/bank-over.qcow2,xvda,w' ]" >/dev/null
refused "$T/over.cfg" "an overlay backed by the Game disk" "game.img"
expect_rc 1 "dry-run of the overlay" -- shype dry-run "$T/over.cfg"
expect_out "img/game.img: DENIED" "dry-run shows the backing file denied"
expect_out "res: res_Game" "dry-run shows the backing file's label"
qemu-img create -q -f qcow2 -b /etc/shadow -F raw "$T/img/shadow.qcow2"
expect_rc 0 "label the shadow overlay for Bank" -- shype addlabel res_Bank res "file:$T/img/shadow.qcow2"
domain_config shadow Bank "disk = [ 'qcow2:$T/img/shadow.qcow2,xvda,r' ]" >/dev/null
refused "$T/shadow.cfg" "an overlay backed by /etc/shadow" "/etc/shadow"

# --- kernel and ramdisk naming host files ---
for target in "$T/img/game.img" /etc/shadow /proc/self/environ; do
  domain_config boot Bank >/dev/null
  sed -i "s|^ramdisk = .*|ramdisk = \"$target\"|" "$T/boot.cfg"
  expect_rc 1 "ramdisk = $target is refused" -- shype create "$T/boot.cfg"
  expect_out "not in an image directory" "ramdisk = $target: boot images come only from image directories"
done
ln -sf "$T/img/game.img" "$GUEST/shype-test-$$.img"
EXTRA_LINK="$GUEST/shype-test-$$.img"
trap 'rm -f "$EXTRA_LINK"; cleanup' EXIT
domain_config boot Bank >/dev/null
sed -i "s|^ramdisk = .*|ramdisk = \"$EXTRA_LINK\"|" "$T/boot.cfg"
expect_rc 2 "a symlink in the image directory to the Game disk is refused" -- shype create "$T/boot.cfg"
expect_out "ramdisk: cannot open .*the path leaves the directory" "the refusal names the ramdisk and why"
rm -f "$EXTRA_LINK"
expect_rc 0 "label a Game-private kernel in an image directory" -- shype addlabel res_Game res "file:$T/images/game-vmlinuz"
domain_config boot Bank >/dev/null
sed -i "s|^kernel = .*|kernel = \"$T/images/game-vmlinuz\"|" "$T/boot.cfg"
refused "$T/boot.cfg" "a Bank domain booting the Game-labeled kernel" "game-vmlinuz.*res_Game|res_Game"
expect_rc 1 "dry-run of it" -- shype dry-run "$T/boot.cfg"
expect_out "images/game-vmlinuz: DENIED" "dry-run shows the labeled boot image denied"

# --- /proc and /sys as disks ---
for target in /proc/self/environ /proc/version /sys/kernel/notes; do
  domain_config pseudo Bank "disk = [ 'file:$target,xvda,r' ]" >/dev/null
  expect_rc 1 "disk $target is refused" -- shype create "$T/pseudo.cfg"
  shype list | grep -q "^pseudo " && fail "a domain with disk $target was left" || pass "nothing left for $target"
done

# --- two names, two labels ---
expect_rc 1 "tap:aio: spelling of the labeled Game disk cannot get a Bank label" -- \
  shype addlabel res_Bank res "tap:aio:$T/img/game.img"
expect_out "already labeled" "the refusal names the one label"
ln "$T/img/game.img" "$T/img/alias.img"
expect_rc 1 "a hard link of the Game disk cannot get a Bank label" -- shype addlabel res_Bank res "file:$T/img/alias.img"
expect_out "same object as 'file:$T/img/game.img'" "the refusal names the labeled name"
domain_config alias Bank "disk = [ 'file:$T/img/alias.img,xvda,w' ]" >/dev/null
refused "$T/alias.cfg" "a Bank domain using a hard link of the Game disk" "another name"
domain_config tap Bank "disk = [ 'tap:aio:$T/img/game.img,xvda,w' ]" >/dev/null
refused "$T/tap.cfg" "a Bank domain using tap:aio: of the Game disk" "res_Game"
# A loop device over the Game disk is another name of it (review: it took a Bank label).
if LOOP="$(losetup -f --show -r "$T/img/game.img" 2>/dev/null)"; then
  trap 'losetup -d "$LOOP" 2>/dev/null; rm -f "$EXTRA_LINK"; cleanup' EXIT
  expect_rc 1 "a loop device over the Game disk cannot get a Bank label" -- shype addlabel res_Bank res "phy:$LOOP"
  expect_out "same object as 'file:$T/img/game.img'" "the refusal names the labeled file"
  domain_config loop Bank "disk = [ 'phy:$LOOP,xvda,r' ]" >/dev/null
  refused "$T/loop.cfg" "a Bank domain using a loop device over the Game disk" "another name"
  losetup -d "$LOOP"
else
  echo "  (skipped: no loop device here for the loop-device attack)"
fi
# A label for a path with nothing there would later bind to whatever appears (review: a hard
# link of the Game disk made after labeling got a second, Bank label).
expect_rc 1 "a path that does not exist cannot be labeled" -- shype addlabel res_Game res "file:$T/img/later.img"
expect_out "does not exist.*create it first" "the refusal says why"
# A label row bound to no object (as from a database older than object binding) is never used.
printf 'OLD' | dd of="$T/img/old.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "label old.img for Bank" -- shype addlabel res_Bank res "file:$T/img/old.img"
python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE resource_labels SET identity='' WHERE resource=?\", ('file:'+sys.argv[2],)); c.commit()" \
  "$SHYPE_STATE_DIR/labels.db" "$T/img/old.img"
domain_config old Bank "disk = [ 'file:$T/img/old.img,xvda,r' ]" >/dev/null
refused "$T/old.cfg" "a label bound to no object" "bound to no object"
mv "$T/img/bank.img" "$T/img/bank.old"; cp "$T/img/game.img" "$T/img/bank.img"
domain_config swapped Bank "disk = [ 'file:$T/img/bank.img,xvda,w' ]" >/dev/null
refused "$T/swapped.cfg" "another file moved to the labeled path" "not the object that was labeled"
rm "$T/img/bank.img"; mv "$T/img/bank.old" "$T/img/bank.img"

# --- a raw disk that carries a qcow2 header naming the Game disk: read as raw ---
qemu-img create -q -f qcow2 -b "$T/img/game.img" -F raw "$T/img/hdr.qcow2"
dd if="$T/img/hdr.qcow2" of="$T/img/bank.img" bs=64k count=1 conv=notrunc status=none
run_b64() { printf '%s' "$1" | base64 -w0; }
domain_config bank1 Bank "disk = [ 'file:$T/img/bank.img,xvda,w' ]" >/dev/null
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.run=$(run_b64 'head -c 4 /dev/vda | od -An -c; dd if=/dev/vda bs=1M count=1 2>/dev/null | grep -c GAME-DISK-MAGIC')\"|" "$T/bank1.cfg"
expect_rc 0 "a Bank guest with a qcow2 header in its raw disk starts (as raw)" -- shype create "$T/bank1.cfg"
PID="$(qemu_pid bank1)"
if ls -l "/proc/$PID/fd" | grep -q "game.img"; then fail "QEMU holds the Game disk"; else pass "QEMU holds no fd of the Game disk"; fi
if wait_console bank1 "SHYPE-RUN-END" 60; then pass "the guest ran"; else fail "console: $OUT"; fi
expect_out "Q +F +I" "the guest sees the header bytes of its own raw disk"
expect_no_out "GAME-DISK-MAGIC" "and not the Game disk's content"

# --- the jail: a compromised QEMU uses its monitor ---
status_of() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$PID/status"; }
[ "$(status_of Uid | cut -f1)" != 0 ] && pass "QEMU runs as uid $(status_of Uid | cut -f1), not root" || fail "QEMU runs as root"
[ "$(status_of CapEff)" = 0000000000000000 ] && pass "QEMU has no capabilities" || fail "CapEff $(status_of CapEff)"
[ "$(status_of NoNewPrivs)" = 1 ] && pass "QEMU has no_new_privs" || fail "NoNewPrivs $(status_of NoNewPrivs)"
[ "$(status_of Seccomp)" = 2 ] && pass "QEMU is seccomp-sandboxed" || fail "Seccomp $(status_of Seccomp)"
CG="$(grep -E ':pids:|^0::' /proc/$PID/cgroup | head -1)"
grep -q "shype/" <<<"$CG" && pass "QEMU is in its own cgroup ($CG)" || fail "QEMU cgroup: $CG"
cat >"$T/qmp.py" <<'PY'
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
f = sock.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
def run(cmd, args=None):
    f.write(json.dumps({"execute": cmd, "arguments": args or {}}) + "\n"); f.flush()
    return reply()
reply(); run("qmp_capabilities")
for i, path in enumerate(sys.argv[2:]):
    r = run("blockdev-add", {"driver": "file", "node-name": "evil%d" % i, "filename": path, "read-only": True})
    print("OPENED" if "return" in r else "refused", path, r.get("error", {}).get("desc", ""))
r = run("chardev-add", {"id": "c1", "backend": {"type": "socket", "data": {"addr": {"type": "unix", "data": {"path": sys.argv[2 + 3]}}, "server": False}}})
print("CONNECTED" if "return" in r else "refused", "shyped.sock", r.get("error", {}).get("desc", ""))
PY
OUT="$(python3 "$T/qmp.py" "$SHYPE_STATE_DIR/run/bank1/qmp.sock" "$T/img/game.img" /etc/shadow \
  "$SHYPE_STATE_DIR/labels.db" "$SHYPE_STATE_DIR/shyped.sock" "$SHYPE_STATE_DIR/audit.log" 2>&1)"
echo "$OUT" | sed 's/^/  qmp: /'
expect_no_out "OPENED|CONNECTED" "QEMU's monitor opens none of: the Game disk, /etc/shadow, labels.db, shyped.sock, audit.log"
[ "$(grep -c refused <<<"$OUT")" = 6 ] && pass "all six attempts refused" || fail "not all refused: $OUT"
expect_rc 0 "destroy bank1" -- shype destroy bank1

# --- time of check vs time of use: a parent directory swapped for a symlink during create ---
mkdir -p "$T/d" "$T/g"
printf 'BANK-DISK-MAGIC' | dd of="$T/d/bank.img" bs=1M count=1 conv=sync status=none
printf 'GAME-DISK-MAGIC' | dd of="$T/g/bank.img" bs=1M count=1 conv=sync status=none
expect_rc 0 "label the racing Bank disk" -- shype addlabel res_Bank res "file:$T/d/bank.img"
expect_rc 0 "label the racing Game disk" -- shype addlabel res_Game res "file:$T/g/bank.img"
GAME_INO="$(stat -c %d:%i "$T/g/bank.img")"
domain_config race Bank "disk = [ 'file:$T/d/bank.img,xvda,w' ]" >/dev/null
( while :; do mv "$T/d" "$T/d.real"; ln -s "$T/g" "$T/d"; rm "$T/d"; mv "$T/d.real" "$T/d"; done ) 2>/dev/null &
SWAPPER=$!
EXTRA_PIDS="$SWAPPER"
started=0; leaked=0
for _ in $(seq 1 40); do
  if shype create "$T/race.cfg" >/dev/null 2>&1; then
    started=$((started + 1))
    P="$(qemu_pid race)"
    for fd in /proc/"$P"/fd/*; do
      [ "$(stat -L -c %d:%i "$fd" 2>/dev/null)" = "$GAME_INO" ] && leaked=$((leaked + 1))
    done
    shype destroy race >/dev/null 2>&1
  fi
done
kill "$SWAPPER"; wait "$SWAPPER" 2>/dev/null; EXTRA_PIDS=""
if [ -d "$T/d.real" ]; then [ -L "$T/d" ] && rm "$T/d"; mv "$T/d.real" "$T/d"; fi
echo "  race: $started of 40 creates started"
[ "$leaked" = 0 ] && pass "no create in 40 gave the Bank guest the Game disk ($started started)" || fail "$leaked creates gave the Bank guest the Game disk"
expect_rc 0 "audit has the refusals" -- shype audit --json -n 200
expect_out '"decision": ?"deny"' "denials are audited"

# --- image directories from shyped's config file ---
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
printf 'image-dir = ["%s"]\nisolated-instance = true\naccel = "tcg"\n' "$T/images" >"$T/shyped.toml"
"$BUILD/bin/shyped" --state-dir "$SHYPE_STATE_DIR" --config "$T/shyped.toml" >>"$T/shyped.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do shype list >/dev/null 2>&1 && break; sleep 0.1; done
domain_config cfgboot Monitor >/dev/null
expect_rc 1 "with image-dir from the config file only, the build's kernel is refused" -- shype create "$T/cfgboot.cfg"
expect_out "boot images come only from: $T/images" "the refusal names the configured image directory"
finish
