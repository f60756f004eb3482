#!/usr/bin/env bash
# The fake backend itself: OpenAI and Ollama shapes, streams chunk by chunk,
# usage chunk, injected status, reset, hang-up recording, tool calls, n,
# logprobs, FIM, rerank, the Responses API, clean SIGTERM.
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

# --- a hostile backend's ways ----------------------------------------------
r=$(post /v1/chat/completions '{"model":"fake-chat;encoding=gzip","messages":[]}' --compressed)
check_eq "encoding=gzip: a gzip body" "200 Hello from fake-llm." \
    "$(status_of "$r") $(body_of "$r" | json choices.0.message.content)"
r=$(post /v1/chat/completions '{"model":"fake-chat;encoding=deflate","stream":true,"messages":[]}' --compressed)
check_contains "encoding=deflate: a deflate stream" "data: [DONE]" "$r"
h=$(curl -sS -m 10 -o /dev/null -D - --data-binary \
    '{"model":"fake-chat;encoding=x-foo;ctype=long","messages":[]}' "$B/v1/chat/completions")
check_contains "encoding=x-foo: labelled only" "Content-Encoding: x-foo" "$h"
check "ctype=long: a 1.1 KB Content-Type" \
    [ "$(printf '%s' "$h" | grep -i '^content-type:' | wc -c)" -gt 1100 ]
r=$(post /v1/chat/completions '{"model":"fake-chat;status=413;error_body=html","messages":[]}' -i)
check_contains "error_body=html: an HTML error page" "<h1>413 Request Entity Too Large</h1>" "$r"
h=$(curl -sS -m 10 -o /dev/null -D - --data-binary \
    '{"model":"fake-chat;status=429;ratelimit=1","messages":[]}' "$B/v1/chat/completions")
check_contains "ratelimit=1: Retry-After" "Retry-After: 7" "$h"
r=$(python3 -c 'import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
b = b"{\"model\":\"fake-chat;raw=nul\",\"messages\":[]}"
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(b) + b)
out = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    out += d
print(out.replace(b"\0", b"@").decode("latin-1"))' "$BACKEND_PORT")
check_contains "raw=nul: a NUL in the Content-Type" "application/json@<script>" "$r"
n=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;flood=300000","stream":true,"messages":[]}' \
    "$B/v1/chat/completions" | wc -c)
check_eq "flood=300000: one unending event" 300006 "$n"

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

# --- tool calls ----------------------------------------------------------------
TOOLS='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]'
r=$(post /v1/chat/completions '{"model":"fake-chat;tool=get_weather","messages":[{"role":"user","content":"Weather in Paris?"}],'"$TOOLS"'}')
check_eq "tool=: a tool call, content null, finish_reason tool_calls" \
    '[null, "tool_calls", "function", "get_weather", {"city": "Paris", "unit": "celsius"}, true]' \
    "$(body_of "$r" | py '[v["choices"][0]["message"]["content"], v["choices"][0]["finish_reason"], v["choices"][0]["message"]["tool_calls"][0]["type"], v["choices"][0]["message"]["tool_calls"][0]["function"]["name"], json.loads(v["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]), v["choices"][0]["message"]["tool_calls"][0]["id"].startswith("call_")]')"
r=$(post /v1/chat/completions '{"model":"fake-chat;tool=get_weather;args={\"city\":\"Oslo\"}","messages":[{"role":"user","content":"x"}],'"$TOOLS"'}')
check_eq "args= sets the arguments" '{"city":"Oslo"}' \
    "$(body_of "$r" | json choices.0.message.tool_calls.0.function.arguments)"
r=$(post /v1/chat/completions '{"model":"fake-chat;tool=get_weather","messages":[{"role":"user","content":"x"}]}')
check_eq "tool=: no tools offered, a text answer" "stop Hello from fake-llm." \
    "$(body_of "$r" | py '"%s %s" % (v["choices"][0]["finish_reason"], v["choices"][0]["message"]["content"])')"
