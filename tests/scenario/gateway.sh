#!/usr/bin/env bash
# The inference gateway end to end: real agent, real fake backend, cubectl.
# Every error-table row issue 2 covers, tenant isolation, route aliases,
# streaming relay, cancellation on hang-up, credential secrecy, token
# revocation and expiry, x-request-id on every reply, graceful drain on
# SIGTERM.
# serial: sse-timing.py measures when each streamed event arrives
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
# small limits so the tests can reach them
max-body = 65536
first-byte-timeout-ms = 1500
idle-timeout-ms = 1500
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"

PROVIDER_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$PROVIDER_KEY" >"$T_DIR/provider.key"

ACME_ID=$(ctl -o json domain create acme | json id)
ctl -o json domain create bravo >/dev/null
out=$(ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" \
    --api-key-file "$T_DIR/provider.key" 2>&1)
check "provider add with a sealed key" [ $? -eq 0 ]
ctl provider add -d bravo fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d acme dead --driver openai --url "http://127.0.0.1:9/v1" >/dev/null
ctl model deploy -d acme --provider fake --name Chat --model-id fake-chat >/dev/null
ctl model deploy -d acme --provider fake --name "Slow Stream" --key slow \
    --model-id 'fake-chat;chunks=5;chunk_delay_ms=300' >/dev/null
ctl model deploy -d acme --provider fake --name Hang --key hang \
    --model-id 'fake-chat;first_byte_delay_ms=8000' >/dev/null
ctl model deploy -d acme --provider fake --name Long --key long \
    --model-id 'fake-chat;chunks=40;chunk_delay_ms=200' >/dev/null
ctl model deploy -d acme --provider fake --name Broken --key broken \
    --model-id 'fake-chat;status=500' >/dev/null
ctl model deploy -d acme --provider fake --name Reset --key reset \
    --model-id 'fake-chat;chunks=6;reset_after=2' >/dev/null
ctl model deploy -d acme --provider fake --name Fast --key fast \
    --model-id 'fake-chat;chunks=100000;chunk_delay_ms=1' >/dev/null
ctl model deploy -d acme --provider dead --name Dead --key dead --force \
    --model-id fake-chat >/dev/null
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed >/dev/null
ctl model deploy -d acme --provider fake --name Defaults --key defaults \
    --model-id fake-chat --temperature 0.25 --max-tokens 64 \
    --system-prompt 'Be brief.' >/dev/null
ctl model deploy -d bravo --provider fake --name "Bravo Only" \
    --model-id fake-chat >/dev/null
A_TOKEN=$(ctl -o json token create -d acme --name a | json token)
B_TOKEN=$(ctl -o json token create -d bravo --name b | json token)
check "tokens have the cube_ shape" [ "${#A_TOKEN}" -eq 48 -a "${A_TOKEN:0:5}" = cube_ ]

chat='{"model":"chat","messages":[{"role":"user","content":"Hi there"}]}'

# --- happy path and what reaches the backend ------------------------------
r=$(http GET /healthz "")
check_eq "healthz" 200 "$(status_of "$r")"

r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "chat completion 200" 200 "$(status_of "$r")"
check_contains "answer relayed" '"content":"Hello from fake-llm."' "$(body_of "$r")"
last=$(backend_requests | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[-1]))')
check_eq "backend got the model_id, not the key" fake-chat "$(echo "$last" | json model)"
check_eq "backend got the provider credential" "Bearer $PROVIDER_KEY" "$(echo "$last" | json authorization)"
check_contains "rest of the body passed through" '"content":"Hi there"' "$(echo "$last" | json body)"

