#!/usr/bin/env bash
# OpenTelemetry export end to end: the agent posts OTLP/HTTP spans to a
# receiver that decodes them with the OpenTelemetry project's own protobuf
# classes (tests/sdk/otlp-receiver.mjs), field by field; W3C traceparent
# from a client is the span's parent and reaches the backend with our span
# as its parent; content only for a domain that logs it; a collector that
# hangs, answers 503 or garbage, or is gone fails no request and counts
# what it drops.
# serial: asserts a slow collector leaves requests and shutdown within 5 s
. "$(dirname "$0")/../lib.sh"

if ! sdk_install; then
	echo "# SKIP $SDK_WHY"
	exit 0
fi

RECV_OUT="$T_DIR/spans.jsonl"
: >"$RECV_OUT"
node "$SDK_DIR/otlp-receiver.mjs" "$T_DIR/recv.port" "$RECV_OUT" \
    >"$T_DIR/recv.log" 2>&1 &
RECV_PID=$!
T_PIDS+=("$RECV_PID")
t_wait_file "$T_DIR/recv.port" 20 || { echo "receiver did not start"; cat "$T_DIR/recv.log"; exit 1; }
RECV_URL="http://127.0.0.1:$(cat "$T_DIR/recv.port")"

SECRET="otlp-secret-$RANDOM$RANDOM"
printf '# the collector wants a key\nAuthorization: Bearer %s\n' "$SECRET" \
    >"$T_DIR/otlp-headers"
chmod 600 "$T_DIR/otlp-headers"
cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 20
otlp-headers-file = $T_DIR/otlp-headers
otlp-flush-ms = 20
otlp-timeout-ms = 400
otlp-queue = 4
otlp-batch = 2
otlp-shutdown-ms = 1000
CONF
start_backend
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent -c "$T_DIR/agent.conf" --otlp-endpoint "$RECV_URL/v1/traces" \
    --metrics-listen "127.0.0.1:$METRICS_PORT"

ctl domain create acme >/dev/null
ctl domain create loud >/dev/null
ctl domain edit loud --log-content on >/dev/null
for d in acme loud; do
	ctl provider add -d $d fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
	ctl model deploy -d $d --provider fake --name Chat --key gpt-test \
	    --model-id fake-chat --price-input 1 --price-output 2 >/dev/null 2>&1
done
ctl model deploy -d acme --provider fake --name Embed --key embed \
    --category embedding --model-id fake-embed >/dev/null 2>&1
ctl model deploy -d acme --provider fake --name Broken --key broken \
    --model-id 'fake-chat;status=500' >/dev/null 2>&1
TOK=$(ctl -o json token create -d acme --name a | json token)
TOK_ID=$(ctl -o json token list -d acme | json 0.id)
LOUD=$(ctl -o json token create -d loud --name l | json token)

metric() {	# name: its value on /metrics
	curl -sS "http://127.0.0.1:$METRICS_PORT/metrics" |
	    sed -n "s/^$1 \([0-9]*\)$/\1/p"
}
# The span whose attribute cube.request_id is $1, once it has arrived.
span_of() {	# request id
	python3 - "$RECV_OUT" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    s = json.loads(line)
    if s.get("attributes", {}).get("cube.request_id") == sys.argv[2]:
        print(json.dumps(s)); break
PY
}
has_span() { [ -n "$(span_of "$1")" ]; }
# POST a chat; sets RID (x-request-id) and STATUS.
chat() {	# token body [curl options...]
	local tok=$1 body=$2
	shift 2
	curl -sS -m 20 -D "$T_DIR/head" -o "$T_DIR/body" -w '%{http_code}' \
	    -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' \
	    --data-binary "$body" "$@" "$AGENT_URL/v1/chat/completions" >"$T_DIR/status"
	STATUS=$(cat "$T_DIR/status")
	RID=$(tr -d '\r' <"$T_DIR/head" | sed -n 's/^x-request-id: //Ip')
}
get() {		# span-json python-expression over s
	python3 -c 'import json,sys; s=json.loads(sys.argv[1]); a=s["attributes"]; v=eval(sys.argv[2]); print(json.dumps(v, sort_keys=True) if not isinstance(v,str) else v)' "$1" "$2"
}
backend_last() {	# python expression over the backend's last chat request r
	backend_requests | python3 -c 'import json,sys
r=[x for x in json.load(sys.stdin) if x["method"] == "POST" and x["path"].endswith("/chat/completions")][-1]
h=r["headers"]; print(eval(sys.argv[1]))' "$1"
}

# --- a client's traceparent: the span's trace and parent ------------------
TRACE=0af7651916cd43dd8448eb211c80319c
PARENT=b7ad6b7169203331
body='{"model":"gpt-test","max_tokens":50,"temperature":0.5,"messages":[{"role":"user","content":"one two three four"}]}'
chat "$TOK" "$body" -H "traceparent: 00-$TRACE-$PARENT-01" \
    -H 'tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'
