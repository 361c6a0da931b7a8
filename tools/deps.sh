#!/usr/bin/env bash
# Installs the Debian packages wirelink needs to build, test and demo,
# running apt only when something is missing.
# Usage: tools/deps.sh [build|test|demo|bench|cross]
# `cross` adds the armhf and s390x architectures (dpkg --add-architecture),
# their cross compilers, the :armhf/:s390x -dev packages of our dependencies
# and qemu-user, for tests/cross.sh.
set -euo pipefail

build_pkgs=(meson ninja-build gcc pkg-config libsodium-dev libmnl-dev
            libjansson-dev libyaml-dev uthash-dev libcap-ng-dev
            scdoc dpkg-dev debhelper fakeroot build-essential)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev xxd qemu-system-x86 cpio kmod xz-utils
           socat debootstrap e2fsprogs jq conntrack)
bench_pkgs=(libcmocka-dev gnuplot-nox binutils conntrack)
cross_archs=(armhf s390x)
# The toolchains' own C libraries (-cross, architecture all) rather than
# libc6-dev:ARCH, whose linux-libc-dev must match the host's version exactly.
cross_pkgs=(qemu-user gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
            gcc-s390x-linux-gnu libc6-dev-s390x-cross)
for a in "${cross_archs[@]}"; do
  cross_pkgs+=("libsodium-dev:$a" "libmnl-dev:$a" "libjansson-dev:$a"
               "libyaml-dev:$a" "libcap-ng-dev:$a" "libcmocka-dev:$a")
done
demo_pkgs=(wireguard-go wireguard-tools iproute2 nftables iputils-ping procps)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test)  want+=("${test_pkgs[@]}" "${demo_pkgs[@]}") ;;
  demo)  want+=("${demo_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}" "${demo_pkgs[@]}") ;;
  cross) want+=("${cross_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|demo|bench|cross]" >&2; exit 2 ;;
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
if [ "${1:-build}" = cross ]; then
  for a in "${cross_archs[@]}"; do
    dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
  done
fi
# A mirror may be mid-sync for one architecture's index; say so and let the
# install below decide whether what is there is enough.
apt-get -o DPkg::Lock::Timeout=600 update -qq ||
  echo "warning: apt-get update reported errors (some package lists are stale)" >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
