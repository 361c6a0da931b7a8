# The NAT topologies (source after lib.sh and star.sh), shared by the
# scenarios and the convergence benchmark.

# cone_nat NS OUT [random]: NS forwards and masquerades what leaves by OUT,
# dropping unsolicited inbound there: a port-restricted cone, as home
# routers are (with "random", a new random port per destination:
# symmetric).
cone_nat() {
  in_ns "$1" sysctl -qw net.ipv4.ip_forward=1
  in_ns "$1" nft -f - <<NFT
table ip nat {
  chain post { type nat hook postrouting priority 100; oifname "$2" masquerade ${3:-}; }
}
table ip filter {
  chain input { type filter hook input priority 0; iifname "$2" ct state new drop; }
  chain forward { type filter hook forward priority 0; iifname "$2" ct state new drop; }
}
NFT
}

# Two NATs: the router on a "public" segment (203.0.113.0/24); leaves a and
# b each behind its own NAT namespace (nft masquerade, unsolicited inbound
# dropped: a port-restricted cone, as home routers are), on private LANs
# 10.1.0.0/24 (a at 10.1.0.11) and 10.2.0.0/24 (b at 10.2.0.12), as homes
# have: ranked as private, not public.
nat_setup() {
  STAR_LEAVES=(a b)
  ip[r]=1; ip[a]=11; ip[b]=12
  local l pubip lan
  ns_add pub || return 1
  ip -n "$(ns pub)" link add br0 type bridge && ip -n "$(ns pub)" link set br0 up
  mkdir -p "$E2E_TMP/etc"
  ns_add r || return 1
  ip link add "l${E2E_ID}r" netns "$(ns r)" type veth peer name "b${E2E_ID}r" netns "$(ns pub)"
  ip -n "$(ns pub)" link set "b${E2E_ID}r" master br0 up
  in_ns r ip addr add 203.0.113.1/24 dev "l${E2E_ID}r"
  in_ns r ip link set "l${E2E_ID}r" up
  in_ns r sysctl -qw net.ipv4.ip_forward=1
  star_wg r 1 || return 1
  for l in a b; do
    if [ $l = a ]; then pubip=2 lan=10.1.0; else pubip=3 lan=10.2.0; fi
    ns_add "nat$l" && ns_add "$l" || return 1
    ip link add "p$E2E_ID$l" netns "$(ns "nat$l")" type veth peer name "b$E2E_ID$l" netns "$(ns pub)"
    ip -n "$(ns pub)" link set "b$E2E_ID$l" master br0 up
    in_ns "nat$l" ip addr add "203.0.113.$pubip/24" dev "p$E2E_ID$l"
    in_ns "nat$l" ip link set "p$E2E_ID$l" up
    veth_pair "nat$l" "$l" "$lan.1/24" "$lan.${ip[$l]}/24"
    in_ns "$l" ip route add default via "$lan.1"
    cone_nat "nat$l" "p$E2E_ID$l" || return 1
    star_wg "$l" "${ip[$l]}" || return 1
    in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" allowed-ips "198.51.100.${ip[$l]}/32"
    star_leaf_peer "$l" 203.0.113.1:51820
  done
  star_reach_router
}

