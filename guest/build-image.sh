#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds the shype test guest into OUTDIR: vmlinuz (Debian cloud kernel) and initrd.img (busybox,
# virtio modules, the evdev + ACPI button modules, our shype_ivshmem module built against the
# kernel's Debian headers, /init, the static shype-guest tool). Packages are fetched with
# `apt-get download` into OUTDIR/cache and unpacked with dpkg-deb; nothing is installed on the host.
# Idempotent: does nothing when both outputs are newer than every recipe input.
set -euo pipefail

die() { echo "build-image.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build-image.sh OUTDIR"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
out="$(cd "$1" && pwd)"
inputs=("$here/build-image.sh" "$here/init" "$here/tool/shype-guest.cc"
  "$here/module/shype_ivshmem.c" "$here/module/Kbuild")
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  failover net_failover virtio_net virtio_blk evdev button)

# Several test runs may share OUTDIR: one builder at a time, the others then see the cache.
exec 9>"$out/.lock"
flock 9

up_to_date() {
  local output input
  for output in "$out/vmlinuz" "$out/initrd.img"; do
    [ -f "$output" ] || return 1
    for input in "${inputs[@]}"; do [ "$output" -nt "$input" ] || return 1; done
  done
}
if up_to_date; then
  echo "guest image: up to date in $out ($(tr '\n' ' ' <"$out/manifest.txt" 2>/dev/null || true))"
  exit 0
fi
start=$EPOCHREALTIME

# Prints the newest (sort -V) of the cached .deb files matching glob $1, or nothing.
newest_cached() {
  local debs=()
  shopt -s nullglob
  # shellcheck disable=SC2206  # $1 is a glob on purpose
  debs=("$out/cache/"$1)
  shopt -u nullglob
  [ ${#debs[@]} -eq 0 ] || printf '%s\n' "${debs[@]}" | sort -V | tail -n 1
}

# Downloads package $1 (version $2 if given) into the cache unless a .deb of it is there; prints
# the .deb path.
fetch_deb() {
  local pkg="$1" version="${2:-}" cache="$out/cache" deb
  local glob="${pkg}_${version:-*}_*.deb"
  mkdir -p "$cache"
  deb="$(newest_cached "$glob")"
  if [ -z "$deb" ]; then
    # As root, apt's _apt sandbox user cannot write here; tell apt to stay root.
    local sandbox=()
    [ "$(id -u)" -eq 0 ] && sandbox=(-o APT::Sandbox::User=root)
    (cd "$cache" && apt-get download -q "${sandbox[@]}" "$pkg${version:+=$version}" >&2) \
      || die "apt-get download $pkg${version:+=$version} failed (needs Debian's package registry, or a .deb in $cache)"
    deb="$(newest_cached "$glob")"
  fi
  echo "$deb"
}

kernel_pkg="${SHYPE_GUEST_KERNEL_PKG:-}"
if [ -z "$kernel_pkg" ]; then
  kernel_pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-cloud-amd64$/ {print $2; exit}' || true)"
fi
if [ -z "$kernel_pkg" ]; then  # offline and no apt lists: fall back to a cached kernel .deb
  kernel_pkg="$(newest_cached 'linux-image-[0-9]*-cloud-amd64_*.deb')"
  [ -z "$kernel_pkg" ] || kernel_pkg="$(basename "${kernel_pkg%%_*}")"
fi
[ -n "$kernel_pkg" ] || die "cannot resolve linux-image-*-cloud-amd64 (apt-get update, or set SHYPE_GUEST_KERNEL_PKG)"
kernel_deb="$(fetch_deb "$kernel_pkg")"

work="$(mktemp -d "$out/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$kernel_deb" "$work/kernel"
kver="${kernel_pkg#linux-image-}"
root="$work/root"
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,lib/modules}
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"

# Modules go flat into /lib/modules, uncompressed (busybox insmod cannot decompress).
for module in "${modules[@]}"; do
  src="$(find "$work/kernel/lib/modules/$kver" -name "$module.ko*" | head -n 1)"
  [ -n "$src" ] || die "module $module not found in $kernel_pkg"
  case "$src" in
    *.ko) cp "$src" "$root/lib/modules/$module.ko" ;;
    *.ko.xz) xz -dc "$src" >"$root/lib/modules/$module.ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$root/lib/modules/$module.ko" ;;
    *.ko.gz) gzip -dc "$src" >"$root/lib/modules/$module.ko" ;;
    *) die "unknown module format $src" ;;
  esac
done

