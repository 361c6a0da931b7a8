#!/usr/bin/env bash
# Convergence benchmark: real wireguard-go in network namespaces.
#   convergence.sh WIRELINK lan N      router + N leaves on one LAN
#   convergence.sh WIRELINK nat        two leaves behind two NATs
#   convergence.sh WIRELINK restart N  N-leaf LAN; then one leaf's daemon is
#                                      killed, its interface reset to the
#                                      router only, and started again
#   convergence.sh WIRELINK samenat    two leaves on one LAN behind one NAT
#                                      (no hairpin): direct over the LAN
#                                      address only counts
#   convergence.sh WIRELINK deadfirst  two NATs; each leaf also advertises an
#                                      address the other cannot reach
#   convergence.sh WIRELINK dead K     leaf a on an office LAN with the
#                                      router, K-1 more private interfaces
#                                      and a public address; b behind a NAT
#                                      reaches a only at the public one: K
#                                      dead candidates that rank before it
#                                      as private addresses once did
#   convergence.sh WIRELINK deadlan K  the same, b on those subnets too: the
#                                      K dead candidates look like b's LAN
#                                      and rank first
#   convergence.sh WIRELINK roam       2-leaf LAN; after convergence leaf l1
#                                      changes address while l2 pings it:
#                                      seconds to direct again (both columns)
#   convergence.sh WIRELINK roamnat    the same, but l1 moves behind a NAT
#                                      (new address, seen as the NAT's)
#   convergence.sh WIRELINK fallback   2-leaf LAN; l1 pings l2 (one way),
#                                      then the path l1 <-> l2 is cut:
#                                      seconds until l1, and l2, hold each
#                                      other through the router only
# Prints "result DIRECT_S ALLOWED_S": seconds from starting the daemons (or
# the restarted one) to (a) a handshake between every pair of leaves and
# (b) every leaf holding every other leaf's allowed IP; and the timeline
# (seconds, pairs with a handshake, pairs with allowed IPs) to TIMELINE_FILE
# when set. Run as root.
# WL_ARGS: extra daemon options (e.g. --debug), split on spaces.
# shellcheck disable=SC2086
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/star.sh"
. "$(dirname "$0")/../tests/e2e/nat.sh"
wl=$1 topo=$2 n=${3:-2}
limit=${LIMIT:-60}

leaves=()
for i in $(seq "$n"); do leaves+=("l$i"); done
case $topo in
  lan|restart) star_setup "${leaves[@]}" || exit 1 ;;
  roam|fallback) leaves=(l1 l2); star_setup "${leaves[@]}" || exit 1 ;;
  roamnat) leaves=(l1 l2); star_setup "${leaves[@]}" && nat_box l1 || exit 1 ;;
  nat) nat_setup || exit 1; leaves=(a b) ;;
  deadfirst) nat_setup && office_lan a && office_lan b || exit 1; leaves=(a b) ;;
  samenat) samenat_setup 0 || exit 1; leaves=(a b) ;;
  dead) dead_setup "$n" || exit 1; leaves=(a b) ;;
  deadlan) dead_setup "$n" same || exit 1; leaves=(a b) ;;
  *) echo "usage: convergence.sh WIRELINK lan|nat|restart|samenat|deadfirst|dead|deadlan|roam|roamnat|fallback [N]" >&2; exit 2 ;;
esac
star_reach_router || exit 1

# counts: "pairs-with-handshake pairs-with-allowed-ip" over ordered pairs.
# One wg and one awk for all leaves (wireguard-go's control sockets are
# seen from every namespace): a pass of per-pair subprocesses took 2.2 s
# with 8 leaves on a slow VM, and that, not the daemons, was lan 8's result.
counts() {
  local m keys="" ifs=()
  for m in "${leaves[@]}"; do
    keys+="${pub[$m]}:${ip[$m]} "
    ifs+=("$(star_iface "$m")")
  done
  wg show all dump | awk -F'\t' -v keys="$keys" -v ifs="${ifs[*]}" -v samenat="$([ "$topo" = samenat ] && echo 1)" '
    BEGIN {
      n = split(keys, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, ":"); want[p[1]] = p[2] }
      n = split(ifs, f, " "); for (i = 1; i <= n; i++) ours[f[i]] = 1
    }
    ($1 in ours) && ($2 in want) {
      # Same NAT: only a handshake over the LAN address counts.
      if (samenat && $4 !~ /^192\.168\.1\./) next
      if ($6 != 0) hs++
      n = split($5, a, ",")
      for (i = 1; i <= n; i++) if (a[i] == "198.51.100." want[$2] "/32") { al++; break }
    }
    END { print hs + 0, al + 0 }'
}

