#!/usr/bin/env bash
# Real-world scenarios with real wireguard-go in network namespaces, one per
# run, each printing how long its steps took:
#   two-nats direct-path-dies leaf-restart router-restart membership-revoked
#   lossy hostile-input hostile-peer two-hubs iface-down-up interface-vanishes nothing-lost
#   ports ports-nat uncarried original-hub original-leaf silent
# original-hub and original-leaf need the original Go implementation
# (ORIGINAL_WIRELINK=/path/to/wirelink; skipped without it).
# usage: scenario.sh WIRELINK HOSTILE NAME   (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
. "$(dirname "$0")/nat.sh"
. "$(dirname "$0")/checks.sh"
wl=$1 hostile=$2 scenario=$3


# hears_all N: N's daemon has had fact packets from every other daemon.
hears_all() {
  local n=$1 js
  js=$(in_ns "$n" "$wl" status -i "$(star_iface "$n")" --json 2>/dev/null) || return 1
  grep -q '"facts_heard_seconds_ago"' <<<"$js" && ! grep -q '"facts_heard_seconds_ago": null' <<<"$js"
}
# work_done N: N's daemon's rounds and device reads so far ("ROUNDS READS").
work_done() {
  in_ns "$1" "$wl" metrics -i "$(star_iface "$1")" --json 2>/dev/null | jq -r '"\(.rounds) \(.device_reads)"'
}
# fact_port N: the fact port N's daemon announced at its last start.
fact_port() { grep -oE 'facts on \[[^]]+\]:[0-9]+' "$E2E_TMP/wl-$1.log" | tail -n 1 | sed 's/.*://'; }
# learned N M: the fact port N's daemon learned for M's.
learned() {
  in_ns "$1" "$wl" status -i "$(star_iface "$1")" --json 2>/dev/null |
    jq -r --arg k "${pub[$2]}" '.peers[] | select(.public_key == $k) | .fact_port'
}

case $scenario in
ports)
  # The commonest set-up: a hub on 51820, laptops on other ports (one
  # fixed, one WireGuard's own pick, one equal), no config files.
  STAR_PORT=([a]=40001 [b]=0 [c]=51820)
  lan_star a b c || { not_ok "set-up"; exit 1; }
  ok "hub on 51820; leaves on 40001, WireGuard's pick ($(in_ns b wg show "$(star_iface b)" listen-port)) and 51820"
  start_and_converge || exit 1
  timed "the hub's daemon hears every leaf" 10 hears_all r
  for l in a b c; do check "leaf $l's daemon hears every other daemon" hears_all "$l"; done
  check "a's fact port is 40002, the hub's 51821" eval '[ "$(fact_port a)" = 40002 ] && [ "$(fact_port r)" = 51821 ]'
  check "a -> b goes direct (router counters)" goes_direct a b
  check "nobody says a peer is silent" eval '! grep -q "no wirelink fact packet" "$E2E_TMP"/wl-*.log'
  # The same leaf comes back on a new random port: the others follow.
  kill "${wlpid[b]}"; wait "${wlpid[b]}" 2>/dev/null
  in_ns b wg set "$(star_iface b)" listen-port 0
  newport=$(($(in_ns b wg show "$(star_iface b)" listen-port) + 1))
  star_start_one b "$wl"
  ok "b restarted on WireGuard port $((newport - 1))"
  timed "b's new fact port is its new WireGuard port + 1 ($newport)" 10 \
    eval '[ "$(fact_port b)" = "$newport" ]'
  timed "the hub and a learn b's new fact port" 20 \
    eval '[ "$(learned r b)" = "$newport" ] && [ "$(learned a b)" = "$newport" ]'
  timed "every pair direct again" 30 star_converged
  ;;