check_eq "chat with traceparent: 200" 200 "$STATUS"
check "its span arrives" t_until 10 has_span "$RID"
s=$(span_of "$RID")
check_eq "span: name is operation and model" "chat gpt-test" "$(get "$s" 's["name"]')"
check_eq "span: kind CLIENT" SPAN_KIND_CLIENT "$(get "$s" 's["kind"]')"
check_eq "span: the client's trace id" "$TRACE" "$(get "$s" 's["traceId"]')"
check_eq "span: the client's span is its parent" "$PARENT" "$(get "$s" 's["parentSpanId"]')"
SPAN=$(get "$s" 's["spanId"]')
check "span: an id of its own, 16 hex digits" test "${#SPAN}" = 16 -a "$SPAN" != "$PARENT"
check_eq "span: GenAI request attributes" \
    '"chat" "openai" "gpt-test" "fake-chat" {"int": "50"} {"double": 0.5}' \
    "$(get "$s" '" ".join(json.dumps(a[k], sort_keys=True) for k in ["gen_ai.operation.name","gen_ai.provider.name","gen_ai.request.model","gen_ai.response.model","gen_ai.request.max_tokens","gen_ai.request.temperature"])')"
# fake-llm counts words: 4 in, "Hello from fake-llm." 3 out.
check_eq "span: usage" '{"int": "4"} {"int": "3"}' \
    "$(get "$s" '" ".join(json.dumps(a[k], sort_keys=True) for k in ["gen_ai.usage.input_tokens","gen_ai.usage.output_tokens"])')"
check_eq "span: HTTP status 200, status unset" '{"int": "200"} null' \
    "$(get "$s" 'json.dumps(a["http.response.status_code"], sort_keys=True) + " " + json.dumps(s["status"])')"
# $1 and $2 per 1M tokens: 4 * 1000 + 3 * 2000 nano-USD.
check_eq "span: Cube's attributes" "acme $TOK_ID {\"int\": \"10000\"} 1e-05 fake" \
    "$(get "$s" '" ".join([a["cube.domain"], a["cube.token_id"], json.dumps(a["cube.cost_nano_usd"]), repr(a["cube.cost_usd"]["double"]), a["cube.provider"]])')"
check_eq "span: no content for a domain that does not log it" "False False" \
    "$(get "$s" 'str("gen_ai.input.messages" in a) + " " + str("gen_ai.output.messages" in a)')"
check_eq "span: no trace step when nothing refused it" False "$(get "$s" 'str("cube.trace_step" in a)')"
check_eq "resource: service and host" "cube-agent 0.1.0 $(hostname)" \
    "$(get "$s" '" ".join(s["resource"][k] for k in ["service.name","service.version","host.name"])')"
check_eq "the collector got the header from otlp-headers-file" "Bearer $SECRET" \
    "$(get "$s" 's["authorization"]')"
check_eq "the stored trace keeps the span's ids (cubectl logs --request-id)" \
    "$TRACE $SPAN" "$(ctl -o json logs -d acme --request-id "$RID" | python3 -c 'import json,sys; t=json.load(sys.stdin)[0]; print(t["trace_id"], t["span_id"])')"
check_eq "backend: traceparent with our span as parent" "00-$TRACE-$SPAN-01" \
    "$(backend_last 'h.get("traceparent")')"
check_eq "backend: the client's tracestate passed on" "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" \
    "$(backend_last 'h.get("tracestate")')"

# --- no traceparent, or an invalid one: a new trace, never a 400 ---------
chat "$TOK" "$body"
check_eq "no traceparent: 200" 200 "$STATUS"
t_until 10 has_span "$RID"
s=$(span_of "$RID")
NEW=$(get "$s" 's["traceId"]')
check "no traceparent: a new trace id" test "${#NEW}" = 32 -a "$NEW" != "$TRACE"
check_eq "no traceparent: no parent" null "$(get "$s" 's.get("parentSpanId")')"
check_eq "no traceparent: backend told of the new trace" \
    "00-$NEW-$(get "$s" 's["spanId"]')-01" "$(backend_last 'h.get("traceparent")')"
for bad in "00-${TRACE^^}-$PARENT-01" "00-00000000000000000000000000000000-$PARENT-01" \
    "01-$TRACE-$PARENT-01" "00-$TRACE-0000000000000000-01" "00-$TRACE-$PARENT" "garbage"; do
	chat "$TOK" "$body" -H "traceparent: $bad" -H 'tracestate: congo=x'
	t_until 10 has_span "$RID"
	s=$(span_of "$RID")
	check_eq "invalid traceparent '$bad': 200, a new trace, no parent, no tracestate" \
	    "200 False null None" "$STATUS $(get "$s" 'str(s["traceId"] == "'"$TRACE"'")') $(get "$s" 's.get("parentSpanId")') $(backend_last 'h.get("tracestate")')"
