#!/usr/bin/env bash
# Device backend read: a wireguard-go interface with N peers of 4 allowed IPs
# each, read in full ROUNDS times. Prints "result MEDIAN_MS".
# usage: devread.sh WGTOOL [N] [ROUNDS]   (as root)
. "$(dirname "$0")/../tests/e2e/lib.sh"
wgtool=$1 n=${2:-1000} rounds=${3:-21}
ns_add d || exit 1
wg_up d "wd$E2E_ID" || exit 1
in_ns d "$wgtool" bulk "wd$E2E_ID" "$n" 4 >/dev/null || exit 1
ms=$(in_ns d "$wgtool" time "wd$E2E_ID" "$rounds" | grep -oE 'median [0-9.]+' | cut -d' ' -f2)
echo "result ${ms:-NaN}"
