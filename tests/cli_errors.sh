#!/usr/bin/env bash
# What an operator sees when something is wrong: the cause named, "error:"
# on fatal errors, exit status 2 for usage and configuration, 1 for run-time
# failures, 0 for help. usage: cli_errors.sh WIRELINK
set -u
wl=$1
dir=$(mktemp -d)
socks=()
cleanup() {
  for p in "${socks[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
failures=0
# expect NAME STATUS WANT-IN-OUTPUT COMMAND...: that exit status, and the
# text in stderr+stdout (WANT may be empty).
expect() {
  local name=$1 want_st=$2 want=$3 out st
  shift 3
  out=$("$@" 2>&1); st=$?
  if [ "$st" = "$want_st" ] && { [ -z "$want" ] || grep -qF -- "$want" <<<"$out"; }; then echo "ok - $name"
  else echo "not ok - $name (exit $st, wanted $want_st: $out)"; failures=$((failures + 1)); fi
}
# reject NAME TEXT COMMAND...: the output must not contain TEXT.
reject() {
  local name=$1 bad=$2 out
  shift 2
  out=$("$@" 2>&1)
  if grep -qF -- "$bad" <<<"$out"; then echo "not ok - $name ($out)"; failures=$((failures + 1))
  else echo "ok - $name"; fi
}
d() { env -u WIRELINK_IFACE "$wl" --config-path "$dir" "$@"; }
nosuch=wlnx$$

expect "missing interface: its cause" 1 "error: $nosuch: no such interface" d -i "$nosuch"
reject "missing interface: no kernel-module guess" "kernel has no WireGuard" d -i "$nosuch"
reject "missing interface: no warning label for a fatal error" "warning:" d -i "$nosuch"
expect "not a WireGuard interface" 1 "error: lo: not a WireGuard interface" d -i lo
expect "--user checked before anything starts" 2 "flag --user: no user 'nosuchuser$$'" d --user "nosuchuser$$" --dump
reject "--user: no start banner" "facts on" d -i lo --user "nosuchuser$$"
expect "--control-group checked early" 2 "flag --control-group: no group 'nogroup$$'" d --control-group "nogroup$$" --dump
expect "WIRELINK_USER named as the source" 2 "WIRELINK_USER: no user" env WIRELINK_USER="nosuchuser$$" "$wl" --config-path "$dir" --dump
printf 'User: nosuchuser%s\n' $$ >"$dir/wirelink.wgx.yaml"
expect "User in the file named as the source" 2 "$dir/wirelink.wgx.yaml:1: User: no user" d -i wgx --dump
rm -f "$dir/wirelink.wgx.yaml"
expect "config errors say error:" 2 "wirelink: error: flag --port" d --port=many --dump

# Journal priorities when stderr is the journal's stream (JOURNAL_STREAM
# names its device and inode), timestamps on a terminal.
: >"$dir/journal"
JOURNAL_STREAM=$(stat -c %d:%i "$dir/journal") env -u WIRELINK_IFACE "$wl" --config-path "$dir" -i "$nosuch" 2>>"$dir/journal"
if [ "$(cat "$dir/journal")" = "<3>error: $nosuch: no such interface" ]; then echo "ok - journal: <3> before an error"
else echo "not ok - journal prefix ($(cat "$dir/journal"))"; failures=$((failures + 1)); fi
if command -v script >/dev/null; then
  out=$(script -qec "env -u WIRELINK_IFACE $wl --config-path $dir -i $nosuch" /dev/null | tr -d '\r')
  if grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} error: $nosuch: no such interface$" <<<"$out"
  then echo "ok - terminal: a timestamp on each line"; else echo "not ok - terminal timestamp ($out)"; failures=$((failures + 1)); fi
else
  echo "ok - terminal timestamps # SKIP needs script(1)"
fi
expect "wirelink help exits 0" 0 "Other commands" "$wl" help
expect "wirelink help status" 0 "usage: wirelink status" "$wl" help status
expect "status --help" 0 "usage: wirelink status" "$wl" status --help
expect "help is listed in the usage" 0 "help [COMMAND]" "$wl" --help
for c in facts log-level metrics decode config-from-wg; do
  expect "wirelink help $c" 0 "usage: wirelink $c" "$wl" help "$c"
