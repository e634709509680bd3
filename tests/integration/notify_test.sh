#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# shyped's systemd readiness protocol without systemd: NOTIFY_SOCKET names a datagram socket this
# test listens on; READY=1 must arrive once the API socket accepts connections (checked the
# moment it arrives), and STOPPING=1 after SIGTERM. Without NOTIFY_SOCKET shyped starts as
# before. No guests.
source "$(dirname "$0")/lib.sh"

cat >"$T/notify.py" <<'EOF'
import os, signal, socket, subprocess, sys, time
shyped, state, log = sys.argv[1:4]
path = os.path.join(os.path.dirname(state), "notify.sock")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(path)
listener.settimeout(60)
env = dict(os.environ, NOTIFY_SOCKET=path)
daemon = subprocess.Popen([shyped, "--state-dir", state, "--isolated-instance",
                           "--config", "/dev/null"], env=env,
                          stdout=open(log, "ab"), stderr=subprocess.STDOUT)
def check(ok, what):
    print(("ok - " if ok else "FAIL - ") + what, flush=True)
try:
    first = listener.recv(4096).decode()
    api = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        api.connect(os.path.join(state, "shyped.sock"))
        connected = True
    except OSError as e:
        connected = False
        print("connect: %s" % e)
    check("READY=1" in first.split("\n"), "the first notification is READY=1: %r" % first)
    check(connected, "the API socket accepts connections when READY=1 arrives")
    check("STATUS=serving on" in first, "READY=1 comes with a STATUS line")
    api.close()
    daemon.send_signal(signal.SIGTERM)
    second = listener.recv(4096).decode()
    check("STOPPING=1" in second.split("\n"), "SIGTERM sends STOPPING=1: %r" % second)
    check(daemon.wait(30) == 0, "shyped exits 0 after SIGTERM")
except socket.timeout:
    check(False, "no notification within 60 s")
finally:
    if daemon.poll() is None:
        daemon.kill()
EOF

OUT="$(python3 "$T/notify.py" "$BUILD/bin/shyped" "$SHYPE_STATE_DIR" "$T/shyped.log" 2>&1)"
echo "$OUT"
while read -r line; do
  case "$line" in
    "ok - "*) pass "${line#ok - }" ;;
    "FAIL - "*) fail "${line#FAIL - }" ;;
  esac
done <<<"$OUT"
grep -q "^ok - the API socket accepts" <<<"$OUT" || { echo "shyped's log:"; cat "$T/shyped.log"; }

# Without NOTIFY_SOCKET: starts and serves as before (sd_notify is a no-op).
unset NOTIFY_SOCKET
"$BUILD/bin/shyped" --state-dir "$SHYPE_STATE_DIR" --isolated-instance --config /dev/null \
  >>"$T/shyped.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 300); do shype list >/dev/null 2>&1 && break; sleep 0.1; done
expect_rc 0 "without NOTIFY_SOCKET shyped serves" -- shype list

finish
