#!/usr/bin/env bash
# Chaos run (issue 26): two hubs and CHAOS_LEAVES leaves (default 10) in
# network namespaces with real wireguard-go, under a nemesis that starts a
# random fault every 2-6 s and heals each after a while, for CHAOS_MINUTES
# (default 30); then CHAOS_SETTLE seconds (default 30) with no fault.
#   chaos.sh WIRELINK HOSTILE          (as root; HOSTILE: tests/hostile)
# CHAOS_SEED (default: random, printed) fixes the fault sequence: the same
# seed with the same CHAOS_MINUTES and CHAOS_LEAVES replays the same faults
# at the same times on the same targets.
#
# Topology (LAN 192.0.2.0/24 on one bridge, tunnel 198.51.100.0/24): hub r
# (.1, carries the tunnel /24 at every leaf) and hub r2 (.2, only its /32;
# both trusted for Membership, as in the two-hubs scenario). Leaves, in the
# order they are taken: a (LAN), g (behind a port-restricted cone NAT), e
# (listen port 40001), j (an administrator's extra peer and allowed IP),
# i (behind a symmetric NAT), f (listen port 0: WireGuard's pick), d (LAN,
# sometimes moved behind a NAT), h (cone NAT), b, c (LAN).
#
# Faults (each logged with its start and heal to faults.txt): kill -9 a
# daemon (restarted at the heal), SIGSTOP/SIGCONT, WireGuard interface
# down/up, interface deleted and re-created (the administrator's
# configuration applied again, as wg-quick would), a path cut both ways or
# one way on the LAN, a local firewall, a NAT's mappings flushed, a leaf
# moved to a new address or behind a NAT, bursts of loss (nft numgen), a
# reload (SIGHUP), half of them with a broken file, a hub's host off the LAN
# for a while, a burst of junk Member facts signed with a leaf's valid key.
# The clock is left alone: a daemon's clock cannot jump alone here.
#
# Checked (each failure is a violation; the last line reads "N violations"):
# every leaf pair answers a one-packet ping over the tunnel within
# CHAOS_BOUND (10) s of the heal of the last fault that touched it, and a
# pair no fault touches is never unreachable for longer than that; no daemon
# exits unless the nemesis made it; VmRSS within CHAOS_RSS_KIB and no upward
# trend (the smallest sample of the last third above the largest of the
# first third by more than CHAOS_RSS_SLACK_KIB); at most CHAOS_LOG_BOUND log
# lines per daemon per fault; a broken reload refused and a good one
# applied; at the end the administrator's peers and allowed IPs all there,
# nothing wirelink added left without its reason (only leaves' keys, their
# /32s and auto-addresses beside the administrator's), a clean stop and no
# sanitizer report. Results to CHAOS_OUT (default: a temporary directory):
# faults.txt, pings.txt, recovery.txt, violations.txt, rss.txt,
# summary.json and timeline.png (gnuplot).
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/star.sh"
. "$(dirname "$0")/../tests/e2e/nat.sh"
wl=$1 hostile=$2
minutes=${CHAOS_MINUTES:-30}
seed=${CHAOS_SEED:-$((SRANDOM % 1000000))}
nleaves=${CHAOS_LEAVES:-10}
bound=$((${CHAOS_BOUND:-10} * 1000))
settle=$((${CHAOS_SETTLE:-30} * 1000))
sample=${CHAOS_SAMPLE:-6}
# A fault may make a daemon log four lines per peer: a link lost (falls
# back, no endpoint answered), back (direct again) and lost again soon
# (unstable: its further ups and downs go to the debug level), or a start
# on a re-created interface (adding the peer, alive, direct); one spare
# per peer, and a few of its own.
log_bound=${CHAOS_LOG_BOUND:-$((5 * (nleaves + 1) + 5))}
junk=${CHAOS_JUNK:-2000}
out=${CHAOS_OUT:-$E2E_TMP/out}
if ldd "$wl" | grep -q libasan; then asan=1 rss_budget=${CHAOS_RSS_KIB:-131072}
else asan=0 rss_budget=${CHAOS_RSS_KIB:-16384}; fi
rss_slack=${CHAOS_RSS_SLACK_KIB:-2048}
# VmRSS then means what the daemon keeps, not ASan's quarantine (as in the
# hostile-peer scenario).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
[ "$nleaves" -ge 3 ] && [ "$nleaves" -le 10 ] || { echo "CHAOS_LEAVES: 3 to 10" >&2; exit 2; }
mkdir -p "$out" || exit 1
echo "chaos: seed $seed, $minutes min, 2 hubs + $nleaves leaves, bound $((bound / 1000)) s (replay: CHAOS_SEED=$seed CHAOS_MINUTES=$minutes CHAOS_LEAVES=$nleaves)"

ORDER=(a g e j i f d h b c)
mapfile -t LEAVES < <(printf '%s\n' "${ORDER[@]:0:nleaves}" | sort)
has() { [[ " ${LEAVES[*]} " == *" $1 "* ]]; }
NATTED=()
for l in g h i; do has $l && NATTED+=("$l"); done
LANL=()
for l in a b c d e f; do has $l && LANL+=("$l"); done
declare -A natpub=([g]=192.0.2.51 [h]=192.0.2.52 [i]=192.0.2.53) natlan=([g]=10.4.0 [h]=10.5.0 [i]=10.6.0)
STAR_PORT=([e]=40001 [f]=0)
HUBS=(r r2)

