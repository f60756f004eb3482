#!/usr/bin/env bash
# What every reply carries, against the real agent and fake backend: CORS
# per domain (preflight allowed or not, one domain's origin never let in on
# another's routes, errors and streams), Date, openai-processing-ms, the
# x-ratelimit-* values after N requests, Allow on 405 and HEAD where GET.
. "$(dirname "$0")/../lib.sh"

start_backend
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent --metrics-listen "127.0.0.1:$METRICS_PORT"

A_ORIGIN=https://a.example
B_ORIGIN=http://127.0.0.1:5173
EVIL=https://evil.example

setup_domain alpha chat fake-chat
A_TOK=$TOKEN
setup_domain beta chat fake-chat
B_TOK=$TOKEN
ctl domain edit alpha --cors-origin "$A_ORIGIN" >/dev/null
ctl domain edit beta --cors-origin "$B_ORIGIN" --cors-origin "$B_ORIGIN" >/dev/null

# origins_of NAME: the domain's cors_origins as domain.list says, as JSON.
origins_of() {
	ctl -o json domain list | python3 -c 'import json,sys
print(json.dumps([d["cors_origins"] for d in json.load(sys.stdin) if d["name"] == sys.argv[1]][0]))' "$1"
}
check_eq "domain list shows the origins" '["https://a.example"]' "$(origins_of alpha)"
check_eq "an origin given twice is kept once" '["http://127.0.0.1:5173"]' \
    "$(origins_of beta)"
out=$(ctl domain edit beta --cors-origin https://App.example 2>&1)
check_contains "an origin with upper case is refused, the field named" \
    "cors_origins[0]" "$out"
out=$(ctl domain edit beta --cors-origin https://app.example/path 2>&1)
check_contains "an origin with a path is refused" "no path" "$out"
check_eq "the refused edits changed nothing" '["http://127.0.0.1:5173"]' \
    "$(origins_of beta)"

# head FILE NAME: the value of field NAME (any case) in a curl -D dump.
head_of() {
	tr -d '\r' <"$1" | awk -v n="$2" 'BEGIN { n = tolower(n) }
	    { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) {
	    print substr($0, i + 2); exit } }'
}
has_field() { tr -d '\r' <"$1" | grep -qi "^$2:"; }

# preflight PATH ORIGIN [REQUEST-HEADERS]: the status; the head in $T_DIR/h.
preflight() {
	curl -sS -m 10 -o /dev/null -D "$T_DIR/h" -w '%{http_code}' -X OPTIONS \
	    -H "Origin: $2" -H 'Access-Control-Request-Method: POST' \
	    ${3:+-H "Access-Control-Request-Headers: $3"} "$AGENT_URL$1"
}

# --- preflight ----------------------------------------------------------------
s=$(preflight /proxy/alpha/v1/chat/completions "$A_ORIGIN" \
    'Authorization, content-type,x-stainless-os , X-Stainless-Retry-Count, anthropic-version, x-evil, cookie')
check_eq "preflight: 204 without a token" 204 "$s"
check_eq "preflight: the origin itself" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
check_eq "preflight: Vary" Origin "$(head_of "$T_DIR/h" Vary)"
check_eq "preflight: methods" "POST, OPTIONS" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Methods)"
check_eq "preflight: the asked headers that are allowed, no others" \
    "authorization, content-type, x-stainless-os, x-stainless-retry-count, anthropic-version" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Headers)"
check_eq "preflight: Max-Age" 600 "$(head_of "$T_DIR/h" Access-Control-Max-Age)"
check_eq "preflight: Expose-Headers" \
    "x-request-id, openai-processing-ms, x-ratelimit-limit-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-requests, x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, x-ratelimit-reset-tokens, retry-after, cube-receipt" \
    "$(head_of "$T_DIR/h" Access-Control-Expose-Headers)"
check_eq "preflight: Allow" "POST, OPTIONS" "$(head_of "$T_DIR/h" Allow)"
check_fails "preflight: no Content-Length on a 204" has_field "$T_DIR/h" Content-Length

s=$(preflight /proxy/beta/v1/chat/completions "$A_ORIGIN" authorization)
check_eq "preflight: another domain's origin gets a 204" 204 "$s"
check_fails "preflight: ...without CORS fields" has_field "$T_DIR/h" \
    Access-Control-Allow-Origin
