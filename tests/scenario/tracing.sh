#!/usr/bin/env bash
# Traces, usage and spend end to end: real agent, real fake backend,
# cubectl. Exact costs from known usage, cached tokens priced on their own,
# streamed usage asked for and stripped, estimates when the backend gives
# none, cancelled streams billed, rejected steps, log content, logs -f,
# retention, traces surviving restart and kill -9 with an intact database.
# serial: asserts logs -f shows a new trace within a second
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 50
CONF
start_backend
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent -c "$T_DIR/agent.conf" --metrics-listen "127.0.0.1:$METRICS_PORT"

ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d bravo fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
# $0.15 in, $0.60 out, $0.075 cached per 1M tokens.
prices=(--price-input 0.15 --price-output 0.6 --price-cached 0.075)
ctl model deploy -d acme --provider fake --name Chat --model-id fake-chat "${prices[@]}" >/dev/null
ctl model deploy -d acme --provider fake --name Cached --key cached \
    --model-id 'fake-chat;cached=3' "${prices[@]}" >/dev/null
ctl model deploy -d acme --provider fake --name NoUsage --key nousage \
    --model-id 'fake-chat;usage=0;text=one_two_three_four_five_six_seven_eight' "${prices[@]}" >/dev/null
ctl model deploy -d acme --provider fake --name Long --key long \
    --model-id 'fake-chat;chunks=40;chunk_delay_ms=100;text=aaaa_bbbb_cccc_dddd_eeee_ffff_gggg_hhhh_iiii_jjjj_kkkk_llll_mmmm_nnnn_oooo_pppp_qqqq_rrrr_ssss_tttt_uuuu_vvvv_wwww_xxxx_yyyy_zzzz_AAAA_BBBB_CCCC_DDDD_EEEE_FFFF_GGGG_HHHH_IIII_JJJJ_KKKK_LLLL_MMMM_NNNN' \
    "${prices[@]}" >/dev/null
ctl model deploy -d acme --provider fake --name Off --key off --model-id fake-chat --inactive >/dev/null
ctl model deploy -d bravo --provider fake --name Chat --model-id fake-chat >/dev/null
TOK=$(ctl -o json token create -d acme --name a | json token)
TOK_ID=$(ctl -o json token list -d acme | json 0.id)
B_TOK=$(ctl -o json token create -d bravo --name b | json token)

# The newest trace (any domain) as JSON, once the writer has committed a
# trace newer than the last one seen here.
echo 0 >"$T_DIR/seen"
last_trace() {	# domain [model]
	local i out id
	for ((i = 0; i < 60; i++)); do
		out=$(ctl -o json logs -d "$1" -n 1 ${2:+--model "$2"})
		id=$(echo "$out" | json 0.id 2>/dev/null)
		[ -n "$id" ] && [ "$id" -gt "$(cat "$T_DIR/seen")" ] && break
		sleep 0.05
	done
	echo "$id" >"$T_DIR/seen"
	echo "$out" | json 0
}
field() { printf '%s' "$1" | json "$2"; }

# --- exact cost from known usage -------------------------------------------
# fake-llm counts words: prompt "one two three four" = 4, answer
# "Hello from fake-llm." = 3 words.
chat='{"model":"chat","messages":[{"role":"user","content":"one two three four"}]}'
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$chat")
check_eq "chat 200" 200 "$(status_of "$r")"
t=$(last_trace acme)
check_eq "trace: tokens from the backend's usage" "4 3 0 false" \
    "$(field "$t" prompt_tokens) $(field "$t" completion_tokens) $(field "$t" cached_tokens) $(field "$t" estimated)"
# 4 * 150 + 3 * 600 = 2400 nano-USD
check_eq "trace: exact cost" "0.0000024" "$(field "$t" cost_usd)"
check_eq "trace: who and what" "$TOK_ID chat fake-chat fake chat 200" \
    "$(field "$t" token_id) $(field "$t" model) $(field "$t" model_id) $(field "$t" provider) $(field "$t" route) $(field "$t" status)"
check_eq "trace: not streamed, nothing rejected" "false  " \
    "$(field "$t" stream) $(field "$t" rejected_step) $(field "$t" error)"
check "trace: latency and ttft measured" [ "$(field "$t" latency_ms)" -ge 0 -a -n "$(field "$t" ttft_ms)" ]
check_eq "content not stored by default" "" "$(field "$t" prompt)$(field "$t" completion)"

# --- cached tokens are priced on their own, never twice -------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" \
    '{"model":"cached","messages":[{"role":"user","content":"one two three four five"}]}')
