#!/usr/bin/env bash
# The fake backend itself: OpenAI and Ollama shapes, streams chunk by chunk,
# usage chunk, injected status, reset, hang-up recording, clean SIGTERM.
. "$(dirname "$0")/../lib.sh"

start_backend
B=$BACKEND_URL

post() {	# PATH BODY [curl options...]: body, then the status on the last line
	local p=$1 body=$2
	shift 2
	curl -sS -m 10 -H 'Content-Type: application/json' --data-binary "$body" \
	    -w '\n%{http_code}' "$@" "$B$p"
}

# py EXPR: evaluate a Python expression over the JSON on stdin (as v).
py() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
r=eval(sys.argv[1])
print(json.dumps(r) if isinstance(r,(dict,list,bool)) or r is None else r)' "$1"
}

# The data: payloads of an SSE stream as one JSON array ("[DONE]" kept).
sse_events() {
	python3 -c 'import json,sys
out=[]
for l in sys.stdin.read().split("\n\n"):
    l=l.strip()
    if not l: continue
    d=l[len("data: "):] if l.startswith("data: ") else "BAD:"+l
    out.append(d if d=="[DONE]" or d.startswith("BAD:") else json.loads(d))
print(json.dumps(out))'
}

# --- listings --------------------------------------------------------------
r=$(curl -sS -m 5 "$B/v1/models")
check_eq "models list" '["fake-chat", "fake-embed"]' \
    "$(printf '%s' "$r" | py '[m["id"] for m in v["data"]]')"
r=$(curl -sS -m 5 "$B/api/tags")
check_eq "ollama tags" fake-chat "$(printf '%s' "$r" | json models.0.name)"

# --- non-streaming chat ----------------------------------------------------
r=$(post /v1/chat/completions '{"model":"fake-chat","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there you"}]}' \
    -H 'Authorization: Bearer sk-upstream')
check_eq "chat completion 200" 200 "$(status_of "$r")"
b=$(body_of "$r")
check_eq "object chat.completion" chat.completion "$(printf '%s' "$b" | json object)"
check_eq "default answer" "Hello from fake-llm." \
    "$(printf '%s' "$b" | json choices.0.message.content)"
check_eq "finish_reason stop" stop "$(printf '%s' "$b" | json choices.0.finish_reason)"
check_eq "usage counts words" "5 3 8 0" "$(printf '%s' "$b" | py \
    '"%d %d %d %d" % (v["usage"]["prompt_tokens"], v["usage"]["completion_tokens"], v["usage"]["total_tokens"], v["usage"]["prompt_tokens_details"]["cached_tokens"])')"

r=$(post /v1/chat/completions '{"model":"fake-chat;text=Just_so;cached=2;usage=1","messages":[{"role":"user","content":"a"}]}')
check_eq "text= option" "Just so" "$(body_of "$r" | json choices.0.message.content)"
check_eq "cached= option" 2 "$(body_of "$r" | json usage.prompt_tokens_details.cached_tokens)"
r=$(post /v1/chat/completions '{"model":"fake-chat;echo=1;usage=0","messages":[{"role":"user","content":"say this back"}]}')
check_eq "echo=1 answers the user text" "say this back" \
    "$(body_of "$r" | json choices.0.message.content)"
check_eq "usage=0 leaves usage out" false "$(body_of "$r" | py '"usage" in v')"

# --- streaming -------------------------------------------------------------
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=3","stream":true,"messages":[{"role":"user","content":"Hi"}]}' \
    "$B/v1/chat/completions")
ev=$(printf '%s' "$r" | sse_events)
check_eq "stream opens with the assistant role" assistant \
    "$(printf '%s' "$ev" | py 'v[0]["choices"][0]["delta"]["role"]')"
check_eq "stream of 3 chunks gives 3 content deltas" 3 \
    "$(printf '%s' "$ev" | py 'len([e for e in v[1:] if isinstance(e,dict) and e["choices"] and "content" in e["choices"][0]["delta"]])')"
check_eq "content deltas join to the answer" "Hello from fake-llm." \
    "$(printf '%s' "$ev" | py '"".join(e["choices"][0]["delta"].get("content","") for e in v if isinstance(e,dict) and e["choices"])')"
