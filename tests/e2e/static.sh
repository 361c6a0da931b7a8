#!/usr/bin/env bash
# Peers from the config file: two hosts that are not WireGuard peers of each
# other, each with the other in its config file (a static endpoint and an
# allowed IP). wirelink adds the peer, tries the resolved endpoint, and the
# tunnel carries traffic. usage: static.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$1
ns_add a && ns_add b || exit 1
veth_pair a b 192.0.2.11/24 192.0.2.12/24
declare -A key pub dpid addr=([a]=11 [b]=12)
for n in a b; do
  wg_up "$n" "ws$E2E_ID$n" || exit 1
  key[$n]=$(wg genkey); pub[$n]=$(echo "${key[$n]}" | wg pubkey)
  (umask 077; echo "${key[$n]}" >"$E2E_TMP/$n.key")
  in_ns "$n" wg set "ws$E2E_ID$n" private-key "$E2E_TMP/$n.key" listen-port 51820
  in_ns "$n" ip addr add "198.51.100.${addr[$n]}/24" dev "ws$E2E_ID$n"
  in_ns "$n" ip link set "ws$E2E_ID$n" up
done
for n in a b; do
  o=$([ $n = a ] && echo b || echo a)
  mkdir -p "$E2E_TMP/$n"
  cat >"$E2E_TMP/$n/wirelink.ws$E2E_ID$n.yaml" <<YAML
Peers:
  - PublicKey: "${pub[$o]}"
    Name: host-$o
    Endpoints: ["192.0.2.${addr[$o]}:51820"]
    AllowedIPs: [198.51.100.${addr[$o]}/32]
YAML
  ip netns exec "$(ns "$n")" "$wl" -i "ws$E2E_ID$n" --config-path "$E2E_TMP/$n" >"$E2E_TMP/wl-$n.log" 2>&1 &
  E2E_PIDS+=($!)
  dpid[$n]=$!
done
linked() {
  in_ns a wg show "ws${E2E_ID}a" allowed-ips | grep -q "198.51.100.12/32" &&
    in_ns b wg show "ws${E2E_ID}b" allowed-ips | grep -q "198.51.100.11/32"
}
for _ in $(seq 300); do linked && break; sleep 0.1; done
check "each added the other from its config, with the static allowed IP" linked
check "the tunnel carries traffic" in_ns a ping -c 3 -w 10 -q 198.51.100.12
check "logs use the configured names" grep -q "adding peer host-b" "$E2E_TMP/wl-a.log"
# A reload with the same file keeps the peer and its endpoint.
kill -HUP "${dpid[a]}"
check "SIGHUP: a's daemon reloads" wait_until 5 grep -q "^reloaded .*: 1 peer configured" "$E2E_TMP/wl-a.log"
sleep 1
check "  ... and keeps b's static endpoint" eval 'in_ns a wg show "ws${E2E_ID}a" endpoints | grep -q "192.0.2.12:51820"'
check "  ... the tunnel still carries traffic" in_ns a ping -c 1 -w 5 -q 198.51.100.12
e2e_finish