check_fails "preflight: ...nor Allow-Headers" has_field "$T_DIR/h" \
    Access-Control-Allow-Headers
s=$(preflight /proxy/nosuch/v1/chat/completions "$A_ORIGIN")
check_eq "preflight: an unknown domain looks the same" 204 "$s"
check_fails "preflight: ...without CORS fields" has_field "$T_DIR/h" \
    Access-Control-Allow-Origin
s=$(preflight /v1/chat/completions "$B_ORIGIN")
check_eq "preflight, token-routed: any domain's origin" "$B_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
s=$(preflight /v1/models "$A_ORIGIN")
check_eq "preflight on a GET route: its methods" "GET, HEAD, OPTIONS" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Methods)"
s=$(preflight /v1/messages "$A_ORIGIN" x-api-key,anthropic-version,anthropic-dangerous-direct-browser-access)
check_eq "preflight on Anthropic's route: its headers" \
    "x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Headers)"
s=$(preflight /api/chat "$A_ORIGIN" authorization,content-type)
check_eq "preflight on Ollama's root route: allowed" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
s=$(preflight /v1/chat/completions "$EVIL")
check_fails "preflight, token-routed: an origin no domain lists" has_field \
    "$T_DIR/h" Access-Control-Allow-Origin
s=$(preflight /v1/chat/completions "$A_ORIGIN/")
check_fails "preflight: origins compare exactly (a trailing slash)" \
    has_field "$T_DIR/h" Access-Control-Allow-Origin

# --- real requests --------------------------------------------------------------
chat='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
stream='{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}'

