#!/usr/bin/env bash
# Installs the Debian packages shype needs to build, test and run (idempotent), then
# configures and builds into build/. Used by scripts/test.sh and scripts/demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev llvm
  libxml2-dev libxml2-utils libexpected-dev libfmt-dev libspdlog-dev nlohmann-json3-dev
  libcli11-dev libboost-dev bc libsqlite3-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  qemu-system-x86 qemu-utils busybox-static cpio swtpm swtpm-tools libtss2-dev tpm2-tools openssl
  ca-certificates curl python3
  vde2 libvdeplug-dev libelf1 libsystemd-dev help2man
  syslinux syslinux-common mtools fdisk
  nodejs chromium
)
# The web UI's build needs npm: nodesource's nodejs brings it, Debian's nodejs does not.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# -DSHYPE_WERROR=ON: warnings are errors in the project's own builds (default OFF for others).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHYPE_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
