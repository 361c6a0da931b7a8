#!/usr/bin/env bash
# The status, facts, metrics and hosts tables, golden: saved daemon answers (16-character
# names, IPv6 endpoints, every path: direct, via a router, down; never a
# handshake; candidates tried and not) formatted with --read must match the
# expected text byte for byte. usage: cli_status.sh WIRELINK DIR
set -u
wl=$1 dir=$2
failures=0
for t in status:leaf facts:facts metrics:metrics hosts:hosts; do
  cmd=${t%%:*} name=${t#*:}
  if out=$("$wl" "$cmd" --read "$dir/$name.json") && diff -u "$dir/$name.txt" - <<<"$out"; then
    echo "ok - $cmd table ($name)"
  else
    echo "not ok - $cmd table ($name)"; failures=$((failures + 1))
  fi
done
# Columns line up: in the status table, the PATH column starts at the same
# offset on the header and on every peer line.
col=$(awk '/^NAME/ { print index($0, "PATH") }' "$dir/leaf.txt")
bad=$("$wl" status --read "$dir/leaf.json" | awk -v c="$col" '/^[^ ]/ && seen && substr($0, c - 1, 1) != " " { print } /^NAME/ { seen = 1 }')
if [ -z "$bad" ] && [ "$col" = 18 ]; then echo "ok - the PATH column lines up after a 16-character name"
else echo "not ok - columns ($col: $bad)"; failures=$((failures + 1)); fi
out=$("$wl" status --read "$dir/missing.json" 2>&1); st=$?
if [ $st = 1 ] && grep -q "error: $dir/missing.json" <<<"$out"; then echo "ok - --read of a missing file"
else echo "not ok - --read of a missing file ($st: $out)"; failures=$((failures + 1)); fi
reject_out() { # NAME TEXT OUTPUT
  if grep -qF -- "$2" <<<"$3"; then echo "not ok - $1 ($3)"; failures=$((failures + 1)); else echo "ok - $1"; fi
}
reject_out "--read of a missing file: the cause, not a line -1" ":-1:" "$out"
if grep -q "No such file or directory" <<<"$out"; then echo "ok - --read of a missing file names the cause"
else echo "not ok - --read missing: the cause ($out)"; failures=$((failures + 1)); fi

# --read of another command's answer: rejected, and named.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for t in "status facts.json facts" "facts leaf.json status" "metrics leaf.json status" "status metrics.json metrics"; do
  set -- $t
  out=$("$wl" "$1" --read "$dir/$2" 2>&1); st=$?
  if [ $st = 1 ] && grep -qF "error: $dir/$2: not a saved \`wirelink $1 --json\` answer (it is \`wirelink $3 --json\`)" <<<"$out"
  then echo "ok - $1 --read of a $3 answer is rejected"
  else echo "not ok - $1 --read of $2 ($st: $out)"; failures=$((failures + 1)); fi
done
printf '{"error": "x"}\n' >"$tmp/other.json"
out=$("$wl" status --read "$tmp/other.json" 2>&1); st=$?
if [ $st = 1 ] && grep -qF "not a saved \`wirelink status --json\` answer" <<<"$out"; then echo "ok - --read of unrelated JSON"
else echo "not ok - --read of unrelated JSON ($st: $out)"; failures=$((failures + 1)); fi
# The list --json gives for several daemons is read too.
{ printf '['; cat "$dir/leaf.json"; printf ','; cat "$dir/leaf.json"; printf ']'; } >"$tmp/two.json"
out=$("$wl" status --read "$tmp/two.json"); st=$?
if [ $st = 0 ] && [ "$(grep -c '^wg0: leaf' <<<"$out")" = 2 ]; then echo "ok - --read of several daemons' answers"
else echo "not ok - --read of a list ($st: $out)"; failures=$((failures + 1)); fi

# One of a thing is singular.
printf '{"interface": "wg9", "role": "leaf", "facts": 1, "facts_received": 1, "facts_own": 0,
  "peers": [{"name": null, "public_key": "kRZzi9eFA6wq1xUo3sQ9DdW0u8yv1a2b3c4d5e6f7g8=", "path": "down"}]}\n' >"$tmp/one.json"
out=$("$wl" status --read "$tmp/one.json")
if grep -q "^1 peer: " <<<"$out" && grep -q "^1 fact: " <<<"$out"; then echo "ok - 1 peer, 1 fact"
else echo "not ok - singular in status ($out)"; failures=$((failures + 1)); fi
printf '{"facts": [{"attribute": "alive", "subject": "k", "ttl_seconds": 5, "source": {}, "value": "v"}]}\n' >"$tmp/onefact.json"
out=$("$wl" facts --read "$tmp/onefact.json")
if grep -q "^1 fact$" <<<"$out"; then echo "ok - facts: 1 fact"
else echo "not ok - singular in facts ($out)"; failures=$((failures + 1)); fi

# Peers sorted by name, then key (named first), whatever the daemon's order.
names=$("$wl" status --read "$dir/leaf.json" | awk '/^NAME/ { on = 1; next } on && /^[^ ]/ { print $1 }' | tr '\n' ' ')
if [ "$names" = "hub-frankfurt-01 laptop-of-office printer kRZzi9eFA6 " ]; then echo "ok - peers sorted by name, then key"
else echo "not ok - peer order ($names)"; failures=$((failures + 1)); fi

# Metrics: counters end in _total, gauges do not.
bad=$("$wl" metrics --read "$dir/metrics.json" | awk '$1 == "#" && $2 == "TYPE" && (($4 == "counter") != ($3 ~ /_total$/)) { print $3 }')
if [ -z "$bad" ]; then echo "ok - metrics: counters named _total, gauges not"
else echo "not ok - metric names ($bad)"; failures=$((failures + 1)); fi
exit $((failures > 0))
