# Shared helpers for end-to-end tests in network namespaces. Source it; it
# sets a trap that removes every namespace and process the test created,
# whether the test passes or fails. Processes are ended by PID only.
set -u

# Skip (exit 77, as meson counts it) where namespaces cannot be made.
if [ "$(id -u)" != 0 ] || ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null; then
  echo "skipped: needs root, wireguard-go and wg"
  exit 77
fi

E2E_ID=${E2E_ID:-$$}
E2E_NS=()
E2E_PIDS=()
E2E_IFACES=()
E2E_FAILS=0
E2E_START=$(date +%s.%N)

e2e_cleanup() {
  local pid ns ifc
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${E2E_PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  for ns in "${E2E_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  # Control sockets and locks a killed (or unprivileged) daemon could not remove.
  # Outside the host's namespace their names carry the namespace (run_name).
  for ifc in "${E2E_IFACES[@]}"; do
    rm -rf "/run/wirelink/$ifc".{sock,lock,owned,hosts} "/run/wirelink/$ifc" "/run/wirelink/$ifc"@ns*
  done
  # E2E_KEEP_LOGS=DIR keeps the daemons' logs (debugging a run).
  [ -n "${E2E_KEEP_LOGS:-}" ] && [ -n "${E2E_TMP:-}" ] && cp "$E2E_TMP"/*.log "$E2E_KEEP_LOGS"/ 2>/dev/null
  [ -n "${E2E_TMP:-}" ] && rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
E2E_TMP=$(mktemp -d)

# ns_add NAME: creates namespace wl<id>-NAME with loopback up; prints its name.
ns_add() {
  local ns="wl$E2E_ID-$1"
  ip netns add "$ns" || return 1
  E2E_NS+=("$ns")
  ip -n "$ns" link set lo up
}
ns() { echo "wl$E2E_ID-$1"; }
# Run in the foreground only: a backgrounded shell function's $! is a
# subshell, not the process. Start background processes with
# `ip netns exec "$(ns X)" CMD &` so that $! is the process itself.
in_ns() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }

# veth_pair A B ADDR_A ADDR_B: links namespaces A and B with a veth pair.
veth_pair() {
  local a=$1 b=$2
  ip link add "v$E2E_ID$a" netns "$(ns "$a")" type veth peer name "v$E2E_ID$b" netns "$(ns "$b")"
  in_ns "$a" ip addr add "$3" dev "v$E2E_ID$a"
  in_ns "$b" ip addr add "$4" dev "v$E2E_ID$b"
  in_ns "$a" ip link set "v$E2E_ID$a" up
  in_ns "$b" ip link set "v$E2E_ID$b" up
}

# wg_up NS IFACE: starts wireguard-go for IFACE inside NS (tracked by PID)
# and waits for its control socket. E2E_WG_LOG=verbose logs its handshakes
# (with E2E_KEEP_LOGS, to see what a slow start waited for).
wg_up() {
  local n; n=$(ns "$1")
  LOG_LEVEL=${E2E_WG_LOG:-error} ip netns exec "$n" wireguard-go -f "$2" >"$E2E_TMP/wg-$2.log" 2>&1 &
  E2E_PIDS+=($!)
  E2E_IFACES+=("$2")
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$2.sock" ] && return 0; sleep 0.1; done
  echo "wireguard-go for $2 did not start"; cat "$E2E_TMP/wg-$2.log"; return 1
}

# since T0 [DECIMALS]: seconds since a `date +%s.%N` stamp (default 1 decimal).
since() { awk -v s="$1" -v n="$(date +%s.%N)" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, n - s }'; }
step_time() { echo "$(since "$E2E_START" 2)s"; }

# wait_until SECONDS CMD...: polls CMD every 0.2 s; true once it holds.
wait_until() {
  local limit=$1 t0; t0=$(date +%s)
  shift
  while ! "$@"; do
    [ $(($(date +%s) - t0)) -ge "$limit" ] && return 1
    sleep 0.2
  done
}
ok() { echo "ok - $* [$(step_time)]"; }
not_ok() { echo "not ok - $* [$(step_time)]"; E2E_FAILS=$((E2E_FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
e2e_finish() { [ "$E2E_FAILS" = 0 ]; }

# run_name NS IFACE: the name of IFACE's files in /run/wirelink for a daemon
# in NS: namespaces share /run, so it carries the namespace's inode.
run_name() { echo "$2@ns$(in_ns "$1" stat -L -c %i /proc/self/ns/net)"; }

# lone_wg NS IFACE: namespace NS with one WireGuard interface IFACE (key in
# $E2E_TMP/k, listen port 51820), not yet up: the tests of one daemon.
lone_wg() {
  ns_add "$1" || return 1
  wg_up "$1" "$2" || return 1
  wg genkey >"$E2E_TMP/k"
  in_ns "$1" wg set "$2" private-key "$E2E_TMP/k" listen-port 51820
  mkdir -p "$E2E_TMP/etc"
}

# lone_start NS IFACE WIRELINK [ARGS...]: starts its daemon (PID in DPID,
# log in $E2E_TMP/log) and waits for its start line and control socket ($sock).
lone_start() {
  ip netns exec "$(ns "$1")" "$3" -i "$2" --config-path "$E2E_TMP/etc" "${@:4}" >"$E2E_TMP/log" 2>&1 &
  DPID=$!
  E2E_PIDS+=($DPID)
  sock=/run/wirelink/$(run_name "$1" "$2").sock
  wait_until 10 grep -q "facts on" "$E2E_TMP/log" && wait_until 5 test -S "$sock"
}