# shype_ivshmem.ko (module/): built like any external module, against the headers of exactly this
# kernel (linux-headers-KVER + its -common package + linux-kbuild-X.Y), unpacked into $work. The
# .ko is cached per kernel and module source hash: unpacking 80 MB of headers is the slow part.
kernel_version="$(dpkg-deb -f "$kernel_deb" Version)"
headers_pkg="linux-headers-$kver"
module_hash="$(cat "$here/module/Kbuild" "$here/module/shype_ivshmem.c" | sha256sum | cut -c1-16)"
module_ko="$out/cache/shype_ivshmem-$kver-$kernel_version-$module_hash.ko"
if [ ! -f "$module_ko" ]; then
  headers_deps="$(apt-cache depends "$headers_pkg" 2>/dev/null || true)"
  common_pkg="$(awk '$1 == "Depends:" && $2 ~ /^linux-headers-.*-common$/ {print $2; exit}' <<<"$headers_deps")"
  kbuild_pkg="$(awk '$1 == "Depends:" && $2 ~ /^linux-kbuild-/ {print $2; exit}' <<<"$headers_deps")"
  # Offline (no apt lists): Debian's naming, e.g. 6.1.0-57-cloud-amd64 ->
  # linux-headers-6.1.0-57-common and linux-kbuild-6.1.
  [ -n "$common_pkg" ] || common_pkg="linux-headers-$(cut -d- -f1-2 <<<"$kver")-common"
  [ -n "$kbuild_pkg" ] || kbuild_pkg="linux-kbuild-$(cut -d. -f1-2 <<<"$kver")"
  for pkg in "$headers_pkg" "$common_pkg" "$kbuild_pkg"; do
    deb="$(fetch_deb "$pkg" "$kernel_version")" || die "the headers must match $kernel_pkg" \
      "$kernel_version; if the registry has moved on, delete $out/cache/${kernel_pkg}_*.deb"
    dpkg-deb -x "$deb" "$work/headers"
  done
  headers="$work/headers/usr/src/$headers_pkg"
  # The flavour's Makefile includes the -common tree by absolute path (/usr/src/...); its scripts
  # and tools symlinks are relative (../../lib/linux-kbuild-X.Y/...) and resolve inside $work.
  sed -i "s|^include /usr/src/|include $work/headers/usr/src/|" "$headers/Makefile"
  kernel_cc="$(sed -n 's/^CC = .*)\(gcc-[0-9]*\)$/\1/p' "$headers/.kernelvariables")"
  command -v "${kernel_cc:-gcc}" >/dev/null \
    || die "${kernel_cc:-gcc} not found: the module needs the kernel's compiler," \
      "$(sed -n 's/^CONFIG_CC_VERSION_TEXT=//p' "$headers/.config")"
  cp -r "$here/module" "$work/module"
  make -C "$headers" M="$work/module" modules >"$work/module.log" 2>&1 \
    || { cat "$work/module.log" >&2; die "building module/shype_ivshmem.ko failed"; }
  rm -f "$out/cache/shype_ivshmem-"*.ko
  strip --strip-debug -o "$module_ko" "$work/module/shype_ivshmem.ko"
fi
cp "$module_ko" "$root/lib/modules/shype_ivshmem.ko"

# busybox: the host's busybox-static binary if it is static, otherwise the Debian package.
busybox=/usr/bin/busybox
if [ ! -x "$busybox" ] || readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  dpkg-deb -x "$(fetch_deb busybox-static)" "$work/busybox"
  busybox="$work/busybox/bin/busybox"
fi
cp "$busybox" "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done

g++ -std=c++20 -static -O2 -s -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow \
  -Wold-style-cast -Wnon-virtual-dtor -Wimplicit-fallthrough -Werror \
  -o "$root/bin/shype-guest" "$here/tool/shype-guest.cc"

install -m 0755 "$here/init" "$root/init"
printf 'PS1='"'"'\\h:\\w# '"'"'\n' >"$root/etc/profile"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) \
  | gzip -9 >"$work/initrd.img"
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/initrd.img" "$out/initrd.img"
bb_banner="$("$root/bin/busybox" --help 2>&1 || true)"
bb_version="${bb_banner#BusyBox }"
bb_version="${bb_version%% *}"
printf 'kernel=%s\nkernel_version=%s\nmodule=shype_ivshmem.ko (built with %s %s)\nbusybox=%s\ninitrd_bytes=%s\n' \
  "$kernel_pkg" "$kernel_version" "$headers_pkg" "$kernel_version" "$bb_version" \
  "$(stat -c %s "$out/initrd.img")" >"$out/manifest.txt"
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
echo "guest image: built $out/vmlinuz ($kernel_pkg) + initrd.img ($(du -h "$out/initrd.img" | cut -f1)," \
  "busybox $bb_version, ${#modules[@]} modules + shype_ivshmem, shype-guest) in ${elapsed}s"
