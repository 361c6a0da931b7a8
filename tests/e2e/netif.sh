#!/usr/bin/env bash
# Host network management against the kernel: interface and address listing
# compared with iproute2, and idempotent IPv6 address adds that are usable
# at once (no duplicate address detection). usage: netif.sh WGTOOL
. "$(dirname "$0")/lib.sh"
wgtool=$1
ns_add a && ns_add b || exit 1
veth_pair a b 192.0.2.1/24 192.0.2.2/24
in_ns a ip addr add 198.51.100.7/25 dev "v${E2E_ID}a"
in_ns a ip link add "d${E2E_ID}" type veth peer name "e${E2E_ID}"  # stays down

theirs() {
  in_ns a ip -o link show | awk -F': ' '{ split($2, n, "@"); up = ($3 ~ /<([^>]*,)?UP[,>]/) ? "up" : "down"; print n[1], up }' | sort
}
list_names() { in_ns a "$wgtool" netif | awk '{ print $1, $3 }' | sort; }
check "interfaces and up/down state match ip link" test "$(list_names)" = "$(theirs)"
addrs_ours() { in_ns a "$wgtool" netif | awk -v i="$1" '$1 == i { for (k = 4; k <= NF; k++) print $k }' | sort; }
addrs_ip() { in_ns a ip -o addr show dev "$1" | awk '{ print $4 }' | sort; }
check "addresses of v${E2E_ID}a match ip addr" test "$(addrs_ours "v${E2E_ID}a")" = "$(addrs_ip "v${E2E_ID}a")"

in_ns a "$wgtool" addaddr "v${E2E_ID}a" fe80::1234:5678/64
check "add an IPv6 link-local /64" grep -q 'fe80::1234:5678/64' <<<"$(addrs_ip "v${E2E_ID}a")"
in_ns a "$wgtool" addaddr "v${E2E_ID}a" fe80::1234:5678/64
check "adding it again succeeds (idempotent)" test $? = 0
check "  ... and leaves one copy" test "$(addrs_ip "v${E2E_ID}a" | grep -c 'fe80::1234:5678/64')" = 1
in_ns a "$wgtool" addaddr "v${E2E_ID}a" fd00:5::1/128
flags=$(in_ns a ip -o addr show dev "v${E2E_ID}a" | grep 'fd00:5::1/128')
check "added without DAD, never tentative ($flags)" test -n "$flags" -a -z "$(grep tentative <<<"$flags")"
check "  ... and usable at once: bind to it" in_ns a sh -c "ping -c1 -W1 -I fd00:5::1 fd00:5::1 >/dev/null"
in_ns a "$wgtool" addaddr "nothere$E2E_ID" fd00::1/64 2>/dev/null
check "unknown interface is an error" test $? = 2
e2e_finish
