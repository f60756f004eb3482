#!/usr/bin/env bash
# stats.get, stats.tail, cubectl stats and the per-model histograms of
# /metrics, end to end: a real agent and fake backend, streams with a known
# delay between chunks, a model whose backend answers 500, a second domain
# that must stay out of the first one's figures.
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
trace-flush-ms = 20
CONF
start_backend
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_agent -c "$T_DIR/agent.conf" --metrics-listen "127.0.0.1:$METRICS_PORT"

ctl domain create acme >/dev/null
ctl domain create bravo >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d bravo fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
prices=(--price-input 0.15 --price-output 0.6)
# Four chunks 100 ms apart: a stream lasts at least 300 ms.
ctl model deploy -d acme --provider fake --name Slow --key slow \
    --model-id 'fake-chat;chunks=4;chunk_delay_ms=100' "${prices[@]}" >/dev/null
ctl model deploy -d acme --provider fake --name Broken --key broken \
    --model-id 'fake-chat;status=500' "${prices[@]}" >/dev/null
ctl model deploy -d bravo --provider fake --name Other --key other \
    --model-id fake-chat "${prices[@]}" >/dev/null
TOK=$(ctl -o json token create -d acme --name a | json token)
B_TOK=$(ctl -o json token create -d bravo --name b | json token)

# sq EXPR: EXPR over the stats.get object on stdin; dom(NAME) and
# mod(NAME, KEY) find a domain's and a model's figures.
sq() {
	python3 -c 'import json,sys
s=json.load(sys.stdin)
def dom(n): return next((d for d in s["domains"] if d["name"] == n), None)
def mod(n, k): return next((m for m in dom(n)["models"] if m["model"] == k), None)
v=eval(sys.argv[1])
print("" if v is None else (json.dumps(v) if isinstance(v,(dict,list,bool)) else v))' "$1"
}
stats() { ctl -o json stats "$@"; }

# --- an idle agent: zeros, no percentiles --------------------------------
s=$(stats)
check_eq "idle: host has no requests" "0 0" "$(echo "$s" | sq 's["host"]["1m"]["requests"], s["host"]["1h"]["requests"]' | tr -d '(),')"
check_eq "idle: no latency without requests" "" "$(echo "$s" | sq 's["host"]["1m"]["latency_p50_ms"]')"
check_eq "idle: idle models are listed" "0" "$(echo "$s" | sq 'mod("acme","slow")["5m"]["requests"]')"
check_eq "idle: windows in seconds" '{"1m": 60, "5m": 300, "1h": 3600}' "$(echo "$s" | sq 's["windows"]')"
check_eq "idle: spend today is an exact zero" "0" "$(echo "$s" | sq 'dom("acme")["spend_today_usd"]')"

# --- traffic: N streams with a known delay, M errors, one in bravo -------
N=5
M=3
stream='{"model":"slow","stream":true,"messages":[{"role":"user","content":"one two three four"}]}'
for ((i = 0; i < N; i++)); do
	r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$stream")
	check_eq "stream $i: 200" 200 "$(status_of "$r")"
done
for ((i = 0; i < M; i++)); do
	r=$(http POST /proxy/acme/v1/chat/completions "$TOK" \
	    '{"model":"broken","messages":[{"role":"user","content":"hi"}]}')
	check "broken $i: an error status" [ "$(status_of "$r")" -ge 500 ]
done
r=$(http POST /proxy/bravo/v1/chat/completions "$B_TOK" \
    '{"model":"other","messages":[{"role":"user","content":"hi there"}]}')
check_eq "bravo: 200" 200 "$(status_of "$r")"

host_requests() { [ "$(stats | sq 's["host"]["1m"]["requests"]')" = "$1" ]; }
check "stats.get counts every request once written" t_until 10 host_requests $((N + M + 1))

s=$(stats)
check_eq "slow: requests, errors in every window" "$N 0 $N 0 $N 0" \
    "$(echo "$s" | sq '" ".join(str(mod("acme","slow")[w][k]) for w in ("1m","5m","1h") for k in ("requests","errors"))')"
check_eq "broken: every request an error" "$M $M 1" \
    "$(echo "$s" | sq '" ".join(str(mod("acme","broken")["1m"][k]) for k in ("requests","errors","error_rate"))')"
