#!/bin/sh
# Runs inside the qemu guest (busybox sh) booted by tests/kernel/run.sh:
# two namespaces joined by a veth pair, a kernel WireGuard interface in each;
# one is configured with wg(8), read and changed through our netlink backend
# and compared with `wg show dump`; then a ping goes through the tunnel.
# Prints "ok - ..." lines and a final "KTEST PASS" or "KTEST FAIL".
IP=/usr/sbin/ip # iproute2, not busybox's applet
fails=0
ok() { echo "ok - $1"; }
check() { what=$1; shift; if "$@"; then ok "$what"; else echo "not ok - $what"; fails=$((fails + 1)); fi; }
norm() { # preshared keys as (none)/(hidden), peers sorted
  awk -F'\t' -v OFS='\t' 'NR == 1 { print; next } { if ($2 != "(none)") $2 = "(hidden)"; print }' |
    { read -r h; echo "$h"; sort; }
}
same_as_wg() {
  $IP netns exec "$1" wg show "$2" dump | norm >/tmp/wg.dump
  $IP netns exec "$1" /wgtool dump "$2" | norm >/tmp/ours.dump
  cmp -s /tmp/wg.dump /tmp/ours.dump || { diff /tmp/wg.dump /tmp/ours.dump; return 1; }
}
field() { $IP netns exec a /wgtool dump wga | awk -F'\t' -v k="$1" -v f="$2" '$1 == k { print $f }'; }

$IP netns add a && $IP netns add b
$IP link add va netns a type veth peer name vb netns b
$IP -n a addr add 192.0.2.1/24 dev va && $IP -n a link set va up && $IP -n a link set lo up
$IP -n b addr add 192.0.2.2/24 dev vb && $IP -n b link set vb up && $IP -n b link set lo up
$IP -n a link add wga type wireguard && $IP -n b link add wgb type wireguard
wg genkey >/tmp/ka; wg genkey >/tmp/kb; wg genpsk >/tmp/psk
pa=$(wg pubkey </tmp/ka); pb=$(wg pubkey </tmp/kb)
$IP netns exec a wg set wga private-key /tmp/ka listen-port 51820 fwmark 0x42 \
  peer "$pb" endpoint 192.0.2.2:51821 allowed-ips 198.51.100.2/32,fd00:9::/64 \
  persistent-keepalive 5 preshared-key /tmp/psk
$IP netns exec b wg set wgb private-key /tmp/kb listen-port 51821 \
  peer "$pa" endpoint 192.0.2.1:51820 allowed-ips 198.51.100.1/32 preshared-key /tmp/psk
$IP -n a addr add 198.51.100.1/24 dev wga && $IP -n a link set wga up
$IP -n b addr add 198.51.100.2/24 dev wgb && $IP -n b link set wgb up

check "netlink read matches wg" same_as_wg a wga
check "ping through the kernel tunnel" $IP netns exec a ping -c 1 -W 5 198.51.100.2
hs=$(field "$pb" 5)
check "handshake time read back ($hs)" test "${hs:-0}" -gt 0
check "after traffic, still matches wg" same_as_wg a wga

pc=$(wg genkey | wg pubkey)
$IP netns exec a /wgtool set wga peer "$pc" endpoint '[fd00:2::9]:1234' allowed-ips 203.0.113.0/24,fd00:c::1/128
check "add a peer with an IPv6 endpoint" test "$(field "$pc" 3)" = "[fd00:2::9]:1234"
$IP netns exec a /wgtool set wga peer "$pc" replace-allowed-ips allowed-ips 203.0.113.7/32
check "replace allowed IPs" test "$(field "$pc" 4)" = "203.0.113.7/32"
$IP netns exec a /wgtool set wga peer "$pc" endpoint 192.0.2.77:4000 persistent-keepalive 25
check "set endpoint and keepalive" test "$(field "$pc" 3)/$(field "$pc" 8)" = "192.0.2.77:4000/25"
pd=$(wg genkey | wg pubkey)
$IP netns exec a /wgtool set wga peer "$pd" update-only allowed-ips 203.0.113.9/32
check "update-only never creates" test -z "$(field "$pd" 1)"
$IP netns exec a /wgtool set wga peer "$pc" remove
check "remove a peer" test -z "$(field "$pc" 1)"
check "changes match wg" same_as_wg a wga
$IP netns exec b /wgtool bulk wgb 300 40
check "300 peers x 40 allowed IPs (split messages) match wg" same_as_wg b wgb
check "  ... all 12,000 allowed IPs present" \
  test "$($IP netns exec b wg show wgb allowed-ips | awk '{ n += NF - 1 } END { print n }')" = 12001
out=$($IP netns exec a /wgtool dump nothere 2>&1)
check "missing interface is a clear error ($out)" test -n "$out"
out=$($IP netns exec a /wgtool dump va 2>&1)
check "non-WireGuard interface is a clear error ($out)" test -n "$out"
check "ping still works after all changes" $IP netns exec a ping -c 1 -W 5 198.51.100.2
[ "$fails" = 0 ] && echo "KTEST PASS" || echo "KTEST FAIL ($fails)"
