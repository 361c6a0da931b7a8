#!/usr/bin/env bash
# Convergence benchmark: real wireguard-go in network namespaces.
#   convergence.sh WIRELINK lan N      router + N leaves on one LAN
#   convergence.sh WIRELINK nat        two leaves behind two NATs
#   convergence.sh WIRELINK restart N  N-leaf LAN; then one leaf's daemon is
#                                      killed, its interface reset to the
#                                      router only, and started again
# Prints "result DIRECT_S ALLOWED_S": seconds from starting the daemons (or
# the restarted one) to (a) a handshake between every pair of leaves and
# (b) every leaf holding every other leaf's allowed IP; and the timeline
# (seconds, pairs with a handshake, pairs with allowed IPs) to TIMELINE_FILE
# when set. Run as root.
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/star.sh"
. "$(dirname "$0")/../tests/e2e/nat.sh"
wl=$1 topo=$2 n=${3:-2}
limit=${LIMIT:-60}

leaves=()
for i in $(seq "$n"); do leaves+=("l$i"); done
case $topo in
  lan|restart) star_setup "${leaves[@]}" || exit 1 ;;
  nat) nat_setup || exit 1; leaves=(a b) ;;
  *) echo "usage: convergence.sh WIRELINK lan|nat|restart [N]" >&2; exit 2 ;;
esac
star_reach_router || exit 1

# counts: "pairs-with-handshake pairs-with-allowed-ip" over ordered pairs.
counts() {
  local l hs=0 al=0 dump
  for l in "${leaves[@]}"; do
    dump=$(in_ns "$l" wg show "$(star_iface "$l")" dump | tail -n +2)
    local m
    for m in "${leaves[@]}"; do
      [ "$l" = "$m" ] && continue
      local line; line=$(awk -F'\t' -v k="${pub[$m]}" '$1 == k' <<<"$dump")
      [ -n "$line" ] || continue
      [ "$(cut -f5 <<<"$line")" != 0 ] && hs=$((hs + 1))
      grep -q "198.51.100.${ip[$m]}/32" <<<"$(cut -f4 <<<"$line")" && al=$((al + 1))
    done
  done
  echo "$hs $al"
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

if [ "$topo" = restart ]; then
  star_start "$wl"
  wait_until "$limit" star_converged || { echo "result NaN NaN"; exit 1; }
  kill -9 "${wlpid[l1]}"
  for m in "${leaves[@]:1}"; do in_ns l1 wg set "$(star_iface l1)" peer "${pub[$m]}" remove; done
  t0=$(date +%s.%N)
  star_start_one l1 "$wl"
else
  t0=$(date +%s.%N)
  star_start "$wl"
fi
watch "$t0"
