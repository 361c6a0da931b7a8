# Checks shared by the scenario scripts (source after lib.sh and star.sh).

# timed WHAT LIMIT CMD...: waits for CMD and reports the time it took.
timed() {
  local what=$1 limit=$2 t0; t0=$(date +%s.%N)
  shift 2
  if wait_until "$limit" "$@"; then ok "$what (took $(since "$t0") s)"; else not_ok "$what (not within $limit s)"; fi
}

# A leaf holds another only through the router: its peer entry has nothing
# but the auto-address.
restricted() {
  in_ns "$1" wg show "$(star_iface "$1")" allowed-ips |
    awk -v k="${pub[$2]}" '$1 == k { exit !(NF == 2 && $2 ~ /^fe80:.*\/128$/) } END { if (!NR) exit 1 }'
}
has_peer() { in_ns "$1" wg show "$(star_iface "$1")" peers | grep -qxF "${pub[$2]}"; }
lacks_peer() { ! has_peer "$@"; }
daemon_gone() { ! kill -0 "${wlpid[$1]}" 2>/dev/null; }
# stop_daemon N WHAT: SIGTERM to N's daemon; WHAT holds once it has ended
# (a clean stop writes files, the hosts block and the state file, and
# waits for the disk) with exit status 0 (a sanitizer's report, or a crash
# while cleaning up, would not be 0: its log is shown).
stop_daemon() {
  local t0 st; t0=$(date +%s.%N)
  kill "${wlpid[$1]}"
  if ! wait_until 30 daemon_gone "$1"; then not_ok "$2 (not within 30 s)"; return; fi
  wait "${wlpid[$1]}" 2>/dev/null; st=$?
  if [ "$st" = 0 ]; then ok "$2 (took $(since "$t0") s)"; else
    not_ok "$2 (exit status $st)"; tail -n 30 "$E2E_TMP/wl-$1.log" | sed 's/^/#   /'; fi
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/${wlpid[$1]}/status"; }
# CPU time (user + system, in clock ticks) N's daemon has used; the fields
# after the command name, which could hold spaces.
cpu_ticks() { sed 's/.*) //' "/proc/${wlpid[$1]}/stat" | awk '{ print $12 + $13 }'; }
# ticks_s TICKS: clock ticks as seconds.
ticks_s() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'; }
# Bytes the router moved for leaves L and M.
router_bytes() {
  in_ns r wg show "$(star_iface r)" transfer |
    awk -v a="${pub[$1]}" -v b="${pub[$2]}" '$1 == a || $1 == b { n += $2 + $3 } END { print n + 0 }'
}
# A 100-packet ping L -> M goes direct: the router moves < 50 kB of 200.
goes_direct() {
  local before after
  before=$(router_bytes "$1" "$2")
  in_ns "$1" ping -c 100 -i 0.01 -s 1000 -q "198.51.100.${ip[$2]}" >/dev/null || return 1
  after=$(router_bytes "$1" "$2")
  [ $((after - before)) -lt 50000 ]
}
logs_clean() {
  local n
  for n in r "${STAR_LEAVES[@]}"; do
    if grep -qiE 'sanitizer|runtime error' "$E2E_TMP/wl-$n.log"; then
      not_ok "daemon $n log is clean"; grep -iE -A10 'sanitizer|runtime error' "$E2E_TMP/wl-$n.log" | head -20 | sed 's/^/#   /'
    fi
  done
}
show_logs() {
  local n
  for n in r "${STAR_LEAVES[@]}"; do echo "# log of $n:"; tail -n "${E2E_LOG_LINES:-15}" "$E2E_TMP/wl-$n.log" | sed 's/^/#   /'; done
}

# Drops (or lets through again) everything between the two NATs' public
# addresses, on the public bridge.
cut_nats() {
  in_ns pub nft -f - <<NFT
table bridge wlcut {
  chain forward { type filter hook forward priority 0;
    ip saddr 203.0.113.2 ip daddr 203.0.113.3 drop; ip saddr 203.0.113.3 ip daddr 203.0.113.2 drop; }
}
NFT
}
heal_nats() { in_ns pub nft delete table bridge wlcut; }

lan_star() {
  star_setup "$@" && star_reach_router
}

# start_and_converge [ARGS...]: starts every daemon (WIRELINK in $wl) and
# waits for every leaf pair to be direct.
start_and_converge() {
  local t0; t0=$(date +%s.%N)
  star_start "$wl" "$@"
  if wait_until "${CONVERGE_LIMIT:-30}" star_converged; then
    ok "converged: every leaf holds every other directly (took $(since "$t0") s)"
  else
    not_ok "converged within ${CONVERGE_LIMIT:-30} s"; show_logs; return 1
  fi
}

# lan_cut TABLE: drops everything between a (192.0.2.11) and b (192.0.2.12)
# on the star's LAN bridge (both still reach the router); `in_ns lan nft
# delete table bridge TABLE` lifts it.
lan_cut() {
  in_ns lan nft -f - <<NFT
table bridge $1 {
  chain forward { type filter hook forward priority 0;
    ip saddr 192.0.2.11 ip daddr 192.0.2.12 drop; ip saddr 192.0.2.12 ip daddr 192.0.2.11 drop; }
}
NFT
}