uncarried)
  # b's tunnel address lies outside what the leaves route to the hub, and
  # a and b cannot reach each other directly: a must not claim b is
  # reachable "via" the hub.
  lan_star a b || { not_ok "set-up"; exit 1; }
  in_ns r wg set "$(star_iface r)" peer "${pub[b]}" allowed-ips "198.51.100.12/32,10.99.0.12/32"
  lan_cut wlab
  star_start "$wl"
  path_of() {
    in_ns a "$wl" status -i "$(star_iface a)" --json |
      jq -r --arg k "${pub[b]}" '.peers[] | select(.public_key == $k) | .path + "|" + (.why_not_direct // "")'
  }
  timed "a knows b's address 10.99.0.12 from the hub" 20 \
    eval 'in_ns a "$wl" facts -i "$(star_iface a)" --json | grep -q 10.99.0.12'
  # b's 198.51.100.12 is carried, its 10.99.0.12 is not.
  timed "a's status says b is down: the hub does not carry 10.99.0.12" 20 \
    eval 'path_of | grep -q "^down|unreachable: the router .* does not carry its address 10.99.0.12/32"'
  check "a's metrics agree (b counted down)" \
    eval 'in_ns a "$wl" metrics -i "$(star_iface a)" | grep -qE "^wirelink_peers\{.*state=\"down\"\} 1"'
  in_ns a "$wl" status -i "$(star_iface a)" | sed 's/^/#   /'
  # Carried once the hub routes 10.99.0.0/24 for a.
  in_ns a wg set "$(star_iface a)" peer "${pub[r]}" allowed-ips "198.51.100.0/24,10.99.0.0/24"
  timed "with 10.99.0.0/24 on the hub, a's status says b is via the hub" 20 \
    eval 'path_of | grep -q "^via "'
  ;;
original-hub|original-leaf|original-nat)
  # A mixed network: the original's rule is "listen on own port + 1, send
  # to that same port number"; our daemons must meet it.
  orig=${ORIGINAL_WIRELINK:-}
  if [ -z "$orig" ] || [ ! -x "$orig" ]; then echo "skipped: ORIGINAL_WIRELINK is not set"; exit 77; fi
  if [ "$scenario" = original-hub ]; then
    # The Go hub on 51820/51821, our leaves on 40001, WireGuard's pick, 51820.
    STAR_PORT=([a]=40001 [b]=0 [c]=51820); goside=r
  elif [ "$scenario" = original-leaf ]; then
    # Our hub on 51820; leaf c is the original, on 51820; a and b ours, on
    # 40001 and WireGuard's pick.
    STAR_PORT=([a]=40001 [b]=0 [c]=51820); goside=c
  else
    # The Go hub; our two laptops on WireGuard's own ports behind two NATs.
    STAR_PORT=([a]=0 [b]=0); goside=r
  fi
  if [ "$scenario" = original-nat ]; then nat_setup; else lan_star a b c; fi || { not_ok "set-up"; exit 1; }
  for n in r "${STAR_LEAVES[@]}"; do
    if [ "$n" = "$goside" ]; then
      ip netns exec "$(ns "$n")" env WIRELINK_CONFIG_PATH="$E2E_TMP/etc" "$orig" -i "$(star_iface "$n")" \
        >>"$E2E_TMP/wl-$n.log" 2>&1 &
      E2E_PIDS+=($!); wlpid[$n]=$!
    else
      star_start_one "$n" "$wl"
    fi
  done
  ok "the original runs on $goside"
  timed "every leaf pair is direct" 60 star_converged
  star_converged || E2E_LOG_LINES=25 show_logs
  for n in r "${STAR_LEAVES[@]}"; do
    [ "$n" = "$goside" ] && continue
    check "our daemon on $n hears every other daemon" hears_all "$n"
  done
  check "a -> b goes direct (router counters)" goes_direct a b
  [ "$goside" = c ] && check "a -> c (the original) goes direct" goes_direct a c
  ;;
silent)
  # WireGuard works but facts do not flow: c runs no daemon; b's firewall
  # drops UDP to its fact port inside the tunnel. Each is named once, with
  # the likely causes, after 60 s; status says the same, not NAT.
  lan_star a b c || { not_ok "set-up"; exit 1; }
  in_ns b nft -f - <<NFT