check_eq "acme: error rate over the domain" \
    "$(python3 -c "print(round($M / ($N + $M), 4))")" \
    "$(echo "$s" | sq 'dom("acme")["1m"]["error_rate"]')"
check_eq "acme: requests/s over the minute" \
    "$(python3 -c "print(round(($N + $M) / 60, 3))")" \
    "$(echo "$s" | sq 'dom("acme")["1m"]["requests_per_s"]')"
p50=$(echo "$s" | sq 'mod("acme","slow")["1m"]["latency_p50_ms"]')
p99=$(echo "$s" | sq 'mod("acme","slow")["1m"]["latency_p99_ms"]')
check "slow: p50 latency at least the chunks' delay ($p50 ms)" [ "$p50" -ge 300 ]
check "slow: p50 latency within reason ($p50 ms)" [ "$p50" -le 5000 ]
check "slow: p99 no less than p50 ($p99 ms)" [ "$p99" -ge "$p50" ]
check_eq "slow: every stream has a time to first token" "$N" \
    "$(echo "$s" | sq 'mod("acme","slow")["1m"]["streams"]')"
ttft=$(echo "$s" | sq 'mod("acme","slow")["1m"]["ttft_p50_ms"]')
check "slow: TTFT present, below the latency ($ttft ms)" [ -n "$ttft" -a "$ttft" -lt "$p50" ]
check_eq "broken: no streams, no TTFT" "0 " \
    "$(echo "$s" | sq 'str(mod("acme","broken")["1m"]["streams"]) + " " + str(mod("acme","broken")["1m"]["ttft_p50_ms"] or "")')"
check "slow: tokens counted" [ "$(echo "$s" | sq 'mod("acme","slow")["1m"]["prompt_tokens"]')" -gt 0 -a \
    "$(echo "$s" | sq 'mod("acme","slow")["1m"]["completion_tokens"]')" -gt 0 ]

# Spend today is what usage.get says, to the nano-dollar.
usage_total() {
	ctl -o json usage -d "$1" | python3 -c 'import json,sys,decimal
print(sum((decimal.Decimal(r["cost_usd"]) for r in json.load(sys.stdin)), decimal.Decimal(0)).normalize())'
}
spend=$(echo "$s" | sq 'dom("acme")["spend_today_usd"]')
check "acme: some spend today ($spend)" [ "$spend" != 0 ]
check_eq "acme: spend today matches cubectl usage" "$(usage_total acme)" \
    "$(python3 -c "import decimal; print(decimal.Decimal('$spend').normalize())")"
check_eq "host: spend is both domains'" \
    "$(python3 -c "import decimal; print((decimal.Decimal('$(usage_total acme)') + decimal.Decimal('$(usage_total bravo)')).normalize())")" \
    "$(python3 -c "import decimal; print(decimal.Decimal('$(echo "$s" | sq 's["host"]["spend_today_usd"]')').normalize())")"

# --- a domain's figures hold only its models ----------------------------
s=$(stats -d acme)
check_eq "-d acme: one domain" '["acme"]' "$(echo "$s" | sq '[d["name"] for d in s["domains"]]')"
check_eq "-d acme: only its models" '["broken", "slow"]' "$(echo "$s" | sq 'sorted(m["model"] for m in dom("acme")["models"])')"
check_eq "-d acme: bravo's request not counted" "$((N + M))" "$(echo "$s" | sq 'dom("acme")["1m"]["requests"]')"
s=$(stats -d bravo)
check_eq "-d bravo: its one request" "1 0" "$(echo "$s" | sq 'str(dom("bravo")["1m"]["requests"]) + " " + str(dom("bravo")["1m"]["errors"])')"
s=$(stats -d acme --model slow)
check_eq "--model slow: that model only" '["slow"]' "$(echo "$s" | sq '[m["model"] for m in dom("acme")["models"]]')"
out=$(ctl stats -d nosuch 2>&1)
check_eq "unknown domain: exit 3" 3 "$(ctl stats -d nosuch >/dev/null 2>&1; echo $?)"
check_contains "unknown domain: says so" "nosuch" "$out"

