#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# `shype web` against a real shyped, driven with curl as a browser would (docs/web.md): the
# attacks first — no token, a wrong token, no cookie, another Host (DNS rebinding), a cross-site
# Origin or Sec-Fetch-Site, no CSRF header, traversal out of the UI bundle, domain.save, config
# names with '/' or '..', an oversized body — then the token login, operations forwarded with
# shyped's own replies, the audit feed (SSE) delivering a resource label's record, the configs
# listed and started, the feed ending when shyped stops, and Ctrl-C. No guests.
source "$(dirname "$0")/lib.sh"

mkdir -p "$SHYPE_STATE_DIR" "$T/ui/assets" "$T/configs"
echo '<!doctype html><title>shype</title>' >"$T/ui/index.html"
echo 'export {}' >"$T/ui/assets/app.js"
echo 'SECRET outside the bundle' >"$T/secret.txt"
ln -s "$T/secret.txt" "$T/ui/leak.txt"
printf 'name = "bank"\nmemory = 64\nkernel = "%s/none"\naccess_control = [%s]\n' "$T" \
  "'policy=shype.demo,label=NoSuchLabel'" >"$T/configs/bank.cfg"
echo 'name = "outside"' >"$T/outside.cfg"

"$BUILD/bin/shyped" --state-dir "$SHYPE_STATE_DIR" --isolated-instance --config /dev/null \
  >>"$T/shyped.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 300); do shype list >/dev/null 2>&1 && break; sleep 0.1; done
shype list >/dev/null 2>&1 || { echo "shyped did not come up:"; cat "$T/shyped.log"; exit 1; }
expect_rc 0 "setpolicy installs the demo policy" -- shype setpolicy "$SRC/tests/data/policies/shype-demo.xml"

# --- the command's refusals ---
expect_rc 2 "a wildcard --listen is refused" -- shype web --listen 0.0.0.0:0
expect_out "wildcard address is refused" "... saying why"
expect_rc 2 "a host name --listen is refused" -- shype web --listen evil.example:8080
expect_rc 1 "a --ui that does not exist is refused" -- shype web --listen 127.0.0.1:0 --ui "$T/none"
expect_out "--ui \(the UI bundle\): '$T/none' does not exist" "... naming it"
other_ip="$(ip -4 -o addr 2>/dev/null | awk '{sub("/.*", "", $4); if ($4 !~ /^127\./) {print $4; exit}}')"
if [ -n "$other_ip" ]; then
  timeout 3 "$BUILD/bin/shype" web --listen "$other_ip:0" --ui "$T/ui" >"$T/lan.out" 2>"$T/lan.err"
  grep -q "^Warning: shype web listens on $other_ip:0, which is not loopback" "$T/lan.err" \
    && pass "a non-loopback --listen is served with a warning" || fail "no warning: $(cat "$T/lan.err")"
  grep -q "^shype web: open http://$other_ip:[0-9]*/?token=" "$T/lan.out" && pass "... and its URL" \
    || fail "non-loopback URL: $(cat "$T/lan.out")"
else
  echo "skip - no non-loopback IPv4 address for the warning's check"
fi

# --- start it ---
# The program itself, not lib.sh's shype function: $! must be its pid (for Ctrl-C below).
"$BUILD/bin/shype" web --listen 127.0.0.1:0 --ui "$T/ui" --configs "$T/configs" >"$T/web.out" 2>"$T/web.err" &
WEB_PID=$!
EXTRA_PIDS="$WEB_PID"
wait_file "$T/web.out" '^shype web: open http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{64}$' 10 \
  && pass "shype web prints the URL with a 64-hex-digit token" \
  || { fail "no URL printed: $(cat "$T/web.out" "$T/web.err")"; finish; exit 1; }
URL="$(sed -n 's/^shype web: open //p' "$T/web.out")"
TOKEN="${URL##*token=}"
HOSTPORT="$(sed 's|http://\([^/]*\)/.*|\1|' <<<"$URL")"
BASE="http://$HOSTPORT"
JAR="$T/cookies"

# code METHOD PATH [CURL-ARGS...]: prints the HTTP status; the body is in $T/body.
code() {
  local method="$1" path="$2"; shift 2
  curl -s --path-as-is -o "$T/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path"
}
# expect_code WANT DESCRIPTION METHOD PATH [CURL-ARGS...]
expect_code() {
  local want="$1" what="$2"; shift 2
  local got; got="$(code "$@")"
  OUT="$(cat "$T/body")"
  if [ "$got" = "$want" ]; then pass "$what"; else fail "$what (HTTP $got, wanted $want): $OUT"; fi
}

