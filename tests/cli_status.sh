#!/usr/bin/env bash
# The status and facts tables, golden: saved daemon answers (16-character
# names, IPv6 endpoints, every path: direct, via a router, down; never a
# handshake; candidates tried and not) formatted with --read must match the
# expected text byte for byte. usage: cli_status.sh WIRELINK DIR
set -u
wl=$1 dir=$2
failures=0
for t in status:leaf facts:facts metrics:metrics; do
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
exit $((failures > 0))
