#!/usr/bin/env bash
# /run/wirelink, shared by every network namespace: one interface name in
# two namespaces runs two daemons, each CLI talking to its own; a live
# daemon's socket is never taken over. What is planted in the runtime
# directory is not followed: a symlink in place of the interface's state
# directory or socket is refused, and a runtime directory others may write
# to stops the daemon.
# usage: rundir.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$(realpath "$1") # nsenter starts commands in the holder's working directory
command -v nsenter >/dev/null && command -v unshare >/dev/null || { echo "skipped: needs nsenter and unshare"; exit 77; }
IF=wlr$E2E_ID
E2E_IFACES+=("$IF")
mkdir -p "$E2E_TMP/etc"

# holder NS: a process in NS with a mount namespace of its own (PID in
# HOLDER); in_holder PID CMD... runs CMD there.
holder() {
  ip netns exec "$(ns "$1")" unshare -m --propagation private sleep 600 &
  HOLDER=$!
  E2E_PIDS+=($HOLDER)
  wait_until 5 eval '[ "$(readlink /proc/$HOLDER/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]'
}
in_holder() { local h=$1; shift; nsenter -t "$h" -m -n "$@"; }
# (Backgrounded, nsenter itself: it execs CMD, so $! is CMD's PID and the
# clean-up ends it; a backgrounded function would leave it running.)

# The same interface name in a and b. wireguard-go's sockets are shared by
# all namespaces too: b's gets a /run/wireguard of its own.
ns_add a || exit 1
ns_add b || exit 1
wg_up a "$IF" || exit 1
holder b || exit 1
HB=$HOLDER
in_holder "$HB" mount -t tmpfs wlwg /run/wireguard
nsenter -t "$HB" -m -n wireguard-go -f "$IF" >"$E2E_TMP/wg-b.log" 2>&1 &
E2E_PIDS+=($!)
wait_until 5 in_holder "$HB" test -S "/run/wireguard/$IF.sock" || { echo "b's wireguard-go did not start"; exit 1; }
(umask 077; wg genkey >"$E2E_TMP/ka"; wg genkey >"$E2E_TMP/kb")
in_ns a wg set "$IF" private-key "$E2E_TMP/ka" listen-port 51820
in_holder "$HB" wg set "$IF" private-key "$E2E_TMP/kb" listen-port 51820
in_ns a ip link set "$IF" up
in_holder "$HB" ip link set "$IF" up

ip netns exec "$(ns a)" "$wl" -i "$IF" --config-path "$E2E_TMP/etc" >"$E2E_TMP/log-a" 2>&1 &
PA=$!
E2E_PIDS+=($PA)
nsenter -t "$HB" -m -n "$wl" -i "$IF" --config-path "$E2E_TMP/etc" >"$E2E_TMP/log-b" 2>&1 &
PB=$!
E2E_PIDS+=($PB)
sa=/run/wirelink/$(run_name a "$IF").sock
sb=/run/wirelink/$(run_name b "$IF").sock
check "two daemons for $IF, one per namespace, start" \
  eval 'wait_until 10 grep -q "facts on" "$E2E_TMP/log-a" && wait_until 10 grep -q "facts on" "$E2E_TMP/log-b"'
check "  ... with a socket each ($(basename "$sa"), $(basename "$sb"))" eval 'test -S "$sa" && test -S "$sb" && test "$sa" != "$sb"'
check "  ... both still running" eval 'kill -0 $PA && kill -0 $PB'
puba=$(wg pubkey <"$E2E_TMP/ka")
pubb=$(wg pubkey <"$E2E_TMP/kb")
check "a's CLI talks to a's daemon" eval 'in_ns a "$wl" status -i "$IF" | grep -qx "key $puba"'
check "b's CLI talks to b's daemon" eval 'in_holder "$HB" "$wl" status -i "$IF" | grep -qx "key $pubb"'
check "  ... and without -i, each finds its own" \
  eval 'in_ns a "$wl" status | grep -qx "key $puba" && in_holder "$HB" "$wl" status | grep -qx "key $pubb"'
check "the host's CLI lists neither" eval '! "$wl" status 2>/dev/null | grep -q "^$IF:"'

# A live daemon's socket is not taken over, even when its lock is gone.
rm -f "/run/wirelink/$(run_name a "$IF").lock"
out=$(timeout 10 ip netns exec "$(ns a)" "$wl" -i "$IF" --port 41000 --config-path "$E2E_TMP/etc" 2>&1); st=$?
check "a second daemon for $IF in a stops (exit $st)" test "$st" = 1
check "  ... saying another runs" grep -qF "another wirelink already runs for $IF" <<<"$out"
check "  ... and a's socket still answers" eval 'in_ns a "$wl" status -i "$IF" | grep -qx "key $puba"'

# Planted links, in a runtime directory of its own (a tmpfs in a mount
# namespace of a's), for a second interface in a.
IF2=wls$E2E_ID
E2E_IFACES+=("$IF2")
wg_up a "$IF2" || exit 1
in_ns a wg set "$IF2" private-key "$E2E_TMP/ka" listen-port 51830
in_ns a ip link set "$IF2" up
holder a || exit 1
HA=$HOLDER
in_holder "$HA" mount -t tmpfs -o mode=0755 wlrun /run/wirelink
name2=$(run_name a "$IF2")
mkdir -m 0700 "$E2E_TMP/victim"
in_holder "$HA" ln -s "$E2E_TMP/victim" "/run/wirelink/$name2"
in_holder "$HA" ln -s "$E2E_TMP/victim/sock" "/run/wirelink/$name2.sock"
nsenter -t "$HA" -m -n "$wl" -i "$IF2" --config-path "$E2E_TMP/etc" >"$E2E_TMP/log-2" 2>&1 &
P2=$!
E2E_PIDS+=($P2)
check "with links planted in its runtime directory, the daemon starts" wait_until 10 grep -q "facts on" "$E2E_TMP/log-2"
check "  ... refusing the link in place of its state directory" \
  grep -qF "/run/wirelink/$name2 is a symlink or not a directory" "$E2E_TMP/log-2"
check "  ... and the one in place of its socket" grep -qF "no control socket /run/wirelink/$name2.sock: File exists" "$E2E_TMP/log-2"
check "  ... nothing was made through them" eval 'test -z "$(ls -A "$E2E_TMP/victim")" && in_holder "$HA" test -L "/run/wirelink/$name2.sock"'
kill "$P2"
wait "$P2" 2>/dev/null
in_holder "$HA" rm -f "/run/wirelink/$name2" "/run/wirelink/$name2.sock"
in_holder "$HA" chmod 0777 /run/wirelink
out=$(timeout 10 nsenter -t "$HA" -m -n "$wl" -i "$IF2" --config-path "$E2E_TMP/etc" 2>&1); st=$?
check "a runtime directory anyone may write to: the daemon stops (exit $st)" test "$st" = 1
check "  ... saying why" grep -qF "refusing the runtime directory: /run/wirelink is writable by anyone (mode 0777)" <<<"$out"
e2e_finish
