#!/usr/bin/env bash
# Reload: SIGHUP re-reads the configuration file and applies names, trust
# and the log level without dropping links; a bad file keeps the
# configuration in use and the log says why. usage: reload.sh WIRELINK (as root)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/star.sh"
wl=$1
star_setup a b || exit 1
star_reach_router || exit 1
star_start "$wl"
wait_until 30 star_converged
check "the mesh converges" star_converged
rif=$(star_iface r)
conf=$E2E_TMP/etc/wirelink.$rif.yaml
status_json() { in_ns r "$wl" status -i "$rif" --json; }
# KEY FIELD: a string field of one peer in r's status (the JSON is
# indented: a peer's own fields are at 6 spaces).
peer_field() {
  status_json | awk -v k="$1" -v f="$2" '
    /^    \{/ { key = ""; val = "" }
    $0 ~ "^      \"public_key\": \"" { key = $2 }
    $0 ~ "^      \"" f "\": " { val = $2 }
    /^    \}/ { gsub(/[",]/, "", key); gsub(/[",]/, "", val); if (key == k) print val }'
}
top_field() { status_json | awk -v f="$1" '$0 ~ "^  \"" f "\": " { gsub(/[",]/, "", $2); print $2 }'; }
hs_before=$(in_ns a wg show "$(star_iface a)" latest-handshakes | awk -v k="${pub[b]}" '$1 == k { print $2 }')
pid_before=${wlpid[r]}

cat >"$conf" <<YAML
Debug: true
Peers:
  - PublicKey: ${pub[a]}
    Name: sixteen-chars-ab
    Trust: AllowedIPs
YAML
kill -HUP "${wlpid[r]}"
check "SIGHUP: the reload is logged" wait_until 5 grep -q "reloaded $conf: 1 peer configured, log level debug" "$E2E_TMP/wl-r.log"
check "  ... the daemon keeps running" kill -0 "$pid_before"
check "  ... names apply" test "$(peer_field "${pub[a]}" name)" = sixteen-chars-ab
check "  ... trust applies" test "$(peer_field "${pub[a]}" trust)" = AllowedIPs
check "  ... the log level applies" test "$(top_field log_level)" = debug
check "  ... debug lines follow" wait_until 10 grep -q "^debug: " "$E2E_TMP/wl-r.log"
check "  ... the log ties the key it used before to the name" wait_until 5 grep -qx "${pub[a]:0:10} is sixteen-chars-ab" "$E2E_TMP/wl-r.log"
check "  ... the text status shows the 16-character name" eval 'in_ns r "$wl" status -i "$rif" | grep -q "^sixteen-chars-ab "'

printf 'Debug: false\nPeers:\n  - PublicKey: %s\n    Name: alpha\n  Colour: red\n' "${pub[a]}" >"$conf"
kill -HUP "${wlpid[r]}"
check "a bad file: the reason is logged" wait_until 5 grep -q "reload failed, keeping the configuration in use: $conf:" "$E2E_TMP/wl-r.log"
check "  ... the daemon keeps running" kill -0 "$pid_before"
check "  ... the old names stay" test "$(peer_field "${pub[a]}" name)" = sixteen-chars-ab
check "  ... the old log level stays" test "$(top_field log_level)" = debug

rm -f "$conf"
kill -HUP "${wlpid[r]}"
check "the file removed: defaults again" wait_until 5 grep -q "reloaded the configuration (no file): 0 peers configured, log level info" "$E2E_TMP/wl-r.log"
check "  ... names from the config are gone" test "$(peer_field "${pub[a]}" trust)" != AllowedIPs
check "links were not dropped: still converged" star_converged
hs_after=$(in_ns a wg show "$(star_iface a)" latest-handshakes | awk -v k="${pub[b]}" '$1 == k { print $2 }')
check "  ... a and b kept their session ($hs_before -> $hs_after)" test "$hs_after" -ge "$hs_before" -a "$hs_before" -gt 0
check "  ... r still lists both leaves" test "$(in_ns r wg show "$rif" peers | wc -l)" = 2
e2e_finish