# --- set-up ------------------------------------------------------------
yaml_leaf() { # L: trusts both hubs for Membership and names them
  printf 'Peers:\n  - PublicKey: "%s"\n    Name: hub1\n    Trust: Membership\n  - PublicKey: "%s"\n    Name: hub2\n    Trust: Membership\n' \
    "${pub[r]}" "${pub[r2]}"
}
yaml_hub() { local l; echo "Peers:"; for l in "${LEAVES[@]}"; do printf '  - PublicKey: "%s"\n    Name: leaf-%s\n' "${pub[$l]}" "$l"; done; }
conf_of() { echo "$E2E_TMP/etc/wirelink.$(star_iface "$1").yaml"; }
good_conf() { if [ "$1" = r ] || [ "$1" = r2 ]; then yaml_hub; else yaml_leaf; fi >"$(conf_of "$1")"; }
# endpoint_on_lan L: L's WireGuard endpoint as the hubs have it configured
# (none for a leaf behind a NAT or on WireGuard's own port: it calls in).
endpoint_on_lan() {
  has_nat "$1" && return 1
  [ "${STAR_PORT[$1]:-51820}" = 0 ] && return 1
  echo "192.0.2.${ip[$1]}:${STAR_PORT[$1]:-51820}"
}
has_nat() { [[ " ${NATTED[*]} " == *" $1 "* ]]; }
# leaf_peers L: what the administrator configured on leaf L besides its
# interface: the hubs, and on j also an office gateway (a peer nobody runs)
# and an office /24 through hub1.
leaf_peers() {
  local f; f=$(star_iface "$1")
  star_leaf_peer "$1" 192.0.2.1:51820
  in_ns "$1" wg set "$f" peer "${pub[r2]}" endpoint 192.0.2.2:51820 allowed-ips 198.51.100.2/32 persistent-keepalive 5
  if [ "$1" = j ]; then
    in_ns j wg set "$f" peer "$office" endpoint 192.0.2.99:51820 allowed-ips 10.99.0.0/24
    in_ns j wg set "$f" peer "${pub[r]}" allowed-ips 198.51.100.0/24,10.98.0.0/24
  fi
}
office=$(wg genkey | wg pubkey)

setup() {
  star_setup "${LEAVES[@]}" || return 1
  ip[r2]=2
  ns_add r2 && ip link add "l${E2E_ID}r2" netns "$(ns r2)" type veth peer name "b${E2E_ID}r2" netns "$(ns lan)" &&
    ip -n "$(ns lan)" link set "b${E2E_ID}r2" master br0 up &&
    in_ns r2 ip addr add 192.0.2.2/24 dev "l${E2E_ID}r2" && in_ns r2 ip link set "l${E2E_ID}r2" up &&
    star_wg r2 2 || return 1
  local l e kind
  for l in "${NATTED[@]}"; do
    kind=""; [ "$l" = i ] && kind=random
    NAT_PUB=${natpub[$l]} nat_box "$l" $kind && NAT_LAN=${natlan[$l]} move_behind_nat "$l" || return 1
  done
  has d && { nat_box d || return 1; }
  for l in "${LEAVES[@]}"; do
    if e=$(endpoint_on_lan "$l"); then
      in_ns r2 wg set "$(star_iface r2)" peer "${pub[$l]}" endpoint "$e" allowed-ips "198.51.100.${ip[$l]}/32"
    else
      in_ns r2 wg set "$(star_iface r2)" peer "${pub[$l]}" allowed-ips "198.51.100.${ip[$l]}/32"
      # Behind its NAT now: hub1 too learns where it is when it calls in.
      has_nat "$l" && { in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" remove &&
        in_ns r wg set "$(star_iface r)" peer "${pub[$l]}" allowed-ips "198.51.100.${ip[$l]}/32" || return 1; }
    fi
    leaf_peers "$l"
  done
  for l in r r2 "${LEAVES[@]}"; do good_conf "$l"; done
  star_reach_router
}
# admin N: the (peer, allowed IP) pairs on N's interface, one a line.
admin() { in_ns "$1" wg show "$(star_iface "$1")" allowed-ips | awk '{ for (i = 2; i <= NF; i++) print $1, $i }' | sort; }

setup || { echo "set-up failed"; echo "1 violations"; exit 1; }
for n in r r2 "${LEAVES[@]}"; do admin "$n" >"$E2E_TMP/admin-$n"; done
PAIRS=()
for ((x = 0; x < nleaves; x++)); do
  for ((y = x + 1; y < nleaves; y++)); do PAIRS+=("${LEAVES[x]}-${LEAVES[y]}"); done
done
declare -A nsn pidx
for n in r r2 "${LEAVES[@]}"; do nsn[$n]=$(ns "$n"); done
for k in "${!PAIRS[@]}"; do pidx[${PAIRS[k]}]=$k; done
declare -A down
for n in r r2 "${LEAVES[@]}"; do star_start_one "$n" "$wl"; down[$n]=0; done
wait_until 10 grep -q "facts on" "$E2E_TMP/wl-r.log"
raddr=$(grep -oE 'facts on \[[^%]+' "$E2E_TMP/wl-r.log" | head -n 1 | cut -c11-)

