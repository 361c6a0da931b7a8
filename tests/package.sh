#!/usr/bin/env bash
# Builds the Debian package from a copy of the source tree with
# `dpkg-buildpackage -us -uc -b` and checks what it installs.
# usage: package.sh SOURCE_DIR
set -u
src=$1
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
  { echo "skipped: needs dpkg-dev and debhelper"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# The tracked files (and any not yet committed), without build trees.
mkdir "$tmp/wirelink"
(cd "$src" && { git ls-files -co --exclude-standard 2>/dev/null || find . -path ./build\* -prune -o -type f -print; }) |
  (cd "$src" && xargs -d '\n' cp --parents -t "$tmp/wirelink" 2>/dev/null)
# The README's install line, `tools/deps.sh build && dpkg-buildpackage ...`,
# must work on a fresh machine: the build list has every Build-Depends and
# what dpkg-buildpackage itself needs.
build_list=" $(sed -n '/^build_pkgs=(/,/)/p' "$src/tools/deps.sh" | tr -d '()' | sed 's/build_pkgs=//' | tr -s ' \n' ' ') "
missing=""
for p in $(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | sed '$d;s/^Build-Depends://' |
             tr ',' '\n' | sed 's/([^)]*)//;s/^ *//;s/ *$//;s/^debhelper-compat$/debhelper/') dpkg-dev build-essential; do
  [[ "$build_list" == *" $p "* ]] || missing+=" $p"
done
check "tools/deps.sh build installs every Build-Depends and dpkg-dev${missing:+ (missing:$missing)}" test -z "$missing"
start=$(date +%s)
if (cd "$tmp/wirelink" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1); then
  ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
  not_ok "dpkg-buildpackage -us -uc -b"; tail -n 30 "$tmp/build.log" | sed 's/^/#   /'; exit 1
fi
deb=$(ls "$tmp"/wirelink_*.deb 2>/dev/null | head -n 1)
check "a .deb was made ($(basename "${deb:-none}"))" test -n "$deb"
contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }')
for f in ./usr/sbin/wirelink ./lib/systemd/system/wirelink@.service ./lib/systemd/system/wl-quick@.service \
         ./usr/share/man/man8/wirelink.8.gz ./usr/share/man/man5/wirelink.conf.5.gz \
         ./usr/share/doc/wirelink/examples/wirelink.wg0.yaml.example; do
  check "it installs ${f#.}" grep -qxF "$f" <<<"$contents"
done
check "it depends on the libraries it links" eval 'dpkg-deb -f "$deb" Depends | grep -q libsodium'
mkdir "$tmp/root"
dpkg-deb -x "$deb" "$tmp/root"
check "the packaged binary runs" eval '"$tmp/root/usr/sbin/wirelink" --version | grep -q "^wirelink "'
check "the units start the packaged binary" grep -q "^ExecStart=/usr/sbin/wirelink --iface %i" "$tmp/root/lib/systemd/system/wirelink@.service"
check "wl-quick@ is bound to wg-quick@" grep -q "^BindsTo=wg-quick@%i.service" "$tmp/root/lib/systemd/system/wl-quick@.service"
for u in wirelink@ wl-quick@; do
  # systemd.exec(5): a listed path that is missing fails the unit unless "-"
  # prefixed; /run/wireguard exists only where wireguard-go runs.
  check "$u.service lists /run/wireguard as optional" \
    eval '! grep -E "^ReadWritePaths=" "$tmp/root/lib/systemd/system/$u.service" | grep -qE "(=| )/run/wireguard"'
  if command -v systemd-analyze >/dev/null; then
    check "$u.service passes systemd-analyze verify" \
      eval 'systemd-analyze verify --man=no "$tmp/root/lib/systemd/system/$u.service" 2>&1 |
              grep -vE "Unit wg-quick@|wg-quick@.*not found|/usr/sbin/wirelink" | (! grep .)'
  fi
done
dpkg-deb -e "$deb" "$tmp/control"
check "postinst creates the wirelink system user" grep -q "adduser --system" "$tmp/control/postinst"
check "postrm removes it on purge" grep -q "deluser --system.* wirelink" "$tmp/control/postrm"
# A daemon started by hand outlives the package: its socket and IFACE/owned
# in /run/wirelink must outlive a purge too (issue 22).
check "postrm leaves /run/wirelink alone" eval '! grep -vE "^[[:space:]]*#" "$tmp/control/postrm" | grep -q "/run/wirelink"'
check "wirelink@ and wl-quick@ conflict (one daemon per interface)" eval '
  grep -q "^Conflicts=wl-quick@%i.service" "$tmp/root/lib/systemd/system/wirelink@.service" &&
  grep -q "^Conflicts=wirelink@%i.service" "$tmp/root/lib/systemd/system/wl-quick@.service"'
for u in wirelink@ wl-quick@; do
  check "$u.service may bind a fact port below 1024 (CAP_NET_BIND_SERVICE)" \
    grep -qE "^CapabilityBoundingSet=.*CAP_NET_BIND_SERVICE" "$tmp/root/lib/systemd/system/$u.service"
done
[ "$fails" = 0 ]