r=$(http POST /v1/chat/completions "$A_TOK" "$chat" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_eq "request: 200" 200 "$(status_of "$r")"
check_eq "request: Allow-Origin" "$A_ORIGIN" "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
check_eq "request: Vary" Origin "$(head_of "$T_DIR/h" Vary)"
check_contains "request: Expose-Headers" "x-ratelimit-remaining-requests" \
    "$(head_of "$T_DIR/h" Access-Control-Expose-Headers)"
check_fails "request: no preflight fields" has_field "$T_DIR/h" Access-Control-Max-Age

r=$(http POST /v1/chat/completions "$B_TOK" "$chat" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_eq "request: beta's token from alpha's origin is served" 200 "$(status_of "$r")"
check_fails "request: ...without CORS fields" has_field "$T_DIR/h" Access-Control-Allow-Origin
r=$(http POST /proxy/beta/v1/chat/completions "$B_TOK" "$chat" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_fails "request: alpha's origin on beta's route: no CORS fields" has_field \
    "$T_DIR/h" Access-Control-Allow-Origin
r=$(http POST /proxy/beta/v1/chat/completions "$A_TOK" "$chat" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_eq "request: alpha's token on beta's route: 404" 404 "$(status_of "$r")"
check_fails "request: ...without CORS fields" has_field "$T_DIR/h" Access-Control-Allow-Origin
r=$(http POST /proxy/beta/v1/chat/completions "$B_TOK" "$chat" -D "$T_DIR/h" -H "Origin: $B_ORIGIN")
check_eq "request: beta's origin on beta's route" "$B_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"

# Errors carry them too: a browser must be able to read why.
r=$(http POST /v1/chat/completions "" "$chat" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_eq "error: no token, 401" 401 "$(status_of "$r")"
check_eq "error: 401 with Allow-Origin" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
r=$(http POST /proxy/alpha/v1/chat/completions "$A_TOK" '{"model":"nosuch","messages":[]}' \
    -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_eq "error: unknown model, 404" 404 "$(status_of "$r")"
check_eq "error: 404 with Allow-Origin" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
check_contains "error: ...and x-request-id exposed" x-request-id \
    "$(head_of "$T_DIR/h" Access-Control-Expose-Headers)"

# A body large enough that the request's buffer moves while it comes: the
# origin read from the head must move with it.
python3 -c 'import json; print(json.dumps({"model": "nosuch", "messages": [{"role": "user", "content": "x" * (3 << 20)}]}))' >"$T_DIR/big.json"
s=$(curl -sS -m 30 -o /dev/null -D "$T_DIR/h" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $A_TOK" -H "Origin: $A_ORIGIN" \
    -H 'Content-Type: application/json' --data-binary @"$T_DIR/big.json" \
    "$AGENT_URL/v1/chat/completions")
check_eq "a 3 MB body: answered (404, no such model)" 404 "$s"
check_eq "a 3 MB body: the origin still echoed whole" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
check "the agent is still up" curl -sS -m 5 -o /dev/null "$AGENT_URL/healthz"

# A stream: the fields are in its head.
r=$(http POST /v1/chat/completions "$A_TOK" "$stream" -D "$T_DIR/h" -H "Origin: $A_ORIGIN")
check_contains "stream: answered as SSE" "data: [DONE]" "$r"
check_contains "stream: event-stream" text/event-stream "$(head_of "$T_DIR/h" Content-Type)"
check_eq "stream: Allow-Origin" "$A_ORIGIN" "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"
ms=$(head_of "$T_DIR/h" openai-processing-ms)
check "stream: openai-processing-ms is a count of ms ($ms)" \
    python3 -c 'import sys; assert 0 <= int(sys.argv[1]) < 20000' "$ms"

# --- Date and openai-processing-ms -------------------------------------------------
r=$(http GET /v1/models "$A_TOK" "" -D "$T_DIR/h")
date_v=$(head_of "$T_DIR/h" Date)
check "Date is an IMF-fixdate of now ($date_v)" python3 -c '
import sys, re, email.utils, time
v = sys.argv[1]
assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", v), v
assert abs(email.utils.parsedate_to_datetime(v).timestamp() - time.time()) < 10
' "$date_v"
ms=$(head_of "$T_DIR/h" openai-processing-ms)
check "models: openai-processing-ms is a count of ms ($ms)" \
    python3 -c 'import sys; assert 0 <= int(sys.argv[1]) < 20000' "$ms"
curl -sS -m 10 -o /dev/null -D "$T_DIR/h" "$AGENT_URL/healthz"
check "healthz: Date too" has_field "$T_DIR/h" Date
check_fails "healthz: no openai-processing-ms" has_field "$T_DIR/h" openai-processing-ms
check_fails "no limits: no x-ratelimit fields" has_field "$T_DIR/h" x-ratelimit-limit-requests

# --- rate-limit fields after N requests ------------------------------------------
within_minute() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -lt 50 ] || sleep $((61 - s))
}
LIM_TOK=$(ctl -o json token create -d alpha --name lim --rpm 5 --tpm 1000 | json token)
LIM2_TOK=$(ctl -o json token create -d alpha --name lim2 --rpm 7 | json token)
within_minute
# fake-llm's usage for $chat: 1 prompt... whatever it says, read it back.
r=$(http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$chat" -D "$T_DIR/h1")
used=$(body_of "$r" | json usage.total_tokens)
check_eq "limits: 1st request, limit-requests" 5 "$(head_of "$T_DIR/h1" x-ratelimit-limit-requests)"
check_eq "limits: 1st request, remaining-requests" 4 "$(head_of "$T_DIR/h1" x-ratelimit-remaining-requests)"
check_eq "limits: 1st request, limit-tokens" 1000 "$(head_of "$T_DIR/h1" x-ratelimit-limit-tokens)"
check_eq "limits: 1st request, remaining-tokens" 1000 "$(head_of "$T_DIR/h1" x-ratelimit-remaining-tokens)"
r=$(http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$chat" -D "$T_DIR/h2")
r=$(http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$stream" -D "$T_DIR/h3")
check_eq "limits: 3rd request (a stream), remaining-requests" 2 \
    "$(head_of "$T_DIR/h3" x-ratelimit-remaining-requests)"
check_eq "limits: 3rd request, remaining-tokens: two answers' usage counted" \
    $((1000 - 2 * used)) "$(head_of "$T_DIR/h3" x-ratelimit-remaining-tokens)"
reset=$(head_of "$T_DIR/h3" x-ratelimit-reset-requests)
check "limits: reset-requests is a duration to the minute's end ($reset)" \
    python3 -c 'import re, sys
m = re.fullmatch(r"(\d+)ms|(?:(\d+)m)?(\d+)(?:\.(\d{1,3}))?s", sys.argv[1])
assert m, sys.argv[1]
ms = int(m[1]) if m[1] else int(m[2] or 0) * 60000 + int(m[3]) * 1000 + int((m[4] or "0").ljust(3, "0"))
assert 0 < ms <= 60000, ms' "$reset"
check_eq "limits: reset-tokens the same" "$reset" "$(head_of "$T_DIR/h3" x-ratelimit-reset-tokens)"
http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$chat" >/dev/null
http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$chat" >/dev/null
r=$(http POST /proxy/alpha/v1/chat/completions "$LIM_TOK" "$chat" -D "$T_DIR/h6" -H "Origin: $A_ORIGIN")
check_eq "limits: the 6th is refused" 429 "$(status_of "$r")"
check_eq "limits: the 429 says none remain" 0 "$(head_of "$T_DIR/h6" x-ratelimit-remaining-requests)"
check "limits: the 429 has Retry-After" has_field "$T_DIR/h6" Retry-After
check_eq "limits: the 429 has Allow-Origin" "$A_ORIGIN" \
    "$(head_of "$T_DIR/h6" Access-Control-Allow-Origin)"

# A backend's own 429 with its x-ratelimit-*: the agent's, once each.
ctl model deploy -d alpha --provider fake --name Busy --key busy \
    --model-id 'fake-chat;status=429;ratelimit=1' >/dev/null 2>&1
r=$(http POST /proxy/alpha/v1/chat/completions "$LIM2_TOK" \
    '{"model":"busy","messages":[{"role":"user","content":"hi"}]}' -D "$T_DIR/h")
check_eq "backend 429: relayed as 429" 429 "$(status_of "$r")"
check_eq "backend 429: one x-ratelimit-limit-requests, the token's" 7 \
    "$(tr -d '\r' <"$T_DIR/h" | grep -i '^x-ratelimit-limit-requests:' | cut -d' ' -f2 | xargs)"
check_eq "backend 429: one remaining-requests, the token's" 6 \
    "$(tr -d '\r' <"$T_DIR/h" | grep -i '^x-ratelimit-remaining-requests:' | cut -d' ' -f2 | xargs)"

# --- Allow on 405, HEAD where GET ----------------------------------------------------
for p in /healthz /attestation /v1/models /v1/chat/completions /proxy/alpha/api/tags; do
	s=$(curl -sS -m 10 -o /dev/null -D "$T_DIR/h" -w '%{http_code}' -X PUT "$AGENT_URL$p")
	check_eq "PUT $p: 405" 405 "$s"
	check "PUT $p: with Allow" has_field "$T_DIR/h" Allow
done
check_eq "healthz: Allow" "GET, HEAD" "$(curl -sS -o /dev/null -D - -X DELETE "$AGENT_URL/healthz" | tr -d '\r' | sed -n 's/^Allow: //p')"
M_URL="http://127.0.0.1:$METRICS_PORT/metrics"
s=$(curl -sS -m 10 -o /dev/null -D "$T_DIR/h" -w '%{http_code}' -X POST "$M_URL")
check_eq "metrics listener: POST is 405" 405 "$s"
check_eq "metrics listener: with Allow" "GET, HEAD" "$(head_of "$T_DIR/h" Allow)"
s=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %{size_download}' -I "$M_URL")
check_eq "metrics listener: HEAD is 200 without a body" "200 0" "$s"
s=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %{size_download}' -I "$AGENT_URL/healthz")
check_eq "HEAD /healthz: 200 without a body" "200 0" "$s"
s=$(curl -sS -m 10 -o /dev/null -w '%{http_code} %{size_download}' -I -H "Authorization: Bearer $A_TOK" "$AGENT_URL/v1/models")
check_eq "HEAD /v1/models: 200 without a body" "200 0" "$s"
s=$(curl -sS -m 10 -o "$T_DIR/b" -w '%{http_code}' -I "$AGENT_URL/attestation?nonce=$(printf '%064d' 0)")
check "HEAD /attestation: not a 405 ($s)" test "$s" != 405

# --- clearing ----------------------------------------------------------------------
check_eq "--no-cors clears the list" '[]' \
    "$(ctl -o json domain edit alpha --no-cors | json cors_origins)"
s=$(preflight /proxy/alpha/v1/chat/completions "$A_ORIGIN")
check_fails "cleared: no CORS fields" has_field "$T_DIR/h" Access-Control-Allow-Origin
ctl domain create gamma --cors-origin '*' >/dev/null
s=$(preflight /proxy/gamma/v1/chat/completions "$EVIL")
check_eq "a domain with *: any origin, echoed" "$EVIL" \
    "$(head_of "$T_DIR/h" Access-Control-Allow-Origin)"

t_done