ms() { local u=${EPOCHREALTIME/./}; echo $(((u - T0) / 1000)); }
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
pinger() { # PAIR: starts one ping over the tunnel in the background ($!)
  local x=${1%-*} y=${1#*-}
  ip netns exec "${nsn[$x]}" ping -c 1 -W 1 -q "198.51.100.${ip[$y]}" >/dev/null 2>&1 &
}
all_reach() {
  local p ps=() st=0
  for p in "${PAIRS[@]}"; do pinger "$p"; ps+=($!); done
  for p in "${ps[@]}"; do wait "$p" || st=1; done
  return $st
}
T0=${EPOCHREALTIME/./}
if wait_until 90 all_reach; then
  echo "set-up: every leaf pair answers over the tunnel ($(secs "$(ms)") s after the daemons started)"
else
  echo "set-up: not every leaf pair answers within 90 s"; echo "1 violations"; exit 1
fi

# --- the fault schedule, from the seed alone ------------------------------
# "START_MS HEAL_MS KIND TARGET [TARGET2|PARAM]", START_MS from the start of
# the chaos. At most one fault per node at a time (2 s apart).
RANDOM=$seed
end=$((minutes * 60000))
KINDS=(kill stop ifdown recreate cut oneway firewall natflush move loss reload hubdown junk)
declare -A dlo=([kill]=1 [stop]=2 [ifdown]=2 [recreate]=1 [cut]=5 [oneway]=5 [firewall]=5 [natflush]=0
  [move]=5 [loss]=5 [reload]=2 [hubdown]=10 [junk]=0)
declare -A dhi=([kill]=8 [stop]=15 [ifdown]=10 [recreate]=5 [cut]=25 [oneway]=25 [firewall]=25 [natflush]=0
  [move]=25 [loss]=20 [reload]=8 [hubdown]=25 [junk]=0)
declare -A busy
SCHED=()
t=5000 all_until=0 hub_until=0
pick() { # NAME CANDIDATES...: a free one at time t into NAME, or false
  local -n _r=$1
  shift
  local c free=()
  for c in "$@"; do [ "${busy[$c]:-0}" -le "$t" ] && free+=("$c"); done
  [ ${#free[@]} -gt 0 ] || return 1
  _r=${free[RANDOM % ${#free[@]}]}
}
while :; do
  t=$((t + (2 + RANDOM % 5) * 1000))
  [ "$t" -lt "$end" ] || break
  kind=${KINDS[RANDOM % ${#KINDS[@]}]}
  heal=$((t + (dlo[$kind] + RANDOM % (dhi[$kind] - dlo[$kind] + 1)) * 1000))
  r1=$RANDOM r2=$RANDOM
  [ "$heal" -le "$end" ] && [ "$t" -ge "$hub_until" ] || continue
  x="" y="" arg=""
  # A hub's fault waits until every other fault has healed, and runs alone.
  case $kind in
    kill | stop) [ $((r1 % 6)) = 0 ] && x=${HUBS[r2 % 2]} ;;
    hubdown) x=${HUBS[r2 % 2]} ;;
  esac
  if [ -n "$x" ] && [ "$all_until" -gt $((t - 2000)) ]; then
    heal=$((heal - t + all_until + 2000)) t=$((all_until + 2000))
    [ "$heal" -le "$end" ] || continue
  fi
  case $kind in
    kill | stop | ifdown | recreate | loss) [ -n "$x" ] || pick x "${LEAVES[@]}" || continue
      [ "$kind" = loss ] && arg=$((20 + r1 % 41)) ;;
    cut | oneway | firewall) pick x "${LEAVES[@]}" || continue
      busy[$x]=$((t + 1)); pick y "${LEAVES[@]}"; busy[$x]=0; [ -n "$y" ] || continue ;;
    natflush) pick x "${NATTED[@]}" || continue ;;
    move) pick x "${LANL[@]}" || continue
      arg=addr; [ "$x" = d ] && [ $((r1 % 2)) = 0 ] && arg=nat ;;
    reload) pick x r r2 "${LEAVES[@]}" || continue; arg=good; [ $((r1 % 2)) = 0 ] && arg=broken ;;
    junk) pick x "${LEAVES[@]}" || continue ;;
  esac
  [ "$x" = r ] || [ "$x" = r2 ] && [ "$kind" != reload ] && hub_until=$heal
  busy[$x]=$((heal + 2000)); [ -n "$y" ] && busy[$y]=$((heal + 2000))
  [ "$heal" -gt "$all_until" ] && all_until=$heal
  SCHED+=("$t $heal $kind $x ${y:-$arg}")
done
echo "chaos: ${#SCHED[@]} faults scheduled over $minutes min"

# --- state and checks ---------------------------------------------------
nviol=0
: >"$out/violations.txt"; : >"$out/faults.txt"; : >"$out/pings.txt"; : >"$out/recovery.txt"; : >"$out/rss.txt"
: >"$out/lines.txt"; : >"$out/blips.txt"
violation() { nviol=$((nviol + 1)); echo "$(secs "$(ms)") $*" | tee -a "$out/violations.txt" | sed 's/^/VIOLATION at /'; }
declare -A act waitfrom waitkind flagged outfrom fkind fx fy ftouch flines
rec_n=0 blips=0 blip_worst=0 interrupted=0
pairs_of() { local p; for p in "${PAIRS[@]}"; do [[ "-$p-" == *"-$1-"* ]] && echo "$p"; done; }
# nondirect: the leaf pairs not holding each other directly now (they go
# through hub r, so a fault of r touches them).
nondirect() {
  local l p
  for l in "${LEAVES[@]}"; do
    in_ns "$l" wg show "$(star_iface "$l")" dump 2>/dev/null | awk -F'\t' -v now="$(date +%s)" -v l="$l" \
      'NR > 1 && $5 > 0 && now - $5 < 180 && $4 ~ /198\.51\.100\.[0-9]+\/32/ { print l, $1 }'
  done >"$E2E_TMP/direct"
  for p in "${PAIRS[@]}"; do
    grep -qx "${p%-*} ${pub[${p#*-}]}" "$E2E_TMP/direct" && grep -qx "${p#*-} ${pub[${p%-*}]}" "$E2E_TMP/direct" || echo "$p"
  done
}
touch_start() { # PAIR...
  local p now; now=$(ms)
  for p in "$@"; do
    act[$p]=$((${act[$p]:-0} + 1))
    if [ -n "${waitfrom[$p]:-}" ]; then
      if [ $((now - waitfrom[$p])) -gt "$bound" ]; then
        [ -z "${flagged[$p]:-}" ] && violation "$p not reached within $((bound / 1000)) s of the heal of ${waitkind[$p]}"
        # Counted with the time it waited: at least that.
        echo "${waitkind[$p]} $p $(secs $((now - waitfrom[$p])))" >>"$out/recovery.txt"
      fi
      interrupted=$((interrupted + 1)); unset "waitfrom[$p]" "flagged[$p]"
    fi
    unset "outfrom[$p]"
  done
}
touch_heal() { # KIND PAIR...
  local k=$1 p now; now=$(ms)
  shift
  for p in "$@"; do
    act[$p]=$((${act[$p]:-1} - 1))
    [ "${act[$p]}" -le 0 ] && { act[$p]=0; waitfrom[$p]=$now; waitkind[$p]=$k; unset "flagged[$p]"; }
  done
}
result() { # PAIR TS_MS OK
  local p=$1 ts=$2 ok=$3 d
  echo "$(secs "$ts") ${pidx[$p]} $ok" >>"$out/pings.txt"
  if [ "$ok" = 1 ]; then
    if [ -n "${waitfrom[$p]:-}" ] && [ "${act[$p]:-0}" = 0 ]; then
      d=$((ts - waitfrom[$p])); [ $d -lt 0 ] && d=0
      echo "${waitkind[$p]} $p $(secs $d)" >>"$out/recovery.txt"; rec_n=$((rec_n + 1))
      # Answered, but later than the bound (no failed ping fell after it).
      [ $d -gt "$bound" ] && [ -z "${flagged[$p]:-}" ] &&
        violation "$p reached only $(secs $d) s after the heal of ${waitkind[$p]}"
      unset "waitfrom[$p]" "flagged[$p]"
    fi
    if [ -n "${outfrom[$p]:-}" ]; then
      d=$((ts - outfrom[$p])); blips=$((blips + 1)); [ $d -gt $blip_worst ] && blip_worst=$d
      echo "$(secs "$ts") $p unreachable for $(secs $d) s with no fault on it" >>"$out/blips.txt"
      unset "outfrom[$p]" "flagged[$p]"
    fi
    return
  fi
  [ "${act[$p]:-0}" -gt 0 ] && return
  if [ -n "${waitfrom[$p]:-}" ]; then
    if [ $((ts - waitfrom[$p])) -gt "$bound" ] && [ -z "${flagged[$p]:-}" ]; then
      flagged[$p]=1; violation "$p not reached within $((bound / 1000)) s of the heal of ${waitkind[$p]}"
    fi
  elif [ -z "${outfrom[$p]:-}" ]; then
    outfrom[$p]=$ts
  elif [ $((ts - outfrom[$p])) -gt "$bound" ] && [ -z "${flagged[$p]:-}" ]; then
    flagged[$p]=1; violation "$p unreachable for over $((bound / 1000)) s with no fault on it"
  fi
}
# One pass: every pair waiting to recover or in an outage, and SAMPLE
# others at random (all of them while settling).
check_pass() {
  local p list=() ps=() ts k
  declare -A seen=()
  for p in "${!waitfrom[@]}" "${!outfrom[@]}"; do [ -z "${seen[$p]:-}" ] && seen[$p]=1 && list+=("$p"); done
  if [ "$1" = all ]; then list=("${PAIRS[@]}")
  else for ((k = 0; k < sample; k++)); do p=${PAIRS[SRANDOM % ${#PAIRS[@]}]}; [ -z "${seen[$p]:-}" ] && seen[$p]=1 && list+=("$p"); done; fi
  ts=$(ms)
  for p in "${list[@]}"; do pinger "$p"; ps+=($!); done
  for k in "${!list[@]}"; do if wait "${ps[k]}"; then result "${list[k]}" "$ts" 1; else result "${list[k]}" "$ts" 0; fi; done
}
loglines() { local n; for n in r r2 "${LEAVES[@]}"; do printf '%s ' "$(wc -l <"$E2E_TMP/wl-$n.log")"; done; }
supervise() {
  local n st
  for n in r r2 "${LEAVES[@]}"; do
    [ "${down[$n]}" = 0 ] && ! kill -0 "${wlpid[$n]}" 2>/dev/null || continue
    wait "${wlpid[$n]}"; st=$?
    violation "daemon $n exited (status $st) with no fault on it; its log ends:"
    tail -n 5 "$E2E_TMP/wl-$n.log" | sed 's/^/    /' | tee -a "$out/violations.txt"
    star_start_one "$n" "$wl"
    if [ "$n" = r ] || [ "$n" = r2 ]; then continue; fi
    mapfile -t tp < <(pairs_of "$n"); touch_start "${tp[@]}"; touch_heal crash "${tp[@]}"
  done
}
lan_addr() { # N: the address the others see N at on the LAN
  if has_nat "$1"; then echo "${natpub[$1]}"; else echo "192.0.2.${ip[$1]}"; fi
}
nft_in() { local n=$1; shift; printf '%s\n' "$*" | in_ns "$n" nft -f -; }
kill_daemon() { kill -9 "${wlpid[$1]}" 2>/dev/null; wait "${wlpid[$1]}" 2>/dev/null; }

fault_start() { # ID START HEAL KIND X Y|ARG
  local id=$1 kind=$4 x=$5 y=$6 f tp
  f=$(star_iface "$x")
  fkind[$id]=$kind fx[$id]=$x fy[$id]=$y flines[$id]=$(loglines)
  echo "$id ${flines[$id]}" >>"$out/lines.txt"
  case $kind in
    kill) down[$x]=1; kill_daemon "$x" ;;
    stop) kill -STOP "${wlpid[$x]}" ;;
    ifdown) in_ns "$x" ip link set "$f" down ;;
    recreate) down[$x]=1; in_ns "$x" ip link del "$f" ;;
    cut) nft_in lan "table bridge wlc$id { chain f { type filter hook forward priority 0;
      ip saddr $(lan_addr "$x") ip daddr $(lan_addr "$y") drop; ip saddr $(lan_addr "$y") ip daddr $(lan_addr "$x") drop; }
    }" ;;
    oneway) nft_in lan "table bridge wlc$id { chain f { type filter hook forward priority 0;
      ip saddr $(lan_addr "$x") ip daddr $(lan_addr "$y") drop; }
    }" ;;
    firewall) nft_in "$x" "table inet wlf$id { chain o { type filter hook output priority 0;
      ip daddr $(lan_addr "$y") meta l4proto udp drop; }
    }" ;;
    natflush) in_ns "nat$x" conntrack -F >/dev/null 2>&1 ;;
    move) if [ "$y" = nat ]; then move_behind_nat d
          else in_ns "$x" ip addr flush dev "l$E2E_ID$x"; in_ns "$x" ip addr add "192.0.2.$((100 + ${ip[$x]}))/24" dev "l$E2E_ID$x"; fi ;;
    loss) nft_in "$x" "table inet wll$id {
      chain i { type filter hook input priority 0; iifname l$E2E_ID$x numgen random mod 100 < $y drop; }
      chain o { type filter hook output priority 0; oifname l$E2E_ID$x numgen random mod 100 < $y drop; }
    }" ;;
    reload) if [ "$y" = broken ]; then
              { good_conf "$x"; cat "$(conf_of "$x")"; echo "  Colour: red"; } >"$E2E_TMP/broken"
              mv "$E2E_TMP/broken" "$(conf_of "$x")"
            else good_conf "$x"; fi
            kill -HUP "${wlpid[$x]}" ;;
    hubdown) down[$x]=1; kill_daemon "$x"; in_ns "$x" ip link set "l$E2E_ID$x" down ;;
    junk) timeout 20 ip netns exec "${nsn[$x]}" "$hostile" "$f" "$raddr" 51821 members "$E2E_TMP/$x.key" "${pub[r]}" "$junk" \
            >/dev/null 2>&1 || echo "# junk burst from $x failed" ;;
  esac
  case $kind in
    cut | oneway | firewall) tp=("$x-$y"); [[ " ${PAIRS[*]} " == *" $x-$y "* ]] || tp=("$y-$x") ;;
    reload | junk) tp=() ;;
    *) if [ "$x" = r ]; then mapfile -t tp < <(nondirect)
       elif [ "$x" = r2 ]; then tp=()
       else mapfile -t tp < <(pairs_of "$x"); fi ;;
  esac
  ftouch[$id]="${tp[*]}"
  [ ${#tp[@]} -gt 0 ] && touch_start "${tp[@]}"
  echo "$(secs "$(ms)") start #$id $kind $x $y touches ${#tp[@]} pairs: ${tp[*]}" >>"$out/faults.txt"
}
fault_heal() { # ID
  local id=$1 x=${fx[$1]} y=${fy[$1]} kind=${fkind[$1]} f tp
  f=$(star_iface "$x")
  case $kind in
    kill) star_start_one "$x" "$wl"; down[$x]=0 ;;
    stop) kill -CONT "${wlpid[$x]}" ;;
    ifdown) in_ns "$x" ip link set "$f" up ;;
    recreate)
      wait_until 5 eval '! kill -0 "${wlpid[$x]}" 2>/dev/null' ||
        { violation "daemon $x still runs 5 s after its interface vanished"; kill_daemon "$x"; }
      wait "${wlpid[$x]}" 2>/dev/null
      wait_until 5 eval '! [ -S "/var/run/wireguard/$f.sock" ]'
      star_wg "$x" "${ip[$x]}" && leaf_peers "$x" || violation "re-creating $x's interface failed"
      star_start_one "$x" "$wl"; down[$x]=0 ;;
    cut | oneway) in_ns lan nft delete table bridge "wlc$id" ;;
    firewall) in_ns "$x" nft delete table inet "wlf$id" ;;
    loss) in_ns "$x" nft delete table inet "wll$id" ;;
    move) if [ "$y" = nat ]; then out_of_nat d "192.0.2.${ip[d]}/24"
          else in_ns "$x" ip addr flush dev "l$E2E_ID$x"; in_ns "$x" ip addr add "192.0.2.${ip[$x]}/24" dev "l$E2E_ID$x"; fi ;;
    reload)
      local want lines0
      want="reloaded $(conf_of "$x"): "
      [ "$y" = broken ] && want="reload failed, keeping the configuration in use: $(conf_of "$x"):"
      lines0=$(cut -d' ' -f"$(node_col "$x")" <<<"${flines[$id]}")
      tail -n +"$((lines0 + 1))" "$E2E_TMP/wl-$x.log" | grep -qF "$want" || violation "reload ($y file) of $x: no \"$want\" in its log"
      good_conf "$x"; kill -HUP "${wlpid[$x]}" ;;
    hubdown) in_ns "$x" ip link set "l$E2E_ID$x" up; star_start_one "$x" "$wl"; down[$x]=0 ;;
  esac
  read -r -a tp <<<"${ftouch[$id]}"
  [ ${#tp[@]} -gt 0 ] && touch_heal "$kind" "${tp[@]}"
  echo "$(secs "$(ms)") heal #$id $kind $x $y" >>"$out/faults.txt"
}
node_col() { local n k=1; for n in r r2 "${LEAVES[@]}"; do [ "$n" = "$1" ] && { echo $k; return; }; k=$((k + 1)); done; }

# The mesh settles first: the same direct pairs for 6 s (60 s at most).
prev=x t1=$(date +%s)
while [ $(($(date +%s) - t1)) -lt 60 ]; do
  cur=$(nondirect | paste -sd' ')
  [ "$cur" = "$prev" ] && break
  prev=$cur; sleep 6
done
echo "set-up: $((${#PAIRS[@]} - $(wc -w <<<"$cur"))) of ${#PAIRS[@]} leaf pairs direct (the rest through hub1: ${cur:-none})"

# --- the run ---------------------------------------------------------------
echo "chaos: faults start (log: $out/faults.txt)"
T0=${EPOCHREALTIME/./}
next=0 id=0 last_rss=-10000
declare -A active=()
LINES=()
while :; do
  now=$(ms)
  [ "$now" -ge $((end + settle)) ] && [ ${#active[@]} = 0 ] && break
  for a in "${!active[@]}"; do [ "${active[$a]}" -le "$now" ] && { fault_heal "$a"; unset "active[$a]"; }; done
  while [ "$next" -lt ${#SCHED[@]} ]; do
    read -r s h k x y <<<"${SCHED[next]}"
    [ "$s" -le "$now" ] || break
    id=$((id + 1)); next=$((next + 1))
    fault_start "$id" "$s" "$h" "$k" "$x" "$y"
    active[$id]=$(( h - s + now ))
    [ "$(ms)" -ge "${active[$id]}" ] && { fault_heal "$id"; unset "active[$id]"; }
  done
  supervise
  if [ $((now - last_rss)) -ge 5000 ]; then
    last_rss=$now
    for n in r r2 "${LEAVES[@]}"; do
      [ "${down[$n]}" = 0 ] && echo "$(secs "$now") $n ${wlpid[$n]} $(awk '/^VmRSS/ { print $2 }' "/proc/${wlpid[$n]}/status" 2>/dev/null)"
    done >>"$out/rss.txt"
  fi
  if [ "$now" -ge "$end" ]; then check_pass all; else check_pass sample; fi
  d=$((1000 - ($(ms) - now))); [ $d -gt 0 ] && sleep "$(secs $d)"
done
for p in "${!waitfrom[@]}"; do
  violation "$p not reached after the heal of ${waitkind[$p]} (run over)"
  echo "${waitkind[$p]} $p $(secs $(($(ms) - waitfrom[$p])))" >>"$out/recovery.txt"
done
for p in "${!outfrom[@]}"; do [ -z "${flagged[$p]:-}" ] && violation "$p unreachable at the end with no fault on it"; done
echo "chaos: $id faults done; $(secs "$(ms)") s; settled"
echo "end $(loglines)" >>"$out/lines.txt"

# --- at the end ------------------------------------------------------------
# Nothing lost: every (peer, allowed IP) the administrator configured.
for n in r r2 "${LEAVES[@]}"; do
  missing=$(admin "$n" | comm -23 "$E2E_TMP/admin-$n" -)
  [ -z "$missing" ] || violation "$n lost what the administrator configured: $(paste -sd' ' <<<"$missing")"
done
# Nothing left without its reason: beside the administrator's, only the
# leaves' and hubs' keys, their auto-addresses, and a leaf's /32 on its own
# entry while the direct link lives (a handshake within 180 s).
known=$(for n in r r2 "${LEAVES[@]}"; do echo "${pub[$n]} $n"; done)
for n in r r2 "${LEAVES[@]}"; do
  in_ns "$n" wg show "$(star_iface "$n")" dump | awk -F'\t' 'NR > 1 { print $1, $5, $4 }' >"$E2E_TMP/dump"
  while read -r k hs ips; do
    m=$(awk -v k="$k" '$1 == k { print $2 }' <<<"$known")
    for a in ${ips//,/ }; do
      grep -qx "$k $a" "$E2E_TMP/admin-$n" && continue
      # The peer is there (a member, or the administrator's): its auto-address.
      if [ -n "$m" ] || grep -q "^$k " "$E2E_TMP/admin-$n"; then
        [ "$a" = "(none)" ] || [[ "$a" == fe80:*/128 ]] && continue
      fi
      if [ -n "$m" ] && [ "$a" = "198.51.100.${ip[$m]}/32" ]; then
        [ $(($(date +%s) - hs)) -lt 180 ] && continue
        violation "$n holds ${m}'s /32 with no handshake for $(($(date +%s) - hs)) s"; continue
      fi
      violation "$n has $a on ${m:-an unknown peer ${k:0:10}}: nobody configured it, no leaf stands behind it"
    done
  done <"$E2E_TMP/dump"
done
direct=$(nondirect | wc -l)
echo "chaos: at the end $((${#PAIRS[@]} - direct)) of ${#PAIRS[@]} leaf pairs direct (the rest through hub1)"
# A clean stop, then the logs: no sanitizer report (with ASan, leaks too).
for n in r r2 "${LEAVES[@]}"; do kill -TERM "${wlpid[$n]}" 2>/dev/null; done
for n in r r2 "${LEAVES[@]}"; do
  wait_until 10 eval '! kill -0 "${wlpid[$n]}" 2>/dev/null' || violation "daemon $n did not stop within 10 s of SIGTERM"
  wait "${wlpid[$n]}"; st=$?
  [ "$st" = 0 ] || violation "daemon $n stopped with status $st"
  if grep -qiE 'sanitizer|runtime error' "$E2E_TMP/wl-$n.log"; then
    violation "sanitizer report in $n's log:"
    grep -iE -A12 'sanitizer|runtime error' "$E2E_TMP/wl-$n.log" | head -40 | sed 's/^/    /' | tee -a "$out/violations.txt"
  fi
  cp "$E2E_TMP/wl-$n.log" "$out/wl-$n.log"
done

# Memory: within the budget, no upward trend per daemon.
while read -r n mx first last; do
  [ "$mx" -le "$rss_budget" ] || violation "daemon $n: VmRSS $mx KiB over the budget of $rss_budget KiB"
  [ "$last" = - ] || [ "$last" -le $((first + rss_slack)) ] ||
    violation "daemon $n: VmRSS trends up (the last third never below $last KiB, the first third at most $first KiB)"
done < <(awk -v e="$((end / 1000))" '
  { t = $1; n = $2; r = $4; if (r == "") next; if (r > mx[n]) mx[n] = r
    if (t < e / 3 && r > f[n]) f[n] = r
    if (t >= 2 * e / 3 && t <= e && (!(n in l) || r < l[n])) l[n] = r }
  END { for (n in mx) print n, mx[n], f[n] + 0, (n in l) ? l[n] : "-" }' "$out/rss.txt")
rss_max=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$out/rss.txt")
# Log lines per daemon between one fault's start and the next.
read -r log_max log_at < <(awk 'NR > 1 { for (i = 2; i <= NF; i++) if ($i - p[i] > m) { m = $i - p[i]; at = id } }
  { id = $1; for (i = 2; i <= NF; i++) p[i] = $i } END { print m + 0, at }' "$out/lines.txt")
[ "$log_max" -le "$log_bound" ] ||
  violation "a daemon logged $log_max lines while fault #$log_at lasted (bound $log_bound); see faults.txt"

# --- summary -----------------------------------------------------------
nfaults=$id
kinds_json=$(awk '$2 == "start" { n[$4]++ } END { for (k in n) printf "%s\"%s\": %d", (c++ ? ", " : ""), k, n[k] }' "$out/faults.txt")
sort -g -k3 "$out/recovery.txt" | awk '{ v[NR] = $3 } END {
  if (!NR) { print "0 null null null null"; exit }
  printf "%d %s %s %s %s\n", NR, v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5) < 1 ? 1 : int(NR * 0.9 + 0.5)], v[int(NR * 0.99 + 0.5) < 1 ? 1 : int(NR * 0.99 + 0.5)], v[NR] }' >"$E2E_TMP/dist"
read -r rn rmed rp90 rp99 rmax <"$E2E_TMP/dist"
hist=$(awk '{ b = $3 < 1 ? "0-1" : $3 < 2 ? "1-2" : $3 < 5 ? "2-5" : $3 <= 10 ? "5-10" : "over 10"; h[b]++ }
  END { split("0-1 1-2 2-5 5-10 over 10", o, " "); o[5] = "over 10"
        for (i = 1; i <= 5; i++) printf "%s\"%s\": %d", (i > 1 ? ", " : ""), o[i], h[o[i]] }' "$out/recovery.txt")
worst_json=$(awk '{ if (!($1 in w) || $3 > w[$1]) w[$1] = $3 } END { for (k in w) printf "%s\"%s\": %s", (c++ ? ", " : ""), k, w[k] }' "$out/recovery.txt")
echo "chaos: $nfaults faults ($(tr -d '"' <<<"$kinds_json"))"
echo "chaos: $rn recoveries measured (pair reachable again after the heal): median ${rmed} s, 90% ${rp90} s, 99% ${rp99} s, worst ${rmax} s (bound $((bound / 1000)) s)"
echo "chaos: recovery by time: $(tr -d '"' <<<"$hist")"
echo "chaos: worst recovery by fault kind: $(tr -d '"' <<<"$worst_json")"
echo "chaos: $blips short outages of pairs no fault touched (worst $(secs $blip_worst) s), $interrupted recoveries cut short by a new fault"
echo "chaos: largest VmRSS $rss_max KiB (budget $rss_budget); most log lines by one daemon during one fault: $log_max (bound $log_bound)"
printf '{"seed": %s, "minutes": %s, "leaves": %s, "pairs": %s, "asan": %s, "bound_s": %s, "faults": %s, "faults_by_kind": {%s}, "violations": %s, "recovery_s": {"measured": %s, "median": %s, "p90": %s, "p99": %s, "max": %s, "histogram": {%s}, "worst_by_kind": {%s}}, "untouched_outages": {"count": %s, "worst_s": %s}, "interrupted": %s, "rss_max_kib": %s, "rss_budget_kib": %s, "log_lines_per_fault_max": %s, "direct_pairs_at_end": %s}\n' \
  "$seed" "$minutes" "$nleaves" "${#PAIRS[@]}" "$asan" "$((bound / 1000))" "$nfaults" "$kinds_json" "$nviol" \
  "$rn" "$rmed" "$rp90" "$rp99" "$rmax" "$hist" "$worst_json" "$blips" "$(secs $blip_worst)" "$interrupted" \
  "$rss_max" "$rss_budget" "$log_max" "$((${#PAIRS[@]} - direct))" >"$out/summary.json"

# The timeline: one row per pair (green: answered, red: not; grey: a fault
# touches it), and one row per fault kind below.
for k in "${!PAIRS[@]}"; do echo "$k ${PAIRS[k]}"; done >"$E2E_TMP/pairs"
awk -v kinds="${KINDS[*]}" 'NR == FNR { idx[$2] = $1; next }
  BEGIN { n = split(kinds, K, " "); for (i = 1; i <= n; i++) row[K[i]] = -i }
  $2 == "start" { id = $3; s[id] = $1; k[id] = $4; tp[id] = ""; for (i = 10; i <= NF; i++) tp[id] = tp[id] " " $i }
  $2 == "heal" { id = $3; d = $1 - s[id]; if (d < 0.3) d = 0.3
    print s[id], row[k[id]], d > "/dev/stderr"
    m = split(tp[id], P, " "); for (i = 1; i <= m; i++) print s[id], idx[P[i]], d }' \
  "$E2E_TMP/pairs" "$out/faults.txt" >"$E2E_TMP/spans" 2>"$E2E_TMP/kinds"
if command -v gnuplot >/dev/null && [ -s "$out/pings.txt" ]; then
  ytics=$(for k in "${!PAIRS[@]}"; do printf '"%s" %d, ' "${PAIRS[k]}" "$k"; done
          for k in "${!KINDS[@]}"; do printf '"%s" %d, ' "${KINDS[k]}" $((-k - 1)); done)
  gnuplot <<GP 2>"$E2E_TMP/gnuplot.err" || cat "$E2E_TMP/gnuplot.err"
set terminal pngcairo size 1400,$((300 + 14 * (${#PAIRS[@]} + ${#KINDS[@]})))
set output "$out/timeline.png"
set title "Chaos: ${#PAIRS[@]} leaf pairs over $minutes min (seed $seed): $nfaults faults, $nviol violations"
set xlabel "seconds since the faults started"
set ytics (${ytics%, }) font ",8"
set yrange [-${#KINDS[@]} - 1:${#PAIRS[@]}]
set xrange [0:$(((end + settle) / 1000 + 5))]
set grid xtics
set key outside top center horizontal
plot "$E2E_TMP/spans" using 1:2:3:(0) with vectors nohead lw 6 lc rgb "#cccccc" title "a fault touches the pair", \
     "$E2E_TMP/kinds" using 1:2:3:(0) with vectors nohead lw 6 lc rgb "#6060c0" title "fault", \
     "$out/pings.txt" using 1:(\$3 == 1 ? \$2 : 1/0) with points pt 7 ps 0.35 lc rgb "#10a010" title "ping answered", \
     "$out/pings.txt" using 1:(\$3 == 0 ? \$2 : 1/0) with points pt 7 ps 0.5 lc rgb "#e01010" title "no answer"
GP
  [ -s "$out/timeline.png" ] && echo "chaos: timeline $out/timeline.png"
fi
echo "results: $out"
echo "$nviol violations"
[ "$nviol" = 0 ]
