#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) into build-fuzz/ and runs each one for a
# short, bounded time on its seed corpus (fuzz/corpus/<name>/ plus ../shared/policies for XML).
# FUZZ_SECONDS (default 20) sets the time per target; a crash fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-20}"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DSHYPE_FUZZ=ON -DSHYPE_WERROR=OFF -DSHYPE_WEB_UI=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)"
# Seeds: the binaries and map files of every example policy, compiled by the real CLI, so the
# binary reader is fuzzed past its magic/length checks from the first run.
seeds_dir=build-fuzz/seeds
mkdir -p "$seeds_dir/binary_policy" "$seeds_dir/map_file"
if [ -x build/bin/shype ]; then
  for xml in ../shared/policies/*.xml examples/policies/*.xml tests/data/policies/*.xml; do
    [ -f "$xml" ] || continue
    base="$(basename "$xml" .xml)"
    build/bin/shype policy compile "$xml" -o "$seeds_dir/binary_policy/$base.bin" \
      --map "$seeds_dir/map_file/$base.map" >/dev/null || true
  done
fi
status=0
for bin in build-fuzz/bin/fuzz_*; do
  [ -x "$bin" ] || continue
  name="${bin##*/fuzz_}"
  work="build-fuzz/corpus/$name"
  mkdir -p "$work"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds+=("fuzz/corpus/$name")
  [ -d "$seeds_dir/$name" ] && seeds+=("$seeds_dir/$name")
  if [ "$name" = xml_policy ]; then
    [ -d ../shared/policies ] && seeds+=(../shared/policies)
    seeds+=(examples/policies tests/data/policies)
  fi
  echo "fuzz: $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="build-fuzz/$name-" "$work" "${seeds[@]}" 2>"build-fuzz/$name.log"; then
    echo "fuzz: $name FAILED, see build-fuzz/$name.log"; tail -40 "build-fuzz/$name.log"; status=1
  else
    echo "fuzz: $name: $(grep -oE '^#[0-9]+' "build-fuzz/$name.log" | tail -1 | tr -d '#') executions, no crash" 
  fi
done
exit $status