watch() {
  local t0=$1 total=$(( ${#leaves[@]} * (${#leaves[@]} - 1) )) direct="" allowed="" c t
  while :; do
    c=$(counts)
    t=$(since "$t0" 2)
    [ -n "${TIMELINE_FILE:-}" ] && echo "$t $c" >>"$TIMELINE_FILE"
    [ -z "$direct" ] && [ "${c% *}" = "$total" ] && direct=$t
    [ -z "$allowed" ] && [ "${c#* }" = "$total" ] && allowed=$t
    [ -n "$direct" ] && [ -n "$allowed" ] && break
    awk -v t="$t" -v l="$limit" 'BEGIN { exit !(t > l) }' && break
    sleep 0.05
  done
  echo "result ${direct:-NaN} ${allowed:-NaN}"
}

# One step of a timed event: seconds until CMD holds (NaN past the limit).
until_t() {
  local t0=$1; shift
  if wait_until "$limit" "$@"; then since "$t0" 2; else echo NaN; fi
}
restricted() {
  in_ns "$1" wg show "$(star_iface "$1")" allowed-ips |
    awk -v k="${pub[$2]}" '$1 == k { exit !(NF == 2 && $2 ~ /^fe80:.*\/128$/) } END { if (!NR) exit 1 }'
}
at_new_address() {
  in_ns l2 wg show "$(star_iface l2)" endpoints | grep -q "^${pub[l1]}.$1:" && star_direct l2 l1
}

if [ "$topo" = roam ] || [ "$topo" = roamnat ] || [ "$topo" = fallback ]; then
  star_start "$wl" ${WL_ARGS:-}
  wait_until "$limit" star_converged || { echo "result NaN NaN"; exit 1; }
  if [ "$topo" != fallback ]; then
    ip netns exec "$(ns l2)" ping -i 0.5 -q 198.51.100.11 >/dev/null 2>&1 &
    E2E_PIDS+=($!)
    sleep 2
    t0=$(date +%s.%N)
    if [ "$topo" = roam ]; then
      in_ns l1 ip addr flush dev "l${E2E_ID}l1"
      in_ns l1 ip addr add 192.0.2.111/24 dev "l${E2E_ID}l1"
      t=$(until_t "$t0" at_new_address 192.0.2.111)
    else
      move_behind_nat l1
      t=$(until_t "$t0" at_new_address 192.0.2.50)
    fi
    echo "result $t $t"
  else
    in_ns l2 nft add table inet wlquiet
    in_ns l2 nft add chain inet wlquiet input "{ type filter hook input priority 0; }"
    in_ns l2 nft add rule inet wlquiet input iifname "$(star_iface l2)" icmp type echo-request drop
    ip netns exec "$(ns l1)" ping -i 0.5 -q 198.51.100.12 >/dev/null 2>&1 &
    E2E_PIDS+=($!)
    sleep 6
    t0=$(date +%s.%N)
    in_ns lan nft add table bridge wlcut
    in_ns lan nft add chain bridge wlcut forward "{ type filter hook forward priority 0; }"
    in_ns lan nft add rule bridge wlcut forward ip saddr 192.0.2.11 ip daddr 192.0.2.12 drop
    in_ns lan nft add rule bridge wlcut forward ip saddr 192.0.2.12 ip daddr 192.0.2.11 drop
    t1=$(until_t "$t0" restricted l1 l2)
    t2=$(until_t "$t0" restricted l2 l1)
    echo "result $t1 $t2"
  fi
  exit 0
fi

if [ "$topo" = restart ]; then
  star_start "$wl" ${WL_ARGS:-}
  wait_until "$limit" star_converged || { echo "result NaN NaN"; exit 1; }
  kill -9 "${wlpid[l1]}"
  for m in "${leaves[@]:1}"; do in_ns l1 wg set "$(star_iface l1)" peer "${pub[$m]}" remove; done
  t0=$(date +%s.%N)
  star_start_one l1 "$wl" ${WL_ARGS:-}
else
  t0=$(date +%s.%N)
  star_start "$wl" ${WL_ARGS:-}
fi
watch "$t0"
