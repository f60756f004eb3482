#!/usr/bin/env bash
# An attested provider over https whose key no CA signed: agent B serves
# TLS with a key it generated (--tls generate) on a simulated TEE, and its
# evidence binds that key. Agent A verifies the evidence over that very
# connection (no CA to ask) and then sends the provider's requests only
# to that key, pinned, whether its domain requires attestation or not
# (secret, loose). A domain whose provider has no policy, on the same URL
# still asks the system's CAs, which do not know B's key: refused. When B
# comes back with another key, the pinned requests are refused at the
# handshake, B gets nothing, until a new check binds the new key. A
# policy with tls_ca asks a CA's word as well, which B's key lacks, of
# the agent and of cubectl attest and connect alike.
. "$(dirname "$0")/../lib.sh"

start_backend

# --- agent B: the provider, TLS with a generated key, a simulated TEE --------
B_DATA="$T_DIR/b-data"
start_agent_in "$B_DATA" --tee sim --tls generate
B_SOCK=$AGENT_SOCK
B_PID=$AGENT_PID
B_LOG="$T_DIR/b.log"
B_LISTEN=${AGENT_URL#http://}
B_URL="https://$B_LISTEN"
setup_domain tee chat fake-chat
printf '%s' "$TOKEN" >"$T_DIR/b-token"
b_spki() { "$CUBE_BIN/cubectl" -s "$B_SOCK" -o json attest | json tls_pubkey_sha256; }
B_SPKI=$(b_spki)
check "B's evidence binds a TLS key" [ -n "$B_SPKI" ]
check_fails "curl does not trust B's key (no CA signed it)" \
    curl -s -m 5 -o /dev/null "$B_URL/attestation"

# --- agent A: the gateway ----------------------------------------------------
T_DIR_A="$T_DIR/a"
mkdir -p "$T_DIR_A"
T_DIR=$T_DIR_A start_agent --tee none
A_LOG=$AGENT_LOG
echo '{"version": 1, "allow_simulated": true}' >"$T_DIR/sim.json"

ctl domain create secret --require-attested >/dev/null
ctl domain create loose >/dev/null
ctl domain create open >/dev/null
for d in secret loose open; do
	policy=()
	[ "$d" != open ] && policy=(--attest-policy "$T_DIR/sim.json")
	ctl provider add -d "$d" b --driver openai --url "$B_URL/proxy/tee/v1" \
	    --api-key-file "$T_DIR/b-token" "${policy[@]}" >/dev/null
done
SECRET_TOKEN=$(ctl -o json token create -d secret --name t | json token)
LOOSE_TOKEN=$(ctl -o json token create -d loose --name t | json token)
OPEN_TOKEN=$(ctl -o json token create -d open --name t | json token)
attested() { [ "$(ctl -o json provider list -d secret | json 0.attested)" = "$1" ]; }
chat() {	# TOKEN: status and body of one chat completion through A
	http POST /v1/chat/completions "$1" \
	    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
}

check "attested over https, B's key signed by no CA" t_until 20 attested true
loose_attested() { [ "$(ctl -o json provider list -d loose | json 0.attested)" = true ]; }
check "... in the domain that does not require it too" t_until 20 loose_attested
check_eq "... no attest_error" "" \
    "$(ctl -o json provider list -d secret | json 0.attest_error)"

# Model deploy's check goes to the attested key too; without a policy,
# the CA decides, and B's key fails it.
check "model deploy's check reaches the attested provider" \
    ctl model deploy -d secret --provider b --name Chat --key chat --model-id chat
out=$(ctl model deploy -d open --provider b --name Chat --key chat \
    --model-id chat 2>&1)
check_eq "without a policy: model deploy's check fails" 1 "$?"
check_contains "... on B's certificate" "certificate" "$out"
ctl model deploy -d open --provider b --name Chat --key chat \
    --model-id chat --force >/dev/null 2>&1

r=$(chat "$SECRET_TOKEN")
check_eq "the requiring domain is served over the pinned key" 200 "$(status_of "$r")"
check_contains "... by agent B's backend" "fake-llm" "$(body_of "$r")"
ctl model deploy -d loose --provider b --name Chat --key chat \
    --model-id chat >/dev/null
r=$(chat "$LOOSE_TOKEN")
check_eq "a domain that does not require it reaches its attested provider" \
    200 "$(status_of "$r")"
check_contains "... at the attested key too (no CA signed it)" "fake-llm" \
    "$(body_of "$r")"
# Right after a pinned request to the same host: the CA check still holds
# for a provider without a pin (no reused connection, no option left set).
r=$(chat "$OPEN_TOKEN")
check_eq "a domain without a policy: B's key fails the CA check, 502" 502 "$(status_of "$r")"
check_eq "... upstream_error" upstream_error "$(body_of "$r" | json error.code)"
check "A's log says why" t_until 10 grep -q "on b: SSL certificate problem" "$A_LOG"
check_eq "the pinned domain is served again after it" 200 \
    "$(status_of "$(chat "$SECRET_TOKEN")")"

# The provider's health check (provider test; the health thread runs the
# same probe) also goes to the attested key.
check "provider test passes, over the pinned key" ctl provider test -d secret b
out=$(ctl provider test -d open b 2>&1)
check_eq "... without a policy it fails" 1 "$?"
check_contains "... on B's certificate" "certificate" "$out"

# --- B comes back with another key: refused at the handshake ----------------
attested_at() { ctl -o json provider list -d secret | json 0.attested_at; }
BEFORE=$(attested_at)
kill -TERM "$B_PID"
check "agent B stops" t_wait_exit "$B_PID" 10
rm -f "$B_SOCK"
"$CUBE_BIN/cube-agent" --listen "$B_LISTEN" --data "$B_DATA" \
    --admin-socket "$B_SOCK" --tee sim --tls generate >"$B_LOG" 2>&1 &
B_PID=$!
T_PIDS+=("$B_PID")
check "agent B back on its port, the same data" t_wait_file "$B_SOCK" 20
NEW_SPKI=$(b_spki)
other_key() { [ -n "$NEW_SPKI" ] && [ "$NEW_SPKI" != "$B_SPKI" ]; }
check "... with another generated key" other_key

curl -sS -m 5 -X POST "$BACKEND_URL/_reset" >/dev/null
r=$(chat "$SECRET_TOKEN")
check_eq "a key that is not the pinned one: 502" 502 "$(status_of "$r")"
check_eq "... upstream_error" upstream_error "$(body_of "$r" | json error.code)"
check "A's log says why" t_until 10 grep -q \
    "on b: its TLS key is not the one its attestation bound" "$A_LOG"
check_eq "... and B's backend got nothing" "[]" \
    "$(curl -sS -m 5 "$BACKEND_URL/_requests" | tr -d ' \n')"

# The refusal itself has the provider attested anew (the interval is 300 s).
new_verdict() { a=$(attested_at); [ -n "$a" ] && [ "$a" != "$BEFORE" ]; }
check "the refused key starts a new check at once" t_until 20 new_verdict
check "... which binds the new key" t_until 20 attested true
check_eq "... served again" 200 "$(status_of "$(chat "$SECRET_TOKEN")")"
check_contains "... by B's backend" '"path":"/v1/chat/completions"' \
    "$(curl -sS -m 5 "$BACKEND_URL/_requests")"

# --- a policy that wants a CA's word as well (tls_ca): B's key has none -----
echo '{"version": 1, "allow_simulated": true, "tls_ca": true}' >"$T_DIR/tls-ca.json"
ctl provider edit -d secret b --attest-policy "$T_DIR/tls-ca.json" >/dev/null
why() { ctl -o json provider list -d secret | json 0.attest_error; }
ca_refused() { why | grep -q "certificate"; }
check "tls_ca: no CA signed B's key, so it is not attested" t_until 20 ca_refused
check_contains "... the reason is the fetch's" "/attestation: SSL certificate problem" "$(why)"
check_eq "... the requiring domain is refused" 503 "$(status_of "$(chat "$SECRET_TOKEN")")"
check_eq "the domain whose policy has no tls_ca is still served" 200 \
    "$(status_of "$(chat "$LOOSE_TOKEN")")"

# --- cubectl reads tls_ca the same way ----------------------------------------
check "cubectl attest --url, the policy without tls_ca: verified" \
    "$CUBE_BIN/cubectl" attest --url "$B_URL" --policy "$T_DIR/sim.json"
out=$("$CUBE_BIN/cubectl" attest --url "$B_URL" --policy "$T_DIR/tls-ca.json" 2>&1)
check_eq "... with tls_ca: failed (exit 1)" 1 "$?"
check_contains "... saying no CA vouches for B's certificate" \
    "the policy's tls_ca: no CA the system trusts vouches for its certificate" "$out"
# Bounded: a connect that wrongly listened would serve until stopped.
out=$(timeout 20 "$CUBE_BIN/cubectl" connect --url "$B_URL" \
    --policy "$T_DIR/tls-ca.json" --listen 127.0.0.1:0 2>&1 </dev/null)
check_eq "cubectl connect with tls_ca: exit 1, not listening" "1 1" \
    "$? $(printf '%s' "$out" | grep -c 'not listening')"
check_contains "... saying why" "the policy's tls_ca" "$out"

stop_agent
check_eq "agent A exits cleanly" 0 "$?"
check_not_contains "agent A: no sanitizer report" "Sanitizer" "$(cat "$A_LOG")"
check_not_contains "agent A: no UB" "runtime error" "$(cat "$A_LOG")"
kill -TERM "$B_PID"
t_wait_exit "$B_PID" 10
check_not_contains "agent B: no sanitizer report" "Sanitizer" \
    "$(cat "$T_DIR/agent.log" "$B_LOG")"

t_done
