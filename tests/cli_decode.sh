#!/usr/bin/env bash
# `wirelink decode` as an operator uses it: hex lines, raw payloads, --verify.
# usage: cli_decode.sh WIRELINK VECTOR-DIR
set -u
wl=$1 vec=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # name, condition result
  if [ "$2" = 0 ]; then echo "ok - $1"; else echo "not ok - $1"; failures=$((failures + 1)); fi
}

"$wl" decode "$vec/original-packets.hex" >"$tmp/out"; st=$?
cmp -s "$tmp/out" "$vec/original-packets.expected"; check "original packets decode to the expected text" $?
[ $st = 0 ]; check "exit status 0 when all decode" $?

"$wl" decode <"$vec/original-fuzz-regressions.hex" | sed 's/^error: .*/error/' >"$tmp/out"; st=${PIPESTATUS[0]}
cmp -s "$tmp/out" "$vec/original-fuzz-regressions.expected"; check "fuzz regressions from stdin" $?
[ $st = 1 ]; check "exit status 1 when some fail" $?

grep -m1 -v '^#' "$vec/original-packets.hex" | xxd -r -p >"$tmp/raw.bin"
"$wl" decode --raw "$tmp/raw.bin" >"$tmp/out"
head -n 3 "$vec/original-packets.expected" | cmp -s - "$tmp/out"; check "--raw decodes a capture payload" $?

head -c 70000 /dev/zero >"$tmp/huge.bin"
"$wl" decode --raw "$tmp/huge.bin" >/dev/null 2>"$tmp/err"; st=$?
[ $st = 2 ] && grep -q '65535' "$tmp/err"; check "--raw refuses more than a datagram" $?

printf 'zz\n\n# comment\n' | "$wl" decode >"$tmp/out"; st=$?
[ $st = 1 ] && [ "$(cat "$tmp/out")" = "error: not a hex packet of at most 65535 bytes" ]; check "bad hex is an error line" $?

"$wl" decode --bogus </dev/null >/dev/null 2>&1; [ $? = 2 ]; check "unknown option is a usage error" $?
"$wl" decode - - </dev/null >/dev/null 2>&1; [ $? = 2 ]; check "two inputs is a usage error" $?

# --verify: signed.txt with each case's recipient key.
key() { awk -v i="$1" '$1 == i { print $2 }' "$vec/keys.txt"; }
all_ok=0
while read -r name signer recipient outcome hex; do
  key "$recipient" >"$tmp/key"
  echo "$hex" | "$wl" decode --verify "$tmp/key" >"$tmp/out"
  case $outcome in
    valid)     want_tag="tag ok";  grep -q '^S ' "$tmp/out" || all_ok=1 ;;
    bad-inner) want_tag="tag ok";  grep -q '^error: ' "$tmp/out" || all_ok=1 ;;
    bad-tag)   want_tag="tag bad" ;;
  esac
  [ "$(tail -n 1 "$tmp/out")" = "$want_tag" ] || { echo "# $name: $(tail -n 1 "$tmp/out")"; all_ok=1; }
done < <(grep -v '^#' "$vec/signed.txt")
check "--verify reports each signed vector's outcome" $all_ok

key 1 | "$wl" decode --verify - <(grep -v '^#' "$vec/signed.txt" | awk '$3 == 1 { print $5 }') >"$tmp/out"; st=$?
[ $st = 1 ] && [ "$(grep -c '^tag ok' "$tmp/out")" = 4 ]; check "--verify - reads the key from stdin" $?

# Our own packet (signed with the very key given): the tag cannot be
# checked without the recipient's key, and the output says so.
key 0 >"$tmp/key0"
grep -v '^#' "$vec/signed.txt" | awk '$1 == "g1-0to1" { print $5 }' | "$wl" decode --verify "$tmp/key0" >"$tmp/out"; st=$?
[ $st = 1 ] && [ "$(tail -n 1 "$tmp/out")" = "tag not checked: signed with this private key (our own packet); only its recipient can check it: --verify with the recipient's key" ]
check "--verify of our own packet says why it cannot be checked" $?

echo "not-a-key" >"$tmp/bad"
"$wl" decode --verify "$tmp/bad" </dev/null >/dev/null 2>"$tmp/err"; st=$?
[ $st = 2 ] && grep -q '^wirelink: error: decode: .*not a base64 WireGuard private key' "$tmp/err"; check "bad key file is refused" $?

exit $((failures > 0))
