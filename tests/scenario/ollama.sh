#!/usr/bin/env bash
# Ollama's native routes end to end: the real agent in front of the fake
# backend speaking Ollama's wire format. /api/tags lists the domain's
# models only; chat, generate and embed are forwarded natively (streams
# relayed line by line) with the same auth, guardrails and traces.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
check "an ollama provider on the fake's root" [ $? -eq 0 ]
ctl provider add -d acme oai --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d bravo local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl guardrail create -d acme pii --kind pii --action redact >/dev/null
ctl guardrail create -d acme cards --kind pii --action block --types card >/dev/null
ctl guardrail create -d acme forbid --kind regex --action block \
    --pattern 'FORBIDDEN-[0-9]+' >/dev/null
ctl model deploy -d acme --provider local --name Chat --key chat \
    --model-id 'fake-chat;echo=1;chunks=4' --guard-in pii --guard-in cards \
    --system-prompt 'Be brief.' --temperature 0.25 --max-tokens 77 --force >/dev/null
check "deploy on the ollama provider" [ $? -eq 0 ]
ctl model deploy -d acme --provider local --name Leak --key leak \
    --model-id 'fake-chat;text=key_bob@example.com_and_more;chunks=7' \
    --guard-out pii --force >/dev/null
ctl model deploy -d acme --provider local --name Block --key block \
    --model-id 'fake-chat;text=hello_FORBIDDEN-42_world;chunks=5' \
    --guard-out forbid --force >/dev/null
ctl model deploy -d acme --provider local --name Slow --key slow \
    --model-id 'fake-chat;chunks=4;chunk_delay_ms=300' --force >/dev/null
ctl model deploy -d acme --provider local --name Long --key long \
    --model-id 'fake-chat;chunks=40;chunk_delay_ms=200' --force >/dev/null
ctl model deploy -d acme --provider local --name Reset --key reset \
    --model-id 'fake-chat;chunks=6;reset_after=2' --force >/dev/null
ctl model deploy -d acme --provider local --name Embed --key embed \
    --category embedding --model-id fake-embed --force >/dev/null
ctl model deploy -d acme --provider local --name Off --key off \
    --model-id fake-chat --inactive --force >/dev/null
ctl model deploy -d acme --provider oai --name Oai --key oai \
    --model-id fake-chat >/dev/null
ctl model deploy -d bravo --provider local --name Secret --key bravo-only \
    --model-id fake-chat --force >/dev/null
TOKEN=$(ctl -o json token create -d acme --name t | json token)
B_TOKEN=$(ctl -o json token create -d bravo --name t | json token)
last_body() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])'; }
last_path() { backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["path"])'; }

# --- /api/tags ---------------------------------------------------------------
r=$(http GET /proxy/acme/api/tags "$TOKEN")
check_eq "tags: 200" 200 "$(status_of "$r")"
names=$(body_of "$r" | python3 -c 'import json,sys; print(",".join(sorted(m["name"] for m in json.load(sys.stdin)["models"])))')
check_eq "tags: the domain's active models" "block,chat,embed,leak,long,oai,reset,slow" "$names"
check_not_contains "tags: never another domain's" "bravo-only" "$(body_of "$r")"
r=$(http GET /proxy/acme/api/tags "$B_TOKEN")
check_eq "tags: another domain's token, 404" 404 "$(status_of "$r")"
check_eq "tags: in Ollama's error shape" 1 "$(body_of "$r" | python3 -c 'import json,sys; print(int(isinstance(json.load(sys.stdin)["error"], str)))')"
r=$(http GET /proxy/acme/api/tags "" "" -D "$T_DIR/h")
check_eq "tags: no token, 401" 401 "$(status_of "$r")"
check "tags: the 401 has an x-request-id" grep -Eqi '^x-request-id: [0-9a-f]{32}'$'\r''?$' "$T_DIR/h"
check_fails "  but no receipt (nothing was routed)" grep -qi '^cube-receipt:' "$T_DIR/h"