# --- attacks ---
expect_code 401 "no token: the API is refused" GET /api/v1/version
expect_out '"code":"unauthenticated"' "... as unauthenticated"
expect_code 401 "no token: the page is refused" GET /
expect_out "Open the URL" "... with a page saying to open the printed URL"
expect_code 401 "no token: the bundle's files are refused" GET /assets/app.js
expect_code 401 "a wrong token in the URL is refused" GET "/?token=$(printf '0%.0s' $(seq 64))"
headers="$(curl -s -D - -o /dev/null "$BASE/?token=${TOKEN:0:63}")"
grep -qi '^set-cookie' <<<"$headers" && fail "a token prefix got a cookie" || pass "a token prefix gets no cookie"
expect_code 401 "a wrong cookie is refused" GET /web/session -b "shype_session=$(printf 'f%.0s' $(seq 64))"
expect_code 401 "the token in another path's URL is not a session" GET "/api/v1/version?token=$TOKEN"

# Log in: the token moves into the cookie.
headers="$(curl -s -D - -o /dev/null -c "$JAR" -H 'Sec-Fetch-Site: none' "$URL")"
grep -q '^HTTP/1.1 303' <<<"$headers" && pass "the right token is answered 303" || fail "login: $headers"
grep -qi "^location: /\s*$" <<<"$headers" && pass "... to /" || fail "login location: $headers"
grep -qi "^set-cookie: shype_session=$TOKEN; HttpOnly; SameSite=Strict; Path=/" <<<"$headers" \
  && pass "... setting the HttpOnly SameSite=Strict cookie" || fail "login cookie: $headers"
COOKIE=(-b "$JAR")

expect_code 403 "another Host (DNS rebinding) is refused" GET /web/session "${COOKIE[@]}" -H "Host: evil.example:${HOSTPORT##*:}"
expect_out "DNS rebinding" "... naming DNS rebinding"
expect_code 403 "Sec-Fetch-Site: cross-site is refused" GET /web/session "${COOKIE[@]}" -H 'Sec-Fetch-Site: cross-site'
CSRF="$(curl -s "${COOKIE[@]}" "$BASE/web/session" | sed -n 's/.*"csrf":"\([0-9a-f]*\)".*/\1/p')"
[ "${#CSRF}" = 64 ] && pass "GET /web/session gives a CSRF token" || fail "no CSRF token: $CSRF"
JSON=(-H 'Content-Type: application/json')
expect_code 403 "a cross-site Origin is refused" POST /api/v1/policy/reset "${COOKIE[@]}" "${JSON[@]}" \
  -H "X-Shype-CSRF: $CSRF" -H 'Origin: http://evil.example' -d '{}'
expect_code 403 "a POST without the CSRF header is refused" POST /api/v1/policy/reset "${COOKIE[@]}" "${JSON[@]}" -d '{}'
expect_code 403 "a PUT with a wrong CSRF header is refused" PUT /api/v1/policy "${COOKIE[@]}" "${JSON[@]}" \
  -H "X-Shype-CSRF: $TOKEN" -d '{}'
expect_code 403 "a DELETE without the CSRF header is refused" DELETE "/api/v1/resource-labels?resource=file:/x" "${COOKIE[@]}"
expect_rc 0 "the refused requests changed nothing: the demo policy is still active" -- shype getpolicy
expect_out "shype.demo" "... (getpolicy names it)"
expect_code 415 "a form body is refused" POST /api/v1/dry-run "${COOKIE[@]}" -H "X-Shype-CSRF: $CSRF" -d 'config=x'
for path in "/../secret.txt" "/%2e%2e/secret.txt" "/%2e%2e%2fsecret.txt" "/leak.txt" "/assets/../../secret.txt"; do
  got="$(code GET "$path" "${COOKIE[@]}")"
  if [ "$got" != 200 ] && ! grep -q SECRET "$T/body"; then pass "$path is refused (HTTP $got)"
  else fail "$path served (HTTP $got): $(cat "$T/body")"; fi
done
expect_code 403 "domain.save is not forwarded" POST /api/v1/domains/bank/save "${COOKIE[@]}" "${JSON[@]}" \
  -H "X-Shype-CSRF: $CSRF" -d "{\"file\": \"$T/save.img\"}"
