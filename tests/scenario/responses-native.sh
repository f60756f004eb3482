#!/usr/bin/env bash
# OpenAI's Responses API passed through to a provider that serves it
# (--responses-api): the backend gets /v1/responses as the client sent
# it, the model id in place of the key; the answer and its events come
# back with the key as model, billed from the backend's usage, signed.
# Input guardrails still read the body; a model with output guardrails,
# or a provider without the setting, is translated to chat completions.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent --tee sim
DOMAIN_ID=$(ctl -o json domain create acme | json id)
ctl provider add -d acme native --driver openai --url "$BACKEND_URL/v1" \
    --responses-api >/dev/null
ctl guardrail create -d acme forbid --kind regex --action block \
    --pattern 'FORBIDDEN-[0-9]+' >/dev/null
NAT_ID='fake-chat;text=Hello_there_friend;chunks=3;cached=2'
ctl model deploy -d acme --provider native --name Nat --key nat \
    --model-id "$NAT_ID" --price-input 1 --price-output 2 \
    --guard-in forbid >/dev/null
ctl model deploy -d acme --provider native --name Guarded --key guarded \
    --model-id 'fake-chat;text=hello_world;chunks=2' --guard-out forbid >/dev/null
ctl model deploy -d acme --provider native --name Sys --key sys \
    --model-id 'fake-chat' --system-prompt 'Be kind.' --max-tokens 40 \
    --temperature 0.5 >/dev/null
ctl model deploy -d acme --provider native --name Bad --key bad \
    --model-id 'fake-chat;status=400' >/dev/null
TOKEN=$(ctl -o json token create -d acme --name t | json token)

ctl -o json attest >"$T_DIR/evidence.json"
KEY=$(json ed25519 <"$T_DIR/evidence.json" | base64 -d | od -An -v -tx1 | tr -d ' \n')

