#!/bin/bash
# Runs inside the Debian 12 guest booted by tests/system/run.sh, as the unit
# wltest.service, with systemd as PID 1 and the kernel's WireGuard. It runs
# the README's Quick start as written there: the wg0.conf files, the
# firewall rule and the commands are taken from the README itself (keys and
# the hub's address filled in). This host is the hub (wg-quick@wg0 +
# wl-quick@wg0, with a firewall that drops what the README's rule does not
# let in). The laptop and the server are network namespaces on a bridge,
# each with the README's leaf wg0.conf (no ListenPort: a random port) in
# /etc/netns/lN/wireguard, brought up with `wg-quick up wg0` and a
# `wirelink -i wg0` started by hand (no systemd inside a namespace). Phase 1 installs our .deb and
# exercises the service, then reboots; phase 2 checks that everything comes
# back, then removes and purges the package and powers off.
# Writes "ok - ..." / "not ok - ..." / "# ..." lines to the second serial
# port and finally "SYSTEM PASS" or "SYSTEM FAIL (n)".
exec >/dev/ttyS1 2>&1
export PATH=/usr/local/sbin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(dirname "$0")
state=/var/lib/wltest
mkdir -p "$state"
phase=$(cat "$state/phase" 2>/dev/null || echo 1)
fails=$(cat "$state/fails" 2>/dev/null || echo 0)
t0=$(date +%s.%N)
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; fails=$((fails + 1)); echo "$fails" >"$state/fails"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
step() { echo "# [$(since "$t0") s] $*"; }
wait_until() { # wait_until SECONDS CMD...: true once CMD succeeds
  local end=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -lt $end ] || return 1; sleep 0.5; done
}
finish() {
  step "done"
  [ "$fails" = 0 ] && echo "SYSTEM PASS" || echo "SYSTEM FAIL ($fails)"
  sync; systemctl poweroff --no-block; exit 0
}
unit=wl-quick@wg0.service
mainpid() { systemctl show -P MainPID "$unit"; }
active() { [ "$(systemctl is-active "$1")" = active ]; }
inactive() { [ "$(systemctl is-active "$1")" != active ] && [ "$(systemctl is-active "$1")" != activating ]; }
leaf_if() { echo wg0; }
readme=$here/README.md
# readme_block FIRST-LINE: the README's code block that starts with that line.
readme_block() { awk -v first="$1" '$0 == first { on = 1 } on && /^```/ { exit } on' "$readme"; }
# The Quick start's files with this run's keys; the hub is 192.0.2.1 here.
quickstart_conf() { # quickstart_conf hub|1|2
  local k
  if [ "$1" = hub ]; then
    readme_block "# /etc/wireguard/wg0.conf on the hub"
  else
    readme_block "# /etc/wireguard/wg0.conf on the laptop" |
      sed "s|^Address = 10.10.0.2/24$|Address = 10.10.0.$(($1 + 1))/24|; s|<laptop's private key>|<l$1 private>|"
  fi | sed "s|<hub's private key>|$(cat "$state/hub.key")|; s|<hub's public key>|$(wg pubkey <"$state/hub.key")|
            s|<laptop's public key>|$(wg pubkey <"$state/l1.key")|; s|<server's public key>|$(wg pubkey <"$state/l2.key")|
            s|<l$1 private>|$(cat "$state/l$1.key" 2>/dev/null)|; s|203.0.113.1:51820|192.0.2.1:51820|"
}
# hub_firewall: input dropped but for loopback, WireGuard's port and the
# README's rule for the facts (the hub's own rule set; lost at reboot).
hub_firewall() {
  nft add table inet filter &&
    nft add chain inet filter input '{ type filter hook input priority 0; policy drop; }' &&
    nft add rule inet filter input iifname lo accept &&
    nft add rule inet filter input udp dport 51820 accept &&
    { rule=$(grep -m 1 -E '^nft (add|insert) rule inet filter input iifname "wg0"' "$readme") &&
      [ -n "$rule" ] && echo "# the README's rule: $rule" && eval "$rule"; }
}

