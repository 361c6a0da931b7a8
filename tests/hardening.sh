#!/usr/bin/env bash
# The built binary is hardened: a position-independent executable, full
# RELRO (GNU_RELRO segment and BIND_NOW), stack protector, and
# _FORTIFY_SOURCE's checked calls when the build fortifies.
# usage: hardening.sh BINARY FORTIFY(true|false)
set -u
bin=$1 fortify=$2
failures=0
check() { # name, command...
  local name=$1
  shift
  if "$@" >/dev/null 2>&1; then echo "ok - $name"; else echo "not ok - $name"; failures=$((failures + 1)); fi
}
dyn=$(readelf -dW "$bin") || exit 1
syms=$(readelf --dyn-syms -W "$bin") || exit 1
check "PIE" grep -qE 'FLAGS_1.*PIE' <<<"$dyn"
check "BIND_NOW" grep -qE 'BIND_NOW|FLAGS_1.*NOW' <<<"$dyn"
check "GNU_RELRO segment" grep -q GNU_RELRO < <(readelf -lW "$bin")
check "stack protector" grep -q '__stack_chk_fail' <<<"$syms"
if [ "$fortify" = true ]; then
  check "_FORTIFY_SOURCE checked calls" grep -qE '__[a-z]+_chk@' <<<"$syms"
fi
exit $((failures > 0))