# samenat_setup HAIRPIN: the router r on the public segment (203.0.113.1);
# leaves a and b on one private LAN (192.168.1.0/24) behind one NAT
# (203.0.113.2, fixed mappings :40011 for a and :40012 for b, unsolicited
# inbound dropped). With HAIRPIN=1 the NAT loops a packet from the LAN to
# its public address back into the LAN, as many home routers do. (Rules
# name the outside interface: with br_netfilter loaded, bridged LAN traffic
# passes these hooks too.)
samenat_setup() {
  STAR_LEAVES=(a b)
  ip[r]=1; ip[a]=11; ip[b]=12
  local l out="v${E2E_ID}nat" hp="" hs=""
  mkdir -p "$E2E_TMP/etc"
  ns_add r && ns_add nat || return 1
  veth_pair r nat 203.0.113.1/24 203.0.113.2/24
  in_ns r sysctl -qw net.ipv4.ip_forward=1
  in_ns nat sysctl -qw net.ipv4.ip_forward=1
  star_wg r 1 || return 1
  ip -n "$(ns nat)" link add br0 type bridge
  in_ns nat ip addr add 192.168.1.1/24 dev br0
  ip -n "$(ns nat)" link set br0 up
  for l in a b; do
    ns_add "$l" || return 1
    ip link add "l$E2E_ID$l" netns "$(ns "$l")" type veth peer name "b$E2E_ID$l" netns "$(ns nat)"
    ip -n "$(ns nat)" link set "b$E2E_ID$l" master br0 up
    in_ns "$l" ip addr add "192.168.1.${ip[$l]}/24" dev "l$E2E_ID$l"
    in_ns "$l" ip link set "l$E2E_ID$l" up
    in_ns "$l" ip route add default via 192.168.1.1
    star_wg "$l" "${ip[$l]}" || return 1
    in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" allowed-ips "198.51.100.${ip[$l]}/32"
    star_leaf_peer "$l" 203.0.113.1:51820
  done
  if [ "$1" = 1 ]; then
    hp='iifname "br0" ip daddr 203.0.113.2 udp dport 40011 dnat to 192.168.1.11:51820;
        iifname "br0" ip daddr 203.0.113.2 udp dport 40012 dnat to 192.168.1.12:51820;'
    # ... from the sender's public mapping, as a hairpinning NAT does.
    hs='ct status dnat ip saddr 192.168.1.11 udp sport 51820 snat to 203.0.113.2:40011;
        ct status dnat ip saddr 192.168.1.12 udp sport 51820 snat to 203.0.113.2:40012;'
  fi
  in_ns nat nft -f - <<NFT || return 1
table ip nat {
  chain pre { type nat hook prerouting priority -100; $hp
  }
  chain post { type nat hook postrouting priority 100;
    oifname "$out" ip saddr 192.168.1.11 udp sport 51820 snat to 203.0.113.2:40011;
    oifname "$out" ip saddr 192.168.1.12 udp sport 51820 snat to 203.0.113.2:40012;
    oifname "$out" masquerade;
    $hs
  }
}
table ip filter {
  chain input { type filter hook input priority 0; iifname "$out" ct state new drop; }
  chain forward { type filter hook forward priority 0; iifname "$out" ct state new drop; }
}
NFT
  star_reach_router
}

# office_lan L: L also has an office LAN (fd00:L::1/64 on a bridge with no
# ports) that no other leaf can reach; it ranks before public addresses.
office_lan() {
  in_ns "$1" ip link add office0 type bridge
  in_ns "$1" ip link set office0 up
  in_ns "$1" ip addr add "fd00:$1::1/64" dev office0 nodad
}

# nat_box L [random]: a NAT namespace natL on the LAN bridge of star_setup
# (192.0.2.50, or NAT_PUB), masquerading what comes from its LAN behind it,
# unsolicited inbound dropped (a port-restricted cone; with "random", a new
# random port per destination: symmetric). Nothing is behind it yet: see
# move_behind_nat.
nat_box() {
  local n="nat$1" out="n$E2E_ID$1" rnd=""
  [ "${2:-}" = random ] && rnd=random
  ns_add "$n" || return 1
  ip link add "$out" netns "$(ns "$n")" type veth peer name "m$E2E_ID$1" netns "$(ns lan)"
  ip -n "$(ns lan)" link set "m$E2E_ID$1" master br0 up
  in_ns "$n" ip addr add "${NAT_PUB:-192.0.2.50}/24" dev "$out"
  in_ns "$n" ip link set "$out" up
  cone_nat "$n" "$out" $rnd
}

# move_behind_nat L: leaf L's LAN link leaves the bridge for natL (see
# nat_box); L gets 10.3.0.2/24 there (NAT_LAN=10.4.0: 10.4.0.2/24), its
# default route via the NAT (10.3.0.1).
move_behind_nat() {
  local n="nat$1" link="b$E2E_ID$1" lan=${NAT_LAN:-10.3.0}
  ip -n "$(ns lan)" link set "$link" nomaster
  ip -n "$(ns lan)" link set "$link" netns "$(ns "$n")"
  in_ns "$n" ip addr add "$lan.1/24" dev "$link"
  in_ns "$n" ip link set "$link" up
  in_ns "$1" ip addr flush dev "l$E2E_ID$1"
  in_ns "$1" ip addr add "$lan.2/24" dev "l$E2E_ID$1"
  in_ns "$1" ip route add default via "$lan.1"
}