# The leaves: namespaces l1 (laptop, 10.10.0.2) and l2 (server, 10.10.0.3) on
# bridge br0 with the hub (192.0.2.1), each with the README's leaf wg0.conf;
# keys kept across the reboot.
leaves_up() {
  local n
  ip link add br0 type bridge && ip addr add 192.0.2.1/24 dev br0 && ip link set br0 up
  for n in 1 2; do
    ip netns add "l$n"
    ip link add "vl$n" type veth peer name eth0 netns "l$n"
    ip link set "vl$n" master br0 up
    ip -n "l$n" addr add "192.0.2.1$n/24" dev eth0
    ip -n "l$n" link set eth0 up && ip -n "l$n" link set lo up
    # The README's leaf file: /etc/netns/lN/wireguard is what `ip netns exec`
    # shows the namespace as /etc/wireguard.
    mkdir -p "/etc/netns/l$n/wireguard"
    (umask 077; quickstart_conf "$n" >"/etc/netns/l$n/wireguard/wg0.conf")
    ip netns exec "l$n" wg-quick up wg0 >>"$state/wg-quick-l$n.log" 2>&1
  done
}
# leaf_wirelink N [ARGS...]: starts leaf N's daemon by hand (its log in
# $state), with its own /run/wirelink (/run/wl-lN, kept across its
# restarts) so that the hub's looks like the only daemon here.
leaf_wirelink() {
  local n=$1
  shift
  install -d -m 0755 "/run/wl-l$n"
  ip netns exec "l$n" unshare -m --propagation private sh -c \
    'mount --bind "$1" /run/wirelink && shift && exec /usr/sbin/wirelink -i "$0" "$@"' \
    "$(leaf_if "$n")" "/run/wl-l$n" "$@" 2>&1 </dev/null |
    while IFS= read -r line; do echo "$(date +%T) $line"; done >>"$state/wl-l$n.log" &
}
# leaves_stop: ends the leaves' daemons (every process in their namespaces).
leaves_stop() { local n; for n in 1 2; do ip netns pids "l$n" | xargs -r kill; done; }
# direct N M: leaf N holds leaf M as a peer with M's /32, and a ping to M
# goes through and is received from M's peer (the hub does not forward).
direct() {
  local pm rx0 rx1
  pm=$(wg pubkey <"$state/l$2.key")
  peer() { ip netns exec "l$1" wg show "$(leaf_if "$1")" dump | awk -F'\t' -v k="$pm" '$1 == k'; }
  grep -q "10.10.0.$(($2 + 1))/32" <<<"$(peer "$1" | cut -f4)" || return 1
  rx0=$(peer "$1" | cut -f6)
  ip netns exec "l$1" ping -c 1 -W 2 -q "10.10.0.$(($2 + 1))" >/dev/null || return 1
  rx1=$(peer "$1" | cut -f6)
  [ "${rx1:-0}" -gt "${rx0:-0}" ]
}
converged() { direct 1 2 && direct 2 1; }
# hub_alive: the hub's daemon sees both leaves healthy and alive.
hub_alive() { [ "$(wirelink status -i wg0 2>/dev/null | grep -c 'its daemon is alive')" -ge 2 ]; }
# check_converges WHAT SECONDS: the leaves reach each other directly in time.
check_converges() {
  local s; s=$(date +%s.%N)
  if wait_until "$2" converged; then ok "$1 (in $(since "$s") s)"; else
    not_ok "$1 (not within $2 s)"
    for n in 1 2; do
      echo "#   leaf $n: wg show dump, then its log"
      ip netns exec "l$n" wg show "$(leaf_if $n)" dump | cut -f1,3-6 | sed 's/^/#     /'
      tail -n 12 "$state/wl-l$n.log" | sed 's/^/#     /'
    done
    wirelink status -i wg0 | sed 's/^/#   /'
  fi
}