r=$(http POST /proxy/$ACME_ID/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "domain by id" 200 "$(status_of "$r")"
r=$(http POST /v1/chat/completions "$A_TOKEN" "$chat")
check_eq "/v1 alias takes the domain from the token" 200 "$(status_of "$r")"
r=$(http POST /api/client/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "/api/client/v1 alias" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/completions "$A_TOKEN" '{"model":"chat","prompt":"Say hi"}')
check_eq "legacy completions" 200 "$(status_of "$r")"
check_contains "text_completion relayed" '"text_completion"' "$(body_of "$r")"
r=$(http POST /proxy/acme/v1/embeddings "$A_TOKEN" '{"model":"embed","input":"hello"}')
check_eq "embeddings" 200 "$(status_of "$r")"
check_contains "embedding relayed" '"embedding"' "$(body_of "$r")"

r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" \
    '{"messages":[{"role":"user","content":"x"}],"model":"defaults"}')
body=$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])')
check_eq "defaults applied when omitted" "0.25 64 system Be brief." \
    "$(echo "$body" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["temperature"], b["max_tokens"], b["messages"][0]["role"], b["messages"][0]["content"])')"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" \
    '{"model":"defaults","temperature":1,"max_tokens":5,"messages":[{"role":"system","content":"Mine"},{"role":"user","content":"x"}]}')
body=$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])')
check_eq "request values win over defaults" "1 5 Mine 2" \
    "$(echo "$body" | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["temperature"], b["max_tokens"], b["messages"][0]["content"], len(b["messages"]))')"

# --- the error table ------------------------------------------------------
code() { printf '%s' "$1" | sed '$d' | json error.code; }
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"chat",')
check_eq "malformed JSON: 400" "400 invalid_request" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"messages":[]}')
check_eq "missing model: 400" "400 invalid_request" "$(status_of "$r") $(code "$r")"
deep=$(python3 -c 'print("{\"model\":\"chat\",\"x\":" + "["*200 + "]"*200 + "}")')
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$deep")
check_eq "too deep JSON: 400" "400 invalid_request" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" \
    '{"model":"chat","model":"fake-chat;status=500","messages":[]}')
check_eq "duplicate model key refused" "400 invalid_request" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "" "$chat")
check_eq "no token: 401" "401 invalid_api_key" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "cube_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$chat")
check_eq "unknown token: 401" "401 invalid_api_key" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$B_TOKEN" "$chat")
check_eq "token of another domain: 404 domain_not_found" "404 domain_not_found" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/nosuch/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "unknown domain: same answer as another's" "404 domain_not_found" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"nope","messages":[]}')
check_eq "unknown model: 404 model_not_found" "404 model_not_found" "$(status_of "$r") $(code "$r")"
ctl model disable -d acme chat >/dev/null
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "inactive model: 403" "403 model_inactive" "$(status_of "$r") $(code "$r")"
r=$(http GET /proxy/acme/v1/models "$A_TOKEN")
check_not_contains "inactive model not listed" '"id":"chat"' "$(body_of "$r")"
ctl model enable -d acme chat >/dev/null
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$chat")
check_eq "enabled again on the next request" 200 "$(status_of "$r")"
big=$(python3 -c 'print("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a"*70000 + "\"}]}")')
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$big")
check_eq "body too large: 413" "413 request_too_large" "$(status_of "$r") $(code "$r")"
r=$(printf '%s' "$big" | curl -sS -m 10 -H "Authorization: Bearer $A_TOKEN" \
    -H 'Transfer-Encoding: chunked' --data-binary @- -w '\n%{http_code}' \
    "$AGENT_URL/proxy/acme/v1/chat/completions")
check_eq "chunked body too large: 413" "413 request_too_large" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"broken","messages":[]}')
check_eq "backend 500: 502 upstream_error" "502 upstream_error" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"dead","messages":[]}')
check_eq "backend refuses: 502 upstream_error" "502 upstream_error" "$(status_of "$r") $(code "$r")"
check_not_contains "no backend address leaked to the tenant" "127.0.0.1:9" "$(body_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"hang","messages":[]}')
check_eq "backend too slow: 504 upstream_timeout" "504 upstream_timeout" "$(status_of "$r") $(code "$r")"
r=$(http POST /proxy/acme/v1/embeddings "$A_TOKEN" '{"model":"chat","input":"x"}')
check_eq "chat model on embeddings: 400" "400 invalid_request" "$(status_of "$r") $(code "$r")"
r=$(http GET /proxy/acme/v1/chat/completions "$A_TOKEN")
check_eq "wrong method: 405" 405 "$(status_of "$r")"
r=$(http GET /nope "$A_TOKEN")
check_eq "unknown route: 404 JSON" "404 not_found" "$(status_of "$r") $(code "$r")"