r=$(post /v1/chat/completions '{"model":"fake-chat;tool=get_weather","tool_choice":"none","messages":[{"role":"user","content":"x"}],'"$TOOLS"'}')
check_eq "tool=: tool_choice none, a text answer" stop "$(body_of "$r" | json choices.0.finish_reason)"
r=$(post /v1/chat/completions '{"model":"fake-chat;tool=get_weather","messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"22 degrees"}],'"$TOOLS"'}')
check_eq "tool=: a tool result is answered with itself" "stop 22 degrees" \
    "$(body_of "$r" | py '"%s %s" % (v["choices"][0]["finish_reason"], v["choices"][0]["message"]["content"])')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;tool=get_weather;chunks=4","stream":true,"messages":[{"role":"user","content":"x"}],'"$TOOLS"'}' \
    "$B/v1/chat/completions")
ev=$(printf '%s' "$r" | sse_events)
check_eq "streamed tool call: the role event names the call" \
    '["assistant", null, 0, "function", "get_weather", "", true]' \
    "$(printf '%s' "$ev" | py '[v[0]["choices"][0]["delta"]["role"], v[0]["choices"][0]["delta"]["content"]] + [v[0]["choices"][0]["delta"]["tool_calls"][0][k] for k in ("index","type")] + [v[0]["choices"][0]["delta"]["tool_calls"][0]["function"][k] for k in ("name","arguments")] + [v[0]["choices"][0]["delta"]["tool_calls"][0]["id"].startswith("call_")]')"
check_eq "streamed tool call: 4 argument deltas, no id or name, that join to JSON" \
    '[4, false, {"city": "Paris", "unit": "celsius"}]' \
    "$(printf '%s' "$ev" | py '[len(v[1:5]), any("id" in e["choices"][0]["delta"]["tool_calls"][0] or "name" in e["choices"][0]["delta"]["tool_calls"][0]["function"] for e in v[1:5]), json.loads("".join(e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for e in v[1:5]))]')"
check_eq "streamed tool call: empty delta, finish_reason tool_calls, [DONE]" \
    '[{}, "tool_calls", "[DONE]", 7]' \
    "$(printf '%s' "$ev" | py '[v[-2]["choices"][0]["delta"], v[-2]["choices"][0]["finish_reason"], v[-1], len(v)]')"

# --- n, logprobs -----------------------------------------------------------------
r=$(post /v1/chat/completions '{"model":"fake-chat","n":3,"messages":[{"role":"user","content":"x"}]}')
check_eq "n=3: three choices, indexed, the same answer, usage counts each" \
    '[[0, 1, 2], ["Hello from fake-llm."], 9]' \
    "$(body_of "$r" | py '[[c["index"] for c in v["choices"]], sorted(set(c["message"]["content"] for c in v["choices"])), v["usage"]["completion_tokens"]]')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=2","n":2,"stream":true,"messages":[]}' "$B/v1/chat/completions")
check_eq "n=2 stream: each choice's deltas join to the answer" \
    '["Hello from fake-llm.", "Hello from fake-llm."]' \
    "$(printf '%s' "$r" | sse_events | py '["".join(c["delta"].get("content") or "" for e in v if isinstance(e,dict) for c in e["choices"] if c["index"]==i) for i in (0,1)]')"
for bad in n:'"n":0' n:'"n":1e300' n:'"n":1.5' n:'"n":"2"' n:'"n":129' logprobs:'"logprobs":1' \
    top_logprobs:'"top_logprobs":2' top_logprobs:'"logprobs":true,"top_logprobs":21'; do
	r=$(post /v1/chat/completions '{"model":"fake-chat",'"${bad#*:}"',"messages":[]}')
	check_eq "{${bad#*:}} is a 400 naming ${bad%%:*}" "400 true" \
	    "$(status_of "$r") $(body_of "$r" | py "'${bad%%:*}' in v['error']['message']")"
