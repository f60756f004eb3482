#!/usr/bin/env bash
# Limits shared across agents through a real redis-server on loopback
# (limits-redis): two agents serve the same token (imported on the second
# with token create --id --secret-file); a burst of 40 parallel requests
# split over both never spends more than the budget, rpm holds at the
# limit across both (not twice it); Redis killed: budgets refuse with
# limits_unavailable, rpm falls back to this host's share, status and
# /metrics say so; Redis back: shared again. Then the same over TLS
# (rediss://) with certificates openssl makes here.
# serial: a Redis server; its windows must not cross a minute
. "$(dirname "$0")/../lib.sh"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "# SKIP redis-server or redis-cli is not installed (scripts/install-deps)"
	exit 0
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

REDIS_PORT=$(free_port)
REDIS_PW="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$T_DIR/redis"
# Persistent (appendonly): the fleet's spend survives a restart of Redis.
start_redis() {
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
	    --requirepass "$REDIS_PW" --dir "$T_DIR/redis" --save '' \
	    --appendonly yes --appendfsync always --daemonize no \
	    >>"$T_DIR/redis.log" 2>&1 &
	REDIS_PID=$!
	T_PIDS+=("$REDIS_PID")
	t_until 10 rcli PING >/dev/null || { echo "redis-server did not start"; cat "$T_DIR/redis.log"; exit 1; }
}
rcli() {
	REDISCLI_AUTH=$REDIS_PW redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@" 2>/dev/null
}
start_redis

# start_agent_n N [options...]: agent N with its own data, socket and
# metrics port; sets A<N>_URL, A<N>_SOCK, A<N>_PID, A<N>_METRICS.
start_agent_n() {
	local n=$1 listen mport
	shift
	mport=$(free_port)
	mkdir -p "$T_DIR/a$n"
	"$CUBE_BIN/cube-agent" --listen 127.0.0.1:0 --data "$T_DIR/a$n/data" \
	    --admin-socket "$T_DIR/a$n/agent.sock" --workers 2 \
	    --metrics-listen "127.0.0.1:$mport" "$@" \
	    >"$T_DIR/a$n/agent.log" 2>&1 &
	eval "A${n}_PID=$!"
	T_PIDS+=("$!")
	eval "A${n}_SOCK=$T_DIR/a$n/agent.sock A${n}_METRICS=$mport"
	t_wait_file "$T_DIR/a$n/agent.sock" 20 || { echo "agent $n did not start"; cat "$T_DIR/a$n/agent.log"; exit 1; }
	listen=$(ctl_n "$n" -o json status | json listen)
	[ -n "$listen" ] || { echo "agent $n: no listen address"; cat "$T_DIR/a$n/agent.log"; exit 1; }
	eval "A${n}_URL=http://$listen"
}
ctl_n() {
	local n=$1 sock
	shift
	sock="A${n}_SOCK"
	"$CUBE_BIN/cubectl" -s "${!sock}" "$@"
}
# post N TOKEN BODY [curl options]: a chat completion to agent N.
post() {
	local n=$1 tok=$2 body=$3 url
	shift 3
	url="A${n}_URL"
	curl -sS -m 20 -H "Authorization: Bearer $tok" \
	    -H 'Content-Type: application/json' --data-binary "$body" \
	    -w '\n%{http_code}' "$@" "${!url}/proxy/acme/v1/chat/completions"
}
metric() {	# N NAME: one unlabelled sample of agent N's /metrics
	local p="A${1}_METRICS"
	curl -sS -m 5 "http://127.0.0.1:${!p}/metrics" | sed -n "s/^$2 //p"
}
limits_state() { ctl_n "$1" -o json status | json limits.state; }
state_is() { [ "$(limits_state "$1")" = "$2" ]; }	# for t_until: asked anew each time
field_is() { [ "$(rcli HGET "$1" "$2")" = "$3" ]; }	# KEY FIELD VALUE, the same

start_backend
cat >"$T_DIR/limits.conf" <<CONF
trace-flush-ms = 50
limits-redis = redis://127.0.0.1:$REDIS_PORT
limits-redis-password = $REDIS_PW
limits-redis-prefix = cubetest
fleet-size = 2
CONF
chmod 600 "$T_DIR/limits.conf"
start_agent_n 1 -c "$T_DIR/limits.conf"
start_agent_n 2 -c "$T_DIR/limits.conf"

for n in 1 2; do
	ctl_n $n domain create acme >/dev/null
	ctl_n $n provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
	# 3 completion tokens at $1000 per 1M: $0.003 a request, estimated
	# (max_tokens 3) and settled alike. Slow holds each answer 1 s.
	ctl_n $n model deploy -d acme --provider fake --name Chat --key chat \
	    --model-id fake-chat --price-output 1000 >/dev/null
	ctl_n $n model deploy -d acme --provider fake --name Slow --key slow \
	    --model-id 'fake-chat;first_byte_delay_ms=1000' --price-output 1000 >/dev/null
