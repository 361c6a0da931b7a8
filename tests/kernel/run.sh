#!/usr/bin/env bash
# The netlink backend against a real kernel with WireGuard: boots Debian's
# own kernel package under qemu (software emulation) with a small initramfs
# (static busybox, the wireguard module and its dependencies, wg, ip and our
# test tool) and runs tests/kernel/guest.sh inside.
# usage: run.sh WGTOOL CACHE-DIR [WIRELINK]
set -euo pipefail
wgtool=$(realpath "$1") cache=$(realpath -m "$2") wirelink=${3:+$(realpath "$3")}
here=$(cd "$(dirname "$0")" && pwd)
command -v qemu-system-x86_64 >/dev/null || { echo "skipped: no qemu-system-x86_64"; exit 77; }
mkdir -p "$cache"
cd "$cache"

# Fetch and unpack the kernel and busybox packages (kept for the next run).
find_kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kpkg=$(find_kpkg)
[ -n "$kpkg" ] || { apt-get update -qq && kpkg=$(find_kpkg); }
[ -n "$kpkg" ] || { echo "cannot find Debian's kernel package"; exit 1; }
if [ ! -d "root-$kpkg" ]; then
  rm -f ./*.deb
  apt-get download -qq "$kpkg" busybox-static 2>/dev/null
  mkdir -p "root-$kpkg.tmp"
  for d in ./*.deb; do dpkg-deb -x "$d" "root-$kpkg.tmp"; done
  # The package has no modules.dep (depmod makes it at install time).
  depmod -b "root-$kpkg.tmp" "$(ls "root-$kpkg.tmp/lib/modules")"
  mv "root-$kpkg.tmp" "root-$kpkg"
  rm -f ./*.deb
fi
root=$cache/root-$kpkg
kver=$(ls "$root/lib/modules" | head -n 1)
vmlinuz=$root/boot/vmlinuz-$kver

# The initramfs.
init=$(mktemp -d)
trap 'rm -rf "$init"' EXIT
mkdir -p "$init"/{bin,dev,proc,sys,tmp,run,modules,usr/sbin,usr/bin}
cp "$root/bin/busybox" "$init/bin/busybox"
# Modules: wireguard and veth, and nf_tables for a local firewall (with
# crc32c first, which libcrc32c asks the crypto API for), with their
# dependencies, deepest first.
declare -A seen=()
order=()
add_mod() {
  local m=$1 deps d
  [ -n "${seen[$m]:-}" ] && return
  seen[$m]=1
  deps=$(awk -F': ' -v m="$m" '$1 == m { print $2 }' "$root/lib/modules/$kver/modules.dep")
  for d in $deps; do add_mod "$d"; done
  order+=("$m")
}
for want in wireguard veth crc32c_generic nf_tables; do
  add_mod "$(awk -F: -v w="/$want.ko" 'index($1, w) { print $1; exit }' "$root/lib/modules/$kver/modules.dep")"
done
i=0
for m in "${order[@]}"; do
  i=$((i + 1))
  dst="$init/modules/$(printf %02d "$i")-$(basename "${m%.xz}")"
  case $m in # some kernel versions ship modules xz-compressed
    *.xz) xz -dc "$root/lib/modules/$kver/$m" >"$dst" ;;
    *) cp "$root/lib/modules/$kver/$m" "$dst" ;;
  esac
done
# Dynamic binaries with their libraries.
copy_bin() {
  cp "$1" "$init/$2"
  ldd "$1" | grep -oE '/[^ ]+\.so[^ ]*' | while read -r lib; do
    mkdir -p "$init/$(dirname "$lib")"
    cp -n "$lib" "$init/$lib"
  done
}
copy_bin "$(command -v wg)" usr/bin/wg
copy_bin /usr/sbin/ip usr/sbin/ip
copy_bin /usr/sbin/nft usr/sbin/nft
copy_bin "$wgtool" wgtool
[ -n "$wirelink" ] && copy_bin "$wirelink" wirelink
cp "$here/guest.sh" "$init/guest.sh"
cat >"$init/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run; mkdir -p /run/netns /var; ln -s /run /var/run
for m in /modules/*.ko; do insmod "$m" || echo "insmod $m failed"; done
sh /guest.sh 2>&1
poweroff -f
INIT
chmod +x "$init/init" "$init/guest.sh"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) >"$cache/initrd.gz"

echo "booting $kpkg ($kver) under qemu (TCG)"
start=$(date +%s)
timeout 420 qemu-system-x86_64 -accel tcg -m 768 -smp 1 -nographic -no-reboot \
  -kernel "$vmlinuz" -initrd "$cache/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null >"$cache/console.log" 2>&1 || true
grep -E '^(ok|not ok) - |^# |KTEST|insmod' "$cache/console.log" | tr -d '\r'
echo "guest ran for $(( $(date +%s) - start ))s"
grep -q 'KTEST PASS' "$cache/console.log"