# --- auth, unknown model, wrong provider --------------------------------------
r=$(http POST /proxy/acme/api/chat "" '{"model":"chat","messages":[]}')
check_eq "chat: no token, 401" 401 "$(status_of "$r")"
check_contains "chat: Ollama's error shape" '{"error":"Missing API key' "$(body_of "$r")"
r=$(http POST /proxy/acme/api/chat "nope" '{"model":"chat","messages":[]}')
check_eq "chat: bad token, 401" 401 "$(status_of "$r")"
r=$(http POST /proxy/acme/api/chat "$TOKEN" '{"model":"nope","messages":[]}')
check_eq "chat: unknown model, 404" 404 "$(status_of "$r")"
r=$(http POST /proxy/acme/api/chat "$TOKEN" '{"model":"bravo-only","messages":[]}')
check_eq "chat: another domain's model, 404" 404 "$(status_of "$r")"
r=$(http POST /proxy/acme/api/chat "$TOKEN" '{"model":"oai","messages":[]}')
check_eq "chat: a model behind an OpenAI provider, 400" 400 "$(status_of "$r")"
r=$(http POST /proxy/acme/api/chat "$TOKEN" '{"messages":[]}')
check_eq "chat: no model, 400" 400 "$(status_of "$r")"

# --- chat, non-stream and stream ----------------------------------------------
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"chat","stream":false,"messages":[{"role":"user","content":"hello there"}]}')
check_eq "chat: 200" 200 "$(status_of "$r")"
check_eq "chat: the echo in message.content" "hello there" "$(body_of "$r" | json message.content)"
check_eq "chat: done" true "$(body_of "$r" | json done)"
check_eq "chat: forwarded natively" /api/chat "$(last_path)"
b=$(last_body)
check_eq "chat: model key became model id" 'fake-chat;echo=1;chunks=4' "$(echo "$b" | json model)"
check_eq "chat: temperature under options" 0.25 "$(echo "$b" | json options.temperature)"
check_eq "chat: num_predict under options" 77 "$(echo "$b" | json options.num_predict)"
check_eq "chat: system prompt as a system message" "Be brief." "$(echo "$b" | json messages.0.content)"
http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"chat","stream":false,"options":{"temperature":1},"messages":[]}' >/dev/null
check_eq "chat: the client's own options win" 1 "$(last_body | json options.temperature)"
check_eq "chat: and the rest is added" 77 "$(last_body | json options.num_predict)"

r=$(curl -sS -N -m 10 -D "$T_DIR/h" "$AGENT_URL/proxy/acme/api/chat" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"chat","messages":[{"role":"user","content":"one two three four"}]}')
check_contains "stream: NDJSON content type" "application/x-ndjson" "$(cat "$T_DIR/h")"
check "stream: its head has an x-request-id" grep -Eqi '^x-request-id: [0-9a-f]{32}'$'\r''?$' "$T_DIR/h"
check_eq "stream: one JSON object per line, 5 lines" 5 "$(printf '%s\n' "$r" | grep -c '^{')"
check_eq "stream: the text joined" "one two three four" "$(printf '%s\n' "$r" | python3 -c 'import json,sys; print("".join(json.loads(l)["message"]["content"] for l in sys.stdin if l.strip()).strip())')"
check_eq "stream: ends done" true "$(printf '%s\n' "$r" | tail -n 1 | json done)"

# Lines arrive as the backend sends them, not at the end.
python3 - "$AGENT_URL" "$TOKEN" >"$T_DIR/times" <<'PY'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request("POST", "/proxy/acme/api/chat", '{"model":"slow","messages":[]}',
    {"Authorization": "Bearer " + sys.argv[2]})
r = c.getresponse()
t0 = time.time()
times = []
while True:
    l = r.readline()
    if not l:
        break
    times.append(time.time() - t0)
print(len(times), "%.2f" % (times[-1] - times[0]))
PY
read -r nlines spread <"$T_DIR/times"
check_eq "stream: slow model, 5 lines" 5 "$nlines"
check "stream: relayed line by line as they arrive ($spread s apart)" \
    python3 -c "import sys; sys.exit(0 if $spread >= 0.6 else 1)"

r=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/api/chat" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"reset","messages":[]}')
check_contains "stream: a backend reset ends it with an error line" \
    '{"error":"the model'"'"'s backend broke off the stream"}' "$(printf '%s\n' "$r" | tail -n 1)"