done
chat "$TOK" "$body" -H "traceparent: 00-$TRACE-$PARENT-01" -H "traceparent: 00-$TRACE-$PARENT-01"
t_until 10 has_span "$RID"
check_eq "two traceparent fields: a new trace" False \
    "$(get "$(span_of "$RID")" 'str(s["traceId"] == "'"$TRACE"'")')"

# --- failures and other operations -----------------------------------------
chat "$TOK" '{"model":"nope","messages":[{"role":"user","content":"hi"}]}'
check_eq "unknown model: 404" 404 "$STATUS"
t_until 10 has_span "$RID"
s=$(span_of "$RID")
check_eq "refused: error status, error.type, step, HTTP status" \
    'STATUS_CODE_ERROR model_not_found model_not_found model {"int": "404"}' \
    "$(get "$s" '" ".join([s["status"]["code"], s["status"]["message"], a["error.type"], a["cube.trace_step"], json.dumps(a["http.response.status_code"], sort_keys=True)])')"
chat "$TOK" '{"model":"broken","messages":[{"role":"user","content":"hi"}]}'
t_until 10 has_span "$RID"
s=$(span_of "$RID")
check_eq "backend 500: an error span" "STATUS_CODE_ERROR chat broken" \
    "$(get "$s" 's["status"]["code"] + " " + s["name"]')"
r=$(curl -sS -m 20 -D "$T_DIR/head" -o /dev/null -H "Authorization: Bearer $TOK" \
    -H 'Content-Type: application/json' --data-binary '{"model":"embed","input":"one two"}' \
    "$AGENT_URL/v1/embeddings")
RID=$(tr -d '\r' <"$T_DIR/head" | sed -n 's/^x-request-id: //Ip')
t_until 10 has_span "$RID"
check_eq "embeddings: its operation" "embeddings embeddings embed" \
    "$(get "$(span_of "$RID")" 'a["gen_ai.operation.name"] + " " + s["name"]')"

# --- content only where the domain logs it ---------------------------------
chat "$LOUD" '{"model":"gpt-test","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"one two three four"}]}'
t_until 10 has_span "$RID"
s=$(span_of "$RID")
check_eq "log-content domain: input messages as the semantic conventions shape them" \
    '[{"parts": [{"content": "be brief", "type": "text"}], "role": "system"}, {"parts": [{"content": "one two three four", "type": "text"}], "role": "user"}]' \
    "$(get "$s" 'json.loads(a["gen_ai.input.messages"])')"
check_eq "log-content domain: output messages" \
    '[{"finish_reason": "stop", "parts": [{"content": "Hello from fake-llm.", "type": "text"}], "role": "assistant"}]' \
    "$(get "$s" 'json.loads(a["gen_ai.output.messages"])')"
check_eq "log-content domain: cube.domain" loud "$(get "$s" 'a["cube.domain"]')"

# Every span so far was exported, none dropped; the receiver decoded all.
SPANS=$(grep -c '"traceId"' "$RECV_OUT")
check_eq "receiver: no span failed to decode" 0 "$(grep -c '"error"' "$RECV_OUT")"
check "metrics: every span exported" t_until 5 test "$(metric cube_otlp_spans_exported_total)" = "$SPANS"
check_eq "metrics: none dropped, no errors" "0 0" \
    "$(metric cube_otlp_spans_dropped_total) $(metric cube_otlp_export_errors_total)"
check_not_contains "the collector's credential is never logged" "$SECRET" "$(cat "$AGENT_LOG")"