t=$(last_trace acme)
check_eq "cached: counted" "5 3 3" \
    "$(field "$t" prompt_tokens) $(field "$t" completion_tokens) $(field "$t" cached_tokens)"
# (5 - 3) * 150 + 3 * 75 + 3 * 600 = 2325 nano-USD
check_eq "cached: priced at the cached price, not the input one" "0.000002325" "$(field "$t" cost_usd)"

# --- streams: usage asked for upstream, stripped for the client -----------
stream='{"model":"chat","stream":true,"messages":[{"role":"user","content":"one two three four"}]}'
out=$(curl -sS -N -m 10 -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
    --data-binary "$stream" "$AGENT_URL/proxy/acme/v1/chat/completions")
body=$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["body"])')
check_eq "stream: the backend was asked for usage" true \
    "$(echo "$body" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["stream_options"]["include_usage"]).lower())')"
check_not_contains "stream: the usage chunk is not the client's" '"prompt_tokens"' "$out"
check_contains "stream: still ends with [DONE]" 'data: [DONE]' "$out"
t=$(last_trace acme)
check_eq "stream: usage from the stream" "4 3 false true 0.0000024" \
    "$(field "$t" prompt_tokens) $(field "$t" completion_tokens) $(field "$t" estimated) $(field "$t" stream) $(field "$t" cost_usd)"
check "stream: ttft recorded" [ -n "$(field "$t" ttft_ms)" ]

out=$(curl -sS -N -m 10 -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
    --data-binary '{"model":"chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"one"}]}' \
    "$AGENT_URL/proxy/acme/v1/chat/completions")
check_contains "stream: a client that asks for usage gets it" '"prompt_tokens":1' "$out"

# --- no usage from the backend: estimated, and marked so ------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" \
    '{"model":"nousage","messages":[{"role":"user","content":"abcdefghijklmnop"}]}')
t=$(last_trace acme)
# prompt 16 bytes of text = 4 tokens; answer 39 bytes = 10 tokens
check_eq "no usage: estimated from the text" "4 10 true" \
    "$(field "$t" prompt_tokens) $(field "$t" completion_tokens) $(field "$t" estimated)"
check_eq "no usage: the estimate is billed" "0.0000066" "$(field "$t" cost_usd)"

# --- a stream the client cuts is traced and billed for what it got --------
python3 - "$AGENT_URL" "$TOK" >"$T_DIR/cut.out" <<'PY'
import http.client, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
c.request("POST", "/proxy/acme/v1/chat/completions",
    '{"model":"long","stream":true,"messages":[{"role":"user","content":"abcdefgh"}]}',
    {"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"})
r = c.getresponse()
got = b""
while got.count(b"data: ") < 6:
    got += r.fp.read1(65536)
print(got.count(b"data: "))
c.sock.close()
PY
t=$(last_trace acme long)
check_eq "cut stream: traced as cancelled" "true true true 200" \
    "$(field "$t" cancelled) $(field "$t" estimated) $(field "$t" stream) $(field "$t" status)" 2>/dev/null
c=$(field "$t" completion_tokens)
check "cut stream: billed for part of the answer ($c of 50 tokens)" [ "$c" -ge 1 -a "$c" -lt 50 ]
check "cut stream: cost is not zero" [ "$(field "$t" cost_usd)" != 0 ]

# --- the step that rejected a request --------------------------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" '{"model":"off","messages":[]}')
t=$(last_trace acme)
check_eq "inactive model: rejected at model_state" "403 model_inactive model_state 0" \
    "$(field "$t" status) $(field "$t" error) $(field "$t" rejected_step) $(field "$t" cost_usd)"
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" '{"model":"nope","messages":[]}')
t=$(last_trace acme)
check_eq "unknown model: rejected at model" "404 model nope" \
    "$(field "$t" status) $(field "$t" rejected_step) $(field "$t" model)"
# Who sent no valid token is nobody's: counted in the metrics, traced nowhere.
r=$(http POST /proxy/acme/v1/chat/completions "" "$chat")
check_eq "no token: 401" 401 "$(status_of "$r")"
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" '{"model":')
t=$(last_trace acme)
check_eq "malformed body: rejected at request" "400 request" \
    "$(field "$t" status) $(field "$t" rejected_step)"

# --- tenants see only their own ---------------------------------------------
r=$(http POST /proxy/bravo/v1/chat/completions "$B_TOK" "$chat")
last_trace bravo >/dev/null
b=$(ctl -o json logs -d bravo)
check_eq "bravo sees only its trace" 1 "$(echo "$b" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
a=$(ctl -o json logs -d acme -n 1000)
check_not_contains "acme's logs hold nothing of bravo's" "$(ctl -o json domain list | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["name"]=="bravo"][0])')" "$a"

