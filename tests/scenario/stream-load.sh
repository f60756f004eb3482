#!/usr/bin/env bash
# make bench's streaming load client, cube-stream-load, so it cannot rot:
# 20 out-of-phase streams straight to fake-llm and through the agent,
# counted exactly; failed answers (401, 500, a reset mid-stream, a line
# too long, nothing listening) counted as failed, by kind; its options
# checked.
. "$(dirname "$0")/../lib.sh"

LOAD="$CUBE_BIN/cube-stream-load"
[ -x "$LOAD" ] || { echo "# SKIP cube-stream-load not built ($LOAD)"; exit 0; }

start_backend
start_agent
setup_domain acme chat fake-chat
ctl model deploy -d acme --provider fake --name Stream --key stream \
    --model-id 'fake-chat;chunks=10;chunk_delay_ms=100' >/dev/null

# py EXPR: a Python expression over the JSON object on stdin (as v).
py() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
print(eval(sys.argv[1]))' "$1"
}

# The failures of a run by kind, those not zero: "eof=5 status=2".
errors() {
	py '" ".join("%s=%d" % (k, n) for k, n in v["errors"].items() if n)'
}

# The counts of a run, one line: streams started completed failed short
# http_errors peak_open content_events, then the samples of ttft,
# ttft_excess, itl, itl_excess
counts() {
	py '" ".join(str(x) for x in (v["streams"], v["started"], v["completed"], v["failed"], v["short"], v["http_errors"], v["peak_open"], v["content_events"], v["ttft"]["count"], v["ttft_excess"]["count"], v["itl"]["count"], v["itl_excess"]["count"]))'
}

# --- straight to fake-llm: 20 streams of 10 pieces, 100 ms apart ---------
# Started over 40 ms and lasting a second each, all 20 are open at once
# with nearly a second to spare.
"$LOAD" -u "$BACKEND_URL/v1/chat/completions" -n 20 -p 40 -c 10 -d 100 \
    --label direct --ready-file "$T_DIR/ready" >"$T_DIR/direct.out" 2>"$T_DIR/direct.err"
check_eq "direct: exit 0 when every stream completes" 0 $?
tail -n 1 "$T_DIR/direct.out" >"$T_DIR/direct.json"
check_eq "direct: the exact counts" "20 20 20 0 0 0 20 200 20 20 180 180" \
    "$(counts <"$T_DIR/direct.json")"
check_eq "direct: no error" "" "$(errors <"$T_DIR/direct.json")"
check_contains "direct: the text line" \
    "direct: 20 streams, 20 completed, 0 failed, 0 short, peak 20 open" \
    "$(head -n 1 "$T_DIR/direct.out")"
check_eq "direct: the ready file says all 20 were open at once" 20 \
    "$(cat "$T_DIR/ready" 2>/dev/null)"
# fake-llm sends the first content event 100 ms after the request, so no
# TTFT is shorter; a gap may be (two events read at once on a loaded
# machine). The excess is a monotone function of each sample (less 100
# ms, at least 0), so its percentiles are those of the raw values less
# 100 ms, within the 0.2% buckets of both.
check_eq "direct: TTFT p50 at least the 100 ms delay, max >= p99 >= p50" True \
    "$(py 'v["ttft"]["p50_us"] >= 100000 and v["itl"]["max_us"] >= v["itl"]["p99_us"] >= v["itl"]["p50_us"]' <"$T_DIR/direct.json")"
check_eq "direct: the excess is the gap, and the TTFT, less 100 ms" True \
    "$(py 'all(abs(v[m + "_excess"][q] - max(0, v[m][q] - 100000)) <= v[m][q] / 200 + 2 for m in ("ttft", "itl") for q in ("p50_us", "p99_us"))' <"$T_DIR/direct.json")"
check_eq "direct: fake-llm saw 20 streaming requests with the options" 20 \
    "$(backend_requests | python3 -c 'import json,sys
print(sum(1 for r in json.load(sys.stdin) if r["model"] == "fake-chat;chunks=10;chunk_delay_ms=100" and json.loads(r["body"]).get("stream") is True))')"

# --- through the agent: the deployment carries fake-llm's options --------
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t "$TOKEN" \
    -m stream --plain-model -n 20 -p 40 -c 10 -d 100 --label agent \
    >"$T_DIR/agent.out" 2>"$T_DIR/agent.err"
