#!/usr/bin/env bash
# Confidential routing with a real second agent as the provider: agent B
# runs on its simulated TEE (--tee sim) in front of fake-llm and serves
# GET /attestation; agent A's provider points at B's /proxy/DOMAIN/v1 with
# a token of B's, held to an attest_policy. A domain that requires
# attested providers is served only while B's evidence passes that
# policy, and is refused with attestation_required otherwise, while a
# domain that does not require it is served throughout. Changing the
# provider or its policy verifies it again.
. "$(dirname "$0")/../lib.sh"

start_backend

# --- agent B: the provider, on a simulated TEE ------------------------------
start_agent --tee sim
B_SOCK=$AGENT_SOCK
B_URL=$AGENT_URL
B_PID=$AGENT_PID
setup_domain tee chat fake-chat
B_TOKEN=$TOKEN
# Its measurement, for a policy that pins it.
B_MEAS=$(sha384sum "$CUBE_BIN/cube-agent" | cut -c1-96)

# --- agent A: the gateway ----------------------------------------------------
T_DIR_A="$T_DIR/a"
mkdir -p "$T_DIR_A"
METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
T_DIR=$T_DIR_A start_agent --tee none --metrics-listen "127.0.0.1:$METRICS_PORT"
check_fails "agent A is another agent" [ "$AGENT_SOCK" = "$B_SOCK" ]
A_LOG=$AGENT_LOG

printf '%s' "$B_TOKEN" >"$T_DIR/b-token"
echo '{"version": 1, "allow_simulated": true}' >"$T_DIR/sim.json"
echo '{"version": 1}' >"$T_DIR/real-only.json"
printf '{"version": 1, "allow_simulated": true, "measurement": ["%s"]}\n' \
    "$(printf '%096d' 0)" >"$T_DIR/other-measurement.json"
printf '{"version": 1, "allow_simulated": true, "measurement": ["%s"]}\n' \
    "$B_MEAS" >"$T_DIR/pinned.json"
echo '{"version": 1, "allow_simulated": "yes"}' >"$T_DIR/bad.json"

ctl domain create secret --require-attested >/dev/null
ctl domain create open >/dev/null
required() {	# DOMAIN: its require_attested, as domain list shows it
	ctl -o json domain list | python3 -c 'import json,sys
print(str([d for d in json.load(sys.stdin) if d["name"] == sys.argv[1]][0]["require_attested"]).lower())' "$1"
}
check_eq "domain create --require-attested" true "$(required secret)"
check_eq "... false by default" false "$(required open)"

out=$(ctl provider add -d secret b --driver openai --url "$B_URL/proxy/tee/v1" \
    --api-key-file "$T_DIR/b-token" --attest-policy "$T_DIR/bad.json" 2>&1)
check_eq "a malformed policy is refused" 2 "$?"
check_contains "... naming the parameter and the key" \
    "attest_policy: allow_simulated" "$out"

ctl provider add -d secret b --driver openai --url "$B_URL/proxy/tee/v1" \
    --api-key-file "$T_DIR/b-token" --attest-policy "$T_DIR/sim.json" >/dev/null
ctl model deploy -d secret --provider b --name Chat --key chat \
    --model-id chat >/dev/null
ctl provider add -d open b --driver openai --url "$B_URL/proxy/tee/v1" \
    --api-key-file "$T_DIR/b-token" >/dev/null
ctl model deploy -d open --provider b --name Chat --key chat \
    --model-id chat >/dev/null
SECRET_TOKEN=$(ctl -o json token create -d secret --name t | json token)
OPEN_TOKEN=$(ctl -o json token create -d open --name t | json token)

attested() { [ "$(ctl -o json provider list -d secret | json 0.attested)" = "$1" ]; }
chat() {	# TOKEN: status and body of one chat completion through A
	http POST /v1/chat/completions "$1" \
	    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'
}

# --- a policy that accepts simulated evidence: attested, served -------------
check "the provider is attested (simulated evidence allowed)" t_until 20 attested true
list=$(ctl -o json provider list -d secret)
check_eq "provider.list: attest_policy set" true "$(echo "$list" | json 0.attest_policy)"
check_eq "... no attest_error" "" "$(echo "$list" | json 0.attest_error)"
check "... attested_at given" [ -n "$(echo "$list" | json 0.attested_at)" ]
check_eq "a provider without a policy is not attested" "false " \
    "$(ctl -o json provider list -d open | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]; print(str(p["attested"]).lower(), p["attest_error"] or "")')"
r=$(chat "$SECRET_TOKEN")
check_eq "the requiring domain is served" 200 "$(status_of "$r")"
check_contains "... by agent B's backend" "fake-llm" "$(body_of "$r")"
r=$(chat "$OPEN_TOKEN")
check_eq "the other domain is served" 200 "$(status_of "$r")"
check_contains "the log says attested" "): attested" "$(cat "$A_LOG")"
metric() {	# DOMAIN: cube_provider_attested's value for provider b
	curl -sS -m 5 "http://127.0.0.1:$METRICS_PORT/metrics" |
	    sed -n "s/^cube_provider_attested{domain=\"$1\",provider=\"b\"} //p"
}
check_eq "cube_provider_attested 1 for the attested provider" 1 "$(metric secret)"
check_eq "... 0 for the one without a policy" 0 "$(metric open)"

