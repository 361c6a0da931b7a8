#!/usr/bin/env bash
# run-demo's command line, and that it builds only the daemon it runs
# (ninja and meson replaced by stubs that record their arguments and fail,
# so the demo stops at "the build failed" before any namespace is made).
# usage: run_demo.sh SOURCE-ROOT
set -u
root=$1
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$("$root/run-demo" --help); st=$?
if [ $st = 0 ] && grep -q "^usage: run-demo \[--keep\]" <<<"$out"; then echo "ok - run-demo --help: usage, exit 0"
else echo "not ok - run-demo --help ($st: $out)"; failures=$((failures + 1)); fi
out=$("$root/run-demo" --bogus 2>&1 >/dev/null); st=$?
if [ $st = 2 ] && grep -q "^usage: run-demo" <<<"$out"; then echo "ok - run-demo with a bad option: usage on stderr, exit 2"
else echo "not ok - run-demo --bogus ($st: $out)"; failures=$((failures + 1)); fi

if [ "$(id -u)" != 0 ] || ! command -v wireguard-go >/dev/null || ! command -v ping >/dev/null || ! command -v nft >/dev/null; then
  echo "ok - run-demo builds only wirelink # SKIP needs root and the demo's packages"
  exit $((failures > 0))
fi
mkdir "$tmp/bin"
for tool in ninja meson; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 1\n' "$tool" "$tmp" >"$tmp/bin/$tool"
  chmod +x "$tmp/bin/$tool"
done
out=$(PATH="$tmp/bin:$PATH" timeout 60 "$root/run-demo" 2>&1); st=$?
calls=$(grep '^ninja' "$tmp/calls" 2>/dev/null)
if [ $st = 1 ] && grep -q "the build failed" <<<"$out" && [ -n "$calls" ] && ! grep -qv '^ninja -C build wirelink$' <<<"$calls"
then echo "ok - run-demo builds only wirelink"
else echo "not ok - run-demo's build ($st: $out; ninja calls: $calls)"; failures=$((failures + 1)); fi
exit $((failures > 0))
