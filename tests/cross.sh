#!/usr/bin/env bash
# Portability: cross-builds wirelink for 32-bit ARM (armhf) and big-endian
# s390x with Debian's multiarch packages and the meson cross files in
# tools/cross/, then runs the unit suite (every protocol vector included)
# and `wirelink decode` over the vectors under qemu-user.
# usage: tests/cross.sh [ARCH...]   (default: armhf s390x; as root on Debian 12)
# Build directories: build-cross-ARCH/. Exit status 0 only if every
# architecture built and passed; a missing package is a failure, named.
set -uo pipefail
cd "$(dirname "$0")/.."

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(armhf s390x)

if ! tools/deps.sh cross; then
  echo "cross: FAILED: cannot install the cross packages (tools/deps.sh cross above says which)"
  exit 1
fi

# arch -> qemu-user binary, readelf machine, readelf data encoding
declare -A qemu=([armhf]=qemu-arm [s390x]=qemu-s390x)
declare -A machine=([armhf]=ARM [s390x]="IBM S/390")
declare -A data=([armhf]="little endian" [s390x]="big endian")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
for a in "${archs[@]}"; do
  echo "=== cross $a"
  if [ -z "${qemu[$a]:-}" ] || [ ! -f "tools/cross/$a.ini" ]; then
    echo "cross $a: FAILED: no cross file tools/cross/$a.ini"; failed+=("$a"); continue
  fi
  dir=build-cross-$a
  if [ -d "$dir/meson-private" ]; then
    meson setup --reconfigure "$dir" >"$log" 2>&1
  else
    meson setup --cross-file "tools/cross/$a.ini" -Dman=disabled "$dir" >"$log" 2>&1
  fi || { tail -n 20 "$log"; echo "cross $a: FAILED: meson setup"; failed+=("$a"); continue; }
  if ! ninja -C "$dir" -j2 >"$dir.build.log" 2>&1; then
    grep -E 'error|FAILED' "$dir.build.log" | head -n 30
    echo "cross $a: FAILED: build"; failed+=("$a"); continue
  fi
  # The binaries must really be for the target, or the tests prove nothing.
  hdr=$(readelf -h "$dir/wirelink")
  if ! grep -q "Machine: *${machine[$a]}" <<<"$hdr" || ! grep -q "${data[$a]}" <<<"$hdr"; then
    echo "$hdr"; echo "cross $a: FAILED: wirelink is not a ${machine[$a]} ${data[$a]} binary"
    failed+=("$a"); continue
  fi
  echo "wirelink: $(grep -E 'Class:' <<<"$hdr" | awk '{print $2}'), ${machine[$a]}, ${data[$a]}"
  ok=1
  meson test -C "$dir" --suite unit --print-errorlogs 2>&1 | grep -vE '^(ninja|\[)' | grep -E '/|^(Ok|Fail|Timeout):' || true
  [ "${PIPESTATUS[0]}" = 0 ] || ok=0
  # `wirelink decode` over the vectors, through qemu-user.
  wrap=$(mktemp)
  printf '#!/bin/sh\nexec %s %s "$@"\n' "${qemu[$a]}" "$PWD/$dir/wirelink" >"$wrap"
  chmod +x "$wrap"
  tests/cli_decode.sh "$wrap" tests/vectors >"$log" 2>&1 || ok=0
  echo "cli decode: $(grep -c '^ok' "$log") ok, $(grep -c '^not ok' "$log") not ok"
  grep '^not ok' "$log"
  rm -f "$wrap"
  if [ $ok = 1 ]; then echo "cross $a: passed"; else echo "cross $a: FAILED: tests"; failed+=("$a"); fi
done
[ ${#failed[@]} -eq 0 ] || { echo "cross: FAILED: ${failed[*]}"; exit 1; }
echo "cross: all passed (${archs[*]})"
