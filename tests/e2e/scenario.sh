#!/usr/bin/env bash
# Real-world scenarios with real wireguard-go in network namespaces, one per
# run, each printing how long its steps took:
#   two-nats direct-path-dies leaf-restart router-restart membership-revoked
#   lossy hostile-input interface-vanishes nothing-lost
# usage: scenario.sh WIRELINK HOSTILE NAME   (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
. "$(dirname "$0")/nat.sh"
. "$(dirname "$0")/checks.sh"
wl=$1 hostile=$2 scenario=$3


case $scenario in
two-nats)
  nat_setup || { not_ok "set-up"; exit 1; }
  ok "two NATs set up; leaves reach the router"
  start_and_converge || exit 1
  check "a reaches b at b's NAT (203.0.113.3)" eval 'in_ns a wg show "$(star_iface a)" endpoints | grep -q "^${pub[b]}.203.0.113.3:"'
  check "a -> b goes direct through both NATs (router counters)" goes_direct a b
  check "b -> a too" goes_direct b a
  ;;
direct-path-dies)
  nat_setup || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  # Someone is using the link: a ping a -> b every 0.5 s throughout.
  ip netns exec "$(ns a)" ping -i 0.5 -q 198.51.100.12 >/dev/null 2>&1 &
  E2E_PIDS+=($!)
  cut_nats
  ok "cut the direct path between the NATs"
  timed "a and b restrict each other to the auto-address (stall detection)" 120 \
    eval 'restricted a b && restricted b a'
  check "a ping a -> b still succeeds, through the router" in_ns a ping -c 3 -W 2 -q 198.51.100.12
  check "  ... and b -> a" in_ns b ping -c 3 -W 2 -q 198.51.100.11
  grep -q "direct link down" "$E2E_TMP/wl-a.log" && ok "a logs the fall-back" || not_ok "a logs the fall-back"
  heal_nats
  ok "lifted the cut"
  timed "a and b are direct again" 120 star_converged
  check "a -> b goes direct again (router counters)" goes_direct a b
  ;;
leaf-restart)
  lan_star a b c || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  kill -9 "${wlpid[a]}"
  # As after a reboot: a's interface knows only the router again.
  in_ns a wg set "$(star_iface a)" peer "${pub[b]}" remove peer "${pub[c]}" remove
  ok "killed a's daemon (SIGKILL) and reset its interface to the router only"
  t0=$(date +%s.%N)
  star_start_one a "$wl"
  if wait_until 30 star_converged; then ok "a fully converged again in under 30 s (took $(since "$t0") s)"
  else not_ok "a converged again within 30 s"; show_logs; fi
  check "the router noticed a's new boot id" grep -q "is now restarted" "$E2E_TMP/wl-r.log"
  check "a -> c goes direct" goes_direct a c
  ;;
router-restart)
  lan_star a b c || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  kill "${wlpid[r]}"
  wait_until 5 daemon_gone r
  ok "stopped the router's daemon"
  sleep 2
  star_start_one r "$wl"
  ok "started it again"
  stable=1
  for _ in $(seq 20); do
    star_converged || { stable=0; break; }
    sleep 1
  done
  check "for 20 s after, every leaf kept its direct links" test $stable = 1
  check "no leaf removed a peer" eval '! grep -q "removing peer" "$E2E_TMP"/wl-[abc].log'
  kill -USR1 "${wlpid[r]}"
  sleep 0.5
  facts=$(grep -oE '[0-9]+ facts known' "$E2E_TMP/wl-r.log" | tail -n 1 | cut -d' ' -f1)
  check "the restarted router rebuilt its facts (${facts:-0} known)" test "${facts:-0}" -ge 3
  check "a -> b goes direct" goes_direct a b
  ;;
membership-revoked)
  lan_star a b c || { not_ok "set-up"; exit 1; }
  # a's config file lists a peer of its own (no daemon, no membership).
  ownkey=$(wg genkey | wg pubkey)
  mkdir -p "$E2E_TMP/etc"
  cat >"$E2E_TMP/etc/wirelink.$(star_iface a).yaml" <<YAML
Peers:
  - PublicKey: "$ownkey"
    Name: printer
YAML
  start_and_converge || exit 1
  check "a added the peer from its config file" eval 'in_ns a wg show "$(star_iface a)" peers | grep -qxF "$ownkey"'
  in_ns r wg set "$(star_iface r)" peer "${pub[c]}" remove
  ok "removed c from the router's WireGuard configuration"
  # Safety: no removal before FactTTL (255 s) after start and before c's
  # membership facts have expired everywhere.
  timed "a and b removed c after the safety delay" 330 eval 'lacks_peer a c && lacks_peer b c'
  check "a kept the peer from its config file" eval 'in_ns a wg show "$(star_iface a)" peers | grep -qxF "$ownkey"'
  check "a and b kept each other" eval 'has_peer a b && has_peer b a && has_peer a r && has_peer b r'
  check "a -> b still goes direct" goes_direct a b
  ;;
lossy)
  lan_star a b c || { not_ok "set-up"; exit 1; }
  in_ns lan nft -f - <<NFT
