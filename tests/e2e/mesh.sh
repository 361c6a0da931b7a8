#!/usr/bin/env bash
# The first end-to-end mesh: a router and three leaves on one LAN, each leaf
# configured with only the router as its WireGuard peer. Within 30 s of
# starting the daemons every leaf must have every other leaf as a peer with
# a recent handshake and its /32; then a 100-packet ping between two leaves
# must go direct (the router's counters for them do not grow by its volume).
# usage: mesh.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wirelink=$1
leaves=(a b c)
declare -A ip=([r]=1 [a]=11 [b]=12 [c]=13) key pub

ns_add lan || exit 1
ip -n "$(ns lan)" link add br0 type bridge && ip -n "$(ns lan)" link set br0 up
mkdir -p "$E2E_TMP/etc"
for n in r "${leaves[@]}"; do
  ns_add "$n" || exit 1
  ip link add "l$E2E_ID$n" netns "$(ns "$n")" type veth peer name "b$E2E_ID$n" netns "$(ns lan)"
  ip -n "$(ns lan)" link set "b$E2E_ID$n" master br0 up
  in_ns "$n" ip addr add "192.0.2.${ip[$n]}/24" dev "l$E2E_ID$n"
  in_ns "$n" ip link set "l$E2E_ID$n" up
  wg_up "$n" "wm$E2E_ID$n" || exit 1
  key[$n]=$(wg genkey); pub[$n]=$(echo "${key[$n]}" | wg pubkey)
  echo "${key[$n]}" >"$E2E_TMP/$n.key"
  in_ns "$n" wg set "wm$E2E_ID$n" private-key "$E2E_TMP/$n.key" listen-port 51820
  in_ns "$n" ip addr add "198.51.100.${ip[$n]}/24" dev "wm$E2E_ID$n"
  in_ns "$n" ip link set "wm$E2E_ID$n" up
done
for l in "${leaves[@]}"; do
  in_ns r wg set "wm${E2E_ID}r" peer "${pub[$l]}" endpoint "192.0.2.${ip[$l]}:51820" \
    allowed-ips "198.51.100.${ip[$l]}/32"
  in_ns "$l" wg set "wm$E2E_ID$l" peer "${pub[r]}" endpoint 192.0.2.1:51820 \
    allowed-ips 198.51.100.0/24 persistent-keepalive 5
  in_ns "$l" ping -c 1 -w 10 -q 198.51.100.1 >/dev/null || { not_ok "leaf $l reaches the router"; }
done

start=$(date +%s.%N)
for n in r "${leaves[@]}"; do
  in_ns "$n" "$wirelink" -i "wm$E2E_ID$n" --config-path "$E2E_TMP/etc" >"$E2E_TMP/wl-$n.log" 2>&1 &
  E2E_PIDS+=($!)
done

# converged: every leaf holds every other leaf with a recent handshake and its /32
converged() {
  local now l m line; now=$(date +%s)
  for l in "${leaves[@]}"; do
    for m in "${leaves[@]}"; do
      [ "$l" = "$m" ] && continue
      line=$(in_ns "$l" wg show "wm$E2E_ID$l" dump | awk -F'\t' -v k="${pub[$m]}" '$1 == k')
      [ -n "$line" ] || return 1
      grep -q "198.51.100.${ip[$m]}/32" <<<"$(cut -f4 <<<"$line")" || return 1
      [ $((now - $(cut -f5 <<<"$line"))) -lt 60 ] || return 1
    done
  done
}
t=""
for _ in $(seq 300); do
  if converged; then t=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'); break; fi
  sleep 0.1
done
check "mesh converged within 30 s (measured: ${t:-never} s)" test -n "$t" -a "${t%.*}" -lt 30

rx() { in_ns r wg show "wm${E2E_ID}r" transfer | awk -v a="${pub[a]}" -v b="${pub[b]}" '$1 == a || $1 == b { n += $2 + $3 } END { print n + 0 }'; }
before=$(rx)
in_ns a ping -c 100 -i 0.01 -s 1000 -q 198.51.100.12 >/dev/null
st=$?
after=$(rx)
check "100-packet ping a -> b succeeds" test $st = 0
check "  ... and goes direct (router saw $((after - before)) bytes of 200 kB)" test $((after - before)) -lt 50000
for n in r "${leaves[@]}"; do
  if grep -qiE 'error|sanitizer|runtime error' "$E2E_TMP/wl-$n.log"; then
    not_ok "daemon $n log is clean"; sed 's/^/  # /' "$E2E_TMP/wl-$n.log" | head -20
  fi
done
if [ -n "${E2E_DEBUG:-}" ]; then for n in r "${leaves[@]}"; do echo "== $n"; in_ns "$n" wg show "wm$E2E_ID$n" | sed "s/^/#   /"; cat "$E2E_TMP/wl-$n.log"; done; fi
echo "# router log:"; sed 's/^/#   /' "$E2E_TMP/wl-r.log" | head -12
echo "# leaf a log:"; sed 's/^/#   /' "$E2E_TMP/wl-a.log" | head -12
e2e_finish
