#!/usr/bin/env bash
# cubectl connect: the local verifying proxy in front of an agent with
# --tee sim and TLS. It verifies before it listens (a wrong measurement, a
# simulated TEE without --allow-simulated or a re-encrypting man in the
# middle: it refuses, naming the check, and listens to nothing); then
# curl, Ollama clients and the OpenAI SDK tests (streams, aborts that must
# reach the backend as a hang-up) go through it. The agent is reached
# through a TCP forwarder whose destination the test moves: to a man in
# the middle (refused with a 502 that names the check; nothing forwarded),
# back, and to a restarted agent with a new key (verified anew, pinned).
. "$(dirname "$0")/../lib.sh"

command -v openssl >/dev/null 2>&1 || { echo "# SKIP connect: no openssl"; exit 0; }

# hostport: HOST:PORT of the running agent
hostport() { ctl -o json status | json listen; }
# agent_spki: the SHA-256 of the TLS key the agent's evidence binds
agent_spki() { ctl -o json attest | json tls_pubkey_sha256; }
# proxied METHOD PATH [BODY] [curl options...]: through cubectl connect,
# with $AUTH as the token (default $TOKEN)
proxied() {
	local m=$1 p=$2 body=${3-}
	shift 2
	[ $# -gt 0 ] && shift
	curl -sS -m 20 -X "$m" -H "Authorization: Bearer ${AUTH:-$TOKEN}" \
	    -H 'Content-Type: application/json' ${body:+--data-binary "$body"} \
	    -w '\n%{http_code}' "$@" "$PROXY_URL$p"
}
requests_seen() { backend_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# connect_start NAME ARGS...: cubectl connect in the background, its
# output in $T_DIR/NAME.out and .err; CONNECT_PID
connect_start() {
	local name=$1
	shift
	"$CUBE_BIN/cubectl" connect "$@" >"$T_DIR/$name.out" 2>"$T_DIR/$name.err" &
	CONNECT_PID=$!
	T_PIDS+=("$CONNECT_PID")
}
listening() { grep -q '^listening on http://' "$T_DIR/$1.out"; }
ended() { ! kill -0 "$1" 2>/dev/null; }

start_backend
start_agent --tee sim --tls generate
HP=$(hostport)
SIM_ROOT="$AGENT_DATA/sim-ark.pem"
sdk_domain_setup
# Ollama clients: a domain of its own on an Ollama provider.
ctl -o json domain create oll >/dev/null
ctl provider add -d oll local --driver ollama --url "$BACKEND_URL" >/dev/null
ctl model deploy -d oll --provider local --name Chat --key chat \
    --model-id 'fake-chat;chunks=3' --force >/dev/null
OLL_TOKEN=$(ctl -o json token create -d oll --name test | json token)

# The forwarder: the proxy's --url; where it leads, the test decides.
echo "${HP##*:}" >"$T_DIR/target"
python3 "$CUBE_ROOT/tests/tools/tcp-forward.py" "$T_DIR/target" "$T_DIR/fwd.port" &
T_PIDS+=("$!")
t_wait_file "$T_DIR/fwd.port" 10 || { echo "tcp-forward.py did not start"; exit 1; }
URL="https://127.0.0.1:$(cat "$T_DIR/fwd.port")"
echo '{"version": 1, "allow_simulated": true}' >"$T_DIR/sim-policy.json"

# --- it verifies before it listens --------------------------------------------

"$CUBE_BIN/cubectl" connect --url "$URL" --root "$SIM_ROOT" \
    --listen 127.0.0.1:0 >"$T_DIR/nosim.out" 2>"$T_DIR/nosim.err"
check_eq "a simulated TEE without --allow-simulated: exit 1" 1 "$?"
check_contains "... naming the check" "failed verification: simulated" "$(cat "$T_DIR/nosim.err")"
check_contains "... and not listening" "not listening" "$(cat "$T_DIR/nosim.err")"
check_eq "... nothing on standard output" "" "$(cat "$T_DIR/nosim.out")"

"$CUBE_BIN/cubectl" connect --url "$URL" --policy "$T_DIR/sim-policy.json" \
    --root "$SIM_ROOT" --expect-measurement "$(printf '00%.0s' {1..48})" \
    --listen 127.0.0.1:0 >/dev/null 2>"$T_DIR/meas.err"
check_eq "a measurement the policy does not allow: exit 1" 1 "$?"
check_contains "... naming the measurement check" "measurement" "$(cat "$T_DIR/meas.err")"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=mitm -days 1 -keyout "$T_DIR/mitm.key" -out "$T_DIR/mitm.pem" \
    >/dev/null 2>&1
python3 "$CUBE_ROOT/tests/tools/tls-mitm.py" "$T_DIR/mitm.pem" \
    "$T_DIR/mitm.key" "${HP##*:}" "$T_DIR/mitm.port" --upstream-tls &
T_PIDS+=("$!")
t_wait_file "$T_DIR/mitm.port" 10 || { echo "tls-mitm.py did not start"; exit 1; }
MITM_PORT=$(cat "$T_DIR/mitm.port")
"$CUBE_BIN/cubectl" connect --url "https://127.0.0.1:$MITM_PORT" \
    --policy "$T_DIR/sim-policy.json" --root "$SIM_ROOT" \
    --listen 127.0.0.1:0 >/dev/null 2>"$T_DIR/mitm.err"
check_eq "a re-encrypting man in the middle: exit 1" 1 "$?"
check_contains "... the tls-key check fails" "tls-key" "$(cat "$T_DIR/mitm.err")"

"$CUBE_BIN/cubectl" connect --url "$URL" --policy "$T_DIR/sim-policy.json" \
    --root "$SIM_ROOT" --listen 0.0.0.0:0 >/dev/null 2>"$T_DIR/any.err"
check_eq "--listen on a non-loopback address: a usage error" 2 "$?"
check_contains "... saying why" "loopback" "$(cat "$T_DIR/any.err")"
"$CUBE_BIN/cubectl" connect --url "http://$HP" >/dev/null 2>&1
check_eq "--url over plain HTTP: a usage error" 2 "$?"

# --- through the proxy ------------------------------------------------------

connect_start proxy --url "$URL" --policy "$T_DIR/sim-policy.json" \
    --root "$SIM_ROOT" --listen 127.0.0.1:0
PROXY_PID=$CONNECT_PID
t_until 20 listening proxy || { cat "$T_DIR/proxy.err"; exit 1; }
PROXY_URL=$(sed -n 's/^listening on //p' "$T_DIR/proxy.out")
SPKI=$(agent_spki)
check_contains "it says what it verified" "verified $URL: sim (SIMULATED" "$(cat "$T_DIR/proxy.err")"
check_contains "... and pins the key the evidence binds" "TLS key $SPKI pinned" "$(cat "$T_DIR/proxy.err")"

CHAT='{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
r=$(proxied POST "/proxy/$DOMAIN/v1/chat/completions" "$CHAT" -D "$T_DIR/h1")
check_eq "a chat completion through the proxy" 200 "$(status_of "$r")"
check_contains "... the model's answer" "Hello from fake-llm." "$(body_of "$r")"
check_contains "... its receipt intact" "cube-receipt: v1." "$(tr A-Z a-z <"$T_DIR/h1")"
r=$(proxied POST "/proxy/$DOMAIN/v1/chat/completions" \
    '{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}')
check_contains "a stream through the proxy, to its end" "data: [DONE]" "$(body_of "$r")"
check_contains "... its receipt event intact" ": cube-receipt v1." "$(body_of "$r")"
r=$(AUTH=$OLL_TOKEN proxied POST "/proxy/oll/api/chat" \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}')
check_eq "an Ollama chat through the proxy" 200 "$(status_of "$r")"
check_contains "... NDJSON to its done line" '"done":true' "$(body_of "$r")"
r=$(curl -sS -m 20 -H 'Authorization: Bearer wrong' "$PROXY_URL/proxy/$DOMAIN/v1/models")
check_contains "the agent's own errors pass as they are" "invalid_api_key" "$r"

# A client that hangs up mid-stream: the agent cancels the backend.
curl -sS -m 1 -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"model":"long","stream":true,"messages":[{"role":"user","content":"hi"}]}' \
    "$PROXY_URL/proxy/$DOMAIN/v1/chat/completions" >/dev/null 2>&1
check "a client's hang-up reaches the backend as one" t_until 10 backend_saw_hangup

if sdk_install; then
	# What a proxy can break: streams, aborts, typed errors, each wire
	# format's events; sdk-clients.sh runs every file against the agent.
	AGENT_URL=$PROXY_URL sdk_run_tests "through cubectl connect: " \
	    clients.test.mjs anthropic.test.mjs responses.test.mjs \
	    ollama-openai.test.mjs
else
	echo "# SKIP connect: the SDK tests through the proxy did NOT run ($SDK_WHY)"
fi

# --- the key changes: a man in the middle, then a restarted agent -------------

before=$(requests_seen)
echo "$MITM_PORT" >"$T_DIR/target"
r=$(proxied POST "/proxy/$DOMAIN/v1/chat/completions" "$CHAT")
check_eq "a new connection meets another key that fails: 502" 502 "$(status_of "$r")"
check_eq "... code attestation_failed" attestation_failed "$(body_of "$r" | json error.code)"
check_contains "... naming the failed check" "tls-key" "$(body_of "$r" | json error.message)"
check_eq "... nothing was forwarded" "$before" "$(requests_seen)"
check_contains "... and the proxy says so" "refusing the agent's TLS key" "$(cat "$T_DIR/proxy.err")"

echo "${HP##*:}" >"$T_DIR/target"
r=$(proxied POST "/proxy/$DOMAIN/v1/chat/completions" "$CHAT")
check_eq "back to the attested key: served again" 200 "$(status_of "$r")"

stop_agent
start_agent --tee sim --tls generate
HP=$(hostport)
NEW_SPKI=$(agent_spki)
check "the restarted agent has a new TLS key" [ "$NEW_SPKI" != "$SPKI" ]
echo "${HP##*:}" >"$T_DIR/target"
r=$(proxied POST "/proxy/$DOMAIN/v1/chat/completions" "$CHAT")
check_eq "a new key whose evidence verifies: served" 200 "$(status_of "$r")"
check_contains "... verified anew and pinned" "TLS key $NEW_SPKI pinned" "$(cat "$T_DIR/proxy.err")"

kill -TERM "$PROXY_PID"
check "SIGTERM stops the proxy" t_until 10 ended "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null
check_eq "... with status 0" 0 "$?"
check_not_contains "no sanitizer report from cubectl connect" "Sanitizer" "$(cat "$T_DIR/proxy.err")"
check_not_contains "no sanitizer report from the agent" "Sanitizer" "$(cat "$AGENT_LOG")"
t_done