# --- a policy that refuses simulated evidence: not attested, refused --------
ctl provider edit -d secret b --attest-policy "$T_DIR/real-only.json" >/dev/null
check "an edited policy is verified again: not attested" t_until 20 attested false
err=$(ctl -o json provider list -d secret | json 0.attest_error)
check_contains "... the reason names the failed checks" \
    "verification failed: chain, simulated (chain: " "$err"
r=$(chat "$SECRET_TOKEN")
check_eq "the requiring domain is refused with 503" 503 "$(status_of "$r")"
check_eq "... code attestation_required" attestation_required \
    "$(body_of "$r" | json error.code)"
check_eq "... type api_error" api_error "$(body_of "$r" | json error.type)"
check_eq "... the message says why" \
    "The domain requires an attested provider; provider 'b' is not attested (verification failed: chain, simulated)." \
    "$(body_of "$r" | json error.message)"
r=$(chat "$OPEN_TOKEN")
check_eq "the other domain is still served" 200 "$(status_of "$r")"
check_contains "the log says not attested" "): not attested: verification failed: chain, simulated" "$(cat "$A_LOG")"
check_eq "cube_provider_attested 0 now" 0 "$(metric secret)"

# --- a measurement the evidence does not have ---------------------------------
ctl provider edit -d secret b --attest-policy "$T_DIR/pinned.json" >/dev/null
check "the pinned measurement passes" t_until 20 attested true
check_eq "... served again" 200 "$(status_of "$(chat "$SECRET_TOKEN")")"
ctl provider edit -d secret b --attest-policy "$T_DIR/other-measurement.json" >/dev/null
check "another measurement: not attested" t_until 20 attested false
check_contains "... the reason names the measurement" "measurement" \
    "$(ctl -o json provider list -d secret | json 0.attest_error)"
check_eq "... refused" 503 "$(status_of "$(chat "$SECRET_TOKEN")")"

# --- the provider changes: verified again ------------------------------------
ctl provider edit -d secret b --attest-policy "$T_DIR/sim.json" >/dev/null
check "back to the accepting policy: attested" t_until 20 attested true
ctl provider edit -d secret b --url "http://127.0.0.1:1/proxy/tee/v1" >/dev/null
check "a new URL with no agent behind it: not attested" t_until 20 attested false
check_contains "... the reason names the fetch" "/attestation" \
    "$(ctl -o json provider list -d secret | json 0.attest_error)"
check_eq "... refused, not sent" 503 "$(status_of "$(chat "$SECRET_TOKEN")")"
ctl provider edit -d secret b --url "$B_URL/proxy/tee/v1" >/dev/null
check "the URL back: attested again" t_until 20 attested true

# --- the domain's switch ----------------------------------------------------
ctl provider edit -d secret b --no-attest-policy >/dev/null
check_eq "no policy: not attested" false \
    "$(ctl -o json provider list -d secret | json 0.attested)"
r=$(chat "$SECRET_TOKEN")
check_eq "no policy: refused" 503 "$(status_of "$r")"
check_eq "... saying there is no policy" \
    "The domain requires an attested provider; provider 'b' is not attested (it has no attest_policy)." \
    "$(body_of "$r" | json error.message)"
ctl domain edit secret --no-require-attested >/dev/null
check_eq "a domain that no longer requires it is served" 200 \
    "$(status_of "$(chat "$SECRET_TOKEN")")"
check_eq "domain edit turned it off" false \
    "$(required secret)"
ctl domain edit secret --require-attested >/dev/null
check_eq "and on: refused again" 503 "$(status_of "$(chat "$SECRET_TOKEN")")"

# --- agent B gone: fail closed --------------------------------------------------
ctl provider edit -d secret b --attest-policy "$T_DIR/sim.json" >/dev/null
check "attested before B stops" t_until 20 attested true
kill -TERM "$B_PID"
t_wait_exit "$B_PID" 10
ctl provider edit -d secret b --attest-policy "$T_DIR/pinned.json" >/dev/null
check "B stopped: not attested" t_until 20 attested false
check_eq "... refused" 503 "$(status_of "$(chat "$SECRET_TOKEN")")"

stop_agent
check_eq "agent A exits cleanly" 0 "$?"
check_not_contains "agent A: no sanitizer report" "Sanitizer" "$(cat "$A_LOG")"
check_not_contains "agent A: no UB" "runtime error" "$(cat "$A_LOG")"
check_not_contains "agent B: no sanitizer report" "Sanitizer" \
    "$(cat "$T_DIR/agent.log")"

t_done