# --- the table -----------------------------------------------------------
t=$(ctl stats -d acme --window 5m)
check_contains "table: header" "REQ/S" "$t"
check "table: a line per model" grep -Eq "^acme +slow +[0-9.]+ +$N " <<<"$t"
check "table: the error percentage" grep -Eq "^acme +broken +[0-9.]+ +$M +$M +100.0 " <<<"$t"
out=$(ctl stats --window 2m 2>&1)
check_eq "bad --window: usage error" 2 "$(ctl stats --window 2m >/dev/null 2>&1; echo $?)"

# --- /metrics: histograms per domain and model ---------------------------
m=$(curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics")
check_contains "metrics: _count is the requests" \
    "cube_model_request_duration_seconds_count{domain=\"acme\",model=\"slow\"} $N" "$m"
check_contains "metrics: +Inf bucket is the requests" \
    "cube_model_request_duration_seconds_bucket{domain=\"acme\",model=\"slow\",le=\"+Inf\"} $N" "$m"
check_contains "metrics: nothing under the chunks' delay" \
    "cube_model_request_duration_seconds_bucket{domain=\"acme\",model=\"slow\",le=\"0.25\"} 0" "$m"
check_contains "metrics: TTFT of every stream" \
    "cube_model_time_to_first_token_seconds_count{domain=\"acme\",model=\"slow\"} $N" "$m"
check_contains "metrics: errors have their histogram too" \
    "cube_model_request_duration_seconds_count{domain=\"acme\",model=\"broken\"} $M" "$m"
check "metrics: a _sum per series" grep -Eq '^cube_model_request_duration_seconds_sum\{domain="acme",model="slow"\} [0-9.]+$' <<<"$m"
check_contains "metrics: the host histogram is unchanged" \
    "cube_request_duration_seconds_count $((N + M + 1))" "$m"

# --- stats.tail: updates every interval, new requests show --------------
# (The 5-minute window: on a loaded machine the requests above may be a
# minute old by now, out of the 1-minute one.)
ctl -o json stats -d acme -f --interval 250 >"$T_DIR/tail.out" 2>"$T_DIR/tail.err" &
TAIL_PID=$!
T_PIDS+=("$TAIL_PID")
lines() { [ "$(wc -l <"$T_DIR/tail.out")" -ge "$1" ]; }
check "tail: at least two updates" t_until 10 lines 3
before=$(tail -n 1 "$T_DIR/tail.out" | sq 'dom("acme")["5m"]["requests"]')
check_eq "tail: the figures" "$((N + M))" "$before"
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$stream")
saw_new() { tail -n 1 "$T_DIR/tail.out" | sq 'dom("acme")["5m"]["requests"]' | grep -qx "$((N + M + 1))"; }
check "tail: a new request shows" t_until 10 saw_new
check_eq "tail: only acme" '["acme"]' "$(tail -n 1 "$T_DIR/tail.out" | sq '[d["name"] for d in s["domains"]]')"
kill -TERM "$TAIL_PID"
wait "$TAIL_PID" 2>/dev/null
# Bounds of the interval, from the agent itself.
out=$(python3 - "$AGENT_SOCK" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
for i, iv in enumerate((100, 60001, 250)):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": "stats.tail", "params": {"interval_ms": iv}}) + "\n"); f.flush()
    r = json.loads(f.readline())
    print("error" if "error" in r else r["result"]["interval_ms"])
PY
)
check_eq "tail: interval bounded 250..60000" "error error 250" "$(echo $out)"

# --- series: the buckets behind the windows, for sparklines -------------
s=$(stats -d acme --series 1h)
check_eq "series 1h: 60 minute buckets" "1h 60 60 60 60 60" \
    "$(echo "$s" | sq '" ".join([s["host"]["series"]["window"], str(s["host"]["series"]["bucket_s"])] + [str(len(s["host"]["series"][k])) for k in ("requests","errors","latency_p50_ms","tokens")])')"
check_eq "series 1h: the host's buckets add up to its hour" "$((N + M + 2))" \
    "$(echo "$s" | sq 'sum(s["host"]["series"]["requests"])')"
check_eq "series 1h: the domain's, to its own" "$((N + M + 1)) $M" \
    "$(echo "$s" | sq 'str(sum(dom("acme")["series"]["requests"])) + " " + str(sum(dom("acme")["series"]["errors"]))')"
check_eq "series 1h: broken's errors" "$M $M" \
    "$(echo "$s" | sq 'str(sum(mod("acme","broken")["series"]["requests"])) + " " + str(sum(mod("acme","broken")["series"]["errors"]))')"
check "series 1h: slow's p50 where it had requests, null elsewhere" \
    [ "$(echo "$s" | sq 'all((p is None) == (r == 0) for p, r in zip(mod("acme","slow")["series"]["latency_p50_ms"], mod("acme","slow")["series"]["requests"])) and max(p or 0 for p in mod("acme","slow")["series"]["latency_p50_ms"]) >= 300')" = true ]
check "series 1h: tokens counted" [ "$(echo "$s" | sq 'sum(mod("acme","slow")["series"]["tokens"])')" -gt 0 ]
check "series 1h: the newest bucket last" [ "$(echo "$s" | sq 's["host"]["series"]["requests"][-1] + s["host"]["series"]["requests"][-2]')" -gt 0 ]
check_eq "series 5m: 30 buckets of 10 s" "30 10" \
    "$(stats --series 5m | sq 'str(len(s["host"]["series"]["requests"])) + " " + str(s["host"]["series"]["bucket_s"])')"
check_eq "no --series: no series" "None" "$(stats | sq 'str(s["host"].get("series"))')"
check_eq "bad --series: usage error" 2 "$(ctl stats --series 2h >/dev/null 2>&1; echo $?)"
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"stats.get","params":{"series":"2h"}}' |
    python3 -c 'import socket,sys
