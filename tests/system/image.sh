#!/usr/bin/env bash
# Builds (once) the Debian 12 guest for the system test: a root file system
# made by debootstrap from the host's Debian mirror, with systemd, Debian's
# kernel (and its initramfs), wireguard-tools and the libraries wirelink
# links, packed into an ext4 image with mkfs.ext4 -d (no loop device).
# Also installs the boot-time driver, a unit that unpacks the tar archive
# on the second disk (/dev/vdb) and runs its guest.sh.
# usage: image.sh CACHE-DIR    prints the image's directory on stdout
set -euo pipefail
cache=$(realpath -m "$1")
version=4 # bump when the package list or the guest set-up below changes
dir=$cache/debian12-v$version
[ -f "$dir/root.img" ] && { echo "$dir"; exit 0; }
command -v debootstrap >/dev/null || { echo "needs debootstrap (tools/deps.sh test)" >&2; exit 77; }
mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ { print $2; exit } /^deb / && $3 == "bookworm" { print $2; exit }' \
  /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
# unmount_under DIR: what a failed debootstrap may have left mounted.
unmount_under() { awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l; }
for old in "$cache"/debian12-v*; do [ -d "$old" ] && unmount_under "$old"; done
rm -rf "$cache"/debian12-v*
mkdir -p "$dir"
root=$dir/rootfs
pkgs=systemd,systemd-sysv,udev,dbus,kmod,linux-image-amd64,initramfs-tools,wireguard-tools,iproute2,
pkgs+=nftables,util-linux,
pkgs+=procps,iputils-ping,adduser,passwd,libsodium23,libnettle8,libmnl0,libjansson4,libyaml-0-2,
pkgs+=libunistring2,libcap-ng0,libsystemd0
start=$(date +%s)
echo "debootstrap bookworm from $mirror (first run only)" >&2
if ! debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1; then
  tail -n 20 "$dir/debootstrap.log" >&2; unmount_under "$dir"; exit 1
fi
echo "wlguest" >"$root/etc/hostname"
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
rm -f "$root"/var/cache/apt/archives/*.deb
# No logins on the consoles; the test driver talks on the second serial port.
chroot "$root" systemctl mask getty@tty1.service serial-getty@ttyS0.service >/dev/null 2>&1
cat >"$root/usr/local/sbin/wltest-run" <<'RUN'
#!/bin/sh
# Unpacks the test archive from the second disk and runs it.
mkdir -p /run/wltest && tar -xf /dev/vdb -C /run/wltest && exec /bin/bash /run/wltest/guest.sh
RUN
chmod +x "$root/usr/local/sbin/wltest-run"
cat >"$root/etc/systemd/system/wltest.service" <<'UNIT'
[Unit]
Description=wirelink system test driver
ConditionPathExists=/dev/vdb
[Service]
Type=simple
ExecStart=/usr/local/sbin/wltest-run
StandardOutput=file:/dev/ttyS1
StandardError=inherit
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable wltest.service >/dev/null 2>&1
kver=$(ls "$root/lib/modules" | head -n 1)
cp "$root/boot/vmlinuz-$kver" "$dir/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$dir/initrd.img"
truncate -s 3G "$dir/root.img.tmp"
mkfs.ext4 -q -L wlroot -d "$root" "$dir/root.img.tmp"
mv "$dir/root.img.tmp" "$dir/root.img"
unmount_under "$dir"
rm -rf "$root"
echo "guest image built in $(( $(date +%s) - start )) s: $(du -sh --apparent-size "$dir" | cut -f1) apparent, $(du -sh "$dir" | cut -f1) on disk" >&2
echo "$dir"