table inet wlfw {
  chain input { type filter hook input priority 0; iifname "$(star_iface b)" udp dport 51821 drop; }
}
NFT
  for n in r a b; do star_start_one "$n" "$wl"; done
  why_of() {
    in_ns "$1" "$wl" status -i "$(star_iface "$1")" --json |
      jq -r --arg k "${pub[$2]}" '.peers[] | select(.public_key == $k) | .why_not_direct // ""'
  }
  timed "the hub names c once: no wirelink facts though its handshake is fresh" 100 \
    eval 'grep -q "no wirelink fact packet came from it" "$E2E_TMP/wl-r.log"'
  check "  ... naming c and the causes (port, firewall, no daemon)" \
    eval 'grep "no wirelink fact packet" "$E2E_TMP/wl-r.log" | grep -q "another wirelink port.*firewall.*no wirelink running"'
  timed "b names the hub (its firewall drops what the hub sends)" 30 \
    eval 'grep -q "${pub[r]:0:10}.*no wirelink fact packet\|no wirelink fact packet" "$E2E_TMP/wl-b.log"'
  check "the hub's status says why for c" eval 'why_of r c | grep -q "no wirelink facts from"'
  check "b's status says why for the hub" eval 'why_of b r | grep -q "no wirelink facts from"'
  check "each said once" eval '[ "$(grep -c "no wirelink fact packet" "$E2E_TMP/wl-r.log")" = 1 ]'
  in_ns b nft delete table inet wlfw
  timed "b's firewall lifted: the hub's facts arrive again" 60 \
    eval 'grep -q "fact packets arrive again" "$E2E_TMP/wl-b.log"'
  timed "then b learns of a and they go direct" 10 eval 'star_direct a b && star_direct b a'
  ;;
