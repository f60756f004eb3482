#!/usr/bin/env bash
# Backends are untrusted input, and the machine can run short: a backend
# that answers with a Content-Type far too long or full of control bytes,
# compresses though it was not asked to, hides its errors behind an HTML
# page, rate-limits, or floods a stream never takes the agent down or
# reaches the client unchecked; and when the agent runs out of file
# descriptors, that is a 503 of its own, not the backend's failure, and
# providers stay active.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
provider-check-interval = 1
CONF
start_backend
start_agent -c "$T_DIR/agent.conf" --workers 1
ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d acme local --driver ollama --url "$BACKEND_URL" >/dev/null
deploy() {	# provider key model_id
	ctl model deploy -d acme --provider "$1" --name "$2" --key "$2" \
	    --model-id "$3" --force >/dev/null 2>&1 || echo "cannot deploy $2"
}
deploy fake chat 'fake-chat'
TOKEN=$(ctl -o json token create -d acme --name t | json token)

# HTTP to the agent as the client sees it: the head, the body, the status.
chat() {	# model: a non-streamed chat completion
	curl -sS -i -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' -w '\n%{http_code}' \
	    --data-binary '{"model":"'"$1"'","messages":[{"role":"user","content":"hi"}]}' \
	    "$AGENT_URL/proxy/acme/$2" | tr -d '\r'
}
stream() {	# model path: a streamed answer's body
	curl -sS -N -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"model":"'"$1"'","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
	    "$AGENT_URL/proxy/acme/$2"
}
# What a reply from chat says, one "key=value" line each, read in one go:
# status, head (ok, or what is wrong with it), the headers (h.NAME), the
# error object's shape (openai, ollama or none) and fields, the answer's
# content, and whether a backend internal leaked.
facts() {
	printf '%s' "$1" | python3 -c 'import json,re,sys
raw = sys.stdin.read()
raw, _, status = raw.rpartition("\n")
head, _, body = raw.partition("\n\n")
lines = head.split("\n")
f = {"status": status, "head": "ok", "shape": "none", "content": "",
     "leak": "yes" if "10.9.8.7" in raw or "Set-Cookie" in head else "no"}
if not re.match(r"HTTP/1\.1 \d{3} [ -~]+$", lines[0]):
    f["head"] = "bad status line %r" % lines[0]
for l in lines[1:]:
    m = re.match(r"([!#$%&*+.^_`|~0-9A-Za-z-]+): ([ -~]*)$", l)
    if not m:
        f["head"] = "bad line %r" % l
        continue
    f["h." + m.group(1).lower()] = m.group(2)
if len(f.get("h.content-type", "")) > 128:
    f["head"] = "a Content-Type of %d bytes" % len(f["h.content-type"])
try:
    o = json.loads(body)
except ValueError:
    o = None
if isinstance(o, dict) and list(o) == ["error"]:
    e = o["error"]
    if isinstance(e, str):
        f["shape"], f["message"] = "ollama", e
    elif (isinstance(e, dict) and sorted(e) == ["code", "message", "param",
          "type"] and isinstance(e["message"], str) and
          isinstance(e["type"], str)):
        f["shape"] = "openai"
        for k in ("code", "type", "message"):
            f[k] = e[k] if e[k] is not None else "null"
if isinstance(o, dict) and "choices" in o:
    f["content"] = o["choices"][0]["message"]["content"]
for k, v in f.items():
    print("%s=%s" % (k, str(v).replace("\n", " ")))'
}
fact() {	# key facts
	printf '%s\n' "$2" | sed -n "s/^$1=//p"
}
# The text of an SSE chat stream's deltas, joined.
sse_text() {
	python3 -c 'import json,sys
out = ""
for l in sys.stdin.read().split("\n"):
    if l.startswith("data: {"):
        for c in json.loads(l[6:]).get("choices", []):
            out += c.get("delta", {}).get("content") or ""
print(out)'
}
V1=v1/chat/completions

# --- Content-Type ----------------------------------------------------------
deploy fake long 'fake-chat;ctype=long'
f=$(facts "$(chat long $V1)")
check "a 1.1 KB Content-Type: the agent is still up" kill -0 "$AGENT_PID"
check_eq "a 1.1 KB Content-Type: the answer, labelled application/json" \
    "200 ok application/json Hello from fake-llm." \
    "$(fact status "$f") $(fact head "$f") $(fact h.content-type "$f") $(fact content "$f")"
