# The demo topology, shared by run-demo and the mesh test (source after
# lib.sh): a router and leaves on one LAN bridge, each leaf configured with
# only the router as its WireGuard peer. Tunnel addresses 198.51.100.0/24,
# LAN 192.0.2.0/24.
declare -A ip key pub
STAR_LEAVES=()

star_iface() { echo "wm$E2E_ID$1"; }

# star_wg N ADDR: WireGuard interface for node N (key made once, kept for
# re-creation), listening on STAR_PORT[N] (default 51820; 0: WireGuard's
# own pick, as a wg-quick file without ListenPort), tunnel address
# 198.51.100.ADDR/24.
declare -A STAR_PORT
star_wg() {
  local n=$1
  wg_up "$n" "$(star_iface "$n")" || return 1
  if [ -z "${key[$n]:-}" ]; then
    key[$n]=$(wg genkey); pub[$n]=$(echo "${key[$n]}" | wg pubkey)
    (umask 077; echo "${key[$n]}" >"$E2E_TMP/$n.key")
  fi
  in_ns "$n" wg set "$(star_iface "$n")" private-key "$E2E_TMP/$n.key" listen-port "${STAR_PORT[$n]:-51820}"
  in_ns "$n" ip addr add "198.51.100.$2/24" dev "$(star_iface "$n")"
  in_ns "$n" ip link set "$(star_iface "$n")" up
}

# star_leaf_peer L ROUTER_ENDPOINT: leaf L's only configured peer, the router.
star_leaf_peer() {
  in_ns "$1" wg set "$(star_iface "$1")" peer "${pub[r]}" endpoint "$2" \
    allowed-ips 198.51.100.0/24 persistent-keepalive 5
}

# star_setup LEAF...: namespaces, bridge, wireguard-go and wg configuration.
star_setup() {
  STAR_LEAVES=("$@")
  local n l i=11
  ip[r]=1
  for l in "$@"; do ip[$l]=$i; i=$((i + 1)); done
  ns_add lan || return 1
  ip -n "$(ns lan)" link add br0 type bridge && ip -n "$(ns lan)" link set br0 up
  mkdir -p "$E2E_TMP/etc"
  for n in r "$@"; do
    ns_add "$n" || return 1
    ip link add "l$E2E_ID$n" netns "$(ns "$n")" type veth peer name "b$E2E_ID$n" netns "$(ns lan)"
    ip -n "$(ns lan)" link set "b$E2E_ID$n" master br0 up
    in_ns "$n" ip addr add "192.0.2.${ip[$n]}/24" dev "l$E2E_ID$n"
    in_ns "$n" ip link set "l$E2E_ID$n" up
    star_wg "$n" "${ip[$n]}" || return 1
  done
  # Leaves that fall back reach each other through the router.
  in_ns r sysctl -qw net.ipv4.ip_forward=1
  for l in "$@"; do
    # A leaf on WireGuard's own pick is known to the router only when it
    # calls in, as a laptop is.
    if [ "${STAR_PORT[$l]:-51820}" = 0 ]; then
      in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" allowed-ips "198.51.100.${ip[$l]}/32"
    else
      in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" endpoint "192.0.2.${ip[$l]}:${STAR_PORT[$l]:-51820}" \
        allowed-ips "198.51.100.${ip[$l]}/32"
    fi
    star_leaf_peer "$l" 192.0.2.1:51820
  done
}

# star_reach_router: waits (20 s at most) until every leaf pings the router
# through the tunnel.
star_reach_router() {
  local l
  for l in "${STAR_LEAVES[@]}"; do
    wait_until 20 in_ns "$l" ping -c 1 -W 1 -q 198.51.100.1 >/dev/null || return 1
  done
}

# star_start WIRELINK [ARGS...]: starts a daemon in every namespace.
declare -A wlpid
star_start() {
  local wl=$1 n
  shift
  for n in r "${STAR_LEAVES[@]}"; do star_start_one "$n" "$wl" "$@"; done
}

# star_start_one N WIRELINK [ARGS...]: (re)starts N's daemon, its log
# appended to wl-N.log; its PID in wlpid[N].
star_start_one() {
  local n=$1 wl=$2
  shift 2
  ip netns exec "$(ns "$n")" "$wl" -i "$(star_iface "$n")" --config-path "$E2E_TMP/etc" "$@" \
    >>"$E2E_TMP/wl-$n.log" 2>&1 &
  E2E_PIDS+=($!)
  wlpid[$n]=$!
}

# star_holds L M: M's /32 is on L's own peer entry for M (however old its
# handshake: an idle session is not renewed).
star_holds() {
  in_ns "$1" wg show "$(star_iface "$1")" allowed-ips |
    awk -v k="${pub[$2]}" -v a="198.51.100.${ip[$2]}/32" '$1 == k { for (i = 2; i <= NF; i++) if ($i == a) f = 1 } END { exit !f }'
}

# star_direct L M: L holds M directly (a recent handshake and M's /32).
star_direct() {
  local line
  line=$(in_ns "$1" wg show "$(star_iface "$1")" dump | awk -F'\t' -v k="${pub[$2]}" '$1 == k')
  [ -n "$line" ] && grep -q "198.51.100.${ip[$2]}/32" <<<"$(cut -f4 <<<"$line")" &&
    [ $(($(date +%s) - $(cut -f5 <<<"$line"))) -lt 60 ]
}

star_converged() {
  local l m
  for l in "${STAR_LEAVES[@]}"; do
    for m in "${STAR_LEAVES[@]}"; do
      [ "$l" = "$m" ] || star_direct "$l" "$m" || return 1
    done
  done
}
