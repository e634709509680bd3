#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Shared memory and doorbells with real QEMU (TCG) guests (issue 11): two domains of one customer
# join region vault (labeled AMem); what one writes the other reads, and a doorbell rung by one
# wakes the other (a real MSI-X interrupt in the guest, through shyped's ivshmem server). A rival
# customer's domain is refused the region at create, with the reason, audited, and nothing of it
# starts; shm-attach refuses it too, admits a customer-A domain (which reads the region), and
# shm-detach takes the region out of the guest. The region outlives a peer. A policy update that
# splits the region's peers is refused, and with --revoke the router's region is unplugged and
# each revocation audited. At most 4 guests.
source "$(dirname "$0")/lib.sh"

start_daemon
expect_rc 0 "setpolicy installs the cloud policy" -- shype setpolicy "$SRC/tests/data/policies/shype-cloud.xml"
expect_rc 0 "label region vault for customer A" -- shype addlabel AMem res shm:vault

b64() { printf '%s' "$1" | base64 -w0; }
# guest NAME LABEL SCRIPT: a config with region vault (64 KiB) whose guest runs SCRIPT.
guest() {
  domain_config "$1" "$2" "shm = [ 'name=vault,size=64K' ]" >/dev/null
  sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=$1 shype.run=$(b64 "$3")\"|" "$T/$1.cfg"
}
# a1 waits for a doorbell (the wait is open before anything is written, so no ring is missed),
# then writes; a2 reads until it sees a1's text, then rings a1 (peer 0).
guest a1 CustomerA "echo A1-ID=\$(shype-guest shm id); (shype-guest shm wait 120; echo A1-WAIT-RC=\$?) & sleep 1; shype-guest shm write hello-from-a1 && echo A1-WROTE; wait"
guest a2 CustomerA "echo A2-ID=\$(shype-guest shm id); n=0; until [ \"\$(shype-guest shm read)\" = hello-from-a1 ]; do n=\$((n+1)); [ \$n -ge 100 ] && break; sleep 0.2; done; echo A2-READ=\$(shype-guest shm read); shype-guest shm ring 0 && echo A2-RANG"
guest b1 CustomerB "echo B1-RAN"

expect_rc 0 "create a1 with region vault" -- shype create "$T/a1.cfg"
wait_console a1 "A1-WROTE" 90 && pass "a1 wrote into the region" || fail "a1 console: $OUT"
expect_out "A1-ID=0" "a1 is the region's peer 0"
expect_rc 0 "create a2 with region vault" -- shype create "$T/a2.cfg"
wait_console a2 "A2-RANG" 120 && pass "a2 ran" || fail "a2 console: $OUT"
expect_out "A2-ID=1" "a2 is the region's peer 1"
expect_out "A2-READ=hello-from-a1" "a2 reads what a1 wrote: one region, two domains"
wait_console a1 "A1-WAIT-RC=" 60 && pass "a1's wait ended" || fail "a1 console: $OUT"
expect_out "doorbell 1" "a2's doorbell woke a1 (one interrupt)"
expect_out "A1-WAIT-RC=0" "a1's wait ended by the interrupt, not by its timeout"

# --- a rival customer is refused the region at create, with the reason, audited ---
expect_rc 1 "a customer B domain is refused customer A's region" -- shype create "$T/b1.cfg"
expect_out "shm:vault" "the refusal names the region"
expect_out "AMem" "the refusal names the region's label"
expect_rc 0 "list" -- shype list
expect_no_out "^b1 " "nothing was started for b1"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out 'shm:vault' "the refusal is audited, naming the region"

expect_rc 0 "shm list" -- shype shm list
expect_out "^vault +65536 +0=a1,1=a2$" "shm list shows the region and its two peers"

# --- the region outlives a peer ---
expect_rc 0 "destroy a1" -- shype destroy a1
expect_rc 0 "list" -- shype list
expect_out "^a2 " "a2 runs on with the region"

# --- hotplug: shm-attach after the checks of create; shm-detach takes the region away ---
domain_config b2 CustomerB >/dev/null
expect_rc 0 "create b2 (customer B) without a region" -- shype create "$T/b2.cfg"
expect_rc 1 "shm-attach of customer A's region to b2 is refused" -- shype shm-attach b2 name=vault,size=64K
expect_out "shm:vault" "the refusal names the region"
expect_out "AMem" "the refusal names the region's label"
domain_config c1 CustomerA >/dev/null
C1_CMD="until ls /dev/ivshmem-* >/dev/null 2>&1; do sleep 0.2; done; echo C1-SHM-UP; echo C1-READ=\$(shype-guest shm read); until ! ls /dev/ivshmem-* >/dev/null 2>&1; do sleep 0.2; done; echo C1-SHM-GONE"
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=c1 shype.run=$(b64 "$C1_CMD")\"|" "$T/c1.cfg"
expect_rc 0 "create c1 (customer A) without a region" -- shype create "$T/c1.cfg"
wait_console c1 "SHYPE-RUN-BEGIN" 90 && pass "c1 is up" || fail "c1 console: $OUT"
expect_rc 0 "shm-attach the region to c1" -- shype shm-attach c1 name=vault,size=64K
expect_out "Attached shm-0 to c1" "shm-attach names the device"
wait_console c1 "C1-READ=" 60 && pass "the region appeared in c1" || fail "c1 console: $OUT"
expect_out "C1-READ=hello-from-a1" "c1 reads what the region holds: the memory a2 still maps"
expect_rc 0 "shm-detach c1 vault" -- shype shm-detach c1 vault
wait_console c1 "C1-SHM-GONE" 60 && pass "the region disappeared from c1" || fail "c1 console: $OUT"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out '"b2"' "the hotplug refusal is audited"

# --- a live policy update that splits the region's peers: refused, then revoked ---
domain_config r1 Router "shm = [ 'name=vault,size=64K' ]" >/dev/null
R1_CMD="until ls /dev/ivshmem-* >/dev/null 2>&1; do sleep 0.2; done; echo R1-SHM-UP; until ! ls /dev/ivshmem-* >/dev/null 2>&1; do sleep 0.2; done; echo R1-SHM-GONE"
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=r1 shype.run=$(b64 "$R1_CMD")\"|" "$T/r1.cfg"
expect_rc 0 "create the router with region vault" -- shype create "$T/r1.cfg"
wait_console r1 "R1-SHM-UP" 90 && pass "the router maps the region" || fail "r1 console: $OUT"
# Version 1.1: the router loses customer A's type, so it may no longer share vault with a2.
cloud_1_1 's|(<Name>Router</Name>\s*<SimpleTypeEnforcementTypes>\s*)<Type>CustomerA</Type>\s*|$1|' "$T/cloud-1.1.xml"
expect_rc 1 "the update is refused while the router shares the region" -- shype setpolicy "$T/cloud-1.1.xml"
expect_out "r1" "the refusal names the router's sharing"
expect_rc 0 "getpolicy" -- shype getpolicy
expect_out "1\.0" "nothing changed: version 1.0 is still enforced"
expect_rc 0 "setpolicy --revoke tears the router's sharings down and commits" -- shype setpolicy --revoke "$T/cloud-1.1.xml"
wait_console r1 "R1-SHM-GONE" 60 && pass "the region disappeared from the router" || fail "r1 console: $OUT"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out 'revoked: use of shm:vault' "the revocation of the router's region is audited"
expect_out 'revoked: shared-memory sharing' "the revocation of its pair with a2 is audited"
for d in a2 b2 c1 r1; do expect_rc 0 "destroy $d" -- shype destroy "$d"; done
finish