done
r=$(post /v1/chat/completions '{"model":"fake-chat","logprobs":true,"top_logprobs":2,"messages":[]}')
check_eq "logprobs: one token per word, joined the answer, top 2 led by the token" \
    '["Hello", " from", " fake-llm."] [72, 101, 108, 108, 111] ["Hello", "alt1"] true' \
    "$(body_of "$r" | py '"%s %s %s %s" % (json.dumps([t["token"] for t in v["choices"][0]["logprobs"]["content"]]), v["choices"][0]["logprobs"]["content"][0]["bytes"], json.dumps([t["token"] for t in v["choices"][0]["logprobs"]["content"][0]["top_logprobs"]]), str(all(t["logprob"] <= 0 for t in v["choices"][0]["logprobs"]["content"])).lower())')"
r=$(post /v1/chat/completions '{"model":"fake-chat","messages":[]}')
check_eq "no logprobs unless asked" null "$(body_of "$r" | py 'v["choices"][0]["logprobs"]')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=3","logprobs":true,"stream":true,"messages":[]}' "$B/v1/chat/completions")
check_eq "logprobs stream: each content delta's tokens join to it" "Hello from fake-llm. true" \
    "$(printf '%s' "$r" | sse_events | py '"%s %s" % ("".join(t["token"] for e in v if isinstance(e,dict) and e["choices"] and e["choices"][0]["logprobs"] for t in e["choices"][0]["logprobs"]["content"]), str(all("".join(t["token"] for t in e["choices"][0]["logprobs"]["content"]) == e["choices"][0]["delta"]["content"] for e in v if isinstance(e,dict) and e["choices"] and e["choices"][0]["logprobs"])).lower())')"

r=$(post /v1/completions '{"model":"fake-chat","prompt":"x","logprobs":2}')
check_eq "legacy logprobs: tokens, logprobs, top 2 each, offsets" \
    '[["Hello", " from", " fake-llm."], 3, [2, 2, 2], [0, 5, 10], true]' \
    "$(body_of "$r" | py '[v["choices"][0]["logprobs"]["tokens"], len(v["choices"][0]["logprobs"]["token_logprobs"]), [len(t) for t in v["choices"][0]["logprobs"]["top_logprobs"]], v["choices"][0]["logprobs"]["text_offset"], "Hello" in v["choices"][0]["logprobs"]["top_logprobs"][0]]')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=2","prompt":"x","logprobs":0,"stream":true}' "$B/v1/completions")
check_eq "legacy logprobs stream: each piece's tokens, none on the last" \
    '["Hello from fake-llm.", null]' \
    "$(printf '%s' "$r" | sse_events | py '["".join(t for e in v[:-2] for t in e["choices"][0]["logprobs"]["tokens"]), v[-2]["choices"][0]["logprobs"]]')"
r=$(post /v1/completions '{"model":"fake-chat","prompt":"x","logprobs":6}')
check_eq "legacy logprobs 6 is a 400 naming it" "400 true" \
    "$(status_of "$r") $(body_of "$r" | py "'logprobs' in v['error']['message']")"

# --- FIM and rerank ----------------------------------------------------------------
r=$(post /v1/fim/completions '{"model":"fake-chat;echo=1","prompt":"def add(a, b):","suffix":"return c"}')
check_eq "fim: a chat completion answering the prompt" "200 chat.completion def add(a, b): stop 5" \
    "$(status_of "$r") $(body_of "$r" | py '"%s %s %s %d" % (v["object"], v["choices"][0]["message"]["content"], v["choices"][0]["finish_reason"], v["usage"]["prompt_tokens"])')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=3","prompt":"x","suffix":"y","stream":true}' "$B/v1/fim/completions")
check_eq "fim stream: chat chunks, then [DONE]" '["chat.completion.chunk", "Hello from fake-llm.", "[DONE]"]' \
    "$(printf '%s' "$r" | sse_events | py '[v[0]["object"], "".join(e["choices"][0]["delta"].get("content") or "" for e in v[:-1]), v[-1]]')"
r=$(post /v1/fim/completions '{"model":"fake-chat","suffix":"y"}')
check_eq "fim without a prompt is a 400 naming it" "400 true" \
    "$(status_of "$r") $(body_of "$r" | py '"prompt" in v["error"]["message"]')"
