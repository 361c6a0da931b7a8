#!/usr/bin/env bash
# Peers by name (issue 25), with real wireguard-go in network namespaces: a
# hub names three leaves in its config; each leaf keeps
# /run/wirelink/<iface>.hosts and a marked block in its own hosts file
# (HostsFile), where glibc's `getent hosts leaf-b` finds b's tunnel
# address. A rename on the hub follows a reload; names from an untrusted
# peer (localhost, another leaf's) change nothing; two peers the hub gives
# one name are both left out, said once; a leaf that left is dropped; a
# clean stop removes the file and the block, keeping the hand-made lines.
# Prints each step's time.
# usage: hosts.sh WIRELINK HOSTILE   (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
. "$(dirname "$0")/checks.sh"
wl=$1 hostile=$2

runfile() { echo "/run/wirelink/$(star_iface "$1").hosts"; }
# has_line N ADDR NAME: N's runtime file maps ADDR to NAME (and NAME.iface).
has_line() { grep -qxF "$2 $3 $3.$(star_iface "$1")" "$(runfile "$1")" 2>/dev/null; }
lacks() { ! grep -qw -- "$2" "$(runfile "$1")" 2>/dev/null; }
# resolves N NAME ADDR: glibc on N, with N's hosts file as /etc/hosts
# (bound in a mount namespace of its own), answers ADDR for NAME.
resolves() {
  in_ns "$1" unshare -m sh -c "mount --bind '$E2E_TMP/hosts-$1' /etc/hosts && getent hosts '$2'" |
    grep -q "^$3 "
}
# look N: an operator's `status` makes N's daemon read the device now.
look() { in_ns "$1" "$wl" status -i "$(star_iface "$1")" >/dev/null 2>&1; }

hub_names() {
  cat >"$E2E_TMP/etc/wirelink.$(star_iface r).yaml" <<YAML
Peers:
  - PublicKey: "${pub[a]}"
    Name: leaf-a
  - PublicKey: "${pub[b]}"
    Name: $1
YAML
  [ -n "$2" ] && cat >>"$E2E_TMP/etc/wirelink.$(star_iface r).yaml" <<YAML
  - PublicKey: "${pub[c]}"
    Name: $2
YAML
  true
}

lan_star a b c || { not_ok "set-up"; exit 1; }
hub_names leaf-b leaf-c
for n in a b; do
  printf '127.0.0.1 localhost\n192.0.2.250 printer # by hand\n' >"$E2E_TMP/hosts-$n"
  echo "HostsFile: $E2E_TMP/hosts-$n" >"$E2E_TMP/etc/wirelink.$(star_iface "$n").yaml"
done
# c's own config names the hub localhost and a leaf-b: c is no router,
# so a and b do not trust what it says of others.
cat >"$E2E_TMP/etc/wirelink.$(star_iface c).yaml" <<YAML
Peers:
  - PublicKey: "${pub[r]}"
    Name: localhost
  - PublicKey: "${pub[a]}"
    Name: leaf-b
YAML
start_and_converge || exit 1

timed "a's /run/wirelink file maps 198.51.100.12 to leaf-b" 20 has_line a 198.51.100.12 leaf-b
check "  ... and leaf-c; not a itself" eval 'has_line a 198.51.100.13 leaf-c && lacks a leaf-a'
timed "b's maps leaf-a and leaf-c" 20 eval 'has_line b 198.51.100.11 leaf-a && has_line b 198.51.100.13 leaf-c'
check "the hub's maps all three (from its config)" \
  eval 'has_line r 198.51.100.11 leaf-a && has_line r 198.51.100.12 leaf-b && has_line r 198.51.100.13 leaf-c'
check "getent hosts leaf-b on a answers 198.51.100.12 (a's hosts file)" resolves a leaf-b 198.51.100.12
check "  ... as does leaf-b.$(star_iface a)" resolves a "leaf-b.$(star_iface a)" 198.51.100.12
check "a's hosts file keeps its own lines around the block" \
  eval 'head -n 2 "$E2E_TMP/hosts-a" | cmp -s - <(printf "127.0.0.1 localhost\n192.0.2.250 printer # by hand\n") &&
        grep -qx "# wirelink $(star_iface a) begin" "$E2E_TMP/hosts-a" && tail -n 1 "$E2E_TMP/hosts-a" | grep -qx "# wirelink $(star_iface a) end"'
check "wirelink hosts on a prints the line" \
  eval 'in_ns a "$wl" hosts -i "$(star_iface a)" | grep -qxF "198.51.100.12 leaf-b leaf-b.$(star_iface a)"'
check "wirelink status on a shows the name to type" \
  eval 'in_ns a "$wl" status -i "$(star_iface a)" | grep -qF "by name: leaf-b, leaf-b.$(star_iface a)"'