done
expect "help of an unknown command" 2 "wirelink: error: help: no command 'bogus'" "$wl" help bogus
expect "--help describes -V" 0 "-V, --version            print the version and exit" "$wl" --help
expect "--help describes -h" 0 "-h, --help               print this help and exit" "$wl" --help
# One error style: "wirelink: error: ..." from every command, getopt's own
# messages included.
expect "status: unknown flag" 2 "wirelink: error: status: unknown flag --bogus" "$wl" status --bogus
expect "facts: a flag without its value" 2 "wirelink: error: facts: missing value for -i" "$wl" facts -i
expect "decode: unknown flag" 2 "wirelink: error: decode: unknown flag --bogus" "$wl" decode --bogus
expect "decode: unreadable input" 2 "wirelink: error: decode: /nonexistent$$: No such file" "$wl" decode /nonexistent$$
expect "decode: two inputs" 2 "wirelink: error: decode: one input file at most" "$wl" decode a b
reject "status: no getopt message" "unrecognized option" "$wl" status --bogus
expect "-i before the subcommand" 1 "no daemon is running for $nosuch" "$wl" -i "$nosuch" status
expect "--iface= before the subcommand" 1 "no daemon is running for $nosuch" "$wl" --iface="$nosuch" facts
expect "-i after the subcommand" 1 "no daemon is running for $nosuch" "$wl" status -i "$nosuch"
expect "status: stray argument" 2 "unexpected argument 'bogus'" "$wl" status -i "$nosuch" bogus
expect "log-level: the level checked first" 2 "debug|info" "$wl" log-level -i "$nosuch" trace
reject "log-level: no daemon contacted for a bad level" "no daemon" "$wl" log-level -i "$nosuch" trace
expect "log-level: a level is required" 2 "debug|info" "$wl" log-level -i "$nosuch"

# config-from-wg names the real cause, and takes -i as well as the positional form.
expect "config-from-wg: a missing interface" 1 "wirelink: error: $nosuch: no such interface" "$wl" config-from-wg "$nosuch"
expect "config-from-wg -i: a missing interface" 1 "wirelink: error: $nosuch: no such interface" "$wl" config-from-wg -i "$nosuch"
expect "config-from-wg: not a WireGuard interface" 1 "wirelink: error: lo: not a WireGuard interface" "$wl" config-from-wg -i lo
reject "config-from-wg: no kernel-module guess" "kernel has no WireGuard" "$wl" config-from-wg "$nosuch"
expect "config-from-wg: no interface is a usage error" 2 "wirelink: error: config-from-wg: which interface?" "$wl" config-from-wg
expect "config-from-wg --help" 0 "usage: wirelink config-from-wg [-i] IFACE" "$wl" help config-from-wg

# Several daemons (sockets that answer) and no -i: facts lists them.
if command -v socat >/dev/null && [ -w /run ] && mkdir -p /run/wirelink; then
  for n in wlca$$ wlcb$$; do
    socat UNIX-LISTEN:/run/wirelink/$n.sock,fork /dev/null & socks+=($!)
  done
  for _ in $(seq 50); do [ -S /run/wirelink/wlcb$$.sock ] && [ -S /run/wirelink/wlca$$.sock ] && break; sleep 0.1; done
  expect "several daemons: listed" 1 "choose one with -i" "$wl" facts
  expect "several daemons: the first named" 1 " wlca$$ " "$wl" facts
  expect "several daemons: the second named" 1 " wlcb$$" "$wl" facts
  # Someone who may not use the sockets is told so, not that none runs.
  if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
    chmod 600 /run/wirelink/wlca$$.sock /run/wirelink/wlcb$$.sock
    asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    expect "status as non-root: permission denied" 1 "Permission denied (run as root, or as a member of the daemon's ControlGroup)" asnobody "$wl" status
    reject "status as non-root: not 'no daemon'" "no daemon is running" asnobody "$wl" status
  else
    echo "ok - status as non-root # SKIP needs setpriv and nobody"
  fi
  for p in "${socks[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
  socks=()
  rm -f /run/wirelink/wlca$$.sock /run/wirelink/wlcb$$.sock
else
  echo "ok - several daemons # SKIP needs socat and /run"
fi
exit $((failures > 0))