r=$(http GET /proxy/acme/v1/models/chat "$A_TOKEN")
check_eq "one model by key" '200 chat' "$(status_of "$r") $(body_of "$r" | json id)"
r=$(http GET /v1/models/bravo-only "$A_TOKEN")
check_eq "another domain's model is not found by key" "404 model_not_found" "$(status_of "$r") $(code "$r")"

# --- a token limited to some models --------------------------------------
LIM=$(ctl -o json token create -d acme --name limited --model chat --model embed | json token)
r=$(http GET /proxy/acme/v1/models "$LIM")
check_eq "allow-listed token lists only its models" "chat embed" \
    "$(body_of "$r" | python3 -c 'import json,sys; print(" ".join(sorted(m["id"] for m in json.load(sys.stdin)["data"])))')"
r=$(http POST /proxy/acme/v1/chat/completions "$LIM" "$chat")
check_eq "allow-listed model works" 200 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$LIM" '{"model":"slow","messages":[]}')
check_eq "a model outside the allow-list is not found" "404 model_not_found" "$(status_of "$r") $(code "$r")"
r=$(http GET /proxy/acme/v1/models/slow "$LIM")
check_eq "nor retrievable by key" 404 "$(status_of "$r")"

# --- tenant isolation -----------------------------------------------------
r=$(http GET /proxy/acme/v1/models "$B_TOKEN")
check_eq "B cannot list A's models" 404 "$(status_of "$r")"
r=$(http GET /v1/models "$B_TOKEN")
check_contains "B sees its own models" '"id":"bravo-only"' "$(body_of "$r")"
check_not_contains "B never sees A's models" '"id":"chat"' "$(body_of "$r")"
r=$(http POST /v1/chat/completions "$B_TOKEN" "$chat")
check_eq "A's model key does not resolve for B" "404 model_not_found" "$(status_of "$r") $(code "$r")"
r=$(http GET /proxy/acme/v1/models "$A_TOKEN")
check_not_contains "A never sees B's models" 'bravo-only' "$(body_of "$r")"

# --- streaming ------------------------------------------------------------
out=$(python3 "$CUBE_ROOT/tests/tools/sse-timing.py" "$AGENT_URL/proxy/acme/v1/chat/completions" \
    "$A_TOKEN" '{"model":"slow","stream":true,"messages":[{"role":"user","content":"x"}]}')
check_contains "stream is text/event-stream" "status 200 text/event-stream" "$out"
check_eq "every event relayed, [DONE] last" "[DONE]" "$(echo "$out" | tail -n 1 | cut -d' ' -f2-)"
n=$(echo "$out" | grep -c '"content":"[^"]')
check "five content deltas relayed" [ "$n" -eq 5 ]
first=$(echo "$out" | grep '"content":"[^"]' | head -n 1 | cut -d' ' -f1)
last=$(echo "$out" | grep '"content":"[^"]' | tail -n 1 | cut -d' ' -f1)
check "events arrive as the backend sends them (first $first s, last $last s)" \
    python3 -c "import sys; sys.exit(0 if float('$last') - float('$first') >= 0.9 else 1)"

r=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/v1/chat/completions" -H "Authorization: Bearer $A_TOKEN" \
    -d '{"model":"reset","stream":true,"messages":[]}')
check_contains "a backend reset mid-stream ends the stream with an error event" '"upstream_error"' "$r"

# --- hang-ups cancel the backend request ----------------------------------
hung() {	# the backend's record of the last request: was the client gone?
	backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["client_hung_up"])'
}
curl -sS -m 1 "$AGENT_URL/proxy/acme/v1/chat/completions" -H "Authorization: Bearer $A_TOKEN" \
    -d '{"model":"hang","messages":[]}' >/dev/null 2>&1
t_until 5 backend_saw_hangup
check_eq "hang-up while waiting for the first byte cancels upstream" True "$(hung)"
curl -sS -N -m 1 "$AGENT_URL/proxy/acme/v1/chat/completions" -H "Authorization: Bearer $A_TOKEN" \
    -d '{"model":"long","stream":true,"messages":[]}' >/dev/null 2>&1
