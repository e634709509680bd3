#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The API's edge, attacked through the real shyped: bytes that are not UTF-8 in a query, a path
# segment, a body, a file name (each refused with the field named, nothing half-created, shyped
# still serving and restartable); the request timeout, the connection cap and file-descriptor
# exhaustion (no busy loop, no log flood, serving again afterwards); and a guest printing 0xFF
# (its console log stays readable, byte for byte). Boots one guest, at the end.
source "$(dirname "$0")/lib.sh"

STATE="$SHYPE_STATE_DIR"
SOCK="$STATE/shyped.sock"
IMAGES=(--image-dir "$GUEST")

# api METHOD TARGET [BODY]: curl on the socket; $OUT is the status line's code, then the body.
api() {
  local data=()
  [ $# -ge 3 ] && data=(-H 'Content-Type: application/json' --data-binary "$3")
  rm -f "$T/reply"
  OUT="$(curl -s --max-time 10 --unix-socket "$SOCK" -X "$1" -o "$T/reply" -w '%{http_code}' \
    "${data[@]}" "http://shyped$2")"
  OUT="$OUT $(cat "$T/reply" 2>/dev/null)"
}

# Raw sockets for what curl will not send (raw bytes, nothing at all, one byte at a time).
cat >"$T/raw.py" <<'EOF'
import socket, sys, time
def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s
def until_closed(s):
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        out += b
    return out
mode, path = sys.argv[1], sys.argv[2]
if mode == "send":  # send the bytes given as hex, print the reply (non-ASCII escaped)
    s = conn(path)
    s.sendall(bytes.fromhex(sys.argv[3]))
    print(until_closed(s).decode("latin-1").encode("unicode_escape").decode())
elif mode == "idle-read":  # connect, send nothing: what shyped sends, and when it closed
    s = conn(path); t = time.time()
    reply = until_closed(s).decode("latin-1").encode("unicode_escape").decode()
    print("%d %s" % ((time.time() - t) * 1000, reply))
elif mode == "idle":  # connect, send nothing: seconds until shyped closes
    s = conn(path); t = time.time(); until_closed(s); print("%.2f" % (time.time() - t))
elif mode == "slow":  # a header one byte every 0.3 s: seconds until shyped closes
    s = conn(path); t = time.time()
    try:
        for c in b"GET /v1/version HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa":
            s.send(bytes([c])); time.sleep(0.3)
        until_closed(s)
    except (BrokenPipeError, ConnectionResetError):
        pass
    print("%.2f" % (time.time() - t))
elif mode == "hold":  # N served keep-alive connections, held until this process is killed
    n, ready = int(sys.argv[3]), sys.argv[4]
    held = []
    for _ in range(n):
        s = conn(path)
        s.sendall(b"GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(65536)
        held.append(s)
    open(ready, "w").write("%d\n" % len(held))
    time.sleep(120)
elif mode == "flood":  # N connections that send nothing, held until killed
    n, ready = int(sys.argv[3]), sys.argv[4]
    held = [conn(path) for _ in range(n)]
    open(ready, "w").write("%d\n" % len(held))
    time.sleep(120)
EOF
RAW=(python3 "$T/raw.py")  # an array, not a function: `"${RAW[@]}" ... &` makes $! python's pid

stop_daemon() { kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""; }
restart_daemon() { stop_daemon; start_daemon "${IMAGES[@]}" "$@"; }

# cpu_ticks PID: user + system time of PID, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

serving() {
  expect_rc 0 "$1" -- shype list
  expect_out "^Domain-0 " "$1: lists Domain-0"
}

start_daemon "${IMAGES[@]}"
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/examples/policies/shype-demo.xml"
CFG="$(domain_config edge1 Bank)"
CONFIG_JSON="$(python3 -c 'import json,sys; print(json.dumps({"config": open(sys.argv[1]).read()}))' "$CFG")"

# --- a non-UTF-8 byte in a query: refused before the handler acts ---
api POST "/v1/domains?path=%FF.cfg" "$CONFIG_JSON"
expect_out "^400 " "?path=%FF.cfg is answered 400"
expect_out "query parameter 'path' is not valid UTF-8 text \(byte 0xFF at offset 0" "the refusal names the parameter and the byte"
expect_rc 0 "list after the bad query" -- shype list
expect_no_out "edge1" "no domain was created (none left in 'creating')"
if [ -z "$(ls -A "$STATE/run" 2>/dev/null)" ]; then pass "no run directory was left behind"
else fail "run directory left: $(ls -A "$STATE/run")"; fi
expect_rc 1 "destroy of the never-created domain is a clean 'not found'" -- shype destroy edge1
api POST "/v1/domains?path=a%00b.cfg" "$CONFIG_JSON"
expect_out "^400 .*query parameter 'path' contains a NUL byte" "a NUL in a query value is refused"
api GET "/v1/resource-labels?resource=file%3A%2Ftmp%2F%E9.img"
expect_out "^400 .*query parameter 'resource' is not valid UTF-8" "a Latin-1 resource name in a query is refused"
api GET "/v1/labels?type=dom&policy=%4"
expect_out "^400 .*malformed percent-escape" "a malformed percent-escape is refused"

# --- in a path segment, raw in the target, in the body ---
api GET "/v1/domains/%FF"
expect_out "^400 .*path parameter 'name' is not valid UTF-8" "a non-UTF-8 path segment is refused naming it"
api POST "/v1/domains/%C0%AF/destroy"
expect_out "^400 .*path parameter 'name' is not valid UTF-8" "an overlong UTF-8 path segment is refused"
OUT="$("${RAW[@]}" send "$SOCK" "$(printf 'GET /v1/domains/\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | od -An -tx1 | tr -d ' \n')")"
expect_out "^HTTP/1.1 400 .*byte 0xFF at offset 12" "a raw 0xFF byte in the target is refused"
BODY="$(printf '{"config": "x", "path": "\xff.cfg"}')"
OUT="$("${RAW[@]}" send "$SOCK" "$(printf 'POST /v1/domains HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s' "${#BODY}" "$BODY" | od -An -tx1 | tr -d ' \n')")"
expect_out "^HTTP/1.1 400 .*the request body is not valid UTF-8 text" "a non-UTF-8 byte in a body is a clean 400"
api GET "/v1/audit?tail=abc"
expect_out "^400 .*query parameter 'tail' must be a number of lines" "a bad audit tail is a 400, not a silent 0"
expect_rc 2 "shype audit -n -1 is refused by shyped" -- shype audit -n -1
expect_out "query parameter 'tail' must be a number of lines 0..1000000, got '-1'" "the CLI shows why"
serving "shyped still serves after the bad bytes"

# --- the CLI with a Latin-1 file name, Latin-1 contents, a Latin-1 resource name ---
LATIN="$T/caf$(printf '\xe9').cfg"
cp "$CFG" "$LATIN"
expect_rc 2 "create with a Latin-1 file name is refused (exit 2, no abort)" -- shype create "$LATIN"
expect_out "the file name is not valid UTF-8 text \(byte 0xE9 at offset" "the CLI names the file name and the byte"
expect_rc 2 "dry-run with a Latin-1 file name is refused" -- shype dry-run "$LATIN"
expect_rc 2 "create --json with a Latin-1 file name prints a JSON error" -- shype --json create "$LATIN"
if python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$OUT"; then pass "the --json error is valid JSON"
else fail "the --json error is not JSON: $OUT"; fi
printf '# caf\xe9 in Latin-1\n' >>"$T/latin-contents.cfg"; cat "$CFG" >>"$T/latin-contents.cfg"
expect_rc 2 "create of a config with Latin-1 contents is refused" -- shype create "$T/latin-contents.cfg"
expect_out "the contents of '.*latin-contents.cfg' is not valid UTF-8" "the CLI names the file whose contents are bad"
expect_rc 2 "addlabel of a Latin-1 resource name is refused" -- shype addlabel res_Bank res "file:$T/$(printf '\xe9').img"
expect_out "resource.label.add: field 'resource' is not valid UTF-8 text" "the CLI names the parameter"
expect_rc 0 "resources after the refusal" -- shype resources
expect_no_out "img" "nothing was labeled"

# --- shyped restarts after all of it ---
restart_daemon
serving "shyped restarts after the bad-bytes attacks"

# --- the request timeout: idle connections, a header sent slowly; streams exempt ---
restart_daemon --api-request-timeout 1
IDLE="$("${RAW[@]}" idle "$SOCK")"
if awk -v t="$IDLE" 'BEGIN {exit !(t >= 0.8 && t <= 3)}'; then pass "a connection that sends nothing is closed after the 1 s timeout ($IDLE s)"
else fail "idle connection closed after $IDLE s (wanted about 1 s)"; fi
SLOW="$("${RAW[@]}" slow "$SOCK")"
if awk -v t="$SLOW" 'BEGIN {exit !(t <= 3)}'; then pass "a header sent byte by byte is dropped ($SLOW s)"
else fail "a slow header held its connection for $SLOW s"; fi
shype audit --follow --json -n 0 >"$T/follow.log" 2>&1 &
FOLLOW=$!
EXTRA_PIDS="$FOLLOW"
sleep 2.5
if kill -0 "$FOLLOW" 2>/dev/null; then pass "audit --follow outlives the request timeout while it streams"
else fail "audit --follow ended: $(cat "$T/follow.log")"; fi
kill "$FOLLOW" 2>/dev/null; wait "$FOLLOW" 2>/dev/null
serving "shyped serves after the timeouts"

# --- the connection cap ---
restart_daemon --api-max-connections 4
"${RAW[@]}" hold "$SOCK" 4 "$T/held" &
HOLD=$!
EXTRA_PIDS="$HOLD"
wait_file "$T/held" "^4$" 10 || fail "could not open 4 connections"
OUT="$("${RAW[@]}" idle-read "$SOCK")"
WAITED_MS="${OUT%% *}"
expect_out "^[0-9]+ HTTP/1.1 503 .*shyped is busy: 4 API connections are open \(the limit\)" "a 5th connection is answered 503"
if [ "$WAITED_MS" -lt 1500 ]; then pass "... and closed at once (${WAITED_MS} ms after connecting)"
else fail "the 5th connection was held ${WAITED_MS} ms"; fi
expect_rc 2 "the CLI says shyped is busy" -- shype list
expect_out "shyped is busy" "the CLI shows the 503's message"
kill "$HOLD"; wait "$HOLD" 2>/dev/null
sleep 0.3
serving "shyped serves again once connections closed"

# --- out of file descriptors: no busy loop, no log flood, serving afterwards ---
restart_daemon --api-max-connections 1000
FDS="$(ls "/proc/$DAEMON_PID/fd" | wc -l)"
prlimit --pid "$DAEMON_PID" --nofile=$((FDS + 4)):$((FDS + 4))
LINES_BEFORE="$(wc -l <"$T/shyped.log")"
"${RAW[@]}" flood "$SOCK" 40 "$T/flooded" &
FLOOD=$!
EXTRA_PIDS="$FLOOD"
wait_file "$T/flooded" "^40$" 10 || fail "could not open 40 connections"
TICKS0="$(cpu_ticks "$DAEMON_PID")"
sleep 3
TICKS1="$(cpu_ticks "$DAEMON_PID")"
HZ="$(getconf CLK_TCK)"
USED=$((TICKS1 - TICKS0))
if [ "$USED" -le $((HZ * 3 / 10)) ]; then pass "shyped out of descriptors uses $USED ticks of CPU in 3 s (no busy loop)"
else fail "shyped used $USED ticks ($HZ per second) of CPU in 3 s while out of descriptors"; fi
LOGGED=$(($(wc -l <"$T/shyped.log") - LINES_BEFORE))
if [ "$LOGGED" -le 3 ]; then pass "the accept failures are logged rate-limited ($LOGGED lines)"
else fail "$LOGGED log lines while out of descriptors"; fi
if grep -q "accept failed: Too many open files" "$T/shyped.log"; then pass "the log says why accept() fails"
else fail "no accept failure logged: $(tail -5 "$T/shyped.log")"; fi
kill "$FLOOD"; wait "$FLOOD" 2>/dev/null
sleep 0.5
serving "shyped serves again once descriptors are free"
restart_daemon  # its own descriptor limit again

# --- a guest printing 0xFF: its console log stays readable, byte for byte ---
if [ -f "$GUEST/vmlinuz" ]; then
  CMD="$(printf '%s' "printf 'FF-BEGIN\377FF-END\n'" | base64 -w0)"
  sed -i "s|^extra = .*|extra = \"console=ttyS0 shype.run=$CMD\"|" "$CFG"
  expect_rc 0 "create a guest that prints a 0xFF byte" -- shype create "$CFG"
  if wait_console edge1 "SHYPE-RUN-END" 90; then pass "the console log is readable after the guest printed 0xFF"
  else fail "console log: $OUT"; fi
  if shype console edge1 --log | LC_ALL=C grep -aq "$(printf 'FF-BEGIN\377FF-END')"; then
    pass "shype console --log prints the exact bytes (0xFF included)"
  else fail "the 0xFF byte did not come through: $(shype console edge1 --log | grep -a FF-BEGIN | od -c | head -3)"; fi
  api GET /v1/domains/edge1/console-log
  if sed 's/^200 //' <<<"$OUT" | python3 -c 'import base64,json,sys; sys.exit(b"FF-BEGIN\xffFF-END" not in base64.b64decode(json.load(sys.stdin)["log_base64"]))'; then
    pass "the API carries the console log as base64 of the exact bytes"
  else fail "console-log reply: ${OUT:0:300}"; fi
  expect_rc 0 "destroy the guest" -- shype destroy edge1
else
  fail "no guest image in $GUEST (build the guest_image target)"
fi

restart_daemon
serving "shyped restarts at the end"
finish