ports-nat)
  # Two laptops on WireGuard's own ports, each behind a home NAT.
  STAR_PORT=([a]=0 [b]=0)
  nat_setup || { not_ok "set-up"; exit 1; }
  ok "two NATs; leaves on WireGuard ports $(in_ns a wg show "$(star_iface a)" listen-port) and $(in_ns b wg show "$(star_iface b)" listen-port)"
  start_and_converge || exit 1
  timed "the hub's daemon hears both leaves" 10 hears_all r
  check "a -> b goes direct through both NATs (router counters)" goes_direct a b
  ;;
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
  stop_daemon r "stopped the router's daemon"
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
  facts=$(grep -oE 'facts known \([0-9]+ received' "$E2E_TMP/wl-r.log" | tail -n 1 | tr -dc 0-9)
  check "the restarted router rebuilt its facts (${facts:-0} received)" test "${facts:-0}" -ge 3
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
  # The memory check below asks whether the junk is kept (a leak, a table
  # that grows). ASan's quarantine (256 MB) holds every freed block, so
  # there VmRSS grows with all that was allocated and freed since the
  # start: the check measured how often the daemon ran a round (each
  # device read and engine round allocates a few KiB and frees it again),
  # which depends on timing, not what it kept. Without the quarantine
  # freed memory is reused, and VmRSS means what it means without ASan.
  # Redzones, the leak check at exit and the other scenarios are kept.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
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
  # Let the start settle (the device is read every 50 ms for 3 s after a
  # change, every second for 30 s after news): the same 10 s, no flood.
  q0=$(work_done r); sleep 10; q1=$(work_done r)
  t0=$(date +%s.%N) cpu0=$(cpu_ticks r) m0=$(work_done r)
  n=$(in_ns a "$hostile" "$(star_iface a)" "$raddr" 51821 flood "$E2E_TMP/b.key" "${pub[r]}" 10000 10)
  m1=$(work_done r)
  ok "flooded: $n datagrams in $(since "$t0") s (the router's daemon used $(ticks_s $(($(cpu_ticks r) - cpu0))) s CPU)"
  # Junk is dropped before the engine and costs no allocation: only rounds
  # allocate (and free), so they must not follow the flood's rate.
  read -r rounds reads <<<"$(($(cut -d' ' -f1 <<<"$m1") - $(cut -d' ' -f1 <<<"$m0"))) $(($(cut -d' ' -f2 <<<"$m1") - $(cut -d' ' -f2 <<<"$m0")))"
  quiet=$(($(cut -d' ' -f1 <<<"$q1") - $(cut -d' ' -f1 <<<"$q0")))
  # Traffic in the tunnel is looked at twice a second (the link is
  # watched): 20 in the 10 s, and a few more.
  check "the flood did not drive rounds ($rounds rounds, $reads device reads; $quiet in the 10 s before)" \
    test "$rounds" -le 30
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
hostile-peer)
  # A peer with a valid key lies: a's own key signs everything below.
  # The memory budget asks what the router keeps; without ASan's
  # quarantine VmRSS means that (see hostile-input).
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
  lan_star a b c || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  raddr=$(grep -oE 'facts on \[[^%]+' "$E2E_TMP/wl-r.log" | head -n 1 | cut -c11-)
  check "the router's fact address is known ($raddr)" test -n "$raddr"
  lie() { in_ns a "$hostile" "$(star_iface a)" "$raddr" 51821 "$1" "$E2E_TMP/a.key" "${pub[r]}" "${@:2}"; }
  others() { in_ns r wg show "$(star_iface r)" allowed-ips | grep -vF "${pub[a]}" | sort; }
  others >"$E2E_TMP/others-before"
  rss0=$(rss_kib r)
  lines0=$(wc -l <"$E2E_TMP/wl-r.log")
  t0=$(date +%s.%N)
  n=$(lie members 30000) && ok "sent $n packets of Member facts about random keys ($(since "$t0") s)"
  n=$(lie endpoints 10000) && ok "sent 10,000 Endpoint facts about a in $n packets"
  lie claim 198.51.100.12/32 0.0.0.0/0 203.0.113.77/24 >/dev/null && ok "claimed b's /32, 0.0.0.0/0 and a host-bit CIDR"
  lie bigmeta >/dev/null && ok "sent an oversize MemberMetadata"
  n=$(lie reboots 50 100) && ok "sent $n Alives with a new boot id every 100 ms"
  sleep 2
  check "the router's daemon still runs" kill -0 "${wlpid[r]}"
  rss1=$(rss_kib r)
  check "its memory stayed within budget (VmRSS ${rss0} -> ${rss1} KiB)" test $((rss1 - rss0)) -lt 4096
  others >"$E2E_TMP/others-after"
  check "no other peer's allowed IPs changed at the router" cmp -s "$E2E_TMP/others-before" "$E2E_TMP/others-after"
  lines1=$(wc -l <"$E2E_TMP/wl-r.log")
  check "its log stayed bounded ($((lines1 - lines0)) lines)" test $((lines1 - lines0)) -lt 30
  check "the mesh is still converged" star_converged
  metrics=$(in_ns r "$wl" -i "$(star_iface r)" metrics)
  check "the router's metrics count the lies (untrusted facts)" \
    grep -qE 'wirelink_dropped_facts_total\{[^}]*reason="untrusted"\} [1-9]' <<<"$metrics"
  check "  ... and the refused restarts" \
    grep -qE 'wirelink_dropped_facts_total\{[^}]*reason="restart_ignored"\} [1-9]' <<<"$metrics"
  kill -USR1 "${wlpid[b]}"
  sleep 0.5
  facts=$(grep -oE '[0-9]+ facts known' "$E2E_TMP/wl-b.log" | tail -n 1 | cut -d' ' -f1)
  check "b holds a bounded number of facts (${facts:-?})" test "${facts:-99999}" -lt 60
  check "a -> b goes direct" goes_direct a b
  # a sends b data from a source it may not use, for 12 s: b's WireGuard
  # drops it. That is no sign that b's other links failed (a peer that
  # fell back sends through the router): b's link to c stays up, and no
  # link flaps. (It took b's idle link to c down and back each glance.)
  lines0=$(wc -l <"$E2E_TMP/wl-b.log")
  in_ns a ip addr add 10.99.0.1/32 dev "$(star_iface a)"
  out=$(in_ns a ping -I 10.99.0.1 -c 60 -i 0.2 -W 1 -q "198.51.100.${ip[b]}" 2>&1)
  check "a's 60 pings from 10.99.0.1 got no answer (b's WireGuard drops them)" grep -q " 0 received" <<<"$out"
  check "  ... and b's links did not go down for it" \
    eval '! tail -n +$((lines0 + 1)) "$E2E_TMP/wl-b.log" | grep -qE "direct link down|link unstable"'
  check "b -> c goes direct" goes_direct b c
  ;;
