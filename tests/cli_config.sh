#!/usr/bin/env bash
# The binary with each kind of bad configuration: a clear message naming the
# source, key and value, and exit status 2. usage: cli_config.sh WIRELINK
set -u
wl=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
key=wFMQhZK5wQM3v/mMThQfB64UgsUpOTobQBJQYkAby1c=
# expect NAME WANT-IN-STDERR COMMAND...: exit 2 and the message.
expect() {
  local name=$1 want=$2 out st
  shift 2
  out=$("$@" 2>&1 >/dev/null); st=$?
  if [ $st = 2 ] && grep -qF -- "$want" <<<"$out"; then echo "ok - $name"
  else echo "not ok - $name (exit $st: $out)"; failures=$((failures + 1)); fi
}
file() { printf '%s' "$2" >"$dir/wirelink.wgx.$1"; }
run() { env -u WIRELINK_IFACE "$@" "$wl" -i wgx --config-path "$dir" --dump; }

file json "{\"Peers\": [{\"PublicKey\": \"not-base64\"}]}"
expect "bad base64 key" "Peers[0].PublicKey: 'not-base64' is not a base64 WireGuard key" run
file json "{\"Peers\": [{\"PublicKey\": \"$key\", \"Trust\": \"Everything\"}]}"
expect "unknown trust level" "unknown trust level 'Everything'" run
file json "{\"Peers\": [{\"PublicKey\": \"$key\", \"AllowedIPs\": [\"10.0.0.0/40\"]}]}"
expect "bad CIDR" "'10.0.0.0/40' is not a CIDR" run
file json "{\"Peers\": [{\"PublicKey\": \"$key\", \"Endpoints\": [\"nohostport\"]}]}"
expect "bad host:port" "Endpoints[0]: 'nohostport' is not host:port" run
file json '{"ReportIfaces": ["eth[0"]}'
expect "bad glob" "wirelink.wgx.json:1: ReportIfaces[0]: 'eth[0' is not an interface glob" run
file json '{"Router": "sometimes"}'
expect "wrong type" "Router must be true or false, not a string" run
file json '{"Router": true,'
expect "syntax error names file and line" "$dir/wirelink.wgx.json:1:" run
rm -f "$dir"/wirelink.wgx.json
file yaml $'Peers:\n  - PublicKey: [1]\n'
expect "YAML: wrong type" "wirelink.wgx.yaml:2: Peers[0].PublicKey must be a base64 key, not a list" run
file yaml $'Port: 1\nChaty: true\n'
expect "YAML: the line of an unknown key" "wirelink.wgx.yaml:2: Chaty: unknown key" run
file json '{}'
expect "both .json and .yaml: an error" "both $dir/wirelink.wgx.json and $dir/wirelink.wgx.yaml exist" run
rm -f "$dir"/wirelink.wgx.yaml "$dir"/wirelink.wgx.json
expect "bad variable value" "WIRELINK_PORT: 'many' is not a port number" run WIRELINK_PORT=many
expect "unknown variable" "unknown environment variable WIRELINK_FOO" run WIRELINK_FOO=1
expect "bad flag value" "flag --router: 'perhaps' is not true or false" "$wl" --router=perhaps --config-path "$dir"
expect "unknown flag" "unknown flag --frobnicate" "$wl" --frobnicate
out=$("$wl" --help); st=$?
if [ $st = 0 ] && grep -q -- '--config-path' <<<"$out"; then echo "ok - --help lists the options"; else echo "not ok - --help"; failures=$((failures + 1)); fi
out=$(run); st=$?
if [ $st = 0 ] && grep -q '"Iface": "wgx"' <<<"$out"; then echo "ok - --dump with no file"; else echo "not ok - --dump ($out)"; failures=$((failures + 1)); fi
exit $((failures > 0))