# --- generate and embed --------------------------------------------------------
r=$(http POST /proxy/acme/api/generate "$TOKEN" '{"model":"chat","prompt":"say this","stream":false}')
check_eq "generate: 200" 200 "$(status_of "$r")"
check_eq "generate: the echo in response" "say this" "$(body_of "$r" | json response)"
check_eq "generate: forwarded natively" /api/generate "$(last_path)"
check_eq "generate: system prompt as system" "Be brief." "$(last_body | json system)"
r=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/api/generate" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"chat","prompt":"a b c d"}')
check_eq "generate: streams by default" 5 "$(printf '%s\n' "$r" | grep -c '^{')"
r=$(http POST /proxy/acme/api/embed "$TOKEN" '{"model":"embed","input":["one","two"]}')
check_eq "embed: 200" 200 "$(status_of "$r")"
check_eq "embed: two vectors" 2 "$(body_of "$r" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["embeddings"]))')"
check_eq "embed: forwarded natively" /api/embed "$(last_path)"
r=$(http POST /proxy/acme/api/embed "$TOKEN" '{"model":"chat","input":"x"}')
check_eq "embed: not an embedding model, 400" 400 "$(status_of "$r")"

# --- input guardrails ---------------------------------------------------------
n0=$(backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"chat","stream":false,"messages":[{"role":"user","content":"card 4111 1111 1111 1111"}]}')
check_eq "guard: a card blocked, 400" 400 "$(status_of "$r")"
check_contains "guard: names the guardrail" "'cards'" "$(body_of "$r" | json error)"
r=$(http POST /proxy/acme/api/generate "$TOKEN" \
    '{"model":"chat","stream":false,"prompt":"hi","system":"card 4111 1111 1111 1111"}')
check_eq "guard: generate's system is checked too" 400 "$(status_of "$r")"
check_eq "guard: no blocked request reached the backend" "$n0" \
    "$(backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"chat","stream":false,"messages":[{"role":"user","content":"I am bob@example.com","images":["aGVsbG8gYm9iQGV4YW1wbGUuY29t"]}]}')
check_eq "guard: redacted, 200" 200 "$(status_of "$r")"
check_contains "guard: the backend saw the redaction" "I am [REDACTED:EMAIL]" "$(last_body)"
check_contains "guard: images pass as they came" "aGVsbG8gYm9iQGV4YW1wbGUuY29t" "$(last_body)"

# --- output guardrails --------------------------------------------------------
# (The fake echoes its model id, text and all: only the answer's text counts.)
text_of() { printf '%s\n' "$1" | python3 -c 'import json,sys; print("".join(json.loads(l)["message"]["content"] for l in sys.stdin if l.strip()))'; }
r=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/api/chat" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"leak","messages":[]}')
check_eq "output: redacted in the stream" "key [REDACTED:EMAIL] and more" "$(text_of "$r")"
r=$(http POST /proxy/acme/api/generate "$TOKEN" '{"model":"leak","prompt":"x","stream":false}')
check_eq "output: redacted in a whole answer" "key [REDACTED:EMAIL] and more" "$(body_of "$r" | json response)"
r=$(curl -sS -N -m 10 "$AGENT_URL/proxy/acme/api/chat" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"block","messages":[]}')
check_eq "output: a block sends nothing of the match" "hello " "$(text_of "$r")"
check_eq "output: the stream ends content_filter" content_filter "$(printf '%s\n' "$r" | tail -n 1 | json done_reason)"

# --- traces -------------------------------------------------------------------
# Every request above is traced once the embed, the last one, is.
embed_traced() { ctl -o json logs -d acme -n 100 | grep -q '"ollama_embed"'; }
t_until 10 embed_traced
logs=$(ctl -o json logs -d acme -n 100)
check_eq "traces: the chat's tokens from eval counts" "ok" "$(echo "$logs" | python3 -c '
import json,sys
ts=[t for t in json.load(sys.stdin) if t.get("route")=="ollama_chat" and t.get("status")==200 and t.get("model")=="chat"]
print("ok" if ts and all(t["prompt_tokens"]>0 and not t["estimated"] for t in ts) and any(t["stream"] and t["completion_tokens"]==4 for t in ts) else ts)')"
check_eq "traces: generate and embed recorded" "ok" "$(echo "$logs" | python3 -c '
import json,sys
r={t.get("route") for t in json.load(sys.stdin)}
print("ok" if {"ollama_generate","ollama_embed"} <= r else r)')"
check_eq "traces: the refusals too" "ok" "$(echo "$logs" | python3 -c '
import json,sys
ts=json.load(sys.stdin)
print("ok" if any(t.get("status")==404 and t.get("route")=="ollama_chat" for t in ts) and any(t.get("rejected_step")=="input_guardrail" for t in ts) else "missing")')"