# --- usage: from the rollup, exact decimal strings -------------------------
u=$(ctl -o json usage -d acme --by model)
row() { echo "$u" | python3 -c 'import json,sys
for r in json.load(sys.stdin):
    if r[sys.argv[1]] == sys.argv[2]:
        print(r["requests"], r["errors"], r["prompt_tokens"], r["completion_tokens"], r["cached_tokens"], r["cost_usd"])' "$@"; }
# chat: plain 2400 + stream 2400 + stream with usage (1*150+3*600=1950)
check_eq "usage by model: chat" "3 0 9 9 0 0.000006750" "$(row model chat | sed 's/0.00000675$/0.000006750/')"
check_eq "usage by model: cached" "1 0 5 3 3 0.000002325" "$(row model cached)"
check_eq "usage by model: the inactive model's error counted" "1 1 0 0 0 0" "$(row model off)"
u=$(ctl -o json usage -d acme --by token)
check_contains "usage by token" "\"token\":\"$TOK_ID\"" "$(echo "$u" | tr -d ' \n\t')"
u=$(ctl -o json usage -d acme --by day --since 24h)
check_eq "usage by day: one day" 1 "$(echo "$u" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
u=$(ctl -o json usage -d acme --by hour --until 2000-01-01)
check_eq "usage before anything happened: none" "[]" "$(echo "$u" | tr -d ' \n\t')"
out=$(ctl usage -d acme)
check_contains "usage table" "COST_USD" "$out"
out=$(ctl usage -d acme --since yesterday 2>&1)
check_eq "a bad time is a usage error" 2 "$(ctl usage -d acme --since yesterday >/dev/null 2>&1; echo $?)"

# --- Prometheus metrics on their own address --------------------------------
m=$(curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics")
check_contains "metrics: requests by domain and model" 'cube_requests_total{domain="acme",model="chat"} 3' "$m"
check_contains "metrics: errors by code" 'cube_errors_total{domain="acme",model="off",code="model_inactive"} 1' "$m"
check_contains "metrics: keys naming no model share one label" 'cube_errors_total{domain="acme",model="(unknown)",code="model_not_found"} 1' "$m"
check_not_contains "metrics: no series of its own for such a key" 'model="nope"' "$m"
check_contains "metrics: cached tokens" 'cube_tokens_total{domain="acme",model="cached",kind="cached"} 3' "$m"
check_contains "metrics: spend, exact" 'cube_spend_usd_total{domain="acme",model="cached"} 0.000002325' "$m"
check_contains "metrics: latency histogram" 'cube_request_duration_seconds_bucket{le="+Inf"}' "$m"
check_contains "metrics: ttft histogram" 'cube_time_to_first_token_seconds_count' "$m"
check_contains "metrics: streams in flight" 'cube_streams_in_flight 0' "$m"
check_contains "metrics: the request without a token, counted" 'cube_http_rejected_total{reason="auth"} 1' "$m"
check_contains "metrics: provider health" 'cube_provider_up{domain="acme",provider="fake"} 1' "$m"
check_eq "metrics: one series per provider and domain" 2 "$(printf '%s\n' "$m" | grep -c '^cube_provider_up{')"
r=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/other")
check_eq "metrics: nothing else there" 404 "$r"
r=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$AGENT_URL/metrics")
check_eq "metrics: not on the inference port" 404 "$r"

# --- log content only where the domain enables it --------------------------
ctl domain edit acme --log-content on >/dev/null
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$chat")
t=$(last_trace acme)
check_contains "log-content on: prompt stored" "one two three four" "$(field "$t" prompt)"
check_eq "log-content on: completion stored" "Hello from fake-llm." "$(field "$t" completion)"
ctl domain edit acme --log-content off >/dev/null

# --- logs -f: pushed by the agent, within a second --------------------------
ctl -o json logs -f -d acme -n 1 >"$T_DIR/follow.out" 2>&1 &
FOLLOW=$!
T_PIDS+=("$FOLLOW")
# It subscribes, then prints the newest trace (-n 1): from then on no
# trace can slip between the two.
lines() { wc -l <"$T_DIR/follow.out"; }
t_until 10 eval '[ "$(lines)" -ge 1 ]'
base=$(lines)
start=$(date +%s%N)
http POST /proxy/acme/v1/chat/completions "$TOK" \
    '{"model":"chat","messages":[{"role":"user","content":"follow me"}]}' >/dev/null
got=""
for ((i = 0; i < 40; i++)); do
	got=$(tail -n +$((base + 1)) "$T_DIR/follow.out" |
	    grep -c '"prompt_tokens":2' || true)
	[ "$got" -ge 1 ] && break
	sleep 0.025
done
ms=$((($(date +%s%N) - start) / 1000000))
check "logs -f: the new trace arrives within a second (${ms} ms)" [ "${got:-0}" -ge 1 -a "$ms" -lt 1000 ]
check_eq "logs -f: one JSON object per line" $((base + 1)) "$(lines)"
# bravo's trace, then acme's: once acme's has come, bravo's would have too.
http POST /proxy/bravo/v1/chat/completions "$B_TOK" "$chat" >/dev/null
http POST /proxy/acme/v1/chat/completions "$TOK" \
    '{"model":"chat","messages":[{"role":"user","content":"a b c d e f g"}]}' >/dev/null
t_until 10 grep -q '"prompt_tokens":7' "$T_DIR/follow.out"
check_eq "logs -f -d acme: nothing of bravo's" $((base + 2)) "$(lines)"
kill "$FOLLOW"

out=$(ctl logs -d acme -n 3)
check_contains "logs table" "STATUS" "$out"

# --- traces survive a restart; SIGTERM writes every one -------------------
before=$(ctl -o json logs -d acme -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for i in 1 2 3 4 5; do http POST /proxy/acme/v1/chat/completions "$TOK" "$chat" >/dev/null; done
stop_agent
check "SIGTERM: clean exit" [ $? -eq 0 ]
start_agent -c "$T_DIR/agent.conf"
after=$(ctl -o json logs -d acme -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
check_eq "every trace written on SIGTERM and read after restart" $((before + 5)) "$after"

# --- a database held busy longer than SQLite's 5 s wait loses no trace ----
before=$after
python3 -c 'import sqlite3,sys,time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE"); open(sys.argv[2], "w").close(); time.sleep(6.5)
db.execute("ROLLBACK")' "$AGENT_DATA/cube.db" "$T_DIR/locked" &
LOCKER=$!
t_wait_file "$T_DIR/locked" 10
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$chat")
check_eq "requests are served while the database is locked" 200 "$(status_of "$r")"
wait "$LOCKER"
for ((i = 0; i < 100; i++)); do
	after=$(ctl -o json logs -d acme -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$after" -gt "$before" ] && break
	sleep 0.1
done
check_eq "the trace is written once the lock is gone" $((before + 1)) "$after"

# --- kill -9: at most the last window lost, the database intact -----------
for i in $(seq 20); do http POST /proxy/acme/v1/chat/completions "$TOK" "$chat" >/dev/null; done
committed() {	# all 20 are in the database: what kill -9 must not lose
	[ "$(ctl -o json logs -d acme -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge $((after + 20)) ]
}
t_until 10 committed
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
check_eq "kill -9: integrity_check ok" ok "$(sqlite3 "$AGENT_DATA/cube.db" 'PRAGMA integrity_check')"
n=$(sqlite3 "$AGENT_DATA/cube.db" "SELECT count(*) FROM traces t JOIN domains d ON d.id = t.domain_id WHERE d.name = 'acme'")
check_eq "kill -9: traces committed before the kill are there" $((after + 20)) "$n"

# --- retention: enforced by the agent, at start and periodically ----------
ACME=$(sqlite3 "$AGENT_DATA/cube.db" "SELECT id FROM domains WHERE name = 'acme'")
old=$(( ($(date +%s) - 10 * 86400) * 1000 ))
# Ids are the writer's: unix ms << 10, then counting up.
sqlite3 "$AGENT_DATA/cube.db" "INSERT INTO traces (id, domain_id, time_ms, route, status, latency_ms) VALUES ($((old * 1024)), '$ACME', $old, 'chat', 200, 1), ($((old * 1024 + 1)), '$ACME', $old, 'chat', 200, 1)"
echo "trace-retention-check-s = 1" >>"$T_DIR/agent.conf"
rm -f "$AGENT_SOCK"
start_agent -c "$T_DIR/agent.conf"
old_left() { sqlite3 "$AGENT_DATA/cube.db" "SELECT count(*) FROM traces WHERE time_ms <= $old"; }
check_eq "10-day-old traces kept under the 30-day default" 2 "$(old_left)"
ctl domain edit acme --trace-retention 7 >/dev/null
for ((i = 0; i < 60; i++)); do [ "$(old_left)" = 0 ] && break; sleep 0.1; done
check_eq "retention 7 days: removed by the agent's periodic pass" 0 "$(old_left)"
check_eq "recent traces kept" $((after + 20)) \
    "$(sqlite3 "$AGENT_DATA/cube.db" "SELECT count(*) FROM traces WHERE domain_id = '$ACME'")"

t_done