c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.sendall(sys.stdin.buffer.read())
print(c.makefile().readline())' "$AGENT_SOCK")
check_contains "stats.get series 2h: invalid params" '"series: not 1m, 5m or 1h"' "$out"
out=$(python3 -c 'import json,socket,sys
c=socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); f=c.makefile("rw")
f.write(json.dumps({"jsonrpc":"2.0","id":1,"method":"stats.tail","params":{"interval_ms":250,"series":"5m"}})+"\n"); f.flush()
r=json.loads(f.readline()); n=json.loads(f.readline())
print(n["method"], len(n["params"]["host"]["series"]["requests"]))' "$AGENT_SOCK")
check_eq "stats.tail series 5m: in every update" "stats.update 30" "$out"

# --- a restart keeps spend today (from the usage rollup), not the windows
before=$(stats | sq 'dom("acme")["spend_today_usd"]')
stop_agent
check_eq "restart: agent exits 0" 0 "$?"
start_agent -c "$T_DIR/agent.conf"
s=$(stats)
check_eq "restart: spend today kept" "$before" "$(echo "$s" | sq 'dom("acme")["spend_today_usd"]')"
check_eq "restart: still what cubectl usage says" "$(usage_total acme)" \
    "$(python3 -c "import decimal; print(decimal.Decimal('$(echo "$s" | sq 'dom("acme")["spend_today_usd"]')').normalize())")"
check_eq "restart: windows start empty" "0 0" "$(echo "$s" | sq 'str(s["host"]["1h"]["requests"]) + " " + str(mod("acme","slow")["1h"]["requests"])')"
r=$(http POST /proxy/acme/v1/chat/completions "$TOK" "$stream")
check "restart: new requests count again" t_until 10 host_requests 1

# --- deleted models and domains leave the figures -----------------------
ctl model delete -d acme broken >/dev/null
s=$(stats -d acme)
check_eq "deleted model: gone" '["slow"]' "$(echo "$s" | sq '[m["model"] for m in dom("acme")["models"]]')"
ctl model delete -d bravo other >/dev/null
ctl provider delete -d bravo fake >/dev/null
ctl domain delete bravo >/dev/null
s=$(stats)
check_eq "deleted domain: gone" '["acme"]' "$(echo "$s" | sq '[d["name"] for d in s["domains"]]')"
check_eq "deleted: the host counts what is left" 1 "$(echo "$s" | sq 's["host"]["1m"]["requests"]')"

check "agent still running" kill -0 "$AGENT_PID"
stop_agent
check_eq "agent exits 0" 0 "$?"
t_done