done
chat='{"model":"chat","max_tokens":3,"messages":[{"role":"user","content":"one two three four"}]}'
slow='{"model":"slow","max_tokens":3,"messages":[{"role":"user","content":"one two three four"}]}'

# share_token NAME [token create options]: made on agent 1, imported on
# agent 2 with the same id and secret; sets TOK and TOK_ID.
share_token() {
	local name=$1 out
	shift
	out=$(ctl_n 1 -o json token create -d acme --name "$name" "$@")
	TOK=$(printf '%s' "$out" | json token)
	TOK_ID=$(printf '%s' "$out" | json id)
	printf '%s\n' "$TOK" >"$T_DIR/secret"
	ctl_n 2 -o json token create -d acme --name "$name" "$@" --id "$TOK_ID" \
	    --secret-file "$T_DIR/secret" >"$T_DIR/import.json"
	rm -f "$T_DIR/secret"
}
spent() {	# N TOKEN_ID: what agent N's token list says it spent
	ctl_n "$1" -o json token list -d acme | python3 -c 'import json,sys
print([t["spent_usd"] for t in json.load(sys.stdin) if t["id"] == sys.argv[1]][0])' "$2"
}
within_minute() {
	local s
	s=$(date +%S)
	s=${s#0}
	[ "$s" -lt 40 ] || sleep $((61 - s))
}

# --- both connected ----------------------------------------------------
for n in 1 2; do
	check "agent $n: status says limits connected" t_until 10 state_is $n connected
	st=$(ctl_n $n -o json status)
	check_eq "agent $n: limits backend" redis "$(printf '%s' "$st" | json limits.backend)"
	check_eq "agent $n: fleet size" 2 "$(printf '%s' "$st" | json limits.fleet_size)"
	check_eq "agent $n: both workers connected" 2 "$(printf '%s' "$st" | json limits.connections_up)"
	check_eq "agent $n: cube_limits_redis_up" 1 "$(metric $n cube_limits_redis_up)"
done
check_not_contains "the password is not in the log" "$REDIS_PW" \
    "$(cat "$T_DIR"/a1/agent.log "$T_DIR"/a2/agent.log)"
check_not_contains "nor in status" "$REDIS_PW" "$(ctl_n 1 -o json status)"

# --- the token imported on agent 2 -------------------------------------
share_token budget --budget 0.009
BUD=$TOK BUD_ID=$TOK_ID
check_eq "import: agent 2 has the same id" "$BUD_ID" "$(json id <"$T_DIR/import.json")"
check_eq "import: the secret is not echoed" "" "$(json token <"$T_DIR/import.json")"
r=$(post 2 "$BUD" "$chat")
check_eq "import: agent 2 takes the token" 200 "$(status_of "$r")"
out=$(printf 'cube_short\n' >"$T_DIR/bad"; ctl_n 2 token create -d acme --id tok_0123456789abcdef \
    --secret-file "$T_DIR/bad" 2>&1)
check_contains "import: a secret of the wrong shape is refused" "secret_sealed: not a Cube API token" "$out"
out=$(ctl_n 2 token create -d acme --secret-file "$T_DIR/bad" 2>&1)
check_contains "import: --secret-file needs --id" "needs --id" "$out"

# --- a burst of 40 over both agents: the budget fits 3 -----------------
# One of $0.009 is spent already (the request above): 2 more fit.
pids=()
for i in $(seq 1 40); do
	post $((i % 2 + 1)) "$BUD" "$slow" >"$T_DIR/r$i" &
	pids+=($!)
done
wait "${pids[@]}"
ok200=0 over=0 other=""
for i in $(seq 1 40); do
	r=$(cat "$T_DIR/r$i")
	case $(status_of "$r") in
	200) ok200=$((ok200 + 1)) ;;
	429) case $r in *'"code":"budget_exceeded"'*) over=$((over + 1)) ;; esac ;;
	*) other="$other $(status_of "$r")" ;;
	esac
done
check_eq "burst: 2 of 40 pass over two agents" 2 "$ok200"
check_eq "burst: the other 38 are budget_exceeded" 38 "$over"
check_eq "burst: nothing else" "" "$other"
key="cubetest:{acme:$BUD_ID}:b:0"
check "burst: Redis settles every reservation" t_until 10 field_is "$key" resv 0
check_eq "burst: Redis holds the fleet's spend (nano-USD)" 9000000 "$(rcli HGET "$key" spent)"
total=$(python3 -c 'import sys; print(f"{sum(float(a) for a in sys.argv[1:]):.3f}")' \
    "$(spent 1 "$BUD_ID")" "$(spent 2 "$BUD_ID")")