for raw in cr nul ctl lf fold 8bit; do
	deploy fake "raw-$raw" "fake-chat;raw=$raw"
	f=$(facts "$(chat "raw-$raw" $V1)")
	case $(fact status "$f") in
	200) check_eq "raw=$raw: the answer" "Hello from fake-llm." "$(fact content "$f")" ;;
	*) check_eq "raw=$raw: 502 upstream_error" "502 upstream_error" \
	    "$(fact status "$f") $(fact code "$f")" ;;
	esac
	check_eq "raw=$raw: a well-formed head, nothing injected" "ok " \
	    "$(fact head "$f") $(fact h.x-injected "$f")"
done
# A valid answer in pieces of 1 to 7 bytes: head, chunk sizes with
# extensions, data and trailer cut everywhere (the agent's own client
# keeps a head in parts, and h1-response.c a size line).
deploy fake raw-trickle 'fake-chat;raw=trickle'
f=$(facts "$(chat raw-trickle $V1)")
check_eq "raw=trickle: an answer in pieces of 1-7 bytes, read whole" \
    "200 Hello from fake-llm." "$(fact status "$f") $(fact content "$f")"
check "after every Content-Type game the agent is up" kill -0 "$AGENT_PID"

# --- content codings ---------------------------------------------------------
for enc in gzip deflate; do
	deploy fake "$enc" "fake-chat;encoding=$enc"
	f=$(facts "$(chat "$enc" $V1)")
	check_eq "$enc: decoded, the answer as JSON, no coding passed on" \
	    "200 Hello from fake-llm. " \
	    "$(fact status "$f") $(fact content "$f") $(fact h.content-encoding "$f")"
	out=$(stream "$enc" $V1)
	check_eq "$enc: a stream decoded event by event" "Hello from fake-llm." \
	    "$(printf '%s' "$out" | sse_text)"
	check_contains "$enc: the stream ends with [DONE]" "data: [DONE]" "$out"
	deploy local "ollama-$enc" "fake-chat;encoding=$enc"
	out=$(stream "ollama-$enc" api/chat)
	check_contains "$enc: an Ollama stream decoded line by line" '"done":true' "$out"
done
check_eq "the agent asks backends for no coding" identity \
    "$(backend_requests | python3 -c 'import json,sys; print(" ".join(sorted(set(r["headers"].get("accept-encoding", "none") for r in json.load(sys.stdin)))))')"
for enc in x-foo br; do
	deploy fake "$enc" "fake-chat;encoding=$enc"
	f=$(facts "$(chat "$enc" $V1)")
	check_eq "$enc: 502 upstream_error" "502 upstream_error" \
	    "$(fact status "$f") $(fact code "$f")"
	check_contains "$enc: says why" "content coding ($enc)" "$(fact message "$f")"
	out=$(stream "$enc" $V1)
	check_contains "$enc: a stream fails before its head, saying why" \
	    '"code":"upstream_error"' "$out"
	check_not_contains "$enc: no undecoded bytes relayed" "Hello" "$out"
done
check_eq "x-foo: traced as the backend's failure" "502 upstream_error upstream" \
    "$(ctl logs -d acme --model x-foo -o json | python3 -c 'import json,sys; t=json.load(sys.stdin)[-1]; print(t["status"], t["error"], t["rejected_step"])')"

# --- error bodies ------------------------------------------------------------
for eb in html text bad; do
	deploy fake "err-$eb" "fake-chat;status=413;error_body=$eb"
	f=$(facts "$(chat "err-$eb" $V1)")
	check_eq "error_body=$eb: the backend's 413 kept, the OpenAI shape, as JSON" \
	    "413 request_too_large openai application/json" \
	    "$(fact status "$f") $(fact code "$f") $(fact shape "$f") $(fact h.content-type "$f")"
	check_contains "error_body=$eb: names the backend's status" "HTTP 413" "$(fact message "$f")"
	check_eq "error_body=$eb: no backend internals" no "$(fact leak "$f")"
	deploy fake "err5-$eb" "fake-chat;status=503;error_body=$eb"
	f=$(facts "$(chat "err5-$eb" $V1)")
	check_eq "error_body=$eb on a 503: 502 upstream_error, the OpenAI shape" \
	    "502 upstream_error openai no" \
	    "$(fact status "$f") $(fact code "$f") $(fact shape "$f") $(fact leak "$f")"
	deploy local "ollama-err-$eb" "fake-chat;status=413;error_body=$eb"
	f=$(facts "$(chat "ollama-err-$eb" api/chat)")
	check_eq "error_body=$eb on Ollama's route: 413, Ollama's error shape" \
	    "413 ollama no" "$(fact status "$f") $(fact shape "$f") $(fact leak "$f")"
