#!/usr/bin/env bash
# Operating wirelink: the service manager's notifications (a datagram socket
# plays systemd), the control socket and its client commands, running
# as an unprivileged user with only the capabilities it needs, and
# config-from-wg. usage: operate.sh WIRELINK NOTIFYSINK   (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
. "$(dirname "$0")/checks.sh"
wl=$1 sink=$2
command -v socat >/dev/null || { echo "skipped: needs socat"; exit 77; }
star_setup a b || exit 1
star_reach_router || exit 1

# The router's daemon under a fake service manager (notifysink), with a watchdog.
sock=$E2E_TMP/notify.sock
"$sink" "$sock" >"$E2E_TMP/notify.log" 2>&1 &
E2E_PIDS+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$sock WATCHDOG_USEC=2000000 star_start_one r "$wl"
# Leaves as the unprivileged user nobody.
star_start_one a "$wl" --user nobody
star_start_one b "$wl" --user nobody
for _ in $(seq 300); do star_converged && break; sleep 0.1; done
check "the mesh converges with leaves running as nobody" star_converged

# sd_notify: READY first, then STATUS, WATCHDOG; STOPPING at the end.
sleep 2.5
check "READY=1 was sent" grep -q '^READY=1' "$E2E_TMP/notify.log"
check "a STATUS= summary of peers" grep -qE '^STATUS=router on .*: 2 peers, [0-9]+ healthy, [0-9]+ direct, [0-9]+ facts' "$E2E_TMP/notify.log"
check "WATCHDOG=1 within the watchdog period" grep -q '^WATCHDOG=1' "$E2E_TMP/notify.log"
first=$(grep -nE '^(READY|STATUS|WATCHDOG)' "$E2E_TMP/notify.log" | head -n 1)
check "READY=1 came first ($first)" test "${first#*:}" = "READY=1"

# Least privilege: the leaves' daemons as nobody, CAP_NET_ADMIN and nothing
# else (wireguard-go's socket: the connection made as root is kept),
# no-new-privileges.
st=/proc/${wlpid[a]}/status
nobody=$(id -u nobody)
check "a's daemon runs as nobody" awk -v u="$nobody" '/^Uid:/ { exit !($2 == u && $3 == u && $4 == u) }' "$st"
capeff=$(awk '/^CapEff:/ { print $2 }' "$st")
check "its effective capability is NET_ADMIN only ($capeff)" test "$capeff" = 0000000000001000
check "its bounding set is empty" awk '/^CapBnd:/ { exit !($2 == "0000000000000000") }' "$st"
check "no new privileges" awk '/^NoNewPrivs:/ { exit !($2 == 1) }' "$st"
# As nobody it still keeps the state file of what it added (b, learned from
# r), in its own directory made for it before the drop.
state=/run/wirelink/$(run_name a "$(star_iface a)")
check "a (as nobody) keeps what it added in $state/owned" \
  wait_until 10 grep -q "^${pub[b]} 1" "$state/owned"
check "  ... a directory of nobody's, 0700, the file 0600" \
  test "$(stat -c '%U %a' "$state") $(stat -c '%U %a' "$state/owned")" = "nobody 700 nobody 600"
# ...and it still reconfigures peers: b's reset is repaired by b, a re-adds b.
in_ns a wg set "$(star_iface a)" peer "${pub[b]}" remove
for _ in $(seq 150); do star_direct a b && break; sleep 0.1; done
check "a (as nobody) re-adds b and links up directly" star_direct a b

