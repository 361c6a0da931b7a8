#!/usr/bin/env bash
# Configuration files the daemon cannot read are errors that name the path
# and the cause; only a file that is not there means "no file". Also the
# 1 MiB limit: a file of exactly 1 MiB is read, one byte more is "too
# large". usage: cli_files.sh WIRELINK
set -u
wl=$1
dir=$(mktemp -d)
trap 'chmod -R u+rwx "$dir"; rm -rf "$dir"' EXIT
chmod 755 "$dir"
failures=0
# expect NAME STATUS WANT COMMAND...: that exit status and WANT (a
# case-insensitive fixed string) in stderr+stdout.
expect() {
  local name=$1 want_st=$2 want=$3 out st
  shift 3
  out=$("$@" 2>&1); st=$?
  if [ "$st" = "$want_st" ] && grep -qiF -- "$want" <<<"$out"; then echo "ok - $name"
  else echo "not ok - $name (exit $st, wanted $want_st and '$want': $out)"; failures=$((failures + 1)); fi
}
dump() { env -u WIRELINK_IFACE "$wl" -i wgx --config-path "$1" --dump; }

mkdir "$dir/none"
expect "no file: the defaults" 0 '"ConfigFile": null' dump "$dir/none"

# A path through a regular file (ENOTDIR): not "no file".
: >"$dir/plain"
expect "config path is a file: an error naming the path" 2 "$dir/plain: Not a directory (cannot look for wirelink.wgx.json, .yaml or .yml there)" dump "$dir/plain"

# The file is a directory (EISDIR).
mkdir -p "$dir/isdir/wirelink.wgx.yaml"
expect "the file is a directory" 2 "$dir/isdir/wirelink.wgx.yaml: Is a directory" dump "$dir/isdir"

# A directory the user may not search (EACCES), checked as an unprivileged
# user: root reads through mode 000.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
  mkdir "$dir/locked"
  printf 'Peers: []\n' >"$dir/locked/wirelink.wgx.yaml"
  chmod 000 "$dir/locked"
  expect "unreadable config directory: permission denied with the path" 2 \
    "$dir/locked: permission denied (cannot look for wirelink.wgx.json, .yaml or .yml there)" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups env -u WIRELINK_IFACE "$wl" -i wgx --config-path "$dir/locked" --dump
  chmod 755 "$dir/locked"
  chmod 000 "$dir/locked/wirelink.wgx.yaml"
  expect "unreadable config file: permission denied with the path" 2 \
    "$dir/locked/wirelink.wgx.yaml: permission denied" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups env -u WIRELINK_IFACE "$wl" -i wgx --config-path "$dir/locked" --dump
else
  echo "ok - unreadable config directory # SKIP needs root, setpriv and the user nobody"
fi

# The size limit: 1 MiB exactly is read (a comment pads it), one more byte is too large.
mkdir "$dir/size"
pad() { { printf 'Port: 4000\n#'; head -c $(($1 - 13)) /dev/zero | tr '\0' x; printf '\n'; } >"$dir/size/wirelink.wgx.yaml"; }
pad $((1 << 20))
[ "$(stat -c %s "$dir/size/wirelink.wgx.yaml")" = $((1 << 20)) ] || { echo "not ok - padding"; failures=$((failures + 1)); }
expect "a config of exactly 1 MiB is read" 0 '"Port": 4000' dump "$dir/size"
pad $(((1 << 20) + 1))
expect "a config over 1 MiB: too large" 2 "wirelink.wgx.yaml: too large (a configuration file is at most 1 MiB)" dump "$dir/size"
out=$(dump "$dir/size" 2>&1)
if grep -qi "cannot allocate" <<<"$out"; then echo "not ok - over 1 MiB: no memory error ($out)"; failures=$((failures + 1))
else echo "ok - over 1 MiB: no memory error"; fi
exit $((failures > 0))
