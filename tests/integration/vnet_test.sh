#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Virtual networks with real QEMU (TCG) guests on shype's switch (issue 11): on an unlabeled
# network two domains of one customer ping each other while a rival customer's domain on the
# same network receives not one of their frames (its interface's rx counter stays 0, broadcast
# included) and cannot reach them; a router-labeled domain reaches both. A labeled network
# refuses the rival at create, with the reason, audited. A policy update that splits the router
# from customer A is refused naming the sharing; with --revoke the router's pings to customer A
# stop while those to customer B go on, audited. At most 4 guests at once.
source "$(dirname "$0")/lib.sh"

start_daemon
expect_rc 0 "setpolicy installs the cloud policy" -- shype setpolicy "$SRC/tests/data/policies/shype-cloud.xml"

b64() { printf '%s' "$1" | base64 -w0; }
# guest NAME LABEL IP SCRIPT: a config whose guest brings eth0 up as IP/24 on vnet lan, then runs
# SCRIPT (MAC 52:54:00:00:00:<last byte of IP>).
guest() {
  local name="$1" label="$2" ip="$3" script="$4" last
  last="$(printf '%02x' "${ip##*.}")"
  domain_config "$name" "$label" "vif = [ 'vnet=lan,mac=52:54:00:00:00:$last' ]" >/dev/null
  local cmd="ip addr add $ip/24 dev eth0 && ip link set eth0 up && echo $name-UP; $script"
  sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=$name shype.run=$(b64 "$cmd")\"|" "$T/$name.cfg"
}
# Pings IP until it answers (at most N tries), then prints NAME-PING-TAG=rc of a last 3 pings.
reach() { echo "n=0; until ping -c 1 -W 1 $1 >/dev/null 2>&1; do n=\$((n+1)); [ \$n -ge ${3:-30} ] && break; done; ping -c 3 -W 2 $1 >/dev/null 2>&1; echo PING-$2=\$?"; }

RX=/sys/class/net/eth0/statistics/rx_packets
guest rivalb CustomerB 10.0.0.3 "while true; do echo RIVAL-RX=\$(cat $RX); sleep 1; done"
guest a2 CustomerA 10.0.0.2 "true"
guest a1 CustomerA 10.0.0.1 "$(reach 10.0.0.2 A1-A2 60); $(reach 10.0.0.3 A1-B 5)"
# After its checks the router keeps pinging both customers (for the revocation at the end).
ROUTER_LOOP="while true; do ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 && echo R-A1-OK || echo R-A1-LOST; ping -c 1 -W 1 10.0.0.3 >/dev/null 2>&1 && echo R-B-OK || echo R-B-LOST; sleep 0.3; done"
guest router Router 10.0.0.254 "$(reach 10.0.0.1 R-A1 60); $(reach 10.0.0.3 R-B 60); $ROUTER_LOOP"

expect_rc 0 "create the rival customer's domain" -- shype create "$T/rivalb.cfg"
wait_console rivalb "rivalb-UP" 60 && pass "rivalb is up on lan" || fail "rivalb console: $OUT"
expect_rc 0 "create a2" -- shype create "$T/a2.cfg"
expect_rc 0 "create a1" -- shype create "$T/a1.cfg"
if wait_console a1 "PING-A1-B=" 120; then pass "a1 ran its pings"; else fail "a1 console: $OUT"; fi
expect_out "PING-A1-A2=0" "two domains of one customer ping each other over the switch"
expect_out "PING-A1-B=[1-9]" "the rival customer's domain cannot be reached"
sleep 2  # let the rival print its counter after a1's last frames
wait_console rivalb "RIVAL-RX=" 10
last_rx="$(grep -oE 'RIVAL-RX=[0-9]+' <<<"$OUT" | tail -1)"
[ "$last_rx" = "RIVAL-RX=0" ] && pass "the rival's NIC received no frame at all, not one ARP ($last_rx)" \
  || fail "the rival's NIC received frames: $last_rx"
expect_rc 0 "vnet show lan" -- shype vnet show lan --json
rival_tx="$(python3 -c 'import json,sys; d=json.load(sys.stdin); print([p["tx_frames"] for p in d["ports"] if p["domain"]=="rivalb"][0])' <<<"$OUT")"
[ "$rival_tx" = 0 ] && pass "the switch delivered nothing to the rival's port" || fail "rival port tx_frames=$rival_tx"

expect_rc 0 "create the router" -- shype create "$T/router.cfg"
if wait_console router "PING-R-B=" 120; then pass "the router ran its pings"; else fail "router console: $OUT"; fi
expect_out "PING-R-A1=0" "the router reaches customer A"
expect_out "PING-R-B=0" "the router reaches customer B"
expect_rc 0 "vnet show lan" -- shype vnet show lan
expect_out "^ +[0-9]+ +rivalb +52:54:00:00:00:03 +up .* router$" "the rival reaches the router only"
expect_out "^ +[0-9]+ +a1 +.* a2,router$|^ +[0-9]+ +a1 +.* router,a2$" "a1 reaches a2 and the router"
expect_rc 0 "vnet list" -- shype vnet list
expect_out "^lan +4 " "vnet list shows lan with 4 ports"

# --- a labeled network refuses the rival at create, with the reason, audited ---
expect_rc 0 "label network anet for customer A" -- shype addlabel ANet res vnet:anet
domain_config b2 CustomerB "vif = [ 'vnet=anet' ]" >/dev/null
expect_rc 1 "a customer B domain is refused on customer A's network" -- shype create "$T/b2.cfg"
expect_out "vnet:anet" "the refusal names the network"
expect_out "ANet" "the refusal names the network's label"
expect_rc 0 "list" -- shype list
expect_no_out "^b2 " "nothing was started for b2"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out 'vnet:anet' "the refusal is audited, naming the network"

# --- the end of a domain closes its port ---
expect_rc 0 "destroy a2" -- shype destroy a2
expect_rc 0 "vnet show lan" -- shype vnet show lan --json
expect_no_out '"domain": ?"a2"' "a2's port went with it"

# --- hotplug: network-attach after the checks of create; network-detach cuts the NIC off ---
domain_config c1 CustomerA >/dev/null
C1_CMD="until [ -e /sys/class/net/eth0 ]; do sleep 0.2; done; echo C1-NIC-UP; ip addr add 10.0.0.12/24 dev eth0 && ip link set eth0 up; $(reach 10.0.0.1 C1-A1 60); until [ ! -e /sys/class/net/eth0 ]; do sleep 0.2; done; echo C1-NIC-GONE"
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=c1 shype.run=$(b64 "$C1_CMD")\"|" "$T/c1.cfg"
expect_rc 0 "create c1 without a NIC" -- shype create "$T/c1.cfg"
expect_rc 1 "network-attach of the rival to customer A's network is refused" -- shype network-attach rivalb vnet=anet
expect_out "vnet:anet" "the refusal names the network"
expect_out "ANet" "the refusal names the network's label"
expect_rc 0 "network-attach c1 to lan" -- shype network-attach c1 "vnet=lan,mac=52:54:00:00:00:0c"
expect_out "Attached nic-0 \(52:54:00:00:00:0c\)" "network-attach names the device and MAC"
if wait_console c1 "PING-C1-A1=" 120; then pass "c1 ran its ping"; else fail "c1 console: $OUT"; fi
expect_out "C1-NIC-UP" "the hot-plugged NIC appeared in the guest"
expect_out "PING-C1-A1=0" "the hot-plugged NIC reaches a domain of its coalition"
expect_rc 0 "network-detach c1 lan" -- shype network-detach c1 lan
if wait_console c1 "C1-NIC-GONE" 60; then pass "the NIC disappeared from the guest"; else fail "c1 console: $OUT"; fi
expect_rc 0 "vnet show lan" -- shype vnet show lan --json
expect_no_out '"domain": ?"c1"' "c1's port went with the detach"

# --- a live policy update that splits the router from customer A: refused, then revoked ---
wait_console router "R-A1-OK" 30 && pass "the router pings customer A" || fail "router console: $OUT"
# Version 1.1: the router loses customer A's type, so it may no longer share lan's frames with a1.
cloud_1_1 's|(<Name>Router</Name>\s*<SimpleTypeEnforcementTypes>\s*)<Type>CustomerA</Type>\s*|$1|' "$T/cloud-1.1.xml"
expect_rc 1 "the update is refused while the router and a1 share the network" -- shype setpolicy "$T/cloud-1.1.xml"
expect_out "network sharing" "the refusal lists the network sharing"
expect_out "a1" "the refusal names a1"
expect_rc 0 "setpolicy --revoke closes the pair and commits" -- shype setpolicy --revoke "$T/cloud-1.1.xml"
revoked_at="$(shype console router --log 2>&1 | grep -cE 'R-A1-(OK|LOST)')"
sleep 8  # past the iteration in flight at the revocation, then two or more whole ones
after="$(shype console router --log 2>&1 | grep -E 'R-(A1|B)-(OK|LOST)' | tail -n +"$((2 * revoked_at + 5))")"
if [ -n "$after" ] && ! grep -q R-A1-OK <<<"$after" && grep -q R-A1-LOST <<<"$after"; then
  pass "the router's pings to a1 stop at the revocation"
else
  fail "router pings after the revocation: $(tr '\n' ' ' <<<"$after")"
fi
grep -q R-B-OK <<<"$after" && pass "the router still reaches customer B (only the forbidden pair was closed)" \
  || fail "router pings to B after the revocation: $(tr '\n' ' ' <<<"$after")"
expect_rc 0 "vnet show lan" -- shype vnet show lan
expect_out "^ +[0-9]+ +router +.* rivalb$" "the router's port now reaches the rival only"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out 'revoked: network sharing' "the revocation of the pair is audited"
finish
