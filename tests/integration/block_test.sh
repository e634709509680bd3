#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Disk hotplug with a real QEMU (TCG) guest (issue 11): block-attach of another customer's disk
# is refused with the reason, audited, and never appears in the guest; block-attach of a
# permitted disk appears in /proc/partitions, the guest reads it and writes into it (the host
# sees the bytes); block-detach takes it out of the guest. A policy update that takes the disk
# from the domain is refused naming the sharing; with --revoke the disk disappears from the
# guest and the revocation is audited. One guest.
source "$(dirname "$0")/lib.sh"

start_daemon
expect_rc 0 "setpolicy installs the cloud policy" -- shype setpolicy "$SRC/tests/data/policies/shype-cloud.xml"
mkdir -p "$T/img"
for c in A B; do
  { printf 'CUSTOMER-%s-DISK' "$c"; head -c $((1024 * 1024 - 15)) /dev/zero; } >"$T/img/$c.img"
done
expect_rc 0 "label A.img for customer A" -- shype addlabel ADisk res "file:$T/img/A.img"
expect_rc 0 "label B.img for customer B" -- shype addlabel BDisk res "file:$T/img/B.img"

b64() { printf '%s' "$1" | base64 -w0; }
# The guest reports each disk that appears in /proc/partitions and disappears again, reads the
# first bytes of each new one and writes its mark at 512 of a writable one.
A1_CMD='seen=none; while true; do now=$(grep -o "vd[a-z]*" /proc/partitions | tr "\n" " "); if [ "$now" != "$seen" ]; then echo "A1-DISKS=[$now]"; for d in $now; do case " $seen " in *" $d "*) ;; *) echo "A1-READ-$d=$(head -c 15 /dev/$d)"; printf A1-WAS-HERE | dd of=/dev/$d bs=1 seek=512 conv=notrunc 2>/dev/null && sync && echo "A1-WROTE-$d";; esac; done; seen="$now"; fi; sleep 0.2; done'
domain_config a1 CustomerA >/dev/null
sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.name=a1 shype.run=$(b64 "$A1_CMD")\"|" "$T/a1.cfg"
expect_rc 0 "create a1 (customer A) without disks" -- shype create "$T/a1.cfg"
wait_console a1 "A1-DISKS=\[\]" 90 && pass "a1 is up and has no disk" || fail "a1 console: $OUT"

# --- another customer's disk: refused with the reason, audited, never in the guest ---
expect_rc 1 "block-attach of customer B's disk to a1 is refused" -- shype block-attach a1 "file:$T/img/B.img" xvdb w
expect_out "B.img" "the refusal names the disk"
expect_out "BDisk" "the refusal names the disk's label"
expect_rc 1 "the tap:aio: spelling of it is refused too" -- shype block-attach a1 "tap:aio:$T/img/B.img" xvdb r
expect_rc 1 "a pseudo file is refused" -- shype block-attach a1 "file:/proc/self/environ" xvdb r
expect_rc 2 "a comma smuggling a second field is refused at the API's edge" -- shype block-attach a1 "file:$T/img/A.img,xvdc" xvdb w
sleep 1
expect_rc 0 "a1's console" -- shype console a1 --log
expect_no_out "A1-DISKS=\[vd" "no disk appeared in a1"
expect_rc 0 "audit" -- shype audit --json
expect_out 'B.img' "the refusal is audited, naming the disk"

# --- a permitted disk: appears, is read and written, then detached ---
expect_rc 0 "block-attach of customer A's disk, writable" -- shype block-attach a1 "file:$T/img/A.img" xvdb w
expect_out "Attached xvdb \(vd-disk0\) to a1" "block-attach names the device"
wait_console a1 "A1-WROTE-vda" 60 && pass "the disk appeared in a1's /proc/partitions" || fail "a1 console: $OUT"
expect_out "A1-READ-vda=CUSTOMER-A-DISK" "a1 reads customer A's disk"
if dd if="$T/img/A.img" bs=1 skip=512 count=11 2>/dev/null | grep -q A1-WAS-HERE; then
  pass "the host sees what a1 wrote: the one file, writable"
else
  fail "A.img at 512: $(dd if="$T/img/A.img" bs=1 skip=512 count=11 2>/dev/null | od -c | head -2)"
fi
expect_rc 0 "info a1" -- shype info a1 --json
expect_out '"vdev": ?"xvdb"' "info lists the disk by its vdev"
expect_out "A.img" "info lists the disk's file among a1's resources"
expect_rc 0 "block-detach a1 xvdb" -- shype block-detach a1 xvdb
wait_seq a1 "A1-DISKS=\[\].*A1-DISKS=\[vda \].*A1-DISKS=\[\]" 60 && pass "the disk disappeared from a1" || fail "a1 console: $OUT"
expect_rc 1 "block-detach of a disk a1 no longer has" -- shype block-detach a1 xvdb
expect_out "no disk 'xvdb'" "the error names the vdev"

# --- a policy update that takes the disk from a1: refused, then revoked ---
expect_rc 0 "block-attach customer A's disk again, read-only" -- shype block-attach a1 "file:$T/img/A.img" xvdc r
wait_seq a1 "A1-READ-vda=.*A1-READ-vda=CUSTOMER-A-DISK" 60 && pass "it is back in a1" || fail "a1 console: $OUT"
sleep 2
OUT="$(shype console a1 --log 2>&1)"
[ "$(grep -o 'A1-WROTE-vda' <<<"$OUT" | wc -l)" = 1 ] && pass "a1 cannot write the read-only disk" \
  || fail "a1 wrote the read-only disk: $(grep -o 'A1-[A-Z]*-vda[^ ]*' <<<"$OUT" | tr '\n' ' ')"
# Version 1.1: label ADisk now carries customer B's type, so a1 may no longer use A.img.
cloud_1_1 's|(<Name>ADisk</Name>\s*<SimpleTypeEnforcementTypes>\s*)<Type>CustomerA</Type>|$1<Type>CustomerB</Type>|' "$T/cloud-1.1.xml"
expect_rc 1 "the update is refused while a1 uses the disk" -- shype setpolicy "$T/cloud-1.1.xml"
expect_out "A.img" "the refusal names the disk sharing"
expect_rc 0 "setpolicy --revoke takes the disk away and commits" -- shype setpolicy --revoke "$T/cloud-1.1.xml"
wait_seq a1 "A1-DISKS=\[\].*A1-DISKS=\[vda \].*A1-DISKS=\[\].*A1-DISKS=\[vda \].*A1-DISKS=\[\]" 60 && pass "the revoked disk disappeared from a1" || fail "a1 console: $OUT"
sleep 0.5
expect_rc 0 "audit" -- shype audit --json
expect_out 'revoked: use of file:.*A.img' "the revocation is audited"
expect_rc 0 "list" -- shype list
expect_out "^a1 .*running" "a1 runs on without the disk (a revocation never kills a domain)"
expect_rc 1 "block-attach of the disk is refused under the new policy" -- shype block-attach a1 "file:$T/img/A.img" xvdd r
expect_rc 0 "destroy a1" -- shype destroy a1
finish