# --- limits: refused in Ollama's error shape, with Retry-After --------------
RPM_TOK=$(ctl -o json token create -d acme --name rpm --rpm 1 | json token)
# (one window may end between two requests: a third is then refused)
for i in 1 2 3; do
	r=$(http POST /proxy/acme/api/generate "$RPM_TOK" \
	    '{"model":"chat","prompt":"x","stream":false}' -D "$T_DIR/h")
	[ "$(status_of "$r")" = 429 ] && break
done
check_eq "limit: a second request in a minute, 429" 429 "$(status_of "$r")"
check_eq "limit: in Ollama's error shape" 1 "$(body_of "$r" | python3 -c 'import json,sys; print(int(isinstance(json.load(sys.stdin)["error"], str)))')"
check "limit: with Retry-After" grep -qi '^retry-after: [0-9]' "$T_DIR/h"
check "limit: with an x-request-id" grep -Eqi '^x-request-id: [0-9a-f]{32}'$'\r''?$' "$T_DIR/h"
check "limit: routed, so signed: a Cube-Receipt" grep -qi '^cube-receipt: v1\.' "$T_DIR/h"

# --- tool calls: every string of their arguments through the guardrails ------
ctl guardrail create -d acme keys --kind pii --action redact --types secret >/dev/null
SECRET=sk-abc123DEF456ghi789JKL0mno
ctl model deploy -d acme --provider local --name Tools --key tools --force \
    --model-id "fake-chat;tool=lookup;args={\"key\":\"$SECRET\",\"n\":1}" \
    --guard-out keys --guard-out forbid >/dev/null
TOOLS='"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]'
args_of() { python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith("{"):
        for t in (json.loads(line).get("message") or {}).get("tool_calls") or []:
            print(json.dumps(t["function"]["arguments"], sort_keys=True))'; }
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"tools","stream":false,"messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_eq "a buffered tool call: the strings of its arguments redacted" \
    '{"key": "[REDACTED:SECRET]", "n": 1}' "$(body_of "$r" | args_of)"
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"tools","messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_eq "a streamed one too" '{"key": "[REDACTED:SECRET]", "n": 1}' "$(body_of "$r" | args_of)"
check_contains "and the stream ends as it should" '"done":true' "$(body_of "$r")"
ctl model edit -d acme tools --force \
    --model-id 'fake-chat;tool=lookup;args={"n":"FORBIDDEN-7"}' >/dev/null
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"tools","stream":false,"messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_contains "a blocked tool call: content_filter" '"done_reason":"content_filter"' "$(body_of "$r")"
check_contains "with no tool calls" '"tool_calls":[]' "$(body_of "$r")"
r=$(http POST /proxy/acme/api/chat "$TOKEN" \
    '{"model":"tools","messages":[{"role":"user","content":"k"}],'"$TOOLS"'}')
check_contains "a blocked streamed tool call ends with content_filter" \
    '"done_reason":"content_filter"' "$(body_of "$r")"
# (The lines' "model" is the fake's model id, which holds the match.)
check_not_contains "none of the match went out" 'FORBIDDEN' "$(body_of "$r" | args_of)"

# --- hang-up cancels upstream -------------------------------------------------
curl -sS -N -m 1 "$AGENT_URL/proxy/acme/api/chat" -H "Authorization: Bearer $TOKEN" \
    -d '{"model":"long","messages":[]}' >/dev/null 2>&1
check "hang-up mid-stream cancels upstream" t_until 5 backend_saw_hangup

t_done
