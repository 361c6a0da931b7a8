#!/usr/bin/env bash
# The control socket never waits on one client: while one dribbles a byte a
# second and others connect and say nothing, `status` from another client
# answers at once; silent clients are dropped at their deadline; a large
# answer to a client that does not read does not stall the daemon. A
# member of the control group (not root) may read status but not change
# the log level.
# usage: control.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$1
command -v socat >/dev/null || { echo "skipped: needs socat"; exit 77; }
IF=wlk$E2E_ID
E2E_IFACES+=("$IF")
lone_wg a "$IF" || exit 1
for i in $(seq 40); do # peers, so that facts make a long answer
  in_ns a wg set "$IF" peer "$(wg genkey | wg pubkey)" allowed-ips "198.51.100.$i/32" endpoint "192.0.2.$i:51820"
done
in_ns a ip link set "$IF" up
lone_start a "$IF" "$wl" --control-group nogroup
check "the daemon starts" test -S "$sock"
check "its socket is the control group's, mode 0660" test "$(stat -c '%U %G %a' "$sock")" = "root nogroup 660"
# as_member CMD...: CMD in a's namespace as nobody, in the group nogroup only.
as_member() { ip netns exec "$(ns a)" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "a control-group member reads status" eval 'as_member "$wl" status -i "$IF" | grep -q "^NAME "'
out=$(as_member "$wl" log-level -i "$IF" debug 2>&1); st=$?
check "  ... but may not change the log level (exit $st)" test "$st" = 1
check "  ... and is told why" grep -qF "only root may change the daemon" <<<"$out"
check "  ... the daemon kept its level" eval '! grep -q "log level is now debug" "$E2E_TMP/log"'
check "root may change it" eval 'ip netns exec "$(ns a)" "$wl" log-level -i "$IF" info | grep -q "log level is now info"'


# silent N: N clients that connect and never send (one socat each, which
# reads the socket until the daemon closes it).
silent() {
  local i
  for i in $(seq "$1"); do
    socat -u -t 30 "UNIX-CONNECT:$sock" OPEN:/dev/null,wronly 2>/dev/null &
    E2E_PIDS+=($!)
    SILENT=$!
  done
}
# One client dribbles "status\n" a byte a second; 10 more say nothing.
(for c in s t a t u s; do printf %s "$c"; sleep 1; done; printf '\n'; sleep 1) |
  socat -t 12 - "UNIX-CONNECT:$sock" >"$E2E_TMP/dribble.out" 2>/dev/null &
E2E_PIDS+=($!)
dribbler=$!
silent 10
sleep 1.5
t0=$(date +%s.%N)
out=$(timeout 5 ip netns exec "$(ns a)" "$wl" status -i "$IF")
took=$(since "$t0" 3)
check "status answers while others hang (in ${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 0.5) }'
check "  ... with the table" grep -q "^NAME " <<<"$out"
wait "$dribbler"
check "the dribbling client is answered too (within its deadline)" grep -q '"interface"' "$E2E_TMP/dribble.out"

# More hanging clients than slots: a new one still gets in.
silent 20
sleep 0.5
t0=$(date +%s.%N)
check "with 20 more silent clients, facts still answers" eval 'timeout 5 ip netns exec "$(ns a)" "$wl" facts -i "$IF" >/dev/null'
took=$(since "$t0" 3)
check "  ... at once (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 0.5) }'

# A client that never sends a newline is cut off at the deadline (10 s).
t0=$(date +%s.%N)
silent 1
wait_until 15 eval '! kill -0 $SILENT 2>/dev/null'
took=$(since "$t0" 1)
check "a silent client is dropped at its deadline (after ${took}s)" awk -v t="$took" 'BEGIN { exit !(t >= 9 && t < 12) }'

# A facts request whose reader never reads the answer: the daemon goes on.
printf 'facts\n' >"$E2E_TMP/req"
socat -u -t 8 "OPEN:$E2E_TMP/req" "UNIX-CONNECT:$sock" 2>/dev/null &
E2E_PIDS+=($!)
sleep 0.5
t0=$(date +%s.%N)
check "status while a facts answer waits on a reader" eval 'timeout 5 ip netns exec "$(ns a)" "$wl" status -i "$IF" >/dev/null'
took=$(since "$t0" 3)
check "  ... at once (${took}s)" awk -v t="$took" 'BEGIN { exit !(t < 0.5) }'
check "the daemon is still running" kill -0 "$DPID"
e2e_finish