t_until 5 backend_saw_hangup
check_eq "hang-up mid-stream cancels upstream" True "$(hung)"
# Gone mid-stream while the stream's receipt waits for the batch's
# signature: the backend's next events must not reach the freed
# connection (a use after free every few hang-ups before 2026-12-07).
for i in $(seq 20); do
	curl -sS -N -m 0.3 "$AGENT_URL/proxy/acme/v1/chat/completions" \
	    -H "Authorization: Bearer $A_TOKEN" \
	    -d '{"model":"fast","stream":true,"messages":[]}' >/dev/null 2>&1
done
check "20 hang-ups from a stream of an event a ms: the agent is up" \
    kill -0 "$AGENT_PID"
check_not_contains "... no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"

# --- the credential never comes back out ----------------------------------
all="$(ctl provider list -d acme) $(ctl -o json provider list -d acme) $(ctl -o json status)"
check_not_contains "credential not in admin output" "$PROVIDER_KEY" "$all"
check_contains "provider shows sealed" "sealed" "$all"
check_fails "credential not in the data dir" grep -rqa -- "$PROVIDER_KEY" "$AGENT_DATA"
check_fails "credential not in the agent log" grep -qa -- "$PROVIDER_KEY" "$AGENT_LOG"
check_fails "token secret not in the data dir" grep -rqa -- "$A_TOKEN" "$AGENT_DATA"

# --- revocation and expiry ------------------------------------------------
id=$(ctl -o json token create -d acme --name victim | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["id"], t["token"])')
tok=${id#* }; id=${id% *}
r=$(http GET /proxy/acme/v1/models "$tok")
check_eq "new token works" 200 "$(status_of "$r")"
ctl token revoke -d acme "$id" >/dev/null
r=$(http GET /proxy/acme/v1/models "$tok")
check_eq "revoked token refused on the next request" "401 invalid_api_key" "$(status_of "$r") $(code "$r")"
tok=$(ctl -o json token create -d acme --name brief --expires 4s | json token)
r=$(http GET /proxy/acme/v1/models "$tok")
check_eq "short-lived token works" 200 "$(status_of "$r")"
refused() { [ "$(status_of "$(http GET /proxy/acme/v1/models "$tok")")" = 401 ]; }
t_until 15 refused
r=$(http GET /proxy/acme/v1/models "$tok")
check_eq "expired token refused" "401 invalid_api_key" "$(status_of "$r") $(code "$r")"

# --- x-request-id on every reply, ours, unique, in the trace ---------------
# rid NAME METHOD PATH TOKEN [BODY]: the reply's status and id in NAME
# (a client's own X-Request-Id rides along each time, never echoed).
: >"$T_DIR/ids"
rid() {
	local name=$1
	shift
	http "$1" "$2" "$3" "${4-}" -H 'X-Request-Id: client-chosen' \
	    -D "$T_DIR/$name.head" -o /dev/null >/dev/null 2>&1
	RID_STATUS=$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$T_DIR/$name.head")
	RID=$(sed -n 's/^x-request-id: *\([^[:space:]]*\).*/\1/Ip' "$T_DIR/$name.head")
	RID_N=$(grep -ci '^x-request-id:' "$T_DIR/$name.head")
	printf '%s\n' "$RID" >>"$T_DIR/ids"
	check "$name: HTTP $RID_STATUS, one x-request-id of 32 hex digits ($RID)" \
	    [ "$RID_N" = 1 -a -n "$(printf '%s' "$RID" | grep -Ex '[0-9a-f]{32}')" ]
}
ID_T0=$(date +%s%3N)
rid healthz GET /healthz ""
rid models GET /proxy/acme/v1/models "$A_TOKEN"
rid model GET /proxy/acme/v1/models/chat "$A_TOKEN"
rid answer POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$chat"
ANSWER_ID=$RID
rid stream POST /proxy/acme/v1/chat/completions "$A_TOKEN" \
    '{"model":"chat","stream":true,"messages":[]}'
check_eq "stream: its head has the id" 200 "$RID_STATUS"
STREAM_ID=$RID
rid notoken POST /proxy/acme/v1/chat/completions "" "$chat"
NOTOKEN_ID=$RID
rid badtoken GET /proxy/acme/v1/models "cube_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
rid domain POST /proxy/acme/v1/chat/completions "$B_TOKEN" "$chat"
rid route GET /nope "$A_TOKEN"
rid method GET /proxy/acme/v1/chat/completions "$A_TOKEN"
rid malformed POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":'
MALFORMED_ID=$RID
rid nomodel POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"nope","messages":[]}'
rid toolarge POST /proxy/acme/v1/chat/completions "$A_TOKEN" "$big"
check_eq "413: the server's own refusal has it too" 413 "$RID_STATUS"
TOOLARGE_ID=$RID
rid backend POST /proxy/acme/v1/chat/completions "$A_TOKEN" '{"model":"broken","messages":[]}'
BACKEND_ID=$RID
rid attestation GET '/attestation?nonce=zz' ""
check_eq "ids: every one unique" "$(wc -l <"$T_DIR/ids")" "$(sort -u "$T_DIR/ids" | wc -l)"
# Time first (6 bytes of unix ms), so the traces index on them grows at
# its end: in this run's time and in order; the other 10 bytes random.
ID_T1=$(date +%s%3N)
check "ids: their first 12 digits are the ms they were made, in order" \
    python3 -c 'import sys
