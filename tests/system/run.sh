#!/usr/bin/env bash
# The path a real user takes: builds our .deb, boots Debian 12 (systemd as
# PID 1, Debian's kernel with its wireguard module, wireguard-tools) under
# qemu with software emulation, installs the .deb with apt inside and runs
# tests/system/guest.sh there (the README's Quick start, restarts, watchdog,
# journal, hardening, reboot, remove and purge). The guest image is made
# once by tests/system/image.sh and kept in CACHE-DIR; the guest's disk is
# a throw-away snapshot of it.
# usage: run.sh SOURCE-DIR CACHE-DIR
set -euo pipefail
src=$(realpath "$1") cache=$(realpath -m "$2")
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: no qemu-system-x86_64"; exit 77; }
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
  { echo "skipped: needs dpkg-dev and debhelper"; exit 77; }
command -v debootstrap >/dev/null || { echo "skipped: needs debootstrap"; exit 77; }
t0=$(date +%s)
step() { echo "# [$(( $(date +%s) - t0 )) s] $*"; }
work=$(mktemp -d)
qpid=
cleanup() { [ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 1' TERM INT

step "guest image (built once into $cache)"
img=$("$here/image.sh" "$cache") || exit $?
step "guest image ready: $img"

# The .deb, exactly as the README builds it, from a copy of the tree.
mkdir -p "$work/src/wirelink" "$work/payload"
(cd "$src" && { git ls-files -co --exclude-standard 2>/dev/null || find . -path ./build\* -prune -o -type f -print; }) |
  (cd "$src" && xargs -d '\n' cp --parents -t "$work/src/wirelink" 2>/dev/null)
if ! (cd "$work/src/wirelink" && DEB_BUILD_OPTIONS="parallel=2" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
  tail -n 30 "$work/build.log"; echo "not ok - dpkg-buildpackage"; exit 1
fi
cp "$work"/src/wirelink_*.deb "$work/payload/"
cp "$here/guest.sh" "$work/payload/"
# The guest runs the Quick start as the README writes it.
cp "$src/README.md" "$work/payload/"
step "built $(basename "$work"/payload/wirelink_*.deb)"
tar -cf "$work/payload.tar" -C "$work/payload" .

accel=${WL_SYSTEM_ACCEL:-tcg}
step "booting the guest (qemu, $accel, 2 CPUs, 1536 MiB)"
timeout 900 qemu-system-x86_64 -accel "$accel" -m 1536 -smp 2 -display none -nic none \
  -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
  -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=0" \
  -drive "file=$img/root.img,format=raw,if=virtio,snapshot=on" \
  -drive "file=$work/payload.tar,format=raw,if=virtio,readonly=on" \
  -serial "file:$cache/console.log" -serial "file:$cache/results.log" </dev/null &
qpid=$!
wait "$qpid" || true
qpid=
tr -d '\r' <"$cache/results.log"
step "guest finished"
if ! grep -q '^SYSTEM PASS' "$cache/results.log"; then
  echo "# the guest's console (last lines; all in $cache/console.log):"
  tail -n 30 "$cache/console.log" | tr -d '\r' | sed 's/^/#   /'
  exit 1
fi