done
deploy fake err-openai 'fake-chat;status=400'
f=$(facts "$(chat err-openai $V1)")
check_eq "an OpenAI error object: 400 with the backend's words" \
    "400 openai Invalid request (fake-llm status=400)." \
    "$(fact status "$f") $(fact shape "$f") $(fact message "$f")"
deploy fake err-vllm 'fake-chat;status=400;error_body=vllm'
f=$(facts "$(chat err-vllm $V1)")
check_eq "vLLM's error object: the backend's words, the OpenAI shape" \
    "400 openai This model's maximum context length is 4096 tokens." \
    "$(fact status "$f") $(fact shape "$f") $(fact message "$f")"
deploy fake err-evil 'fake-chat;status=400;error_body=evil'
f=$(facts "$(chat err-evil $V1)")
check_eq "an error object with hostile fields: only clean ones, retold" \
    "400 openai invalid_request_error rate_limit_exceeded no" \
    "$(fact status "$f") $(fact shape "$f") $(fact type "$f") $(fact code "$f") $(fact leak "$f")"

# --- a backend's 429 ---------------------------------------------------------
deploy fake limited 'fake-chat;status=429;ratelimit=1'
r=$(chat limited $V1)
f=$(facts "$r")
check_eq "backend 429: 429 to the client" "429 rate_limit_exceeded" \
    "$(fact status "$f") $(fact code "$f")"
check_eq "backend 429: its rate-limit headers passed on" "7 7000 60 0 7s" \
    "$(fact h.retry-after "$f") $(fact h.retry-after-ms "$f") $(fact h.x-ratelimit-limit-requests "$f") $(fact h.x-ratelimit-remaining-requests "$f") $(fact h.x-ratelimit-reset-requests "$f")"
check_eq "backend 429: nothing else, no overlong value" "ok no " \
    "$(fact head "$f") $(fact leak "$f") $(fact h.x-ratelimit-overlong "$f")"
check_not_contains "backend 429: no cookie" "backend_session" "$r"
check_eq "backend 429: the first Retry-After only" 1 "$(grep -ci '^retry-after:' <<<"$r")"
deploy fake flooded 'fake-chat;status=429;ratelimit=2'
r=$(chat flooded $V1)
n=$(printf '%s' "$r" | sed '/^$/q' | grep -ci '^x-ratelimit-')
check "backend 429 with 300 rate-limit headers: a few passed on ($n)" [ "$n" -ge 3 -a "$n" -le 8 ]
check_eq "backend 429 with 300 rate-limit headers: a well-formed head" ok \
    "$(fact head "$(facts "$r")")"
deploy fake ok-limits 'fake-chat;ratelimit=1'
r=$(chat ok-limits $V1)
check_not_contains "a 200 does not pass the backend's limits on" "x-ratelimit-remaining" "$r"

# --- streams that never end an event -----------------------------------------
deploy fake flood 'fake-chat;flood=6000000'
out=$(stream flood $V1 | head -c 100000)
check_contains "an unbounded SSE event ends the stream with an error event" \
    '"code":"upstream_error"' "$out"
check_contains "it says why" "larger than the gateway takes" "$out"
check "the flooded event was not relayed" [ "${#out}" -lt 2000 ]
deploy local ollama-flood 'fake-chat;flood=6000000'
out=$(stream ollama-flood api/chat | head -c 100000)
check_contains "an unbounded NDJSON line ends the stream with an error line" \
    "larger than the gateway takes" "$out"
check "the agent survived every hostile backend" kill -0 "$AGENT_PID"

# --- out of file descriptors ---------------------------------------------------
# Models on a backend that closes every connection, so that their requests
# must open one while the agent's descriptor table is full: one by
# address, one by name when this host's name is 127.0.0.1 (the name must
# be resolved, and the resolver needs descriptors too).
start_backend
ctl provider add -d acme fresh --driver openai --url "$BACKEND_URL/v1" >/dev/null
deploy fresh fresh 'fake-chat;close=1'
fresh=(fresh)
name=$(hostname)
if [ "$(getent hosts "$name" | awk '{ print $1; exit }')" = 127.0.0.1 ]; then
	ctl provider add -d acme named --driver openai \
	    --url "http://$name:$BACKEND_PORT/v1" >/dev/null
	deploy named named 'fake-chat;close=1'
	fresh+=(named)
else
	echo "# SKIP by name: $name is not 127.0.0.1 here"
