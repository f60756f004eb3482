#!/usr/bin/env bash
# Providers and models: the background health check marks a provider
# errored and back active, requests to its models fail fast with 502 while
# it is errored; provider models lists what a backend serves; model deploy
# runs pre-flight checks and names each that fails.
# serial: asserts a refused connection fails in under 1 s
. "$(dirname "$0")/../lib.sh"

cat >"$T_DIR/agent.conf" <<CONF
provider-check-interval = 1
CONF
start_backend
start_agent -c "$T_DIR/agent.conf"

# A second backend the test stops and starts again on the same port.
start_flaky() {	# [port]
	local pf="$T_DIR/flaky.port"
	rm -f "$pf"
	"$CUBE_BIN/fake-llm" --listen "127.0.0.1:${1:-0}" --port-file "$pf" \
	    >>"$T_DIR/flaky.log" 2>&1 &
	FLAKY_PID=$!
	T_PIDS+=("$FLAKY_PID")
	t_wait_file "$pf" 10 || { echo "fake-llm did not start"; cat "$T_DIR/flaky.log"; exit 1; }
	FLAKY_PORT=$(cat "$pf")
}
# wait_status PROVIDER STATUS SECONDS: poll provider list until it shows STATUS.
wait_status() {
	local i s
	for ((i = 0; i < $3 * 10; i++)); do
		s=$(ctl -o json provider list -d acme | python3 -c 'import json,sys
for p in json.load(sys.stdin):
    if p["name"] == sys.argv[1]: print(p["status"])' "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

start_flaky
ctl domain create acme >/dev/null
ctl provider add -d acme fake --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl provider add -d acme flaky --driver openai --url "http://127.0.0.1:$FLAKY_PORT/v1" >/dev/null
ctl model deploy -d acme --provider flaky --name Flaky --key flaky \
    --model-id fake-chat --price-input 1 >/dev/null
TOKEN=$(ctl -o json token create -d acme --name t | json token)
chat='{"model":"flaky","messages":[{"role":"user","content":"hi"}]}'

# --- health: errored, fast 502, recovery ---------------------------------------
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "the flaky backend answers while it is up" 200 "$(status_of "$r")"
kill -TERM "$FLAKY_PID"; t_wait_exit "$FLAKY_PID" 10
check "the background check marks the stopped backend errored" wait_status flaky errored 10
out=$(ctl -o json provider list -d acme)
check_contains "with the error text" "127.0.0.1" "$(printf '%s' "$out" | python3 -c 'import json,sys
print([p for p in json.load(sys.stdin) if p["name"]=="flaky"][0]["error"])')"
check_eq "the healthy provider stays active" active "$(printf '%s' "$out" | json 0.status)"
t0=$(date +%s%N)
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check_eq "a model of an errored provider gets 502" 502 "$(status_of "$r")"
check_contains "upstream_error" '"code":"upstream_error"' "$(body_of "$r")"
check_contains "saying the health checks fail" "health checks" "$(body_of "$r")"
echo "# 502 for an errored provider in $ms ms (connect timeout 5000 ms)"
check "and fast: $ms ms, well under the 5000 ms connect timeout" [ "$ms" -lt 1000 ]
# Failed health checks open the model's breaker (5 by default, 1 s apart);
# when the checks see the provider back, the breaker lets the next request
# through as its probe instead of waiting out the 30 s cooldown.
breaker_is() {	# STATE: Flaky's deployment shows STATE now
	[ "$(ctl -o json model show -d acme flaky | python3 -c 'import json,sys
print(json.load(sys.stdin)["deployments"][0]["breaker"])')" = "$1" ]
}
check "the failing health checks open the model's breaker" t_until 15 breaker_is open
start_flaky "$FLAKY_PORT"
check "the background check marks it active again" wait_status flaky active 10
check "and makes the breaker half-open, not waiting out its cooldown" t_until 5 breaker_is half_open
r=$(http POST /proxy/acme/v1/chat/completions "$TOKEN" "$chat")
check_eq "and its models answer again" 200 "$(status_of "$r")"
check_contains "the agent logged the change" "provider flaky (domain" "$(cat "$AGENT_LOG")"

# --- provider models ------------------------------------------------------------
out=$(ctl provider models -d acme fake)
check_eq "provider models (openai: /v1/models)" "MODEL fake-chat fake-embed" "$(echo $out)"
ctl provider add -d acme ol --driver ollama --url "$BACKEND_URL" >/dev/null
out=$(ctl -o json provider models -d acme ol)
check_eq "provider models (ollama: /api/tags)" '["fake-chat", "fake-embed"]' "$(printf '%s' "$out" | json models)"
out=$(ctl provider models -d acme nope 2>&1)
check_eq "provider models of an unknown provider exits 3" 3 "$?"

# --- model deploy pre-flight ------------------------------------------------------
ctl provider add -d acme gone --driver openai --url http://127.0.0.1:9/v1 >/dev/null
check "a provider nobody answers for is marked errored" wait_status gone errored 10
deploy() { ctl model deploy -d acme --name "$1" "${@:2}"; }
out=$(deploy "Not There" --provider ol --model-id no-such-model --price-input 1 2>&1)
check_eq "a model id the backend does not serve: exit 1" 1 "$?"
check_contains "naming the check" "pre-flight failed: model served: 'no-such-model' is not among the 2 models /api/tags lists" "$out"
check_eq "and nothing was stored" "" "$(ctl -o json model list -d acme | python3 -c 'import json,sys; print(*[m["key"] for m in json.load(sys.stdin) if m["key"]=="not-there"])')"
out=$(deploy Served --provider ol --model-id fake-chat --price-input 1 2>&1 >/dev/null)
check_eq "a model id in /api/tags deploys" 0 "$?"
check_eq "without a warning when it has a price" "" "$out"
out=$(deploy Latest --provider ol --model-id fake-chat:latest --price-input 1 2>&1)
check_eq "an ollama name with a tag it does not have is refused" 1 "$?"
out=$(deploy Gone --provider gone --model-id fake-chat --price-input 1 2>&1)
check_eq "a provider that is errored: exit 1" 1 "$?"
check_contains "naming the check and the error" "pre-flight failed: provider active: provider 'gone' is errored: " "$out"
out=$(deploy Again --key flaky --provider gone --model-id x --price-input 1 2>&1)
check_eq "two failed checks: exit 1" 1 "$?"
check_contains "both are named (provider)" "provider active: provider 'gone' is errored" "$out"
check_contains "both are named (key)" "key unique: model 'flaky' already exists in domain 'acme'" "$out"
out=$(deploy Again --key flaky --provider fake --model-id fake-chat --force 2>&1)
check_eq "--force does not skip the key check" 1 "$?"
check_contains "which it names" "key unique" "$out"
out=$(deploy Forced --provider ol --model-id no-such-model --force --price-input 1 2>&1)
check_eq "--force skips the backend check" 0 "$?"
out=$(deploy "Forced Gone" --provider gone --model-id x --force 2>&1)
check_eq "but not the provider check" 1 "$?"
check_contains "which it names" "provider active" "$out"
out=$(ctl model deploy -d acme --provider ol --name X 2>&1)
check_eq "a usage error still exits 2" 2 "$?"
out=$(ctl model deploy -d acme --provider ghost --name X --model-id x 2>&1)
check_eq "an unknown provider still exits 3" 3 "$?"

# Free models deploy with a warning.
out=$(deploy Free --provider fake --model-id fake-chat 2>"$T_DIR/stderr")
check_eq "a model without pricing deploys" 0 "$?"
check_contains "with a warning on stderr" "cubectl: warning: model 'free' has no pricing: its requests will be traced at zero cost" "$(cat "$T_DIR/stderr")"
check_contains "the model on stdout" "free" "$out"
out=$(ctl -o json model deploy -d acme --provider fake --name Free2 --model-id fake-chat 2>"$T_DIR/stderr")
check_eq "-o json: the warning in a warnings array" '["model '"'"'free2'"'"' has no pricing: its requests will be traced at zero cost"]' "$(printf '%s' "$out" | json warnings)"
check_eq "-o json: nothing on stderr" "" "$(cat "$T_DIR/stderr")"
out=$(ctl -o json model deploy -d acme --provider fake --name Option --model-id 'fake-chat;chunks=2' --price-output 1 2>&1)
check_eq "an id the list leaves out but GET /models/{id} knows deploys" option "$(printf '%s' "$out" | json key)"
check_eq "and a price on one side is pricing: no warning" "" "$(printf '%s' "$out" | json warnings)"

# model edit checks a new provider or model id the same way.
out=$(ctl model edit -d acme served --model-id nope 2>&1)
check_eq "model edit to an id the backend does not serve: exit 1" 1 "$?"
check_contains "naming the check" "model served" "$out"
out=$(ctl model edit -d acme served --model-id nope --force 2>&1)
check_eq "model edit --force" 0 "$?"
out=$(ctl model edit -d acme served --provider gone 2>&1)
check_eq "model edit onto an errored provider: exit 1" 1 "$?"
out=$(ctl model edit -d acme served --new-key flaky 2>&1)
check_eq "model edit to a key in use: exit 1" 1 "$?"
check_contains "naming the check" "key unique" "$out"
out=$(ctl model edit -d acme served --temperature 0.5 2>&1)
check_eq "an edit that moves nothing needs no backend" 0 "$?"

# --- audit --------------------------------------------------------------------------
KEY="sk-audit-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$KEY" >"$T_DIR/key"
ctl domain create audited >/dev/null
ctl domain edit audited --trace-retention 9 >/dev/null
ctl provider add -d audited p --driver openai --url "$BACKEND_URL/v1" --api-key-file "$T_DIR/key" >/dev/null
ctl provider edit -d audited p --no-api-key >/dev/null
ctl model deploy -d audited --provider p --name M --model-id fake-chat --price-input 0.5 >/dev/null
ctl model edit -d audited m --temperature 0.25 --price-input 0.75 >/dev/null
ctl model disable -d audited m >/dev/null
SECRET=$(ctl -o json token create -d audited --name ci | json token)
TOK_ID=$(ctl -o json token list -d audited | json 0.id)
ctl token revoke -d audited "$TOK_ID" >/dev/null
ctl model delete -d audited m >/dev/null
ctl provider delete -d audited p >/dev/null
ctl model deploy -d audited --provider nope --name Fails --model-id x >/dev/null 2>&1
me=$(id -un)
log=$(ctl -o json audit -d audited -n 1000)
rows=$(printf '%s' "$log" | python3 -c 'import json,sys
for e in json.load(sys.stdin): print(e["method"], e["target"], e["user"], e["uid"], e["summary"])')
echo "$rows" | sed 's/^/# /'
check_eq "one entry per write, oldest first; failed writes leave none" \
    "domain.create domain.edit provider.add provider.edit model.deploy model.edit model.disable token.create token.revoke model.delete provider.delete" \
    "$(printf '%s' "$log" | python3 -c 'import json,sys; print(*[e["method"] for e in json.load(sys.stdin)])')"
check_contains "who: the user name and uid" "domain.create domain/audited $me $(id -u) " "$rows"
check_contains "domain edit: the field, old -> new" "domain.edit domain/audited $me $(id -u) trace_retention_days: 30 -> 9" "$rows"
check_contains "provider add: the key as sealed with its fingerprint" "credential: null -> sealed (fingerprint " "$rows"
check_contains "provider edit: the key removed" "credential: sealed (fingerprint " "$rows"
check_contains "provider edit: says (removed)" " -> (removed)" "$rows"
check_contains "model edit: each field that changed" "model.edit model/m $me $(id -u) pricing.input: 0.5 -> 0.75; settings.temperature: null -> 0.25" "$rows"
check_contains "model disable" "model.disable model/m $me $(id -u) status: active -> inactive" "$rows"
check_contains "token revoke" "token.revoke token/$TOK_ID" "$rows"
check_contains "token create names the token by id" "token.create token/$TOK_ID" "$rows"
check_not_contains "the API key is never in the audit log" "$KEY" "$log"
check_not_contains "nor the token's secret" "$SECRET" "$log"
check_not_contains "nor anything of it" "${SECRET:5:20}" "$log"
check_not_contains "no other domain's entries" "acme" "$log"
check_contains "audit without -d shows every domain" "domain/acme" "$(ctl audit -n 1000)"
out=$(ctl audit -d audited -n 2)
check_eq "-n: the newest N, as a table" 3 "$(printf '%s\n' "$out" | wc -l)"
check_contains "with a header" "TIME" "$out"
check_contains "and the change" "provider.delete" "$out"
out=$(ctl audit -d nope 2>&1)
check_eq "audit of an unknown domain exits 3" 3 "$?"
out=$(ctl audit -n 0 2>&1)
check_eq "audit -n 0 is a usage error" 2 "$?"
check_not_contains "the database holds no key either" "$KEY" "$(strings "$AGENT_DATA"/cube.db* 2>/dev/null)"

t_done