table bridge wlloss {
  chain forward { type filter hook forward priority 0; numgen random mod 100 < 20 drop; }
}
NFT
  loss=$(in_ns a ping -c 200 -i 0.01 -q 192.0.2.1 | grep -oE '[0-9.]+% packet loss' | cut -d% -f1)
  check "20 % random loss each way on the LAN (ping loss ${loss:-?} %)" \
    awk -v l="${loss:-0}" 'BEGIN { exit !(l >= 20 && l <= 55) }'
  CONVERGE_LIMIT=180 start_and_converge || exit 1
  check "a ping a -> b (tunnel) works through the loss" in_ns a ping -c 20 -i 0.2 -q 198.51.100.12
  ;;
hostile-input)
  lan_star a b || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  raddr=$(grep -oE 'facts on \[[^%]+' "$E2E_TMP/wl-r.log" | head -n 1 | cut -c11-)
  check "the router's fact address is known ($raddr)" test -n "$raddr"
  h() { in_ns a "$hostile" "$(star_iface a)" "$raddr" 51821 "$@" >/dev/null; }
  rogue=$E2E_TMP/rogue.key
  (umask 077; wg genkey >"$rogue")
  rss0=$(rss_kib r)
  lines0=$(wc -l <"$E2E_TMP/wl-r.log")
  h random 2000 && ok "sent 2,000 datagrams of random bytes"
  h truncated "$E2E_TMP/a.key" "${pub[r]}" && ok "sent every truncation of a valid group"
  h oversized 50 && ok "sent 50 oversized datagrams"
  h badtag "$E2E_TMP/a.key" "${pub[r]}" 1000 && ok "sent 1,000 groups with a bad tag"
  h signed "$E2E_TMP/b.key" "${pub[r]}" 100 && ok "sent b's valid group from a's address"
  h signed "$rogue" "${pub[r]}" 100 && ok "sent groups signed by a key that is not a peer"
  t0=$(date +%s.%N)
  n=$(in_ns a "$hostile" "$(star_iface a)" "$raddr" 51821 flood "$E2E_TMP/b.key" "${pub[r]}" 10000 10)
  ok "flooded: $n datagrams in $(since "$t0") s"
  check "the router's daemon still runs" kill -0 "${wlpid[r]}"
  rss1=$(rss_kib r)
  lines1=$(wc -l <"$E2E_TMP/wl-r.log")
  check "its memory stayed flat (VmRSS ${rss0} -> ${rss1} KiB)" test $((rss1 - rss0)) -lt 2048
  check "it logged at a bounded rate ($((lines1 - lines0)) lines)" test $((lines1 - lines0)) -lt 200
  check "b's name was not taken over" eval '! grep -q hostile "$E2E_TMP/wl-r.log"'
  check "it logged the drops" grep -q "dropped a packet from" "$E2E_TMP/wl-r.log"
  # The mesh still converges: b comes back from a reset.
  kill -9 "${wlpid[b]}"
  in_ns b wg set "$(star_iface b)" peer "${pub[a]}" remove
  star_start_one b "$wl"
  timed "after the barrage, a reset b converges again" 30 star_converged
  ;;
interface-vanishes)
  lan_star a b || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  in_ns a ip link del "$(star_iface a)"
  timed "a's daemon exits within 5 s" 5 daemon_gone a
  wait "${wlpid[a]}"; st=$?
  check "  ... with a non-zero status ($st)" test "$st" != 0
  check "  ... and a clear message" grep -q "the interface is gone" "$E2E_TMP/wl-a.log"
  star_wg a "${ip[a]}" && star_leaf_peer a 192.0.2.1:51820
  ok "recreated a's interface"
  star_start_one a "$wl"
  timed "the restarted daemon converges again" 30 star_converged
  ;;
nothing-lost)
  lan_star a b || { not_ok "set-up"; exit 1; }
  # What the administrator configured: peer and allowed IP pairs.
  admin() { in_ns "$1" wg show "$(star_iface "$1")" allowed-ips | awk '{ for (i = 2; i <= NF; i++) print $1, $i }' | sort; }
  for n in r a b; do admin "$n" >"$E2E_TMP/admin-$n"; done
  start_and_converge || exit 1
  kill "${wlpid[a]}"; kill -9 "${wlpid[b]}"; kill "${wlpid[r]}"
  wait_until 5 eval 'daemon_gone a && daemon_gone b && daemon_gone r'
  ok "stopped the daemons: a and the router with SIGTERM, b with SIGKILL"
  sleep 1
  for n in r a b; do
    missing=$(admin "$n" | comm -23 "$E2E_TMP/admin-$n" -)
    check "$n kept every configured peer and allowed IP" test -z "$missing"
  done
  check "the tunnel carries traffic to the router" in_ns a ping -c 3 -W 2 -q 198.51.100.1
  check "  ... and between the leaves" in_ns a ping -c 3 -W 2 -q 198.51.100.12
  ;;
*)
  echo "unknown scenario $scenario"; exit 2 ;;
esac
logs_clean
[ -n "${E2E_DEBUG:-}" ] && show_logs
e2e_finish
