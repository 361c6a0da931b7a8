#!/usr/bin/env bash
# The device API against real wireguard-go: read what `wg` configured, make
# every kind of change through our API, and compare with `wg show dump`.
# usage: wg_userspace.sh WGTOOL   (as root)
. "$(dirname "$0")/lib.sh"
wgtool=$1
A=wla$E2E_ID B=wlb$E2E_ID

# Normalised dump: preshared keys as (none)/(hidden), allowed IPs sorted,
# peers sorted (wireguard-go lists them in map order).
norm() {
  awk -F'\t' -v OFS='\t' 'NR == 1 { print; next }
    { if ($2 != "(none)") $2 = "(hidden)"; n = split($4, a, ","); s = "";
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") a[i]; $4 = s; print }' | { read -r h; echo "$h"; sort; }
}
# same_as_wg NS IFACE: our dump equals wg's (counters can move between the
# two reads, so try a few times).
same_as_wg() {
  for _ in 1 2 3; do
    in_ns "$1" wg show "$2" dump | norm >"$E2E_TMP/wg.dump"
    in_ns "$1" "$wgtool" dump "$2" | norm >"$E2E_TMP/ours.dump"
    cmp -s "$E2E_TMP/wg.dump" "$E2E_TMP/ours.dump" && return 0
    sleep 0.2
  done
  diff "$E2E_TMP/wg.dump" "$E2E_TMP/ours.dump" | head -20
  return 1
}
peer_field() { # NS IFACE KEY FIELD-NUMBER
  in_ns "$1" "$wgtool" dump "$2" | awk -F'\t' -v k="$3" -v f="$4" '$1 == k { print $f }'
}

ns_add a && ns_add b || exit 1
veth_pair a b 192.0.2.1/24 192.0.2.2/24
in_ns a ip addr add fd00:2::1/64 dev "v${E2E_ID}a" nodad
in_ns b ip addr add fd00:2::2/64 dev "v${E2E_ID}b" nodad
wg_up a "$A" && wg_up b "$B" || exit 1
ka=$(wg genkey) kb=$(wg genkey)
pa=$(echo "$ka" | wg pubkey) pb=$(echo "$kb" | wg pubkey)
echo "$ka" >"$E2E_TMP/ka"; echo "$kb" >"$E2E_TMP/kb"; wg genpsk >"$E2E_TMP/psk"
in_ns a wg set "$A" private-key "$E2E_TMP/ka" listen-port 51820 fwmark 0x42 \
  peer "$pb" endpoint 192.0.2.2:51821 allowed-ips 198.51.100.2/32,10.2.0.0/16,fd00:9::/64 \
  persistent-keepalive 5 preshared-key "$E2E_TMP/psk"
in_ns b wg set "$B" private-key "$E2E_TMP/kb" listen-port 51821 \
  peer "$pa" endpoint '[fd00:2::1]:51820' allowed-ips 198.51.100.1/32 preshared-key "$E2E_TMP/psk"
in_ns a ip addr add 198.51.100.1/24 dev "$A"; in_ns a ip link set "$A" up
in_ns b ip addr add 198.51.100.2/24 dev "$B"; in_ns b ip link set "$B" up

check "read matches wg (IPv4 endpoint, fwmark, keepalive, psk)" same_as_wg a "$A"
check "read matches wg (IPv6 endpoint)" same_as_wg b "$B"
check "a ping goes through the tunnel" in_ns a ping -c 1 -w 15 -q 198.51.100.2
hs=$(peer_field a "$A" "$pb" 5)
check "a real handshake is read back (last handshake $hs)" test "${hs:-0}" -gt 0
check "after traffic, counters still match wg" same_as_wg a "$A"

# Changes through our API, each compared with wg's view.
pc=$(wg genkey | wg pubkey)
in_ns a "$wgtool" set "$A" peer "$pc" endpoint '[fd00:2::9]:1234' allowed-ips 203.0.113.0/24,fd00:c::1/128
check "add a peer with an IPv6 endpoint" same_as_wg a "$A"
check "  ... and its allowed IPs" test "$(peer_field a "$A" "$pc" 4)" = "203.0.113.0/24,fd00:c::1/128"
in_ns a "$wgtool" set "$A" peer "$pc" allowed-ips 203.0.114.0/24
check "add an allowed IP" test "$(peer_field a "$A" "$pc" 4 | tr , '\n' | wc -l)" = 3
in_ns a "$wgtool" set "$A" peer "$pc" replace-allowed-ips allowed-ips 203.0.113.7/32
check "replace allowed IPs" test "$(peer_field a "$A" "$pc" 4)" = "203.0.113.7/32"
in_ns a "$wgtool" set "$A" peer "$pc" endpoint 192.0.2.77:4000 persistent-keepalive 25
check "set endpoint and keepalive" test "$(peer_field a "$A" "$pc" 3 "$pc")$(peer_field a "$A" "$pc" 8)" = "192.0.2.77:400025"
check "  ... matches wg" same_as_wg a "$A"
pd=$(wg genkey | wg pubkey)
in_ns a "$wgtool" set "$A" peer "$pd" update-only allowed-ips 203.0.113.9/32
check "update-only never creates a peer" test -z "$(peer_field a "$A" "$pd" 1)"
in_ns a "$wgtool" set "$A" peer "$pc" update-only persistent-keepalive 0
check "update-only changes an existing peer" test "$(peer_field a "$A" "$pc" 8)" = off
pe=$(wg genkey | wg pubkey)
in_ns a "$wgtool" set "$A" peer "$pc" remove peer "$pe" allowed-ips 203.0.113.10/32
check "several peers in one call (remove one, add one)" \
  test -z "$(peer_field a "$A" "$pc" 1)" -a "$(peer_field a "$A" "$pe" 4)" = "203.0.113.10/32"
check "  ... matches wg" same_as_wg a "$A"

# Errors are clear and name the interface.
out=$(in_ns a "$wgtool" dump wlnothere$E2E_ID 2>&1)
check "missing interface: clear error ($out)" grep -q "wlnothere$E2E_ID" <<<"$out"
out=$(in_ns a "$wgtool" dump "v${E2E_ID}a" 2>&1); st=$?
check "non-WireGuard interface: clear error ($out)" test $st = 1 -a -n "$out"

# Scale: 1,000 peers x 4 allowed IPs in one change, read back and compared.
in_ns b "$wgtool" bulk "$B" 1000 4
check "1,000 peers x 4 allowed IPs written" test "$(in_ns b wg show "$B" peers | wc -l)" = 1001
check "1,000 peers read back exactly as wg shows them" same_as_wg b "$B"
in_ns b "$wgtool" time "$B" 9
e2e_finish