r=$(post /v1/rerank '{"model":"fake-rerank","query":"capital of France","documents":["Berlin is in Germany","Paris is the capital of France",{"text":"France has a capital"}]}')
check_eq "rerank: best first, index and document kept" \
    '[[1, 2, 0], ["Paris is the capital of France", "France has a capital", "Berlin is in Germany"], [1, 0.6666666666666666, 0], "fake-rerank", 17]' \
    "$(body_of "$r" | py '[[x["index"] for x in v["results"]], [x["document"]["text"] for x in v["results"]], [round(x["relevance_score"], 16) for x in v["results"]], v["model"], v["usage"]["total_tokens"]]')"
r=$(post /v1/rerank '{"model":"fake-rerank","query":"France","documents":["France","Spain","French France"],"top_n":1,"return_documents":false}')
check_eq "rerank: top_n 1, return_documents false" '[{"index": 0, "relevance_score": 1}]' \
    "$(body_of "$r" | py 'v["results"]')"
for bad in '"documents":["a"]' '"query":"q"' '"query":"q","documents":[1]' '"query":"q","documents":[],"top_n":-1'; do
	r=$(post /v1/rerank '{"model":"fake-rerank",'"$bad"'}')
	check_eq "rerank {$bad} is a 400" 400 "$(status_of "$r")"
done

# --- the Responses API ------------------------------------------------------------
r=$(post /v1/responses '{"model":"fake-chat;cached=1","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Hi there you"}]}],"metadata":{"k":"v"}}')
check_eq "responses: a whole Response" \
    '[200, "response", "completed", "fake-chat;cached=1", "Be brief.", "message", "assistant", "completed", "output_text", "Hello from fake-llm.", [], 5, 1, 3, 8, {"k": "v"}]' \
    "$(printf '%s' "$r" | python3 -c 'import json,sys
t=sys.stdin.read(); b,st=t.rsplit("\n",1); v=json.loads(b); o=v["output"][0]; c=o["content"][0]; u=v["usage"]
print(json.dumps([int(st), v["object"], v["status"], v["model"], v["instructions"], o["type"], o["role"], o["status"], c["type"], c["text"], c["annotations"], u["input_tokens"], u["input_tokens_details"]["cached_tokens"], u["output_tokens"], u["total_tokens"], v["metadata"]]))')"
r=$(post /v1/responses '{"model":"fake-chat;echo=1;usage=0","input":"say this back"}')
check_eq "responses: a string input, echo, usage=0" '["say this back", null]' \
    "$(body_of "$r" | py '[v["output"][0]["content"][0]["text"], v["usage"]]')"
r=$(post /v1/responses '{"model":"fake-chat"}')
check_eq "responses without input is a 400 naming it" "400 input" \
    "$(status_of "$r") $(body_of "$r" | py '"input" if "input" in v["error"]["message"] else v')"
r=$(curl -sS -N -m 10 --data-binary '{"model":"fake-chat;chunks=3","input":"one two","stream":true}' "$B/v1/responses")
check_eq "responses stream: named events in OpenAI's order, no [DONE]" \
    '["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]' \
    "$(printf '%s' "$r" | python3 -c 'import json,sys
out=[]
for ev in sys.stdin.read().split("\n\n"):
    if not ev.strip(): continue
    name, data = ev.split("\n")
    d=json.loads(data[len("data: "):])
    assert name == "event: " + d["type"], (name, d)
    out.append(d["type"])
print(json.dumps(out))')"
check_eq "responses stream: deltas, numbers, the completed Response with usage" \
    '["Hello from fake-llm.", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "completed", "Hello from fake-llm.", 2, 3, "fake-chat;chunks=3", null]' \
    "$(printf '%s' "$r" | python3 -c 'import json,sys
ev=[json.loads(e.split("\n")[1][6:]) for e in sys.stdin.read().split("\n\n") if e.strip()]
last=ev[-1]["response"]
print(json.dumps(["".join(e["delta"] for e in ev if e["type"]=="response.output_text.delta"), [e["sequence_number"] for e in ev], last["status"], last["output"][0]["content"][0]["text"], last["usage"]["input_tokens"], last["usage"]["output_tokens"], last["model"], ev[0]["response"]["usage"]]))')"

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