two-hubs)
  # Two hubs on one LAN: R1 (r) carries the tunnel /24 at each leaf, R2
  # only its own /32, both trusted for Membership in the leaves' files
  # (the README's redundant set-up). c has a second address it reports as
  # an endpoint; its daemon stops later, so that fact ages out unrefreshed.
  lan_star a b c || { not_ok "set-up"; exit 1; }
  ip[r2]=2
  ns_add r2 && ip link add "l${E2E_ID}r2" netns "$(ns r2)" type veth peer name "b${E2E_ID}r2" netns "$(ns lan)" &&
    ip -n "$(ns lan)" link set "b${E2E_ID}r2" master br0 up &&
    in_ns r2 ip addr add 192.0.2.2/24 dev "l${E2E_ID}r2" && in_ns r2 ip link set "l${E2E_ID}r2" up &&
    star_wg r2 2 || { not_ok "set-up of R2"; exit 1; }
  for l in a b c; do
    in_ns r2 wg set "$(star_iface r2)" peer "${pub[$l]}" endpoint "192.0.2.${ip[$l]}:51820" \
      allowed-ips "198.51.100.${ip[$l]}/32"
    in_ns "$l" wg set "$(star_iface "$l")" peer "${pub[r2]}" endpoint 192.0.2.2:51820 \
      allowed-ips 198.51.100.2/32 persistent-keepalive 5
  done
  for l in a b c; do
    cat >"$E2E_TMP/etc/wirelink.$(star_iface "$l").yaml" <<YAML
Peers:
  - PublicKey: "${pub[r]}"
    Name: hub1
    Trust: Membership
  - PublicKey: "${pub[r2]}"
    Name: hub2
    Trust: Membership
YAML
  done
  in_ns c ip link add "d${E2E_ID}c" type dummy && in_ns c ip addr add 203.0.113.50/24 dev "d${E2E_ID}c" &&
    in_ns c ip link set "d${E2E_ID}c" up
  ok "R2 set up beside R1; the leaves trust both; c has a second address"
  star_start_one r2 "$wl"
  start_and_converge || exit 1
  # Fact-port packets each hub sends, counted by nft in its namespace, to
  # each leaf; the count per leaf is in the check's line. Known, not yet
  # fixed: once c's daemon stops, R1's link watch probes c about every
  # 5 s ("its traffic stopped"; under ASan, twice: 67 packets in 270 s, to
  # a 11, b 11, c 45; one run of stop 34 went over the bound, 114 against
  # 92). What R1 takes for c's traffic each time is not found yet.
  lauto() {
    in_ns "$1" wg show "$(star_iface "$1")" allowed-ips |
      awk -v k="${pub[$2]}" '$1 == k { for (i = 2; i <= NF; i++) if ($i ~ /^fe80:/) { sub(/\/128$/, "", $i); print $i } }'
  }
  for h in r r2; do
    rules=""
    for l in a b c; do
      la=$(lauto "$h" "$l")
      [ -n "$la" ] || { not_ok "$l's auto-address on $h"; exit 1; }
      rules+="udp dport 51821 ip6 daddr $la counter comment \"$l\"; "
    done
    in_ns "$h" nft -f - <<NFT || { not_ok "nft counters in $h"; exit 1; }