expect_out "shype save" "... pointing to shype save"
[ -e "$T/save.img" ] && fail "a save file was written" || pass "... and no file was written"
expect_code 404 "an unknown operation is 404" GET /api/v1/nothing "${COOKIE[@]}"
for file in "..%2Foutside.cfg" "%2e%2e" "a%2Fb.cfg" "outside"; do
  expect_code 400 "config name '$file' is refused" POST "/web/configs/$file/start" "${COOKIE[@]}" -H "X-Shype-CSRF: $CSRF"
done
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' >"$T/big.json"
expect_code 413 "a body over 1 MiB is refused" PUT /api/v1/policy "${COOKIE[@]}" "${JSON[@]}" \
  -H "X-Shype-CSRF: $CSRF" --data-binary "@$T/big.json"

# --- good paths ---
expect_code 200 "version is forwarded" GET /api/v1/version "${COOKIE[@]}"
direct="$(curl -s --unix-socket "$SHYPE_STATE_DIR/shyped.sock" http://shyped/v1/version)"
expect_eq "$OUT" "$direct" "... with shyped's own reply"
expect_code 200 "policy.get is forwarded" GET /api/v1/policy "${COOKIE[@]}"
expect_out '"shype.demo"' "... naming the active policy"
headers="$(curl -s -D - -o /dev/null "${COOKIE[@]}" "$BASE/api/v1/policy")"
for h in "Content-Security-Policy: default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'" \
         "X-Content-Type-Options: nosniff" "X-Frame-Options: DENY" "Referrer-Policy: no-referrer" "Cache-Control: no-store"; do
  grep -qiF "$h" <<<"$headers" && pass "the reply has $h" || fail "no '$h' in: $headers"
done
expect_code 200 "the bundle's index is served for /" GET / "${COOKIE[@]}"
expect_out "<title>shype</title>" "... its content"
expect_code 200 "configs are listed" GET /web/configs "${COOKIE[@]}"
expect_eq "$OUT" '{"configs":[{"file":"bank.cfg","name":"bank"}]}' "... with their domain names"

# The live audit feed: a resource label's record arrives as an event.
curl -s -N "${COOKIE[@]}" "$BASE/web/audit" >"$T/feed" 2>&1 &
FEED_PID=$!
EXTRA_PIDS="$WEB_PID $FEED_PID"
sleep 1
: >"$T/r1.img"
expect_code 200 "resource.label.add is forwarded with the CSRF header" POST /api/v1/resource-labels \
  "${COOKIE[@]}" "${JSON[@]}" -H "X-Shype-CSRF: $CSRF" -H "Origin: $BASE" \
  -d "{\"resource\": \"file:$T/r1.img\", \"label\": \"BankDisk\", \"policy\": \"shype.demo\"}"
wait_file "$T/feed" "^data: \{.*\"resource-label\".*file:$T/r1.img" 10 \
  && pass "the audit feed delivers the label's record as an SSE event" \
  || fail "no event for the label: $(cat "$T/feed")"
expect_code 200 "other requests are served while the feed is open" GET /api/v1/version "${COOKIE[@]}"

# Starting a config: shyped's refusal passes through, as `shype create` reports it.
want="$(shype create "$T/configs/bank.cfg" 2>&1)" && fail "shype create started the test config" \
  || pass "shype create refuses the test config"
want="$(grep '^Error: ' <<<"$want" | sed 's/^Error: //')"
got="$(code POST /web/configs/bank.cfg/start "${COOKIE[@]}" -H "X-Shype-CSRF: $CSRF")"
[ "${got:0:1}" = 4 ] && pass "starting it through the web is refused too (HTTP $got)" || fail "start: HTTP $got: $(cat "$T/body")"
grep -qF "$(head -1 <<<"$want" | cut -c1-60)" "$T/body" && pass "... with shyped's message" \
  || fail "start message: $(cat "$T/body"), create said: $want"

# shyped stops: the feed ends cleanly, the API answers 503 naming the socket.
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
for _ in $(seq 1 50); do kill -0 "$FEED_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$FEED_PID" 2>/dev/null && fail "the feed is still open after shyped stopped" || pass "the feed ends when shyped stops"
grep -q "^event: end" "$T/feed" && pass "... with an end event" || fail "no end event: $(cat "$T/feed")"
expect_code 503 "with shyped gone the API answers 503" GET /api/v1/version "${COOKIE[@]}"
expect_out "$SHYPE_STATE_DIR/shyped.sock" "... naming the socket"

kill -INT "$WEB_PID"
for _ in $(seq 1 50); do kill -0 "$WEB_PID" 2>/dev/null || break; sleep 0.1; done
wait "$WEB_PID"; rc=$?
expect_eq "$rc" 0 "Ctrl-C stops shype web (exit 0)"
finish