check_eq "finish chunk then [DONE]" '["stop", "[DONE]"]' \
    "$(printf '%s' "$ev" | py '[v[-2]["choices"][0]["finish_reason"], v[-1]]')"
check_eq "no usage chunk unless asked" 6 "$(printf '%s' "$ev" | py 'len(v)')"

r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=2","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one two"}]}' \
    "$B/v1/chat/completions")
ev=$(printf '%s' "$r" | sse_events)
check_eq "include_usage: choices [] and usage before [DONE]" '[[], 2, 3, "[DONE]"]' \
    "$(printf '%s' "$ev" | py '[v[-2]["choices"], v[-2]["usage"]["prompt_tokens"], v[-2]["usage"]["completion_tokens"], v[-1]]')"

# Chunks arrive one by one: time the first and the last of a slow stream.
python3 - "$BACKEND_PORT" >"$T_DIR/timing" <<'PY'
import http.client, json, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v1/chat/completions", json.dumps({"model": "fake-chat;chunks=3;chunk_delay_ms=200", "stream": True, "messages": []}))
r = c.getresponse()
t0 = time.time(); times = []
while True:
    line = r.fp.readline()
    if not line: break
    if line.startswith(b"data: "): times.append(time.time() - t0)
    if line.startswith(b"data: [DONE]"): break
print(len(times), int((times[-1] - times[0]) * 1000))
PY
read -r nev span <"$T_DIR/timing"
check "6 events arrive spread over >= 900 ms (got ${nev:-0} over ${span:-0} ms)" \
    test "${nev:-0}" -eq 6 -a "${span:-0}" -ge 900

# --- errors --------------------------------------------------------------
r=$(post /v1/chat/completions '{"model":"fake-chat;status=500","messages":[]}')
check_eq "status=500" 500 "$(status_of "$r")"
check_eq "status=500 OpenAI error body" server_error "$(body_of "$r" | json error.type)"
r=$(post /v1/chat/completions '{"model":"fake-chat;status=429","stream":true,"messages":[]}')
check_eq "status=429 on a stream request" "429 rate_limit_exceeded" \
    "$(status_of "$r") $(body_of "$r" | json error.code)"
r=$(post /v1/chat/completions '{"model":"fake-chat",')
check_eq "malformed JSON is a 400" "400 invalid_request_error" \
    "$(status_of "$r") $(body_of "$r" | json error.type)"
r=$(post /v1/nowhere '{}')
check_eq "unknown route is a 404" "404 invalid_request_error" \
    "$(status_of "$r") $(body_of "$r" | json error.type)"

# --- reset and hang-up -----------------------------------------------------
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=4;reset_after=1","stream":true,"messages":[]}' \
    "$B/v1/chat/completions" 2>"$T_DIR/reset.err")