check_eq "agent: exit 0" 0 $?
check_eq "agent: the exact counts" "20 20 20 0 0 0 20 200 20 20 180 180" \
    "$(tail -n 1 "$T_DIR/agent.out" | counts)"
check_not_contains "the token is never printed" "$TOKEN" \
    "$(cat "$T_DIR/agent.out" "$T_DIR/agent.err")"

# A wrong token: 20 answers of 401, all failed, exit 1.
"$LOAD" -u "$AGENT_URL/proxy/acme/v1/chat/completions" -t wrong \
    -m stream --plain-model -n 20 -p 20 -c 5 >"$T_DIR/401.out" 2>&1
check_eq "a refused token: exit 1" 1 $?
check_eq "a refused token: 20 failed, 20 HTTP errors, no event" \
    "20 20 0 20 0 20 0 0 0 0 0 0" "$(tail -n 1 "$T_DIR/401.out" | counts)"
check_eq "a refused token: the errors are statuses" status=20 \
    "$(tail -n 1 "$T_DIR/401.out" | errors)"

# --- failures straight from the backend ----------------------------------
"$LOAD" -u "$BACKEND_URL/v1/chat/completions" -m 'fake-chat;status=500' \
    --plain-model -n 20 -p 20 -c 5 >"$T_DIR/500.out" 2>&1
check_eq "500: exit 1" 1 $?
check_eq "500: 20 failed with an HTTP error" "20 20 0 20 0 20 0 0 0 0 0 0" \
    "$(tail -n 1 "$T_DIR/500.out" | counts)"
check_eq "500: the errors are statuses" status=20 \
    "$(tail -n 1 "$T_DIR/500.out" | errors)"
# reset_after=2: two pieces arrive, then the connection drops.
"$LOAD" -u "$BACKEND_URL/v1/chat/completions" \
    -m 'fake-chat;chunks=6;reset_after=2;chunk_delay_ms=100' --plain-model \
    -n 20 -p 20 -c 6 \
    >"$T_DIR/reset.out" 2>&1
check_eq "reset: exit 1" 1 $?
check_eq "reset: 20 failed after 2 content events each" \
    "20 20 0 20 0 0 20 40 20 20 20 20" "$(tail -n 1 "$T_DIR/reset.out" | counts)"
check_eq "reset: the errors are early ends" eof=20 \
    "$(tail -n 1 "$T_DIR/reset.out" | errors)"
# flood=N: an event of 200,000 bytes without a line end, over the 64 KiB
# a line may have: a broken stream, its bytes dropped, not kept.
"$LOAD" -u "$BACKEND_URL/v1/chat/completions" -m 'fake-chat;flood=200000' \
    --plain-model -n 3 -p 10 >"$T_DIR/flood.out" 2>&1
check_eq "flood: exit 1" 1 $?
check_eq "flood: 3 failed as broken streams" "3 3 0 3 0 0 0 0 0 0 0 0 stream=3" \
    "$(tail -n 1 "$T_DIR/flood.out" | counts) $(tail -n 1 "$T_DIR/flood.out" | errors)"
# Nothing listens: every connection refused, within the timeout.
"$LOAD" -u "http://127.0.0.1:1/v1/chat/completions" -n 5 -p 10 --timeout 20 \
    >"$T_DIR/refused.out" 2>&1
check_eq "refused: exit 1" 1 $?
check_eq "refused: 5 failed" "5 5 0 5 0 0 0 0 0 0 0 0" \
    "$(tail -n 1 "$T_DIR/refused.out" | counts)"
check_eq "refused: the errors are early ends" eof=5 \
    "$(tail -n 1 "$T_DIR/refused.out" | errors)"

# --- options -------------------------------------------------------------
out=$("$LOAD" --help)
check_eq "--help exits 0" 0 $?
check_contains "--help names --streams" "--streams N" "$out"
out=$("$LOAD" -u "$BACKEND_URL/v1/chat/completions" -n 0 2>&1)
check_eq "--streams 0: exit 2" 2 $?
check_eq "--streams 0: the error names the option" \
    "cube-stream-load: --streams: 0 is not a number from 1 to 1000000" "$out"
out=$("$LOAD" -u "https://127.0.0.1:1/" 2>&1)
check_eq "an https URL: exit 2" 2 $?
check_contains "an https URL: the error names --url" "--url:" "$out"
out=$("$LOAD" -n 5 2>&1)
check_eq "no URL: exit 2 with the usage" 2 $?
check_contains "no URL: the usage" "usage: cube-stream-load" "$out"

t_done
