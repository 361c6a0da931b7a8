#!/usr/bin/env bash
# The first end-to-end mesh: a router and three leaves on one LAN, each leaf
# configured with only the router as its WireGuard peer. Within 30 s of
# starting the daemons every leaf must have every other leaf as a peer with
# a recent handshake and its /32; then a 100-packet ping between two leaves
# must go direct (the router's counters for them do not grow by its volume).
# usage: mesh.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
wirelink=$1
leaves=(a b c)
star_setup "${leaves[@]}" || exit 1
for l in "${leaves[@]}"; do
  in_ns "$l" ping -c 1 -w 10 -q 198.51.100.1 >/dev/null || not_ok "leaf $l reaches the router"
done
start=$(date +%s.%N)
star_start "$wirelink" --debug
t=""
for _ in $(seq 300); do
  if star_converged; then t=$(since "$start"); break; fi
  sleep 0.1
done
check "mesh converged within 30 s (measured: ${t:-never} s)" test -n "$t" -a "${t%.*}" -lt 30

rx() { in_ns r wg show "$(star_iface r)" transfer | awk -v a="${pub[a]}" -v b="${pub[b]}" '$1 == a || $1 == b { n += $2 + $3 } END { print n + 0 }'; }
before=$(rx)
in_ns a ping -c 100 -i 0.01 -s 1000 -q 198.51.100.12 >/dev/null
st=$?
after=$(rx)
check "100-packet ping a -> b succeeds" test $st = 0
kill -USR1 "${E2E_PIDS[-4]}"; sleep 0.3 # the router's daemon
check "SIGUSR1 lists the router's facts" grep -qE '^fact: (endpoint|allowed-ip|alive|member[a-z-]*) of [^ ]+ is .+, [0-9]+s left, from [^ ]+$' "$E2E_TMP/wl-r.log"
check "--debug logs traffic" grep -qE 'debug: (received|sent) [0-9]+ facts' "$E2E_TMP/wl-a.log"
check "  ... and goes direct (router saw $((after - before)) bytes of 200 kB)" test $((after - before)) -lt 50000
for n in r "${leaves[@]}"; do
  if grep -qiE 'sanitizer|runtime error|warning' "$E2E_TMP/wl-$n.log"; then
    not_ok "daemon $n log is clean"; sed 's/^/  # /' "$E2E_TMP/wl-$n.log" | head -20
  fi
done
if [ -n "${E2E_DEBUG:-}" ]; then for n in r "${leaves[@]}"; do echo "== $n"; in_ns "$n" wg show "$(star_iface "$n")" | sed "s/^/#   /"; cat "$E2E_TMP/wl-$n.log"; done; fi
echo "# router log:"; sed 's/^/#   /' "$E2E_TMP/wl-r.log" | head -12
echo "# leaf a log:"; sed 's/^/#   /' "$E2E_TMP/wl-a.log" | head -12
e2e_finish