step "phase $phase: systemd is $(systemctl is-system-running --wait 2>/dev/null)"
if [ "$phase" = 1 ]; then
  check "systemd is PID 1" test "$(cat /proc/1/comm)" = systemd
  check "Debian's kernel with the wireguard module ($(uname -r))" modprobe wireguard
  s=$(date +%s.%N)
  apt-get install -y -q "$here"/wirelink_*.deb >"$state/apt.log" 2>&1
  check "apt-get install ./wirelink_*.deb (in $(since "$s") s)" eval 'dpkg -s wirelink >/dev/null' 
  [ "$fails" = 0 ] || { tail -n 20 "$state/apt.log"; finish; }
  check "the package made the wirelink system user" eval 'getent passwd wirelink | grep -q ":/nonexistent:"'
  check "wl-quick@.service is installed" test -f /lib/systemd/system/wl-quick@.service

  # The Quick start, as an administrator types it.
  umask 077
  for k in hub l1 l2; do wg genkey >"$state/$k.key"; done
  quickstart_conf hub >/etc/wireguard/wg0.conf
  sed 's/^PrivateKey = .*/PrivateKey = (hidden)/; s/^/#   /' /etc/wireguard/wg0.conf
  check "the README's hub wg0.conf is complete (no <placeholder> left)" eval '! grep -q "<" /etc/wireguard/wg0.conf'
  check "  ... and the laptop's has no ListenPort" eval '! quickstart_conf 1 | grep -q ListenPort'
  umask 022
  sysctl -q -w net.ipv4.ip_forward=1
  check "the README's firewall rule, under a drop policy" hub_firewall
  leaves_up
  check "the leaves' wg-quick up wg0 (README's wg0.conf)" eval 'ip netns exec l1 wg show wg0 >/dev/null && ip netns exec l2 wg show wg0 >/dev/null'
  check "  ... and WireGuard picked a random listen port (no ListenPort)" \
    eval '[ "$(ip netns exec l1 wg show wg0 listen-port)" != 51820 ]'
  check "systemctl enable --now wg-quick@wg0" systemctl enable --now wg-quick@wg0
  wirelink config-from-wg wg0 >/etc/wireguard/wirelink.wg0.yaml
  check "wirelink config-from-wg wg0 > /etc/wireguard/wirelink.wg0.yaml" \
    grep -q "$(wg pubkey <"$state/l1.key")" /etc/wireguard/wirelink.wg0.yaml
  groupadd -r wlops && useradd -m -G wlops op && useradd -m other
  echo "ControlGroup: wlops" >>/etc/wireguard/wirelink.wg0.yaml
  step "starting wl-quick@wg0"
  s=$(date +%s.%N)
  check "systemctl enable --now wl-quick@wg0" systemctl enable --now wl-quick@wg0
  # Type=notify: the start job returns only once READY=1 arrived, so the
  # control socket must answer at once.
  check "wl-quick@wg0 is active $(since "$s") s after start" active "$unit"
  check "  ... and is Type=notify" test "$(systemctl show -P Type "$unit")" = notify
  jl=$(journalctl -b -u "$unit" -o short-monotonic --no-pager)
  ready_at=$(grep -nE 'wirelink\[[0-9]*\]: wirelink .* on wg0( \([a-z]+ WireGuard\))?: facts on' <<<"$jl" | head -n 1 | cut -d: -f1)
  started_at=$(grep -n 'Started wl-quick@wg0' <<<"$jl" | head -n 1 | cut -d: -f1)
  check "  ... systemd called it started only after its set-up was done (journal lines $ready_at < $started_at)" \
    test "${ready_at:-99}" -lt "${started_at:-0}"
  grep -E 'Starting|wirelink .* on wg0|Started' <<<"$jl" | sed 's/^/#   /'
  check "  ... and answers on its control socket as soon as it is active" eval 'wirelink status -i wg0 >/dev/null' 
  st=$(systemctl status --no-pager "$unit" | grep 'Status:')
  check "systemctl status shows our STATUS= ($st)" grep -qE 'Status: ".*peers' <<<"$st"
  for n in 1 2; do leaf_wirelink $n; done
  check_converges "the leaves converge to a direct link" 90
  check "the hub's daemon sees both leaves healthy+alive" wait_until 30 hub_alive
  st=$(systemctl show -P StatusText "$unit")
  check "STATUS= follows the peers ($st)" grep -q 'direct' <<<"$st"
  out=$(wirelink status 2>&1)
  check "wirelink status as root" grep -q '^wg0: ' <<<"$out"
  echo "$out" | sed 's/^/#   /'
  check "wirelink status as a member of --control-group (op in wlops)" \
    eval 'runuser -u op -- wirelink status -i wg0 | grep -q "^wg0: "'
  check "  ... and refused to a non-member" eval '! runuser -u other -- wirelink status -i wg0 >/dev/null 2>&1'

  out=$(timeout 20 /usr/sbin/wirelink -i wg0 2>&1); rc=$?
  check "a second wirelink -i wg0 beside the unit exits non-zero ($rc) naming the running pid" \
    eval '[ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -qw "$(mainpid)" <<<"$out"'
  echo "$out" | sed 's/^/#   /'
  check "  ... and the unit's daemon still answers" eval 'wirelink status -i wg0 >/dev/null'

  step "restart and stop with wg-quick@wg0"
  p=$(mainpid)
  systemctl restart wg-quick@wg0
  check "systemctl restart wg-quick@wg0 restarts wirelink" \
    wait_until 30 eval 'active "$unit" && [ "$(mainpid)" != "$p" ] && [ "$(mainpid)" != 0 ]'
  check_converges "  ... and the mesh converges again" 60
  systemctl stop wg-quick@wg0
  check "systemctl stop wg-quick@wg0 stops wirelink" inactive "$unit"
  systemctl start wg-quick@wg0
  check "systemctl start wg-quick@wg0 starts the enabled wl-quick@wg0 with it" wait_until 30 active "$unit"

  step "kill -9"
  wait_until 30 hub_alive
  p=$(mainpid)
  echo "# $(date +%T) kill -9"
  kill -9 "$p"
  s=$(date +%s.%N)
  check "kill -9 of the daemon: systemd restarts it" \
    wait_until 30 eval 'active "$unit" && [ "$(mainpid)" != "$p" ] && [ "$(mainpid)" != 0 ]'
  echo "#   restarted after $(since "$s") s (RestartSec=5s)"
  check "  ... and it sees both leaves alive again" wait_until 60 hub_alive
  check_converges "  ... and the leaves are direct" 90

  step "SIGSTOP (watchdog)"
  p=$(mainpid)
  kill -STOP "$p"
  s=$(date +%s.%N)
  check "a hung daemon is killed by the watchdog and restarted" \
    wait_until 60 eval 'active "$unit" && [ "$(mainpid)" != "$p" ] && [ "$(mainpid)" != 0 ]'
  echo "#   restarted after $(since "$s") s (WatchdogSec=30s + RestartSec=5s)"
  check "  ... the journal says the watchdog did it" \
    eval 'journalctl -b -u "$unit" --no-pager | grep -qi "watchdog timeout"'
  check "  ... and it sees both leaves alive again" wait_until 60 hub_alive

  step "reload"
  if [ "$(systemctl show -P CanReload "$unit")" = yes ]; then
    p=$(mainpid)
    # config-from-wg left a "# Name: ..." line for each unnamed peer:
    # name them peer1, peer2, ...
    awk '/^    # Name: / { print "    Name: peer" (++n); next } { print }' \
      /etc/wireguard/wirelink.wg0.yaml >/etc/wireguard/wirelink.wg0.yaml.new &&
      mv /etc/wireguard/wirelink.wg0.yaml.new /etc/wireguard/wirelink.wg0.yaml
    sed 's/^/#   /' /etc/wireguard/wirelink.wg0.yaml
    check "systemctl reload wl-quick@wg0" systemctl reload "$unit"
    check "  ... keeps the daemon (pid $p)" test "$(mainpid)" = "$p"
    check "  ... applies the changed config (peer names in wirelink status)" \
      wait_until 10 eval 'wirelink status -i wg0 | grep -q "^peer1 "'
    check "  ... without dropping links" eval 'converged && hub_alive'
  else
    echo "# wl-quick@.service has no ExecReload (the daemon has no reload yet)"
    check "systemctl reload is refused and leaves the daemon running" \
      eval '! systemctl reload "$unit" 2>/dev/null && active "$unit"'
  fi

  step "wirelink@ and wl-quick@ for one interface"
  systemctl start wirelink@wg0
  check "systemctl start wirelink@wg0 stops wl-quick@wg0 (Conflicts=)" \
    wait_until 30 eval 'active wirelink@wg0.service && inactive "$unit"'
  check "  ... and its daemon sees both leaves alive" wait_until 60 hub_alive
  systemctl start "$unit"
  check "systemctl start wl-quick@wg0 stops wirelink@wg0 again" \
    wait_until 30 eval 'active "$unit" && inactive wirelink@wg0.service'
  check "  ... and sees both leaves alive" wait_until 60 hub_alive

  step "journal"
  # A packet that is not a valid fact packet, through the tunnel to the
  # hub's fact port: the daemon drops it with a warning.
  hubfacts=$(wirelink status -i wg0 | sed -n 's/^facts on \[\(.*\)\]:\([0-9]*\)$/\1 \2/p')
  read -r hubaddr hubport <<<"$hubfacts"
  ip netns exec l1 bash -c "echo not-a-fact-packet >/dev/udp/$hubaddr%$(leaf_if 1)/$hubport" 2>/dev/null
  sleep 2
  mine() { journalctl -b -u "$unit" --no-pager -o cat "$@" _COMM=wirelink; }
  check "the daemon's warning reaches the journal" eval 'mine | grep -q "dropped a packet"'
  if grep -q JOURNAL_STREAM /usr/sbin/wirelink; then
    check "journalctl -u wl-quick@wg0 -p warning shows it" eval 'mine -p warning | grep -q "dropped a packet"'
    check "  ... and info lines are not warnings" eval '! mine -p warning | grep -q "is now alive"'
  else
    echo "not ok - journalctl -p warning shows it # TODO the daemon writes no <N> priority prefixes for the journal yet"
  fi
  n=$(mine | wc -l)
  check "the default level is quiet ($n lines from the daemon over its 6 starts)" test "$n" -lt 48
  check "  ... and has no debug lines" eval '! mine | grep -q "debug:"'
  mine | tail -n 8 | sed 's/^/#   /'

  step "hardening"
  score=$(systemd-analyze security --no-pager "$unit" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "# systemd-analyze security $unit: $score (root, then User: in the config)"
  check "systemd-analyze security: $score <= 3.0" awk -v s="$score" 'BEGIN { exit !(s + 0 <= 3.0) }'
  systemd-analyze security --no-pager "$unit" | grep -E '^✗' | head -n 15 | sed 's/^/#   /'
  echo "User: wirelink" >>/etc/wireguard/wirelink.wg0.yaml
  systemctl restart "$unit"
  check "with User: wirelink the unit starts" active "$unit"
  check "  ... and the daemon runs as wirelink" \
    eval 'grep -q "^Uid:[[:space:]]*$(id -u wirelink)[[:space:]]" /proc/$(mainpid)/status'
  capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$(mainpid)/status")
  check "  ... with only CAP_NET_ADMIN effective (CapEff $capeff)" \
    eval '[ "$capeff" = 0000000000001000 ] || [ "$capeff" = 0000000000001002 ]'
  check "  ... and sees both leaves alive" wait_until 60 hub_alive
  check_converges "  ... and the leaves are direct" 30
  check "wirelink status as the op user, daemon running as wirelink" \
    eval 'runuser -u op -- wirelink status -i wg0 | grep -q "^wg0: "'
  # The file is root's: a reload as wirelink could not read it. The
  # daemon says so at start, with the commands that allow it.
  check "  ... the journal says a reload cannot read the file, and how to allow it" \
    eval 'journalctl -b -u "$unit" --no-pager -o cat | grep "a reload cannot read /etc/wireguard/wirelink.wg0.yaml" | grep -q "chgrp wirelink /etc/wireguard"'
  fix=$(journalctl -b -u "$unit" --no-pager -o cat | grep -o "To allow it: .*" | tail -n 1 | cut -c14-)
  echo "# following it: $fix"
  eval "$fix"
  sed -i 's/Name: peer1$/Name: laptop-one/' /etc/wireguard/wirelink.wg0.yaml
  p=$(mainpid)
  systemctl reload "$unit"
  check "  ... after that, a reload as wirelink applies the changed file" \
    wait_until 10 eval 'wirelink status -i wg0 | grep -q "^laptop-one "'
  check "  ... in the same daemon" test "$(mainpid)" = "$p"
  chgrp root /etc/wireguard /etc/wireguard/wirelink.wg0.yaml && chmod 0700 /etc/wireguard && chmod 0600 /etc/wireguard/wirelink.wg0.yaml

  # The same with systemd's User= (a drop-in): the daemon starts unprivileged
  # with only CAP_NET_ADMIN as an ambient capability. /etc/wireguard is
  # root's (0700), so its config moves to a directory it may read.
  score_root=$score
  install -d -m 0750 -g wirelink /etc/wirelink
  grep -v '^User: wirelink$' /etc/wireguard/wirelink.wg0.yaml >/etc/wirelink/wirelink.wg0.yaml
  chgrp wirelink /etc/wirelink/wirelink.wg0.yaml && chmod 0640 /etc/wirelink/wirelink.wg0.yaml
  mkdir -p "/etc/systemd/system/$unit.d"
  cat >"/etc/systemd/system/$unit.d/user.conf" <<CONF
[Service]
User=wirelink
Group=wirelink
SupplementaryGroups=wlops
AmbientCapabilities=CAP_NET_ADMIN
CapabilityBoundingSet=
CapabilityBoundingSet=CAP_NET_ADMIN
Environment=WIRELINK_CONFIG_PATH=/etc/wirelink
CONF
  systemctl daemon-reload
  score=$(systemd-analyze security --no-pager "$unit" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  echo "# systemd-analyze security $unit with User=wirelink: $score (as root: $score_root)"
  systemctl restart "$unit"
  check "with systemd User=wirelink the unit starts" active "$unit"
  check "  ... the daemon runs as wirelink" \
    eval 'grep -q "^Uid:[[:space:]]*$(id -u wirelink)[[:space:]]" /proc/$(mainpid)/status'
  check "  ... sees both leaves alive" wait_until 60 hub_alive
  check "  ... with only CAP_NET_ADMIN in its bounding set (the drop-in's, not the unit's too)" \
    eval '[ "$(awk "/^CapBnd:/ { print \$2 }" /proc/$(mainpid)/status)" = 0000000000001000 ]'
  check "  ... and answers the op user" eval 'runuser -u op -- wirelink status -i wg0 | grep -q "^wg0: "'
  journalctl -b -u "$unit" --no-pager -o cat _COMM=wirelink | tail -n 3 | sed 's/^/#   /'
  rm -r "/etc/systemd/system/$unit.d" /etc/wirelink
  systemctl daemon-reload
  systemctl restart "$unit"

  # A leaf on kernel WireGuard as User: wirelink keeps what it added (leaf
  # 2, learned from the hub) in its state file after the drop, across a
  # restart: what it added stays its own to take back.
  step "a leaf as wirelink"
  leaves_stop
  sleep 1
  leaf_wirelink 1 --user wirelink
  leaf_wirelink 2
  check_converges "leaf 1 running as wirelink converges" 90
  owned=/run/wl-l1/$(leaf_if 1)@ns$(ip netns exec l1 stat -L -c %i /proc/self/ns/net)/owned
  l2pub=$(wg pubkey <"$state/l2.key")
  check "  ... and keeps what it added (leaf 2 and its /32) in $owned, as wirelink" \
    wait_until 10 eval 'grep -q "^$l2pub 1 .*10\.10\.0\.3/32" "$owned" && [ "$(stat -c "%U %a" "$owned")" = "wirelink 600" ]'
  ip netns pids l1 | xargs -r kill
  sleep 1
  leaf_wirelink 1 --user wirelink
  check_converges "  ... restarted, it converges again" 90
  check "  ... and still holds leaf 2 as its own" eval 'grep -q "^$l2pub 1 " "$owned"'

  for n in 1 2; do echo "# leaf $n's log:"; sed 's/^/#   /' "$state/wl-l$n.log"; done

  step "reboot"
  leaves_stop
  echo 2 >"$state/phase"
  sync
  systemctl reboot --no-block
  exit 0
fi

# Phase 2, after the reboot (the firewall is the test's own, not kept).
hub_firewall
check "after the reboot wg-quick@wg0 is active" wait_until 60 active wg-quick@wg0.service
check "  ... and wl-quick@wg0 too" wait_until 60 active "$unit"
check "  ... running as wirelink" \
  eval 'grep -q "^Uid:[[:space:]]*$(id -u wirelink)[[:space:]]" /proc/$(mainpid)/status'
leaves_up
for n in 1 2; do leaf_wirelink $n; done
check_converges "  ... and the mesh converges" 90
check "  ... the hub sees both leaves alive" wait_until 60 hub_alive

step "remove and purge"
# A daemon started by hand on a second interface: not the units', so remove
# does not stop it, and purge must leave its files in /run/wirelink.
ip link add wg9 type wireguard && wg set wg9 private-key "$state/l1.key" listen-port 51830 &&
  ip link set wg9 up
/usr/sbin/wirelink -i wg9 >>"$state/wl-wg9.log" 2>&1 </dev/null &
handpid=$!
check "a daemon started by hand on wg9" wait_until 20 test -S /run/wirelink/wg9.sock
peers_before=$(wg show wg0 peers | sort)
apt-get remove -y -q wirelink >"$state/apt.log" 2>&1
check "apt-get remove wirelink" eval '! dpkg -s wirelink 2>/dev/null | grep -q "Status: install ok"'
check "  ... stops the daemon" inactive "$unit"
check "  ... keeps /etc/wireguard/wg0.conf and wirelink.wg0.yaml" \
  test -f /etc/wireguard/wg0.conf -a -f /etc/wireguard/wirelink.wg0.yaml
check "  ... keeps wg0 and its peers" test "$(wg show wg0 peers | sort)" = "$peers_before"
check "  ... removes /usr/sbin/wirelink" test ! -e /usr/sbin/wirelink
apt-get purge -y -q wirelink >>"$state/apt.log" 2>&1
check "apt-get purge wirelink" eval '! dpkg -l wirelink 2>/dev/null | grep -q "^[ri]"'
check "  ... removes the wirelink user and group" eval '! getent passwd wirelink && ! getent group wirelink'
check "  ... leaves the running hand-started daemon and its socket alone" \
  eval 'kill -0 "$handpid" && test -S /run/wirelink/wg9.sock'
kill "$handpid"; wait "$handpid" 2>/dev/null; ip link del wg9
check "  ... leaves the administrator's /etc/wireguard alone" \
  test -f /etc/wireguard/wg0.conf -a -f /etc/wireguard/wirelink.wg0.yaml
leaves_stop
finish