# --- a collector that misbehaves hurts no request --------------------------
# Every span ends exported or dropped: wait for that before the next mode.
EXPECT=$SPANS
accounted() {
	test "$(( $(metric cube_otlp_spans_exported_total) + $(metric cube_otlp_spans_dropped_total) ))" = "$EXPECT"
}
ten_chats() {	# mode
	local start ms codes="" i
	start=$(date +%s%N)
	for i in 1 2 3 4 5 6 7 8 9 10; do
		chat "$TOK" "$body"
		codes="$codes$STATUS "
	done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	EXPECT=$((EXPECT + 10))
	check_eq "collector $1: every request 200" "200 200 200 200 200 200 200 200 200 200 " "$codes"
	check "collector $1: requests not slowed (10 in ${ms} ms)" test "$ms" -lt 5000
}
for mode in 503 garbage; do
	curl -sS -X POST --data "$mode" "$RECV_URL/_mode" >/dev/null
	errors=$(metric cube_otlp_export_errors_total)
	exported=$(metric cube_otlp_spans_exported_total)
	posts=$(curl -sS "$RECV_URL/_stats" | json posts)
	ten_chats $mode
	check "collector $mode: every span exported or dropped" t_until 30 accounted
	if [ $mode = 503 ]; then
		check "collector 503: each failed POST counted" test \
		    "$(metric cube_otlp_export_errors_total)" -gt "$errors"
		check_eq "collector 503: nothing exported" "$exported" \
		    "$(metric cube_otlp_spans_exported_total)"
		# Each batch is posted three times before it is dropped.
		check_eq "collector 503: three POSTs per failed batch" \
		    $(( ($(metric cube_otlp_export_errors_total) - errors) )) \
		    $(( $(curl -sS "$RECV_URL/_stats" | json posts) - posts ))
		check_eq "collector 503: failed POSTs are three per batch" 0 \
		    $(( ($(metric cube_otlp_export_errors_total) - errors) % 3 ))
	else
		# A 200 with bytes that are not OTLP is a 200: exported.
		check_eq "collector garbage: no export errors" "$errors" \
		    "$(metric cube_otlp_export_errors_total)"
		check "collector garbage: its 200s count as exported" test \
		    "$(metric cube_otlp_spans_exported_total)" -gt "$exported"
	fi
done
check_contains "a failed export is logged with the URL only" \
    "otlp: export to $RECV_URL/v1/traces failed" "$(cat "$AGENT_LOG")"
curl -sS -X POST --data hang "$RECV_URL/_mode" >/dev/null
dropped=$(metric cube_otlp_spans_dropped_total)
ten_chats hang
# Ten spans in a queue of four behind a hung collector: the oldest dropped.
check "hung collector: dropped spans counted" t_until 10 \
    test "$(metric cube_otlp_spans_dropped_total)" -gt "$dropped"
check_not_contains "the collector's credential is never logged" "$SECRET" "$(cat "$AGENT_LOG")"

# Shutdown flushes for at most otlp-shutdown-ms (1 s), even when hung.
chat "$TOK" "$body"
start=$(date +%s%N)
stop_agent
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "agent exits 0 with the collector hung" 0 "$rc"
check "and within its shutdown deadline (${ms} ms)" test "$ms" -lt 5000

# --- a collector that is not there -----------------------------------------
DOWN_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent -c "$T_DIR/agent.conf" --otlp-endpoint "http://127.0.0.1:$DOWN_PORT/v1/traces" \
    --metrics-listen "127.0.0.1:$METRICS_PORT"
chat "$TOK" "$body"
check_eq "collector down: request 200" 200 "$STATUS"
t_until 10 test "$(metric cube_otlp_spans_dropped_total)" != 0
check_eq "collector down: the span is dropped and counted" 1 \
    "$(metric cube_otlp_spans_dropped_total)"
check_eq "collector down: three failed POSTs" 3 "$(metric cube_otlp_export_errors_total)"
check_eq "collector down: nothing exported" 0 "$(metric cube_otlp_spans_exported_total)"
stop_agent
# A password in the endpoint's URL is a credential: the log hides it.
start_agent -c "$T_DIR/agent.conf" --otlp-endpoint "http://user:$SECRET@127.0.0.1:$DOWN_PORT/v1/traces"
chat "$TOK" "$body"
check_eq "userinfo in the URL: request 200" 200 "$STATUS"
check "userinfo in the URL: the failure is logged" t_until 10 grep -q \
    "otlp: export to http://\*\*\*@127.0.0.1:$DOWN_PORT/v1/traces failed" "$AGENT_LOG"
check_not_contains "userinfo in the URL: never logged" "$SECRET" "$(cat "$AGENT_LOG")"
stop_agent

# --- configuration errors name the setting ----------------------------------
out=$("$CUBE_BIN/cube-agent" --data "$T_DIR/bad" --admin-socket "$T_DIR/bad.sock" \
    --listen 127.0.0.1:0 --otlp-endpoint ftp://x/v1/traces 2>&1)
check_contains "a non-HTTP endpoint is refused by name" "otlp-endpoint: 'ftp://x/v1/traces' is not an http:// or https:// URL" "$out"
printf 'Authorization Bearer %s\n' "$SECRET" >"$T_DIR/bad-headers"
out=$("$CUBE_BIN/cube-agent" --data "$T_DIR/bad" --admin-socket "$T_DIR/bad.sock" \
    --listen 127.0.0.1:0 --otlp-endpoint http://127.0.0.1:1/v1/traces \
    -c <(echo "otlp-headers-file = $T_DIR/bad-headers") 2>&1)
check_contains "a bad header line names the file and line" "bad-headers:1: expected 'Name: value'" "$out"
check_not_contains "and not the secret" "$SECRET" "$out"

t_done
