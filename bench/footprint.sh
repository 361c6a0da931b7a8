#!/usr/bin/env bash
# Footprint in the 4-leaf mesh at steady state: each daemon's RSS (and
# private RssAnon) 60 s after start and at the end, CPU seconds per hour
# between the two, and packets and bytes each daemon sends per peer per
# minute on the fact port (nft counters) over the same span, and where the
# router daemon's resident pages are at the end (per mapped file, KiB:
# what each shared library costs). Prints "result KEY VALUE" lines
# (averages over the 5 daemons; max for RSS).
# usage: footprint.sh WIRELINK [MINUTES]   (as root; MINUTES >= 5, default 10)
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/star.sh"
wl=$1 minutes=${2:-10}
nodes=(r a b c d)
star_setup a b c d || exit 1
star_reach_router || exit 1
for n in "${nodes[@]}"; do
  in_ns "$n" nft -f - <<NFT || exit 1
table inet wlfp {
  chain out {
    type filter hook output priority 0;
    oifname "$(star_iface "$n")" udp dport 51821 counter
  }
}
NFT
done
star_start "$wl"
wait_until 60 star_converged || { echo "did not converge"; exit 1; }
status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/${wlpid[$1]}/status"; }
# CPU time in ns (schedstat: exact; /proc/PID/stat counts 10 ms ticks, too
# coarse for a quiet daemon's few dozen ms in ten minutes).
cpu_ticks() { awk '{ print $1 }' "/proc/${wlpid[$1]}/schedstat"; }
sent() { in_ns "$1" nft list table inet wlfp | grep -oE 'packets [0-9]+ bytes [0-9]+' | awk '{ print $2, $4 }'; }
sleep 60
declare -A cpu0 pk0 by0
rss60=0 anon60=0
for n in "${nodes[@]}"; do
  r=$(status "$n" VmRSS); a=$(status "$n" RssAnon)
  [ "$r" -gt "$rss60" ] && rss60=$r; [ "$a" -gt "$anon60" ] && anon60=$a
  cpu0[$n]=$(cpu_ticks "$n"); read -r pk0[$n] by0[$n] <<<"$(sent "$n")"
done
t0=$(date +%s.%N)
sleep $((minutes * 60 - 60))
secs=$(since "$t0" 3)
hz=1000000000
rss=0 anon=0 cpu=0 pk=0 by=0
for n in "${nodes[@]}"; do
  r=$(status "$n" VmRSS); a=$(status "$n" RssAnon)
  [ "$r" -gt "$rss" ] && rss=$r; [ "$a" -gt "$anon" ] && anon=$a
  cpu=$((cpu + $(cpu_ticks "$n") - cpu0[$n]))
  read -r p b <<<"$(sent "$n")"
  pk=$((pk + p - pk0[$n])); by=$((by + b - by0[$n]))
done
# Resident KiB per mapped file of the router's daemon ([anon] and the like
# grouped under their bracketed names), largest first.
smaps_by_file() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / { f = (NF >= 6 ? $6 : "[anon]"); sub(/.*\//, "", f) }
       /^Rss:/ { kib[f] += $2 }
       END { for (f in kib) if (kib[f]) printf "%s=%d\n", f, kib[f] }' "/proc/$1/smaps" |
    sort -t= -k2 -rn | paste -sd' '
}
echo "result rss_by_file_kib $(smaps_by_file "${wlpid[r]}")"
# Each daemon talks to 4 peers (the router) or 1..4 (leaves): per peer means
# per (daemon, peer it sends to); 4 leaves x 4 peers + router x 4 = 20 pairs.
pairs=20
awk -v rss60="$rss60" -v anon60="$anon60" -v rss="$rss" -v anon="$anon" -v cpu="$cpu" -v hz="$hz" \
    -v secs="$secs" -v pk="$pk" -v by="$by" -v pairs="$pairs" -v nd=${#nodes[@]} -v m="$minutes" 'BEGIN {
  printf "result rss_60s_kib %d\nresult rss_anon_60s_kib %d\n", rss60, anon60
  printf "result rss_end_kib %d\nresult rss_anon_end_kib %d\nresult minutes %d\n", rss, anon, m
  printf "result cpu_s_per_hour %.3f\n", cpu / hz / nd * 3600 / secs
  printf "result packets_per_peer_min %.2f\nresult bytes_per_peer_min %.0f\n", pk / pairs / (secs / 60), by / pairs / (secs / 60)
}'