ids = open(sys.argv[1]).read().split()
ms = [int(i[:12], 16) for i in ids]
sys.exit(0 if ms == sorted(ms) and int(sys.argv[2]) <= ms[0] and ms[-1] <= int(sys.argv[3]) else 1)' \
    "$T_DIR/ids" "$ID_T0" "$ID_T1"
check_eq "ids: the other 20 all differ" "$(wc -l <"$T_DIR/ids")" \
    "$(cut -c13- "$T_DIR/ids" | sort -u | wc -l)"
check_fails "a client's X-Request-Id is never echoed" grep -q client-chosen "$T_DIR/ids"
# The traced ones are in cubectl logs under the id the client got.
traced_id() {	# ID STATUS
	ctl -o json logs -d acme -n 200 | python3 -c 'import json,sys
sys.exit(0 if any(t.get("request_id") == sys.argv[1] and t["status"] == int(sys.argv[2])
    for t in json.load(sys.stdin)) else 1)' "$1" "$2"
}
check "answer: the trace has its id" t_until 10 traced_id "$ANSWER_ID" 200
check "stream: the trace has its id" t_until 10 traced_id "$STREAM_ID" 200
check "malformed body: the trace has its id" t_until 10 traced_id "$MALFORMED_ID" 400
check "backend error: the trace has its id" t_until 10 traced_id "$BACKEND_ID" 502
# The untraced refusals are in the agent's log under theirs.
logged_id() { grep -q "x-request-id $1" "$AGENT_LOG"; }
check "no token: the refusal is logged with its id" t_until 5 logged_id "$NOTOKEN_ID"
check "413: the refusal is logged with its id" t_until 5 logged_id "$TOOLARGE_ID"
check_fails "a traced answer is not logged as a refusal" grep -q "x-request-id $BACKEND_ID" "$AGENT_LOG"

# --- SIGTERM drains in-flight requests ------------------------------------
python3 "$CUBE_ROOT/tests/tools/sse-timing.py" "$AGENT_URL/proxy/acme/v1/chat/completions" \
    "$A_TOKEN" '{"model":"slow","stream":true,"messages":[]}' >"$T_DIR/drain.out" 2>&1 &
client=$!
first_event() { grep -q '"choices"' "$T_DIR/drain.out"; }
t_until 10 first_event
stop_agent
rc=$?
wait "$client"
check_eq "agent exits 0 after SIGTERM" 0 "$rc"
check_eq "the in-flight stream finished" "[DONE]" "$(tail -n 1 "$T_DIR/drain.out" | cut -d' ' -f2-)"
check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"

t_done