nreq() { backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
last() { backend_requests | python3 -c 'import json,sys
r=json.load(sys.stdin)[-1]
print(r["path"] if sys.argv[1] == "path" else r["body"])' "$1"; }
# post NAME BODY: the request in NAME.req, the head in NAME.head, the body
# as received in NAME.resp; prints the status.
post() {
	printf '%s' "$2" >"$T_DIR/$1.req"
	curl -sS -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary @"$T_DIR/$1.req" \
	    -D "$T_DIR/$1.head" -o "$T_DIR/$1.resp" -w '%{http_code}' \
	    "$AGENT_URL/proxy/acme/v1/responses"
}
rid_of() { tr -d '\r' <"$T_DIR/$1.head" | sed -n 's/^x-request-id: //Ip'; }
# trace NAME: the trace of that request, once the writer has it.
trace_of() {
	local id i out
	id=$(rid_of "$1")
	for ((i = 0; i < 100; i++)); do
		out=$(ctl -o json logs -d acme --request-id "$id")
		[ "$(printf '%s' "$out" | json 0.request_id 2>/dev/null)" = "$id" ] && break
		sleep 0.05
	done
	printf '%s' "$out" | json 0
}
verify_ok() {	# NAME WHAT: the receipt, in the head or at the stream's end
	local src=$T_DIR/$1.head
	grep -qi '^cube-receipt:' "$src" || src=$T_DIR/$1.resp
	"$CUBE_BIN/cubectl" receipt verify --receipt "$src" \
	    --request "$T_DIR/$1.req" --response "$T_DIR/$1.resp" \
	    --key "$KEY" >"$T_DIR/out" 2>&1
	check_eq "$2: the receipt verifies" 0 "$?"
}

# --- a whole answer: the backend's Response, the key as model ------------------
st=$(post whole '{"model":"nat","input":"Say hello","metadata":{"usage":{"input_tokens":0,"output_tokens":0}}}')
check_eq "whole: 200" 200 "$st"
check_eq "whole: the backend's Response, the key as model" \
    '["response", "completed", "nat", "Hello there friend", 2, 3, 2]' \
    "$(python3 -c 'import json,sys
v=json.load(open(sys.argv[1])); u=v["usage"]
print(json.dumps([v["object"], v["status"], v["model"], v["output"][0]["content"][0]["text"], u["input_tokens"], u["output_tokens"], u["input_tokens_details"]["cached_tokens"]]))' "$T_DIR/whole.resp")"
check_not_contains "whole: the backend's model id is not told" fake-chat "$(cat "$T_DIR/whole.resp")"
check_eq "whole: the backend got /v1/responses" /v1/responses "$(last path)"
check_eq "whole: as the client sent it, the model id in place of the key" \
    '{"store": false, "model": "'"$NAT_ID"'", "input": "Say hello", "metadata": {"usage": {"input_tokens": 0, "output_tokens": 0}}}' \
    "$(last body | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))')"
t=$(trace_of whole)
check_eq "whole: traced as responses, billed from the backend's usage" \
    "responses 200 2 3 2 false false $NAT_ID" \
    "$(printf '%s' "$t" | python3 -c 'import json,sys
t=json.load(sys.stdin)
print(t["route"], t["status"], t["prompt_tokens"], t["completion_tokens"], t["cached_tokens"], str(t["estimated"]).lower(), str(t["stream"]).lower(), t["model_id"])')"
verify_ok whole "whole"

# --- a stream: the backend's events as they come --------------------------------
st=$(post stream '{"model":"nat","input":"one two three","stream":true}')
check_eq "stream: 200" 200 "$st"
check_contains "stream: an event stream" "text/event-stream" "$(cat "$T_DIR/stream.head")"
check_eq "stream: the backend's events, in order, the key in every response" \
    '[["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"], ["nat", "nat", "nat"], "Hello there friend", true]' \
    "$(python3 -c 'import json,sys
evs=[e for e in open(sys.argv[1]).read().split("\n\n") if e.strip()]
names=[]; models=[]; text=""
for e in evs[:-1]:
    name, data = e.split("\n")
    d=json.loads(data[len("data: "):])
    assert name == "event: " + d["type"], e
    names.append(d["type"])
    if "response" in d: models.append(d["response"]["model"])
    if d["type"] == "response.output_text.delta": text += d["delta"]
print(json.dumps([names, models, text, evs[-1].startswith(": cube-receipt v1.")]))' "$T_DIR/stream.resp")"
check_not_contains "stream: the backend's model id is not told" fake-chat "$(cat "$T_DIR/stream.resp")"
check_eq "stream: the backend got the client's stream, no stream_options" \
    'True None' \
    "$(last body | python3 -c 'import json,sys; b=json.load(sys.stdin); print(b["stream"], b.get("stream_options"))')"
t=$(trace_of stream)
check_eq "stream: billed from response.completed's usage" \
    "responses 3 3 2 false true" \
    "$(printf '%s' "$t" | python3 -c 'import json,sys
t=json.load(sys.stdin)
print(t["route"], t["prompt_tokens"], t["completion_tokens"], t["cached_tokens"], str(t["estimated"]).lower(), str(t["stream"]).lower())')"
verify_ok stream "stream"

# --- input guardrails read the body as it came: nothing reaches the backend -----
n=$(nreq)
st=$(post blocked '{"model":"nat","input":[{"role":"user","content":[{"type":"input_text","text":"leak FORBIDDEN-7"}]}]}')
check_eq "input guardrail: 400 in OpenAI's shape" \
    "400 guardrail_violation" \
    "$st $(json error.code <"$T_DIR/blocked.resp")"
check_eq "input guardrail: the backend saw nothing" "$n" "$(nreq)"
verify_ok blocked "input guardrail"

# --- hostile bodies: a 400 naming the field, before the backend ----------------
n=$(nreq)
st=$(post cap '{"model":"nat","input":"hi","max_output_tokens":"many"}')
check_eq "max_output_tokens not an integer: 400 naming it" "400 max_output_tokens" \
    "$st $(json error.param <"$T_DIR/cap.resp")"
st=$(post dup '{"model":"nat","input":"hi","input":"again"}')
check_eq "a key twice: 400" "400 invalid_request_error" \
    "$st $(json error.type <"$T_DIR/dup.resp")"
printf '{"model":"nat","input":"\xff\xfe"}' >"$T_DIR/utf.req"
st=$(curl -sS -m 20 -H "Authorization: Bearer $TOKEN" --data-binary @"$T_DIR/utf.req" \
    -o "$T_DIR/utf.resp" -w '%{http_code}' "$AGENT_URL/proxy/acme/v1/responses")
check_eq "not UTF-8: 400" 400 "$st"
deep=$(python3 -c 'print("{\"model\":\"nat\",\"input\":" + "[" * 5000 + "]" * 5000 + "}")')
st=$(post deep "$deep")
check_eq "nested 5000 deep: 400" 400 "$st"
check_eq "hostile bodies: the backend saw none" "$n" "$(nreq)"

# --- the model's defaults in the Responses API's names ---------------------------
st=$(post sys '{"model":"sys","input":"hi"}')
check_eq "defaults: 200" 200 "$st"
check_eq "defaults: instructions, max_output_tokens, temperature" \
    '["Be kind.", 40, 0.5, null]' \
    "$(last body | python3 -c 'import json,sys; b=json.load(sys.stdin); print(json.dumps([b["instructions"], b["max_output_tokens"], b["temperature"], b.get("max_tokens")]))')"
st=$(post sys2 '{"model":"sys","instructions":"Mine.","max_output_tokens":7,"input":"hi"}')
check_eq "defaults: the client's own kept" '["Mine.", 7]' \
    "$(last body | python3 -c 'import json,sys; b=json.load(sys.stdin); print(json.dumps([b["instructions"], b["max_output_tokens"]]))')"

# --- stored conversations: only for a domain that logs content ------------------
n=$(nreq)
for f in '"store":true' '"previous_response_id":"resp_1"' '"conversation":"c"' '"background":true'; do
	name=${f#\"}
	name=${name%%\"*}
	st=$(post kept '{"model":"nat","input":"hi",'"$f"'}')
	check_eq "{$f}: 400 naming $name" "400 $name" \
	    "$st $(json error.param <"$T_DIR/kept.resp")"
done
check_eq "stored conversations: the backend saw nothing" "$n" "$(nreq)"
ctl domain edit acme --log-content on >/dev/null
st=$(post store '{"model":"nat","input":"hi","store":true}')
check_eq "a domain that logs content: store true passes" "200 true" \
    "$st $(last body | json store)"
st=$(post nostore '{"model":"nat","input":"hi"}')
check_eq "  and nothing is added" "200 absent" \
    "$st $(last body | python3 -c 'import json,sys; print(json.load(sys.stdin).get("store", "absent"))')"
ctl domain edit acme --log-content off >/dev/null

# --- the backend's errors, in OpenAI's shape --------------------------------------
st=$(post bad '{"model":"bad","input":"hi"}')
check_eq "a backend's 400: 400 in OpenAI's shape" "400 invalid_request_error" \
    "$st $(json error.type <"$T_DIR/bad.resp")"
check_eq "  from /v1/responses" /v1/responses "$(last path)"

# --- translated where passthrough would hide words from the guardrails ----------
st=$(post guarded '{"model":"guarded","input":"hi"}')
check_eq "output guardrails: translated, the backend got chat completions" \
    "200 /v1/chat/completions response guarded hello world" \
    "$st $(last path) $(python3 -c 'import json,sys
v=json.load(open(sys.argv[1])); print(v["object"], v["model"], v["output"][0]["content"][0]["text"])' "$T_DIR/guarded.resp")"
t=$(trace_of guarded)
check_eq "output guardrails: traced as responses too" responses "$(printf '%s' "$t" | json route)"

# --- the setting turned off: translated ------------------------------------------
ctl provider edit -d acme native --no-responses-api >/dev/null
st=$(post off '{"model":"nat","input":"Say hello"}')
check_eq "--no-responses-api: translated" "200 /v1/chat/completions nat" \
    "$st $(last path) $(json model <"$T_DIR/off.resp")"
ctl provider edit -d acme native --responses-api >/dev/null
st=$(post on '{"model":"nat","input":"Say hello"}')
check_eq "--responses-api again: passed through" "200 /v1/responses" \
    "$st $(last path)"

check_not_contains "no sanitizer report" Sanitizer "$(cat "$AGENT_LOG")"
t_done
