#!/usr/bin/env bash
# Static endpoints are looked up off the event loop: with a DNS server that
# never answers, the daemon keeps answering `status` at once, gives the
# lookup up after 10 s with a warning naming the endpoint, and uses the
# names that did resolve. usage: dns.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$1
IF=wld$E2E_ID
E2E_IFACES+=("$IF")
ns_add a || exit 1
NSA=$(ns a)
# ip netns exec mounts /etc/netns/NS/* over /etc: a resolver that points at
# an address whose packets vanish, and a hosts file.
trap 'rm -rf "/etc/netns/$NSA"; e2e_cleanup' EXIT
mkdir -p "/etc/netns/$NSA"
printf 'nameserver 203.0.113.53\noptions timeout:30 attempts:1\n' >"/etc/netns/$NSA/resolv.conf"
printf '127.0.0.1 localhost\n192.0.2.77 good.example\n' >"/etc/netns/$NSA/hosts"
printf 'hosts: files dns\n' >"/etc/netns/$NSA/nsswitch.conf"
# The server's packets leave (a static neighbour entry) into a namespace
# that does not route them: dropped without a word.
ns_add sink || exit 1
veth_pair a sink 203.0.113.1/24 203.0.113.2/24
mac=$(in_ns sink cat "/sys/class/net/v${E2E_ID}sink/address")
in_ns a ip neigh replace 203.0.113.53 lladdr "$mac" dev "v${E2E_ID}a" nud permanent
wg_up a "$IF" || exit 1
wg genkey >"$E2E_TMP/k"
in_ns a wg set "$IF" private-key "$E2E_TMP/k" listen-port 51820
in_ns a ip link set "$IF" up
slow=$(wg genkey | wg pubkey) good=$(wg genkey | wg pubkey)
mkdir -p "$E2E_TMP/etc"
cat >"$E2E_TMP/etc/wirelink.$IF.yaml" <<YAML
Peers:
  - PublicKey: "$slow"
    Name: slow
    Endpoints: ["slow.example:51820"]
    AllowedIPs: [198.51.100.5/32]
  - PublicKey: "$good"
    Name: good
    Endpoints: ["good.example:51820"]
    AllowedIPs: [198.51.100.6/32]
YAML
t0=$(date +%s.%N)
ip netns exec "$NSA" "$wl" -i "$IF" --config-path "$E2E_TMP/etc" >"$E2E_TMP/log" 2>&1 &
DPID=$!
E2E_PIDS+=($DPID)
check "the daemon starts" wait_until 10 test -S "/run/wirelink/$(run_name a "$IF").sock"
sleep 2
t1=$(date +%s.%N)
out=$(timeout 5 ip netns exec "$NSA" "$wl" status -i "$IF")
took=$(since "$t1" 3)
check "status answers at once while the lookup hangs (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 0.5) }'
check "  ... and lists the configured peers" grep -q "^slow " <<<"$out"
check "the lookup is given up with a warning naming it" wait_until 15 grep -q "static endpoint slow.example:51820: no answer from DNS within 10 s" "$E2E_TMP/log"
took=$(since "$t0" 1)
check "  ... after about 10 s (${took}s)" awk -v t="$took" 'BEGIN { exit !(t >= 9 && t < 16) }'
check "the name that resolved is used" wait_until 5 eval 'in_ns a wg show "$IF" endpoints | grep -q "^$good	192.0.2.77:51820$"'
check "the daemon is still running" kill -0 "$DPID"
[ "$E2E_FAILS" = 0 ] || sed 's/^/#   /' "$E2E_TMP/log"
e2e_finish