rc=$?
check_eq "reset_after=1 ends in a connection reset" 56 "$rc"
check_eq "one content delta before the reset" 1 "$(printf '%s' "$r" | grep -c '"content":"[^"]')"
curl -sS -m 10 --data-binary '{"model":"fake-chat;reset_after=0","messages":[]}' \
    "$B/v1/chat/completions" >"$T_DIR/reset0.out" 2>&1
check_eq "reset_after=0 closes without a reply" 56 "$?"

curl -sS -m 1 --data-binary '{"model":"fake-chat;first_byte_delay_ms=3000","messages":[]}' \
    "$B/v1/chat/completions" >/dev/null 2>&1
t_until 5 backend_saw_hangup
last=$(backend_requests | py 'v[-1]')
check_eq "hang-up during first_byte_delay is recorded" \
    "fake-chat;first_byte_delay_ms=3000 true false" \
    "$(printf '%s' "$last" | py '"%s %s %s" % (v["model"], str(v["client_hung_up"]).lower(), str(v["completed"]).lower())')"

curl -sS -N -m 1 --data-binary '{"model":"fake-chat;chunks=10;chunk_delay_ms=300","stream":true,"messages":[]}' \
    "$B/v1/chat/completions" >/dev/null 2>&1
t_until 5 backend_saw_hangup
check_eq "hang-up in the middle of a stream is recorded" "true false" \
    "$(backend_requests | py '"%s %s" % (str(v[-1]["client_hung_up"]).lower(), str(v[-1]["completed"]).lower())')"

# --- recording -------------------------------------------------------------
curl -sS -m 5 -X POST "$B/_reset" >/dev/null
post /v1/chat/completions '{"model":"fake-chat","messages":[{"role":"user","content":"x"}]}' \
    -H 'Authorization: Bearer sk-recorded' -H 'X-Custom: Yes' >/dev/null
rec=$(backend_requests)
check_eq "/_reset clears, /_requests is not recorded" 1 "$(printf '%s' "$rec" | py 'len(v)')"
check_eq "record fields" \
    "POST /v1/chat/completions fake-chat Bearer sk-recorded Yes true false" \
    "$(printf '%s' "$rec" | py '" ".join(str(x) for x in [v[0]["method"], v[0]["path"], v[0]["model"], v[0]["authorization"], v[0]["headers"]["x-custom"], v[0]["completed"], v[0]["client_hung_up"]]).replace("True","true").replace("False","false")')"
check_eq "raw body recorded" 'x' "$(printf '%s' "$rec" | py 'json.loads(v[0]["body"])["messages"][0]["content"]')"

# --- other APIs ------------------------------------------------------------
r=$(post /v1/completions '{"model":"fake-chat","prompt":"Say hi"}')
check_eq "legacy completion" "text_completion Hello from fake-llm." \
    "$(body_of "$r" | py '"%s %s" % (v["object"], v["choices"][0]["text"])')"
r=$(post /v1/embeddings '{"model":"fake-embed","input":["a b","c"]}')
r2=$(post /v1/embeddings '{"model":"fake-embed","input":"a b"}')
check_eq "embeddings: 2 inputs, 8 floats each" "2 8" \
    "$(body_of "$r" | py '"%d %d" % (len(v["data"]), len(v["data"][1]["embedding"]))')"
check_eq "embeddings are deterministic" \
    "$(body_of "$r" | py 'v["data"][0]["embedding"]')" \
    "$(body_of "$r2" | py 'v["data"][0]["embedding"]')"
r=$(curl -sS -m 10 --data-binary '{"model":"fake-chat;chunks=2","messages":[{"role":"user","content":"hey"}]}' "$B/api/chat")
check_eq "ollama chat streams NDJSON by default, done last" "3 true 1 3" \
    "$(printf '%s' "$r" | python3 -c 'import json,sys
ls=[json.loads(l) for l in sys.stdin if l.strip()]
print(len(ls), str(ls[-1]["done"]).lower(), ls[-1]["prompt_eval_count"], ls[-1]["eval_count"])')"
r=$(post /api/generate '{"model":"fake-chat","prompt":"why","stream":false}')
check_eq "ollama generate non-stream" "Hello from fake-llm. true" \
    "$(body_of "$r" | py '"%s %s" % (v["response"], str(v["done"]).lower())')"
r=$(post /api/embed '{"model":"fake-embed","input":"a b"}')
check_eq "ollama embed matches the OpenAI vector" \
    "$(body_of "$r2" | py 'v["data"][0]["embedding"]')" \
    "$(body_of "$r" | py 'v["embeddings"][0]')"

# --- clean stop --------------------------------------------------------------
curl -sS -m 10 --data-binary '{"model":"fake-chat;first_byte_delay_ms=5000","messages":[]}' \
    "$B/v1/chat/completions" >/dev/null 2>&1 &
in_flight() {	# the delayed request has arrived and is still unanswered
	[ "$(backend_requests | py 'v[-1]["model"] if v else ""')" = \
	    "fake-chat;first_byte_delay_ms=5000" ]
}
t_until 5 in_flight
(sleep 10; kill -KILL "$BACKEND_PID" 2>/dev/null) &
watchdog=$!
kill -TERM "$BACKEND_PID"
wait "$BACKEND_PID"
rc=$?
kill "$watchdog" 2>/dev/null
check_eq "SIGTERM with a request pending: exit 0" 0 "$rc"
check_not_contains "no sanitizer report" Sanitizer "$(cat "$T_DIR/backend.log")"

t_done