table inet wlcount {
  chain out { type filter hook output priority 0; $rules}
}
NFT
  done
  # sent HUB: its packets to a, b and c: "TOTAL A B C".
  sent() {
    in_ns "$1" nft list table inet wlcount |
      awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") { n[++k] = $(i + 1); t += $(i + 1) } }
           END { print t + 0, n[1] + 0, n[2] + 0, n[3] + 0 }'
  }
  # (A flapping link says its first fall as "link unstable", the rest at debug level.)
  moves() { grep -cE 'moved onto the direct link|falls back through the router|link unstable' "$E2E_TMP/wl-$1.log"; }
  r2_kept() { in_ns "$1" wg show "$(star_iface "$1")" allowed-ips | grep -F "${pub[r2]}" | grep -q 198.51.100.2/32; }
  # L holds M's /32 on M's own entry, and the session is alive (a quiet
  # session re-keys only every two minutes).
  holds() {
    in_ns "$1" wg show "$(star_iface "$1")" dump | awk -F'\t' -v k="${pub[$2]}" -v ip="198.51.100.${ip[$2]}/32" \
      -v now="$(date +%s)" '$1 == k { ok = index($4, ip) > 0 && now - $5 < 200 } END { exit !ok }'
  }
  sleep 60
  read -r quiet _ <<<"$(sent r)"
  check "quiet mesh: R1 sent $quiet fact-port packets in 60 s (Alives)" test "$quiet" -gt 0
  stop_daemon c "stopped c's daemon (its WireGuard stays up): its second address ages out"
  m0a=$(moves a) m0b=$(moves b) stable=1 kept=1
  read -r r0 ra0 rb0 rc0 <<<"$(sent r)"
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 270 ]; do
    { holds a b && holds b a; } || stable=0
    { r2_kept a && r2_kept b; } || kept=0
    sleep 10
  done
  read -r r1 ra1 rb1 rc1 <<<"$(sent r)"
  storm=$((r1 - r0))
  check "for 270 s (past FactTTL) a and b stayed direct" test $stable = 1
  check "  ... and kept R2 with its hand-configured /32" test $kept = 1
  check "  ... with no allowed-IP flapping (a: $(( $(moves a) - m0a )), b: $(( $(moves b) - m0b )) changes)" \
    test $(( $(moves a) - m0a + $(moves b) - m0b )) -le 2
  check "R1's fact-port traffic while c's facts aged: $storm packets in 270 s (to a $((ra1 - ra0)), b $((rb1 - rb0)), c $((rc1 - rc0)); quiet: $quiet in 60 s)" \
    test "$storm" -le $(( quiet * 2 * 270 / 60 + 20 ))
  check "no leaf removed a peer" eval '! grep -q "removing peer" "$E2E_TMP"/wl-[ab].log'
  kill "${wlpid[r]}"
  in_ns r ip link del "$(star_iface r)"
  ok "R1 died (daemon and interface)"
  stable=1
  for _ in $(seq 6); do { holds a b && holds b a; } || stable=0; sleep 5; done
  check "for 30 s after, a and b stayed direct" test $stable = 1
  check "a reaches R2" in_ns a ping -c 3 -W 2 -q 198.51.100.2
  check "  ... and b" in_ns a ping -c 3 -W 2 -q 198.51.100.12
  ;;
iface-down-up)
  # The WireGuard interface taken down and up: the kernel drops its IPv6
  # addresses, the daemon's auto-address among them, and its fact socket
  # neither hears nor sends until that comes back (found by the chaos run).
  lan_star a b || { not_ok "set-up"; exit 1; }
  start_and_converge || exit 1
  self=$(grep -oE 'facts on \[[^%]+' "$E2E_TMP/wl-a.log" | head -n 1 | cut -c11-)
  in_ns a ip link set "$(star_iface a)" down && sleep 1 && in_ns a ip link set "$(star_iface a)" up
  t0=$(date +%s)
  ok "a's interface was down for 1 s"
  timed "a's auto-address $self is back" 5 eval 'in_ns a ip -6 addr show dev "$(star_iface a)" | grep -q "$self/64"'
  heard() {
    local ago
    ago=$(in_ns b "$wl" status -i "$(star_iface b)" --json |
      jq --arg k "${pub[a]}" '.peers[] | select(.public_key == $k) | .facts_heard_seconds_ago')
    [[ "$ago" =~ ^[0-9]+$ ]] && [ "$ago" -lt $(($(date +%s) - t0)) ]
  }
  timed "b hears a's facts again" 40 heard
  timed "every pair direct again" 30 star_converged
  check "a -> b goes direct" goes_direct a b
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
  timed "stopped the daemons: a and the router with SIGTERM, b with SIGKILL" 30 \
    eval 'daemon_gone a && daemon_gone b && daemon_gone r'
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
