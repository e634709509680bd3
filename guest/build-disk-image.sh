#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds OUTDIR/disk.img, a bootable raw disk of the shype test guest for a domain without a
# kernel (the firmware, SeaBIOS, boots its first disk): an MBR (syslinux's mbr.bin) and one
# active FAT partition at 1 MiB holding OUTDIR/vmlinuz and OUTDIR/initrd.img (from
# build-image.sh) and SYSLINUX, whose kernel line has console=ttyS0, so the guest's
# SHYPE-GUEST-UP reaches the serial console as with a kernel boot. Made on the image file with
# sfdisk, mformat, mcopy and `syslinux --install --offset`: no root, no mount, no loop device.
# Idempotent: does nothing when disk.img is newer than this script, vmlinuz and initrd.img.
set -euo pipefail

die() { echo "build-disk-image.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build-disk-image.sh OUTDIR (the output directory of build-image.sh)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ -d "$1" ] || die "$1 is not a directory; build the guest first: bash guest/build-image.sh $1"
out="$(cd "$1" && pwd)"
for f in vmlinuz initrd.img; do
  [ -f "$out/$f" ] || die "$out/$f is missing; build the guest first: bash guest/build-image.sh $1"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
for tool in syslinux mformat mcopy sfdisk; do
  command -v "$tool" >/dev/null || die "$tool not found: apt-get install syslinux syslinux-common mtools fdisk"
done
[ -f "$mbr" ] || die "$mbr not found: apt-get install syslinux-common"

# The guest image's builder and this one share the lock: vmlinuz does not change under us.
exec 9>"$out/.lock"
flock 9

disk="$out/disk.img"
up_to_date() {
  local input
  [ -f "$disk" ] || return 1
  for input in "$here/build-disk-image.sh" "$out/vmlinuz" "$out/initrd.img"; do
    [ "$disk" -nt "$input" ] || return 1
  done
}
if up_to_date; then
  echo "guest disk image: up to date ($disk)"
  exit 0
fi

work="$(mktemp -d "$out/.disk.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1 MTOOLSRC=/dev/null  # no host mtools.conf, no geometry complaints

# The partition: the two files plus 4 MiB of room for FAT and syslinux, at least 16 MiB (FAT16).
mib=$((1024 * 1024))
payload=$(($(stat -c %s "$out/vmlinuz") + $(stat -c %s "$out/initrd.img")))
part_mib=$(((payload + mib - 1) / mib + 4))
[ "$part_mib" -ge 16 ] || part_mib=16
img="$work/disk.img"
truncate -s $(((part_mib + 1) * mib)) "$img"
printf 'label: dos\nstart=2048, size=%s, type=e, bootable\n' $((part_mib * 2048)) \
  | sfdisk --quiet "$img"

# FAT16 in the partition: -H: the sectors before it, which the boot sector needs to find itself.
part="$img@@$mib"
mformat -i "$part" -T $((part_mib * 2048)) -h 64 -s 32 -H 2048 -v SHYPEBOOT ::
cat >"$work/syslinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT shype
PROMPT 0
TIMEOUT 0
LABEL shype
  KERNEL /VMLINUZ
  INITRD /INITRD.IMG
  APPEND console=ttyS0 shype.boot=firmware
EOF
mcopy -i "$part" "$out/vmlinuz" ::VMLINUZ
mcopy -i "$part" "$out/initrd.img" ::INITRD.IMG
mcopy -i "$part" "$work/syslinux.cfg" ::SYSLINUX.CFG
syslinux --install --offset "$mib" "$img"
mdir -i "$part" -a :: | grep -qi 'ldlinux *sys' || die "syslinux did not install ldlinux.sys"
# The MBR's boot code (440 bytes) loads the active partition's boot sector; the table stays.
dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none
mv -f "$img" "$disk"
echo "guest disk image: built $disk ($((part_mib + 1)) MiB: MBR + FAT16 with syslinux," \
  "VMLINUZ, INITRD.IMG; kernel line console=ttyS0 shype.boot=firmware)"