check_eq "burst: the two agents' usage adds up to the budget, no more" 0.009 "$total"
ttl=$(rcli PTTL "$key")
check "burst: the budget key expires (PTTL $ttl)" test "${ttl:--1}" -gt 0

# --- rpm across two agents: the limit, not twice it --------------------
share_token rpm --rpm 4
RPM=$TOK RPM_ID=$TOK_ID
# In parallel, so that all ten land in one minute window however loaded
# the machine is.
within_minute
pids=()
for i in $(seq 1 10); do
	post $((i % 2 + 1)) "$RPM" "$chat" -D "$T_DIR/h$i" >"$T_DIR/r$i" &
	pids+=($!)
done
wait "${pids[@]}"
pass=0 refused=0 zero=0
for i in $(seq 1 10); do
	r=$(cat "$T_DIR/r$i")
	case $(status_of "$r") in
	200) pass=$((pass + 1)) ;;
	429) case $r in *'"code":"rate_limit_exceeded"'*) refused=$((refused + 1)) ;; esac
	     tr -d '\r' <"$T_DIR/h$i" | grep -qix 'x-ratelimit-remaining-requests: 0' &&
	         zero=$((zero + 1)) ;;
	esac
done
check_eq "rpm: 4 of 10 pass across both agents" 4 "$pass"
check_eq "rpm: 6 are rate_limit_exceeded" 6 "$refused"
check_eq "rpm: each refusal's header counts the fleet's requests (0 left)" 6 "$zero"
check_eq "no fallback while Redis is up" "0 0" "$(metric 1 cube_limits_fallback_total) $(metric 2 cube_limits_fallback_total)"

# --- a client gone while Redis decides: its reservation goes back ------
CANCEL=$(ctl_n 1 -o json token create -d acme --name cancel --budget 1)
CANCEL_ID=$(printf '%s' "$CANCEL" | json id) CANCEL=$(printf '%s' "$CANCEL" | json token)
curl -sS -m 5 -X POST "$BACKEND_URL/_reset" >/dev/null
rcli CLIENT PAUSE 1500 WRITE >/dev/null
post 1 "$CANCEL" "$chat" -m 0.5 >/dev/null 2>&1
check_eq "cancel: the client gave up while Redis was paused" 28 "$?"
ckey="cubetest:{acme:$CANCEL_ID}:b:0"
check "cancel: the reservation is released once Redis answers" t_until 10 field_is "$ckey" resv 0
check_eq "cancel: nothing spent" 0 "$(rcli HGET "$ckey" spent)"
check_eq "cancel: the request never reached the backend" 0 \
    "$(backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
check_eq "cancel: no fallback" "0" "$(metric 1 cube_limits_fallback_total)"

# --- Redis killed: budgets fail closed, rpm takes this host's share ----
kill -TERM "$REDIS_PID"
t_wait_exit "$REDIS_PID" 10
check "down: status says limits down" t_until 10 state_is 1 down
check_eq "down: cube_limits_redis_up" 0 "$(metric 1 cube_limits_redis_up)"
FRESH=$(ctl_n 1 -o json token create -d acme --name fresh --budget 1 | json token)
r=$(post 1 "$FRESH" "$chat" -D "$T_DIR/h")
check_eq "down: a budget request is refused" 503 "$(status_of "$r")"
check_eq "down: code limits_unavailable" limits_unavailable "$(body_of "$r" | json error.code)"
check_contains "down: the message says why" "shared limits store is unreachable" "$(body_of "$r" | json error.message)"
check_contains "down: with Retry-After" "etry-After" "$(cat "$T_DIR/h")"
LOCAL=$(ctl_n 1 -o json token create -d acme --name local --rpm 4 | json token)
within_minute
codes=""
for i in 1 2 3; do
	codes="$codes $(status_of "$(post 1 "$LOCAL" "$chat")")"
done
check_eq "down: rpm 4 over 2 hosts: this host takes 2" " 200 200 429" "$codes"
check_eq "down: cube_limits_fallback_total counts them" 4 "$(metric 1 cube_limits_fallback_total)"
errs=$(metric 1 cube_limits_redis_errors_total)
check "down: cube_limits_redis_errors_total counts ($errs)" test "${errs:-0}" -ge 2
st=$(ctl_n 1 -o json status)
check_eq "down: status counts the fallbacks" 4 "$(printf '%s' "$st" | json limits.fallbacks)"
check_contains "down: the log says limits fall back" "limits fall back" "$(cat "$T_DIR/a1/agent.log")"

# --- Redis back: shared again ------------------------------------------
start_redis
for n in 1 2; do
	check "back: agent $n reconnects" t_until 15 state_is $n connected
