#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# A domain without a kernel boots its first disk through the firmware, with a real QEMU (TCG):
# the guest's disk image (guest/build-disk-image.sh: MBR, FAT, syslinux, the guest's kernel and
# initrd) is the domain's only disk, labeled with addlabel dom; SeaBIOS boots it (bootindex=0,
# no -kernel), the guest comes up on the serial console, is saved, restored and destroyed. A
# ramdisk or command line without a kernel, and a config with neither kernel nor disk, are
# refused (exit 2, naming the key and the file) by create and dry-run, and start nothing.
# One guest.
source "$(dirname "$0")/lib.sh"

expect_rc 0 "the guest's disk image is built (or up to date)" -- bash "$SRC/guest/build-disk-image.sh" "$GUEST"
start_daemon
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/tests/data/policies/shype-demo.xml"
mkdir -p "$T/img" "$T/saves"
cp "$GUEST/disk.img" "$T/img/boot.img"
expect_rc 0 "label boot.img BankDisk" -- shype addlabel BankDisk res "file:$T/img/boot.img"

# firmware_config NAME [LINES...]: a Bank guest's config with no kernel, ramdisk or extra.
firmware_config() {
  local name="$1"; shift
  domain_config "$name" Bank >/dev/null
  sed -i -e '/^kernel = /d' -e '/^ramdisk = /d' -e '/^extra = /d' "$T/$name.cfg"
  local line
  for line in "$@"; do echo "$line" >>"$T/$name.cfg"; done
}

# --- a disk and no kernel: the firmware boots it ---
firmware_config fw1 "disk = ['file:$T/img/boot.img,xvda,r']"
sed -i '/^access_control = /d' "$T/fw1.cfg"
grep -Eq '^(kernel|ramdisk|extra|access_control)' "$T/fw1.cfg" && fail "fw1.cfg: $(cat "$T/fw1.cfg")"
expect_rc 0 "addlabel Bank dom takes a config without a kernel (its disk makes it one)" -- shype addlabel Bank dom "$T/fw1.cfg"
expect_rc 0 "dry-run of fw1 (no kernel, one disk) is permitted" -- shype dry-run "$T/fw1.cfg"
expect_out "boot.img" "dry-run checks the boot disk"
expect_rc 0 "create fw1" -- shype create "$T/fw1.cfg"
wait_console fw1 "SHYPE-GUEST-UP" 180 && pass "fw1 is up: SHYPE-GUEST-UP on its console" || fail "fw1 console: $OUT"
expect_out "SYSLINUX" "syslinux from the disk loaded the kernel"
expect_out "Command line: .*console=ttyS0 shype.boot=firmware" "the kernel line is the disk's"
expect_no_out "shype.label=" "no shype.label= (shyped gives no command line to a firmware boot)"
QEMU_PID="$(shype info fw1 --json | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')"
ARGV="$(tr '\0' ' ' <"/proc/$QEMU_PID/cmdline" 2>/dev/null)"
grep -q "virtio-blk-pci,drive=d-disk0-0,id=vd-disk0,bootindex=0" <<<"$ARGV" && pass "QEMU boots the first disk (bootindex=0)" || fail "QEMU argv: $ARGV"
grep -Eq -- " -(kernel|initrd|append) " <<<"$ARGV" && fail "QEMU got a boot image: $ARGV" || pass "QEMU got no -kernel, -initrd or -append"
grep -q "$T" <<<"$ARGV" && fail "QEMU's argv names a path: $ARGV" || pass "QEMU's argv names no path (the disk is an fd)"
expect_rc 0 "info fw1" -- shype info fw1
expect_out "boot.img" "info lists the boot disk"

# console_says NAME: the guest's shell answers on the interactive console.
console_says() {
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    OUT="$(printf 'echo console-says-$((6*7))\n' | shype console "$1" 2>&1)"
    grep -q "console-says-42" <<<"$OUT" && return 0
    sleep 1
  done
  return 1
}
console_says fw1 && pass "fw1's shell answers on its console" || fail "fw1 console: $OUT"

# --- save and restore: the restored guest goes on, it does not boot again ---
expect_rc 0 "save fw1" -- shype save fw1 "$T/saves/fw1.save"
expect_rc 1 "fw1 ended with its save" -- shype list fw1
expect_rc 0 "restore fw1" -- shype restore "$T/saves/fw1.save"
expect_out "^Restored domain fw1 " "the restore is reported"
expect_rc 0 "the restored fw1 runs" -- shype list fw1
expect_out "^fw1 .*running" "fw1 is running"
console_says fw1 && pass "the restored fw1's shell answers on its console" || fail "fw1 console: $OUT"
expect_rc 0 "fw1's console" -- shype console fw1 --log
expect_no_out "SYSLINUX" "the restored guest did not boot again"
expect_rc 0 "destroy fw1" -- shype destroy fw1
expect_rc 1 "fw1 is gone" -- shype list fw1

# --- refused: a ramdisk or a command line without a kernel, nothing to boot ---
firmware_config rd1 "disk = ['file:$T/img/boot.img,xvda,r']" "ramdisk = \"$GUEST/initrd.img\""
LINE="$(grep -n '^ramdisk' "$T/rd1.cfg" | cut -d: -f1)"
for cmd in create dry-run; do
  expect_split 2 "$cmd of a ramdisk without a kernel is refused" -- shype "$cmd" "$T/rd1.cfg"
  expect_eq "$STDERR" "Error: $T/rd1.cfg:$LINE: 'ramdisk' needs a kernel: without 'kernel' the domain boots its first disk through the firmware; add kernel = '...' or remove 'ramdisk'" "$cmd names the key and the file"
done
for key in extra cmdline; do
  firmware_config "$key"1 "disk = ['file:$T/img/boot.img,xvda,r']" "$key = \"console=ttyS0\""
  LINE="$(grep -n "^$key" "$T/${key}1.cfg" | cut -d: -f1)"
  expect_split 2 "create with '$key' but no kernel is refused" -- shype create "$T/${key}1.cfg"
  expect_eq "$STDERR" "Error: $T/${key}1.cfg:$LINE: '$key' needs a kernel: without 'kernel' the domain boots its first disk through the firmware; add kernel = '...' or remove '$key'" "the refusal names '$key' and the file"
done
firmware_config none1
for cmd in create dry-run; do
  expect_split 2 "$cmd with neither kernel nor disk is refused" -- shype "$cmd" "$T/none1.cfg"
  expect_eq "$STDERR" "Error: $T/none1.cfg: nothing to boot: give kernel = '...' or a disk (disk = [ '...' ]) whose first one the firmware boots" "$cmd says there is nothing to boot"
done
expect_rc 0 "list" -- shype list
expect_no_out "^(rd1|extra1|cmdline1|none1) " "no refused config started a domain"
[ -z "$(ls "$SHYPE_STATE_DIR/run" 2>/dev/null)" ] && pass "no run directory was made" || fail "run: $(ls "$SHYPE_STATE_DIR/run")"
expect_rc 0 "audit" -- shype audit
expect_no_out "(rd1|extra1|cmdline1|none1)" "a refused config is not even admitted (nothing audited)"

finish
