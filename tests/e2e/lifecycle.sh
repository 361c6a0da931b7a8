#!/usr/bin/env bash
# The daemon's life: it starts and says what it does, SIGUSR1 logs peer
# state, SIGTERM stops it with status 0 within a second, and when the
# WireGuard interface vanishes it exits non-zero with a clear message within
# 5 s. usage: lifecycle.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$1
IF=wlc$E2E_ID
lone_wg a "$IF" || exit 1
in_ns a wg set "$IF" peer "$(wg genkey | wg pubkey)" allowed-ips 198.51.100.2/32 endpoint 192.0.2.2:51820
in_ns a ip link set "$IF" up

starts=0
start_daemon() {
  starts=$((starts + 1))
  ip netns exec "$(ns a)" "$wl" -i "$IF" --config-path "$E2E_TMP/etc" >>"$E2E_TMP/log" 2>&1 &
  DPID=$!
  E2E_PIDS+=($DPID)
  for _ in $(seq 50); do [ "$(grep -c 'facts on' "$E2E_TMP/log")" -ge $starts ] && return 0; sleep 0.1; done
  cat "$E2E_TMP/log"
  return 1
}
wait_exit() { # PID SECONDS: sets st to the exit status, or "running"
  st=running
  for _ in $(seq $(($2 * 20))); do
    kill -0 "$1" 2>/dev/null || { wait "$1"; st=$?; return; }
    sleep 0.05
  done
}

check "starts and says what it is doing" start_daemon
check "  ... with its address and port" grep -qE "on $IF \(userspace WireGuard\): facts on \[fe80::[0-9a-f:]+%$IF\]:51821, router \(detected\), log level info" "$E2E_TMP/log"
check "its auto-address is on the interface, not tentative" \
  sh -c "ip -n $(ns a) -6 addr show dev $IF | grep -q 'fe80.*/64' && ! ip -n $(ns a) -6 addr show dev $IF | grep -q tentative"
kill -USR1 "$DPID"; sleep 0.3
check "SIGUSR1 logs each peer's state" grep -qE 'peer .*: (un)?healthy, (not )?alive' "$E2E_TMP/log"
check "  ... and the facts known" grep -qE '[0-9]+ facts known' "$E2E_TMP/log"
kill -TERM "$DPID"
wait_exit "$DPID" 1
check "SIGTERM: exit status 0 within a second (got $st)" test "$st" = 0

check "starts again on the same interface" start_daemon
wgpid=${E2E_PIDS[0]}
kill "$wgpid"; wait "$wgpid" 2>/dev/null
wait_exit "$DPID" 5
check "interface gone: exits non-zero within 5 s (got $st)" test "$st" != running -a "$st" != 0
check "  ... saying why, as an error" grep -q "^error: $IF: the interface is gone; exiting" "$E2E_TMP/log"
check "  ... without a wrong cause before it" eval '! grep -q "WireGuard support" "$E2E_TMP/log"'
e2e_finish