fi
bodies=()
for m in "${fresh[@]}"; do
	bodies+=('{"model":"'"$m"'","messages":[{"role":"user","content":"hi"}]}')
done
python3 "$CUBE_ROOT/tests/tools/fd-exhaust.py" "${AGENT_URL#http://}" \
    "$AGENT_PID" "$AGENT_LOG" "$TOKEN" /proxy/acme/v1/chat/completions \
    'provider checks skipped|errored' "${bodies[@]}" \
    >"$T_DIR/emfile.out" 2>"$T_DIR/emfile.err"
awk '/^--- reply$/ { n++; next } n { print > (FILENAME "." n) }' "$T_DIR/emfile.out"
i=0
for m in "${fresh[@]}"; do
	i=$((i + 1))
	out=$(tr -d '\r' <"$T_DIR/emfile.out.$i" 2>/dev/null)
	check "out of descriptors, $m: 503, never 502 ($(head -n 1 <<<"$out"))" \
	    grep -Eq '^statuses: (200 )*503$' <<<"$out"
	check_contains "out of descriptors, $m: code unavailable" '"code":"unavailable"' "$out"
	check_contains "out of descriptors, $m: says so" \
	    "the gateway is out of resources; retry" "$out"
	check_contains "out of descriptors, $m: Retry-After" "Retry-After: 1" "$out"
	check_not_contains "out of descriptors, $m: not the backend's failure" \
	    "upstream error for model $m" "$(cat "$AGENT_LOG")"
done
check_eq "a health round ran during the shortage" seen "$(tail -n 1 "$T_DIR/emfile.out")"
check_fails "no provider marked errored by the shortage" grep -q "errored" "$AGENT_LOG"
check_eq "the health check says once that it skipped" 1 \
    "$(grep -c 'provider checks skipped' "$AGENT_LOG")"
# The agent recovers once the connections are gone.
answers() {	# model: a chat completion succeeds
	[ "$(status_of "$(chat "$1" $V1 2>/dev/null)")" = 200 ]
}
for m in "${fresh[@]}"; do
	check "after the shortage $m answers" t_until 10 answers "$m"
done
check_eq "providers stay active" active \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys; print(" ".join(sorted(set(p["status"] for p in json.load(sys.stdin)))))')"
ctl logs -d acme --model fresh -o json >"$T_DIR/logs.json"
check_eq "traced as the gateway's shortage, not the backend's" "503 unavailable gateway" \
    "$(python3 -c 'import json,sys; t=[t for t in json.load(open(sys.argv[1])) if t["status"] != 200][-1]; print(t["status"], t["error"], t["rejected_step"])' "$T_DIR/logs.json")"

# --- an answer before the whole request ----------------------------------------
# A backend that refuses a large body as soon as it has the head (a 413)
# and drops the rest: its answer reaches the client as for any 413, while
# the agent was still sending (its own client: 127.0.0.1).
python3 "$CUBE_ROOT/tests/tools/canned-backend.py" "$T_DIR/canned.port" \
    "$T_DIR/canned.answer" "$T_DIR/canned.heads" >"$T_DIR/canned.log" 2>&1 &
T_PIDS+=("$!")
t_wait_file "$T_DIR/canned.port" 10 || { echo "canned-backend did not start"; exit 1; }
err='{"error":{"message":"prompt too large","type":"invalid_request_error","code":"too_large"}}'
printf 'HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#err}" "$err" >"$T_DIR/canned.answer"
list='{"object":"list","data":[{"id":"fake-chat","object":"model"}]}'
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
    "${#list}" "$list" >"$T_DIR/canned.answer.get"	# its health checks
ctl provider add -d acme early --driver openai --url "http://127.0.0.1:$(cat "$T_DIR/canned.port")/v1" >/dev/null
deploy early early fake-chat
python3 -c 'import json,sys; json.dump({"model":"early","messages":[{"role":"user","content":"x" * (6 << 20)}]}, open(sys.argv[1], "w"))' "$T_DIR/big.json"
# Three: whether the agent still sends as the answer comes is up to timing.
for i in 1 2 3; do
	out=$(curl -sS -i -m 20 -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary @"$T_DIR/big.json" \
	    -w '\n%{http_code}' "$AGENT_URL/proxy/acme/v1/chat/completions" | tr -d '\r')
	check_eq "an answer before the whole request ($i): the backend's 413" 413 "$(status_of "$out")"
	check_contains "an answer before the whole request ($i): its words" "prompt too large" "$out"
done
check "agent stops cleanly" stop_agent
t_done