# out_of_nat L ADDR: undoes move_behind_nat: L's link back on the LAN
# bridge, L at ADDR (e.g. 192.0.2.14/24) with no default route.
out_of_nat() {
  local link="b$E2E_ID$1"
  ip -n "$(ns "nat$1")" link set "$link" netns "$(ns lan)"
  ip -n "$(ns lan)" link set "$link" master br0 up
  in_ns "$1" ip route del default 2>/dev/null
  in_ns "$1" ip addr flush dev "l$E2E_ID$1"
  in_ns "$1" ip addr add "$2" dev "l$E2E_ID$1"
}

# dead_setup K [same]: dead candidates before the good one (issue 27). The
# router r on the public segment (203.0.113.1) and on an office LAN
# (10.10.0.1/24); leaf a on that office LAN (10.10.0.11, where the router
# sees it), with a public address (203.0.113.11) and K-1 more up interfaces
# with private addresses nobody else reaches (bridges lab1.. with no ports,
# 172.(17+i).0.1/16); leaf b behind a port-restricted NAT (203.0.113.3, its
# LAN 10.2.0.0/24). b reaches a only at a's public address. With "same", b
# is on the same subnets itself (10.10.0.2/24 and 172.(17+i).0.2/16 on
# bridges of its own, reaching nobody): a's dead addresses look like b's
# LAN, as two homes on 192.168.1.0/24 do, and rank before a's public one.
dead_setup() {
  STAR_LEAVES=(a b)
  ip[r]=1; ip[a]=11; ip[b]=12
  local k=$1 same=${2:-} i
  ns_add pub && ns_add office || return 1
  ip -n "$(ns pub)" link add br0 type bridge && ip -n "$(ns pub)" link set br0 up
  ip -n "$(ns office)" link add br0 type bridge && ip -n "$(ns office)" link set br0 up
  mkdir -p "$E2E_TMP/etc"
  ns_add r && ns_add a && ns_add natb && ns_add b || return 1
  # on_bridge N SEG ADDR: N's link l<id>N<p|o> on segment SEG's bridge.
  on_bridge() {
    local l="$E2E_ID$1${2:0:1}"
    ip link add "l$l" netns "$(ns "$1")" type veth peer name "b$l" netns "$(ns "$2")"
    ip -n "$(ns "$2")" link set "b$l" master br0 up
    in_ns "$1" ip addr add "$3" dev "l$l"
    in_ns "$1" ip link set "l$l" up
  }
  on_bridge r pub 203.0.113.1/24 && on_bridge r office 10.10.0.1/24 || return 1
  on_bridge a pub 203.0.113.11/24 && on_bridge a office 10.10.0.11/24 || return 1
  on_bridge natb pub 203.0.113.3/24 || return 1
  in_ns r sysctl -qw net.ipv4.ip_forward=1
  for i in $(seq $((k - 1))); do
    in_ns a ip link add "lab$i" type bridge && in_ns a ip link set "lab$i" up &&
      in_ns a ip addr add "172.$((17 + i)).0.1/16" dev "lab$i" || return 1
    [ "$same" = same ] || continue
    in_ns b ip link add "lab$i" type bridge && in_ns b ip link set "lab$i" up &&
      in_ns b ip addr add "172.$((17 + i)).0.2/16" dev "lab$i" || return 1
  done
  if [ "$same" = same ]; then
    in_ns b ip link add office1 type bridge && in_ns b ip link set office1 up &&
      in_ns b ip addr add 10.10.0.2/24 dev office1 || return 1
  fi
  veth_pair natb b 10.2.0.1/24 10.2.0.12/24
  in_ns b ip route add default via 10.2.0.1
  cone_nat natb "l${E2E_ID}natbp" || return 1
  star_wg r 1 && star_wg a 11 && star_wg b 12 || return 1
  for i in a b; do
    in_ns r wg set "$(star_iface r)" peer "${pub[$i]}" allowed-ips "198.51.100.${ip[$i]}/32"
  done
  star_leaf_peer a 10.10.0.1:51820
  star_leaf_peer b 203.0.113.1:51820
  star_reach_router
}

# container_bridges L: L has docker's and libvirt's bridges, as a developer's
# laptop does: docker0 (172.17.0.1/16) and virbr0 (192.168.122.1/24), up,
# with no ports (no one beyond L reaches them).
container_bridges() {
  local b
  for b in "docker0 172.17.0.1/16" "virbr0 192.168.122.1/24"; do
    set -- "$1" $b
    in_ns "$1" ip link add "$2" type bridge && in_ns "$1" ip link set "$2" up &&
      in_ns "$1" ip addr add "$3" dev "$2" || return 1
  done
}