# The control socket.
ctl=/run/wirelink/$(run_name r "$(star_iface r)").sock
check "the control socket is root's, mode 0600" test "$(stat -c '%U %a' "$ctl")" = "root 600"
status=$(in_ns r "$wl" status -i "$(star_iface r)")
echo "$status" | sed 's/^/#   /'
check "status: a summary of this peer" eval 'grep -qE "^$(star_iface r): router, up [0-9]+s, boot [0-9a-f]{8}, log level info" <<<"$status" && grep -qE "^facts on \[fe80:[0-9a-f:]+\]:51821" <<<"$status" && grep -q "^key ${pub[r]}" <<<"$status"'
check "status: a row per peer, direct, with a handshake age" test "$(grep -cE '^[^ ]+ +direct +[0-9]+s ago  192\.0\.2\.[0-9]+:51820$' <<<"$status")" = 2
check "status: each peer's daemon alive, transfer counted" test "$(grep -cE '^  transfer: [0-9.]+ [KMG]?i?B received, [0-9.]+ [KMG]?i?B sent; its daemon is alive' <<<"$status")" = 2
facts_n=$(in_ns r "$wl" facts -i "$(star_iface r)" | tail -n 1)
check "status: the fact count agrees with facts ($facts_n)" grep -q "^${facts_n%% *} facts: " <<<"$status"
check "status: fits in 80 columns" test "$(awk '{ if (length > m) m = length } END { print m + 0 }' <<<"$status")" -le 80
check "status: allowed IPs listed" grep -q "allowed IPs: 198.51.100.11/32" <<<"$status"
json=$(in_ns r "$wl" status -i "$(star_iface r)" --json)
check "status --json: the documented keys" eval 'grep -q "\"peers_total\": 2" <<<"$json" && grep -q "\"link\": \"direct\"" <<<"$json" && grep -q "\"boot_id\"" <<<"$json"'
metrics=$(in_ns r "$wl" metrics -i "$(star_iface r)")
check "metrics: two peers direct" grep -qx "wirelink_peers{interface=\"$(star_iface r)\",state=\"direct\"} 2" <<<"$metrics"
check "metrics: fact packets counted both ways" eval 'grep -qE "^wirelink_fact_packets_total\{interface=\"$(star_iface r)\",direction=\"in\"\} [1-9]" <<<"$metrics" && grep -qE "^wirelink_fact_packets_total\{.*direction=\"out\"\} [1-9]" <<<"$metrics"'
facts=$(in_ns a "$wl" facts -i "$(star_iface a)")
check "facts: facts with their source and TTL" grep -qE '^endpoint +[^ ]+ +[0-9]+ +[^ ]+ +192\.0\.2\.12:51820$' <<<"$facts"
check "facts --json has sources" eval 'in_ns a "$wl" facts -i "$(star_iface a)" --json | grep -q "\"source\""'
said=$(in_ns r "$wl" -i "$(star_iface r)" log-level debug)
check "log-level says what it did, in words ($said)" test "$said" = "$(star_iface r): log level is now debug"
sleep 0.5
check "log-level debug takes effect at once" grep -q "log level is now debug" "$E2E_TMP/wl-r.log"
in_ns r "$wl" log-level -i "$(star_iface r)" info >/dev/null
check "log-level rejects other levels" eval '! in_ns r "$wl" log-level -i "$(star_iface r)" loud 2>/dev/null'
reply=$(printf 'bogus\n' | socat - "UNIX-CONNECT:$ctl")
check "a bad request gets an error reply ($reply)" grep -q '"error"' <<<"$reply"
head -c 5000 /dev/urandom | socat -u - "UNIX-CONNECT:$ctl" 2>/dev/null
check "  ... and garbage does not hurt the daemon" kill -0 "${wlpid[r]}"
check "status without -i finds the namespace's daemon" eval 'in_ns r "$wl" status | grep -q "^$(star_iface r): router"'
check "  ... and not those of other namespaces" eval '! in_ns r "$wl" status | grep -q "^$(star_iface a):"'
check "facts without -i finds the namespace's only daemon" eval 'in_ns a "$wl" facts >/dev/null'

# config-from-wg: every peer, routers with Membership; the result loads.
mkdir -p "$E2E_TMP/gen"
in_ns a "$wl" config-from-wg "$(star_iface a)" >"$E2E_TMP/gen/wirelink.$(star_iface a).yaml"
sed 's/^/#   /' "$E2E_TMP/gen/wirelink.$(star_iface a).yaml" | head -12
check "config-from-wg lists the router with Membership" \
  eval 'grep -A2 "${pub[r]}" "$E2E_TMP/gen/wirelink.$(star_iface a).yaml" | grep -q "Trust: Membership"'
gen=$E2E_TMP/gen/wirelink.$(star_iface a).yaml
check "config-from-wg on a running node lists only the router" test "$(grep -c PublicKey "$gen")" = 1
check "  ... and says the peer wirelink learned is left out" eval '! grep -q "${pub[b]}" "$gen" && grep -q "^# 1 peer that wirelink learned from others is left out" "$gen"'
check "  ... no auto-addresses in its comments" eval '! grep -q "fe80::" "$gen"'
check "  ... the router's tunnel route in a comment" grep -q "# AllowedIPs now: 198.51.100.0/24" "$gen"
check "its output is a valid configuration" \
  eval '"$wl" -i "$(star_iface a)" --config-path "$E2E_TMP/gen" --dump | grep -q "\"Trust\": \"Membership\""'

# STOPPING=1 when the router's daemon stops.
stop_daemon r "the router's daemon stopped on SIGTERM"
check "STOPPING=1 at the end" wait_until 3 grep -q '^STOPPING=1' "$E2E_TMP/notify.log"
check "the control socket is gone" test ! -e "$ctl"
e2e_finish
