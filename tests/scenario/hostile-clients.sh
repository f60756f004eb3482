#!/usr/bin/env bash
# Clients that never authenticate must cost the agent almost nothing: heads
# and bodies dripped byte by byte are cut at their total deadlines, bodies
# announced without a token are refused before they are read (the agent's
# memory stays flat), connections are capped per address across workers,
# a flood of requests without a valid token leaves no trace in the domain
# its paths name (only a metric), HTTP/1.1's framing rules hold, and the
# listener recovers from running out of file descriptors. Every refusal,
# the server's own included, has an x-request-id, logged with it.
# serial: asserts refusals at once and cuts at the deadlines, to the second
. "$(dirname "$0")/../lib.sh"

hc() { python3 "$CUBE_ROOT/tests/tools/hostile-client.py" "$@"; }
val() {		# KEY OUTPUT: the rest of the first "KEY ..." line
	printf '%s\n' "$2" | awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }'
}
between() {	# VALUE LOW HIGH: LOW <= VALUE < HIGH, as decimals
	awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v < hi) }'
}
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
target() { HOST=${AGENT_URL#http://}; PORT=${HOST##*:}; HOST=${HOST%:*}; }
metric() {	# NAME{LABELS}: its value on /metrics
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
	    awk -v k="$1" '$1 == k { print $2 }'
}
ntraces() { ctl -o json logs -d acme -n 1000 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
is_id() { printf '%s' "$1" | grep -Eqx '[0-9a-f]{32}'; }
healthy() { [ "$(val status "$(hc raw "$HOST" "$PORT" 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' 2)")" = 200 ]; }

cat >"$T_DIR/agent.conf" <<CONF
head-timeout-ms = 1000
body-timeout-ms = 2000
trace-flush-ms = 50
provider-check-interval = 0
CONF
start_backend
METRICS_PORT=$(free_port)
start_agent -c "$T_DIR/agent.conf" --metrics-listen "127.0.0.1:$METRICS_PORT" --workers 2
setup_domain acme chat fake-chat
target

# --- bytes dripped: cut at the total deadlines, not the idle timeout --------
out=$(hc drip "$HOST" "$PORT" 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: ' abcdefgh 200 8)
check_eq "a head dripped byte by byte: 408 and closed" "408 True" "$(val status "$out") $(val closed "$out")"
t=$(val closed_after "$out")
check "...at head-timeout-ms (1 s), though a byte came every 200 ms (${t} s)" between "$t" 0.9 4
id=$(val field:x-request-id "$out")
check "...with an x-request-id ($id)" is_id "$id"
check "...logged with the refusal" t_until 5 grep -q "x-request-id $id: the request head did not arrive" "$AGENT_LOG"
out=$(hc drip "$HOST" "$PORT" "POST /proxy/acme/v1/chat/completions HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer $TOKEN\r\nContent-Length: 1000\r\n\r\n" '{' 200 10)
check_eq "a body dripped byte by byte: 408 and closed" "408 True" "$(val status "$out") $(val closed "$out")"
t=$(val closed_after "$out")
check "...at body-timeout-ms (2 s) (${t} s)" between "$t" 1.9 5
check_eq "head and body deadlines counted" "1 1" \
    "$(metric 'cube_http_rejected_total{reason="head_timeout"}') $(metric 'cube_http_rejected_total{reason="body_timeout"}')"

# --- bodies announced without a token: refused on the head, never read ------
out=$(hc announce "$HOST" "$PORT" /proxy/acme/v1/chat/completions 20 15000000 "$AGENT_PID")
check_eq "20 clients announcing 15 MB without a token: all 401" "401 20" "$(val statuses "$out") $(val answered "$out")"
check "...at once, before any body ($(val slowest "$out") s)" between "$(val slowest "$out")" 0 2
check_eq "...and not a byte of the bodies taken" 0 "$(val body_bytes_taken "$out")"
g=$(val rss_growth_kb "$out")
check "...while the agent's memory stayed flat (grew ${g} KB)" between "$g" -999999 20000

# --- a flood without a valid token: counted, never traced -------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" '{"model":"chat","messages":[]}')
check_eq "a real request first" 200 "$(status_of "$r")"
check "...traced" t_until 10 eval '[ "$(ntraces)" = 1 ]'
before=$(metric 'cube_http_rejected_total{reason="auth"}')
out=$(hc flood "$HOST" "$PORT" /proxy/acme/v1/chat/completions 300)
check_eq "300 requests with no or a bad token: 401" "status_401 300" "$(printf '%s\n' "$out" | grep '^status_')"
check_eq "...each with an x-request-id of its own, not the client's" 300 "$(val ids_unique "$out")"
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" '{"model":"chat","messages":[]}')
check "a real request after them is traced" t_until 10 eval '[ "$(ntraces)" -ge 2 ]'
check_eq "...and nothing of the flood is in acme's traces" 2 "$(ntraces)"
u=$(ctl -o json usage -d acme --by model | python3 -c 'import json,sys; print(sum(r["requests"] for r in json.load(sys.stdin)))')
check_eq "...nor in its usage" 2 "$u"
check_eq "...but the metrics count them" 300 "$(($(metric 'cube_http_rejected_total{reason="auth"}') - before))"

# --- RFC 9112 / 9110 ---------------------------------------------------------
# The flood spent its seconds' budget of refusals logged one by one (50 a
# second, the rest counted): the refusals below whose log lines are
# checked start in a second of their own.
flood_second=$(date +%s)
check "a new second after the flood" t_until 3 eval '[ "$(date +%s)" != "$flood_second" ]'
raw_check() {	# description, request, expected "status closed"
	local out
	out=$(hc raw "$HOST" "$PORT" "$2")
	check_eq "$1" "$3" "$(val status "$out") $(val closed "$out")"
}
raw_check "HTTP/1.1 without Host: 400" 'GET /healthz HTTP/1.1\r\n\r\n' "400 True"
raw_check "two Host fields: 400" 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' "400 True"
raw_check "two Authorization fields: 400" \
    'GET /v1/models HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n' "400 True"
out=$(hc raw "$HOST" "$PORT" 'GET /healthz HTTP/1.1\nHost: a\n\n')
check_eq "bare LF: 400 and closed" "400 True" "$(val status "$out") $(val closed "$out")"
check "...at once ($(val elapsed "$out") s)" between "$(val elapsed "$out")" 0 1
check "...with an x-request-id" is_id "$(val field:x-request-id "$out")"
many=$(python3 -c 'print("".join("X-H%d: v\\r\\n" % i for i in range(80)))')
out=$(hc raw "$HOST" "$PORT" "GET /healthz HTTP/1.1\r\nHost: a\r\n$many\r\n")
check_eq "80 header fields: 431 and closed" "431 True" "$(val status "$out") $(val closed "$out")"
id=$(val field:x-request-id "$out")
check "...with an x-request-id, logged with the refusal" t_until 5 grep -q "x-request-id $id: too many header fields" "$AGENT_LOG"
raw_check "HTTP/1.0 with Transfer-Encoding: 400 and closed" \
    'POST /v1/chat/completions HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' "400 True"
for m in POST PUT DELETE OPTIONS; do
	out=$(hc raw "$HOST" "$PORT" "$m /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	check_eq "$m /healthz: 405, Allow: GET, HEAD" "405 GET, HEAD" "$(val status "$out") $(val field:allow "$out")"
done
out=$(hc raw "$HOST" "$PORT" 'HEAD /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
check_eq "HEAD /healthz: 200, the length a GET gets, no body" "200 15 0" \
    "$(val status "$out") $(val field:content-length "$out") $(val body_len "$out")"
out=$(hc raw "$HOST" "$PORT" 'GET /v1/chat/completions HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
check_eq "GET on a POST route: 405, Allow: POST, OPTIONS" "405 POST, OPTIONS" "$(val status "$out") $(val field:allow "$out")"
out=$(hc raw "$HOST" "$PORT" 'POST /proxy/acme/v1/models HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
check_eq "POST on a GET route: 405, Allow: GET, HEAD, OPTIONS" "405 GET, HEAD, OPTIONS" "$(val status "$out") $(val field:allow "$out")"
check "agent stops cleanly" stop_agent

# --- a cap per client address, shared by the workers ------------------------
cat >"$T_DIR/caps.conf" <<CONF
max-connections-per-address = 5
head-timeout-ms = 60000
provider-check-interval = 0
CONF
start_agent -c "$T_DIR/caps.conf" --metrics-listen "127.0.0.1:$METRICS_PORT" --workers 2
target
hc hold "$HOST" "$PORT" 5 'GET /healthz HTTP/1.1\r\n' "$T_DIR/release-caps" 60 >"$T_DIR/hold-caps.out" &
holder=$!
check "5 connections open from one address" \
    t_until 10 eval '[ "$(metric cube_http_connections)" = 5 ]'
out=$(hc raw "$HOST" "$PORT" 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n')
check_eq "a 6th: 503 and closed" "503 True" "$(val status "$out") $(val closed "$out")"
id=$(val field:x-request-id "$out")
check "...with an x-request-id, logged with the refusal" t_until 5 grep -q "x-request-id $id: " "$AGENT_LOG"
check_eq "...counted" 1 "$(metric 'cube_http_rejected_total{reason="connections_per_address"}')"
touch "$T_DIR/release-caps"
t_wait_exit "$holder" 10
check "once they close, the address is served again" t_until 10 healthy
check "agent stops cleanly" stop_agent

# --- out of file descriptors: the listener pauses, then recovers ------------
mkdir -p "$T_DIR/lowfd"
printf '#!/bin/sh\nulimit -n 64 || exit 1\nexec "%s/cube-agent" "$@"\n' "$CUBE_BIN" >"$T_DIR/lowfd/cube-agent"
chmod +x "$T_DIR/lowfd/cube-agent"
ln -s "$CUBE_BIN/cubectl" "$T_DIR/lowfd/cubectl"
cat >"$T_DIR/lowfd.conf" <<CONF
max-connections = 1000
max-connections-per-address = 1000
head-timeout-ms = 60000
provider-check-interval = 0
CONF
REAL_BIN=$CUBE_BIN
CUBE_BIN="$T_DIR/lowfd" start_agent -c "$T_DIR/lowfd.conf" --metrics-listen "127.0.0.1:$METRICS_PORT"
CUBE_BIN=$REAL_BIN
target
check_contains "the agent runs with 64 descriptors" "64" "$(grep 'Max open files' /proc/$AGENT_PID/limits)"
hc hold "$HOST" "$PORT" 80 '' "$T_DIR/release-fds" 60 >"$T_DIR/hold-fds.out" &
holder=$!
check "80 idle connections exhaust them" t_until 15 grep -q 'accept: ' "$AGENT_LOG"
cpu() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
c0=$(cpu)
out=$(hc raw "$HOST" "$PORT" 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n' 2)
c1=$(cpu)
check_eq "a new request meanwhile waits (the listener is paused)" "" "$(val status "$out")"
check "...without a busy loop ($((c1 - c0)) ticks of CPU in 2 s)" [ $((c1 - c0)) -lt 50 ]
n=$(grep -c 'accept: ' "$AGENT_LOG")
check "...nor a log line per failed accept ($n lines)" [ "$n" -le 2 ]
touch "$T_DIR/release-fds"
t_wait_exit "$holder" 10
check "once they close, requests are served again" t_until 15 healthy
check "accept errors counted" [ "$(metric cube_http_accept_errors_total)" -gt 0 ]
check "agent stops cleanly" stop_agent
check_not_contains "no sanitizer report" "Sanitizer" "$(cat "$AGENT_LOG")"
t_done
