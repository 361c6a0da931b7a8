#!/usr/bin/env bash
# One daemon per interface, and a daemon that stays reachable and keeps its
# configuration: a second `wirelink -i X` says which pid runs on X and
# leaves the first one's control socket alone; a deleted control socket is
# made again on SIGHUP; a configuration that cannot be read on SIGHUP keeps
# the one in use; IPv6 disabled on the interface is named at start-up;
# config-from-wg -i works on a live interface.
# usage: single.sh WIRELINK   (as root)
. "$(dirname "$0")/lib.sh"
wl=$1
IF=wlc$E2E_ID
lone_wg a "$IF" || exit 1
peer=$(wg genkey | wg pubkey)
in_ns a wg set "$IF" peer "$peer" allowed-ips 198.51.100.7/32 endpoint 192.0.2.7:51820
in_ns a ip link set "$IF" up
printf 'Peers:\n  - PublicKey: "%s"\n    Name: office\n' "$peer" >"$E2E_TMP/etc/wirelink.$IF.yaml"
lone_start a "$IF" "$wl"
check "the first daemon starts" test -S "$sock"
check "  ... its start line names the log level" grep -qE "facts on .*, log level info$" "$E2E_TMP/log"
status_names() { in_ns a "$wl" status -i "$IF" 2>&1 | awk '/^NAME/ { on = 1; next } on && /^[^ ]/ { print $1 }'; }
check "  ... status answers, with the configured name" test "$(status_names)" = office

# A second daemon on the same interface (another fact port, so that only
# the lock can stop it).
ino=$(stat -c %i "$sock")
out=$(timeout 5 ip netns exec "$(ns a)" "$wl" -i "$IF" --port 51999 --config-path "$E2E_TMP/etc" 2>&1); st=$?
check "a second daemon exits non-zero (exit $st)" test "$st" = 1
check "  ... saying wirelink already runs on $IF, with the pid" grep -qF "error: wirelink already runs on $IF (pid $DPID)" <<<"$out"
check "  ... before starting anything" eval '! grep -q "facts on" <<<"$out"'
check "  ... the first daemon's socket is the same one" test "$(stat -c %i "$sock" 2>/dev/null)" = "$ino"
check "  ... and the first daemon still answers" test "$(status_names)" = office
check "  ... and still runs" kill -0 "$DPID"

# config-from-wg on the live interface, -i and the positional form alike.
out=$(in_ns a "$wl" config-from-wg -i "$IF"); st=$?
check "config-from-wg -i IFACE (exit $st)" eval 'test $st = 0 && grep -qF "PublicKey: \"$peer\"" <<<"$out" && grep -qF "Name: \"office\"" <<<"$out"'
check "config-from-wg IFACE: the same" test "$(in_ns a "$wl" config-from-wg "$IF")" = "$out"
# Membership only for a peer the daemon takes for a router: one whose routed
# network holds this interface's own address, not a leaf that routes a LAN.
in_ns a ip addr add 198.51.100.1/24 dev "$IF"
hub=$(wg genkey | wg pubkey) lanleaf=$(wg genkey | wg pubkey)
in_ns a wg set "$IF" peer "$hub" allowed-ips 198.51.100.128/25 peer "$lanleaf" allowed-ips 198.51.100.9/32,10.99.0.0/24
out=$(in_ns a "$wl" config-from-wg -i "$IF")
trust_of() { awk -v k="$1" '/PublicKey/ { on = index($0, k) > 0 } on && /Trust:/ { print $2 }' <<<"$out"; }
check "config-from-wg: no Membership for a leaf that routes a LAN" test -z "$(trust_of "$lanleaf")"
in_ns a wg set "$IF" peer "$hub" allowed-ips 198.51.100.0/25
out=$(in_ns a "$wl" config-from-wg -i "$IF")
check "config-from-wg: Membership for a peer routing our own address" test "$(trust_of "$hub")" = Membership
in_ns a wg set "$IF" peer "$hub" remove peer "$lanleaf" remove
in_ns a ip addr del 198.51.100.1/24 dev "$IF"

# The control socket removed: SIGHUP makes it again.
rm -f "$sock"
kill -HUP "$DPID"
check "SIGHUP makes a removed control socket again" wait_until 5 test -S "$sock"
check "  ... and it answers" wait_until 5 eval 'test "$(status_names)" = office'
check "  ... the log says so" grep -q "made the control socket $sock again" "$E2E_TMP/log"

# A configuration that cannot be read (its directory replaced by a file:
# ENOTDIR) is an error that keeps the configuration in use, not "no file".
mv "$E2E_TMP/etc" "$E2E_TMP/etc.away"
: >"$E2E_TMP/etc"
kill -HUP "$DPID"
check "SIGHUP with an unreadable configuration: the reload fails" \
  wait_until 5 grep -qF "reload failed, keeping the configuration in use: $E2E_TMP/etc: Not a directory (cannot look for wirelink.$IF.json, .yaml or .yml there)" "$E2E_TMP/log"
check "  ... not read as no file" eval '! grep -q "reloaded the configuration (no file)" "$E2E_TMP/log"'
check "  ... the configured name stays" test "$(status_names)" = office
rm -f "$E2E_TMP/etc"
mv "$E2E_TMP/etc.away" "$E2E_TMP/etc"

# IPv6 disabled on the interface: said at start-up, not as a raw errno.
IF6=wlc6$E2E_ID
wg_up a "$IF6" || exit 1
in_ns a wg set "$IF6" private-key "$E2E_TMP/k" listen-port 51830
in_ns a sysctl -qw "net.ipv6.conf.$IF6.disable_ipv6=1"
in_ns a ip link set "$IF6" up
out=$(timeout 10 ip netns exec "$(ns a)" "$wl" -i "$IF6" --config-path "$E2E_TMP/etc" 2>&1); st=$?
check "IPv6 disabled on the interface: start-up fails (exit $st)" test "$st" = 1
check "  ... and says so" grep -qF "error: $IF6: IPv6 is disabled on the interface (sysctl net.ipv6.conf.$IF6.disable_ipv6=1)" <<<"$out"
check "  ... its lock is released on the way out" test ! -e "/run/wirelink/$(run_name a "$IF6").lock"

# A listen port of 65535 leaves no default fact port: a clear error, not
# a wrap to port 0 (a random port); --port then works.
in_ns a sysctl -qw "net.ipv6.conf.$IF6.disable_ipv6=0"
in_ns a wg set "$IF6" listen-port 65535
out=$(timeout 10 ip netns exec "$(ns a)" "$wl" -i "$IF6" --config-path "$E2E_TMP/etc" 2>&1); st=$?
check "WireGuard on port 65535: start-up fails (exit $st)" test "$st" = 1
check "  ... saying the default fact port does not exist" grep -qF "WireGuard listens on port 65535, so the default fact port (listen port + 1) does not exist" <<<"$out"
ip netns exec "$(ns a)" "$wl" -i "$IF6" --port 40000 --config-path "$E2E_TMP/etc" >"$E2E_TMP/log6" 2>&1 &
P6=$!
E2E_PIDS+=($P6)
check "  ... with --port 40000 it starts, on port 40000" wait_until 10 grep -qE "facts on \[[^]]+\]:40000," "$E2E_TMP/log6"
kill "$P6"; wait "$P6" 2>/dev/null

kill "$DPID"
wait "$DPID" 2>/dev/null
check "the first daemon's socket and lock are gone when it stops" eval 'test ! -e "$sock" && test ! -e "/run/wirelink/$(run_name a "$IF").lock"'
e2e_finish
