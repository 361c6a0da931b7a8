#!/usr/bin/env bash
# Installs the Debian packages wirelink needs to build, test and demo,
# running apt only when something is missing. Usage: tools/deps.sh [build|test|demo|bench]
set -euo pipefail

build_pkgs=(meson ninja-build gcc pkg-config libsodium-dev nettle-dev libmnl-dev
            libjansson-dev libyaml-dev libunistring-dev uthash-dev libcap-ng-dev
            libsystemd-dev scdoc dpkg-dev debhelper fakeroot build-essential)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev xxd qemu-system-x86 cpio kmod xz-utils
           socat debootstrap e2fsprogs)
bench_pkgs=(libcmocka-dev gnuplot-nox binutils)
demo_pkgs=(wireguard-go wireguard-tools iproute2 nftables iputils-ping procps)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}" "${demo_pkgs[@]}") ;;
  demo)  want+=("${demo_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}" "${demo_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|demo|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