done
r=$(post 2 "$BUD" "$chat")
check_eq "back: the spent budget still refuses (Redis kept it)" 429 "$(status_of "$r")"
check_eq "back: code" budget_exceeded "$(body_of "$r" | json error.code)"
r=$(post 1 "$FRESH" "$chat")
check_eq "back: a budget with room passes again" 200 "$(status_of "$r")"
check_eq "back: no new fallback" 4 "$(metric 1 cube_limits_fallback_total)"

# --- a password Redis refuses: down, never up ---------------------------
sed "s/^limits-redis-password = .*/limits-redis-password = wrong-password/" \
    "$T_DIR/limits.conf" >"$T_DIR/wrong.conf"
start_agent_n 3 -c "$T_DIR/wrong.conf"
check "wrong password: limits stay down" t_until 10 state_is 3 down
check_contains "wrong password: the log says so" "authentication" "$(cat "$T_DIR/a3/agent.log")"
check_not_contains "wrong password: and not the password" "wrong-password" "$(cat "$T_DIR/a3/agent.log")"

# --- bad settings are start-up errors naming the key --------------------
out=$("$CUBE_BIN/cube-agent" --data "$T_DIR/bad" --admin-socket "$T_DIR/bad.sock" \
    -c <(echo "limits-redis = http://127.0.0.1:1") 2>&1)
check_contains "limits-redis: not a redis URL" "limits-redis: 'http://127.0.0.1:1' is not" "$out"
out=$("$CUBE_BIN/cube-agent" --data "$T_DIR/bad" --admin-socket "$T_DIR/bad.sock" \
    -c <(echo "limits-redis-password = x") 2>&1)
check_contains "limits-redis-password alone" "need limits-redis" "$out"

# --- TLS (rediss://), when this redis-server is built with it -----------
TLS_PORT=$(free_port)
mkdir -p "$T_DIR/tls"
(
	cd "$T_DIR/tls" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	    -days 1 -subj /CN=test-ca &&
	openssl req -newkey rsa:2048 -nodes -keyout redis.key -out redis.csr \
	    -subj /CN=127.0.0.1 &&
	printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
	openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key \
	    -CAcreateserial -out redis.crt -days 1 -extfile ext
) >"$T_DIR/tls/openssl.log" 2>&1
redis-server --bind 127.0.0.1 --port 0 --tls-port "$TLS_PORT" \
    --tls-cert-file "$T_DIR/tls/redis.crt" --tls-key-file "$T_DIR/tls/redis.key" \
    --tls-ca-cert-file "$T_DIR/tls/ca.crt" --tls-auth-clients no \
    --requirepass "$REDIS_PW" --save '' --daemonize no \
    >"$T_DIR/redis-tls.log" 2>&1 &
TLS_PID=$!
T_PIDS+=("$TLS_PID")
if ! t_until 5 grep -q "Ready to accept" "$T_DIR/redis-tls.log"; then
	echo "# SKIP TLS: this redis-server does not serve --tls-port"
else
	cat >"$T_DIR/tls.conf" <<CONF
limits-redis = rediss://127.0.0.1:$TLS_PORT
limits-redis-password = $REDIS_PW
limits-redis-ca = $T_DIR/tls/ca.crt
CONF
	start_agent_n 4 -c "$T_DIR/tls.conf"
	check "tls: connected" t_until 10 state_is 4 connected
	check_eq "tls: status says tls" true "$(ctl_n 4 -o json status | json limits.tls)"
	ctl_n 4 domain create acme >/dev/null
	ctl_n 4 provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
	ctl_n 4 model deploy -d acme --provider fake --name Chat --key chat \
	    --model-id fake-chat --price-output 1000 >/dev/null
	T4=$(ctl_n 4 -o json token create -d acme --name tls --budget 0.003 | json token)
	codes="$(status_of "$(post 4 "$T4" "$chat")") $(status_of "$(post 4 "$T4" "$chat")")"
	check_eq "tls: the budget holds through Redis" "200 429" "$codes"
	# A CA that did not sign the server's certificate: never connected.
	sed "s#^limits-redis-ca = .*#limits-redis-ca = /etc/ssl/certs/ca-certificates.crt#" \
	    "$T_DIR/tls.conf" >"$T_DIR/tls-bad.conf"
	start_agent_n 5 -c "$T_DIR/tls-bad.conf"
	check "tls: an unverified server is never trusted" t_until 10 state_is 5 down
	check_eq "tls: and stays down" 0 "$(ctl_n 5 -o json status | json limits.connections_up)"
fi

# --- a clean stop: requests, queues and connections all freed ----------
for n in 1 2 3; do
	pid="A${n}_PID"
	kill -TERM "${!pid}"
	wait "${!pid}"
	check_eq "agent $n stops cleanly (no sanitizer report)" 0 "$?"
	check_not_contains "agent $n: log has no sanitizer report" "Sanitizer" \
	    "$(cat "$T_DIR/a$n/agent.log")"
done

t_done