in_ns a "$wl" hosts -i "$(star_iface a)" | sed 's/^/#   /'

# A hand edit inside the block is replaced; one outside stays.
sed -i "/# wirelink $(star_iface a) begin/a 10.9.9.9 leaf-b" "$E2E_TMP/hosts-a"
echo "192.0.2.251 scanner" >>"$E2E_TMP/hosts-a"
ok "edited a's hosts file by hand, inside the block and after it"
look a
timed "the edit inside the block is replaced, the line after it kept" 40 \
  eval '! grep -q 10.9.9.9 "$E2E_TMP/hosts-a" && grep -qx "192.0.2.251 scanner" "$E2E_TMP/hosts-a" && resolves a leaf-b 198.51.100.12'

# Untrusted names: c signs a MemberMetadata naming itself localhost, then
# leaf-b, to a; and c's config's names reach a and b as well.
aaddr=$(grep -oE 'facts on \[[^%]+' "$E2E_TMP/wl-a.log" | head -n 1 | cut -c11-)
cp "$(runfile a)" "$E2E_TMP/a-before"
cp "$(runfile b)" "$E2E_TMP/b-before"
for name in localhost leaf-b; do
  in_ns c "$hostile" "$(star_iface c)" "$aaddr" 51821 name "$E2E_TMP/c.key" "${pub[a]}" "$name" >/dev/null &&
    ok "c told a it is named $name"
done
sleep 2
look a; look b
check "a's names did not change" cmp -s "$(runfile a)" "$E2E_TMP/a-before"
check "b's did not either" cmp -s "$(runfile b)" "$E2E_TMP/b-before"
check "a's daemon counted the lies as untrusted" \
  eval 'in_ns a "$wl" metrics -i "$(star_iface a)" | grep -qE "wirelink_dropped_facts_total\{[^}]*reason=\"untrusted\"\} [1-9]"'
check "on c, its own config's leaf-b (a) wins over the hub's (b)" \
  eval 'has_line c 198.51.100.11 leaf-b && ! grep -q "^198\.51\.100\.12 " "$(runfile c)"'
check "  ... and its name localhost for the hub is turned away" \
  eval 'in_ns c "$wl" hosts -i "$(star_iface c)" | grep -q "^# not written: .localhost. .*reserved"'

# A rename on the hub, applied with a reload.
hub_names bee leaf-c
kill -HUP "${wlpid[r]}"
ok "the hub renamed b to bee and reloaded"
timed "a follows: 198.51.100.12 is bee, leaf-b is gone" 30 \
  eval 'has_line a 198.51.100.12 bee && lacks a leaf-b && resolves a bee 198.51.100.12'
check "getent hosts leaf-b on a finds nothing now" eval '! resolves a leaf-b 198.51.100.12'
timed "the hub's own file too" 10 has_line r 198.51.100.12 bee

# Two peers with one name from the hub: neither is written, said once.
hub_names bee bee
kill -HUP "${wlpid[r]}"
ok "the hub named b and c both bee"
timed "a writes neither" 30 eval 'lacks a bee && lacks a leaf-c'
check "  ... nor does the hub" eval 'lacks r bee && lacks r leaf-c && has_line r 198.51.100.11 leaf-a'
look a
check "a said it once" eval '[ "$(grep -c "are both named .bee." "$E2E_TMP/wl-a.log")" = 1 ]'

# c leaves: the hub drops it from WireGuard and its config.
hub_names bee ""
kill -HUP "${wlpid[r]}"
in_ns r wg set "$(star_iface r)" peer "${pub[c]}" remove
kill "${wlpid[c]}"
ok "c left (removed from the hub, its daemon stopped)"
look r
timed "the hub drops c at once, so b is bee there again" 10 has_line r 198.51.100.12 bee
# The leaves remove c once its membership facts have expired (FactTTL).
timed "a and b drop c; on a, b is bee again" 330 \
  eval 'lacks b leaf-c && ! grep -q "^198\.51\.100\.13 " "$(runfile a)" && has_line a 198.51.100.12 bee'

# A clean stop removes the file and the block, nothing else.
stop_daemon a "a stopped on SIGTERM"
check "a's clean stop removed its /run/wirelink file" test ! -e "$(runfile a)"
if printf "127.0.0.1 localhost\n192.0.2.250 printer # by hand\n192.0.2.251 scanner\n" | cmp -s - "$E2E_TMP/hosts-a"; then
  ok "  ... and its block, keeping every line written by hand"
else
  not_ok "  ... and its block, keeping every line written by hand"
  sed 's/^/# hosts-a: /' "$E2E_TMP/hosts-a"; show_logs
fi
logs_clean
e2e_finish
