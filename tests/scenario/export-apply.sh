#!/usr/bin/env bash
# cubectl export and apply end to end: a domain exported from one agent
# and applied to another with an empty data directory exports the same
# bytes; apply is idempotent and says so; an invalid document changes
# nothing and exits 2; keys are referenced, sealed, judged by fingerprint
# and never written anywhere in the clear.
. "$(dirname "$0")/../lib.sh"

start_backend
start_agent
KEY_A="sk-exp-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY_B="sk-exp-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$KEY_A" >"$T_DIR/key"

# --- a domain on the first agent --------------------------------------------
ctl domain create acme >/dev/null
ctl domain edit acme --log-content on --trace-retention 7 \
    --cors-origin https://app.example.com --cors-origin http://localhost:5173 >/dev/null
ctl provider add -d acme local --driver openai --url "$BACKEND_URL/v1/" \
    --api-key-file "$T_DIR/key" --responses-api >/dev/null
# A provider held to an attest_policy: the policy travels in the document.
printf '{"version": 1, "allow_simulated": true}\n' >"$T_DIR/sim.json"
ctl provider add -d acme plain --driver ollama --url "$BACKEND_URL" \
    --attest-policy "$T_DIR/sim.json" >/dev/null
ctl guardrail create -d acme pii --kind pii --action redact --types email,card >/dev/null
ctl guardrail create -d acme words --kind keywords --action block \
    --words 'secret plan' --description 'no plans' >/dev/null
ctl model deploy -d acme --provider local --name Chat --model-id fake-chat \
    --price-input 0.15 --price-output 0.6 --price-cached 0.075 \
    --temperature 0.25 --max-tokens 64 --system-prompt 'Be brief.' \
    --tools --guard-in pii >/dev/null
ctl model deploy -d acme --provider plain --name Embed --key embed \
    --category embedding --model-id fake-embed --inactive \
    --description 'for search' >/dev/null
ctl token create -d acme --name ci --rpm 60 --budget 5 >/dev/null 2>&1

ctl export >"$T_DIR/a.json"
check "export exits 0" [ $? -eq 0 ]
ctl export >"$T_DIR/a2.json"
check "export is byte-for-byte reproducible" cmp -s "$T_DIR/a.json" "$T_DIR/a2.json"
ctl export -d acme >"$T_DIR/acme.json"
check "export -d gives the same for the only domain" cmp -s "$T_DIR/a.json" "$T_DIR/acme.json"
doc=$(cat "$T_DIR/a.json")
check_eq "document version" 1 "$(echo "$doc" | json cube_export)"
check_eq "domain settings" "acme true 7 https://app.example.com http://localhost:5173" \
    "$(echo "$doc" | python3 -c 'import json,sys; d=json.load(sys.stdin)["domains"][0]; print(d["name"], str(d["log_content"]).lower(), d["trace_retention_days"], *d["cors_origins"])')"
check_eq "provider without secrets" '{"name": "local", "driver": "openai", "url": "'"$BACKEND_URL"'/v1", "credential": "sealed", "responses_api": true, "attest_policy": null}' \
    "$(echo "$doc" | json domains.0.providers.0)"
check_eq "a provider's attest_policy is its policy document" \
    "$(cat "$T_DIR/sim.json")" "$(echo "$doc" | json domains.0.providers.1.attest_policy)"
check_eq "a provider without the Responses API says so" false \
    "$(echo "$doc" | json domains.0.providers.1.responses_api)"
check_eq "model with pricing and defaults" "0.15 0.6 0.075 0.25 64 Be brief. true pii" \
    "$(echo "$doc" | python3 -c 'import json,sys; m=json.load(sys.stdin)["domains"][0]["models"][0]; print(m["price_input"], m["price_output"], m["price_cached"], m["temperature"], m["max_tokens"], m["system_prompt"], str(m["tools"]).lower(), *m["guard_in"])')"
check_eq "token metadata" '{"name": "ci", "status": "active", "expires_at": null, "models": null, "rpm": 60, "tpm": null, "budget": "5", "budget_period": null}' \
    "$(echo "$doc" | json domains.0.tokens.0)"
check_not_contains "no ids in the export" '"id"' "$doc"
check_not_contains "no fingerprint in the export" fingerprint "$doc"
check_not_contains "the key is not in the export" "$KEY_A" "$doc"

# --- apply to itself: nothing to do -------------------------------------------
out=$(ctl apply -f "$T_DIR/a.json")
check "apply of the agent's own export exits 0" [ $? -eq 0 ]
check_contains "and changes nothing" "nothing to change" "$out"
check_contains "tokens are left alone, with a note" "unchanged  token      acme/ci  # tokens are not applied; create them with cubectl token create" "$out"

# --- into an agent with an empty data dir ------------------------------------
A_SOCK=$AGENT_SOCK A_DATA=$AGENT_DATA A_LOG=$AGENT_LOG
saved=$T_DIR
T_DIR=$saved/b
mkdir -p "$T_DIR"
start_agent
T_DIR=$saved
python3 - "$T_DIR/a.json" "$T_DIR/key" >"$T_DIR/in.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["domains"][0]["providers"][0]["api_key_file"] = sys.argv[2]
print(json.dumps(d, indent=1))
PY
out=$(ctl apply -f "$T_DIR/in.json")
check "apply into an empty agent exits 0" [ $? -eq 0 ]
check_eq "reports each object" "created    domain     acme
created    provider   acme/local
created    provider   acme/plain
created    guardrail  acme/pii
created    guardrail  acme/words
created    model      acme/chat
created    model      acme/embed
unchanged  token      acme/ci  # tokens are not applied; create them with cubectl token create
7 created, 0 changed, 1 unchanged" "$out"
ctl export >"$T_DIR/b.json"
strip_tokens() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for x in d["domains"]: x["tokens"] = []
print(json.dumps(d))' "$1"; }
check_eq "export again gives the same document (tokens aside)" \
    "$(strip_tokens "$T_DIR/a.json")" "$(strip_tokens "$T_DIR/b.json")"
check_eq "tokens were not created" "[]" "$(ctl -o json token list -d acme | tr -d ' \n\t')"
check_eq "the applied provider is held to the policy" true \
    "$(ctl -o json provider list -d acme | json 1.attest_policy)"

r=$(curl -sS -m 10 -X POST "$AGENT_URL/proxy/acme/v1/chat/completions" \
    -H "Authorization: Bearer $(ctl -o json token create -d acme --name t 2>/dev/null | json token)" \
    -H 'Content-Type: application/json' \
    --data '{"model":"chat","messages":[{"role":"user","content":"hi"}]}' -o /dev/null -w '%{http_code}')
check_eq "the applied model serves" 200 "$r"
check_eq "with the sealed key it was given" "Bearer $KEY_A" \
    "$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["authorization"])')"

out=$(ctl apply -f "$T_DIR/in.json")
check "second apply exits 0" [ $? -eq 0 ]
check_contains "second apply says nothing changes" "nothing to change" "$out"
check_not_contains "second apply creates nothing" created "$out"
js=$(ctl -o json apply -f "$T_DIR/in.json")
check_eq "-o json: action, kind, domain, name" \
    "unchanged provider acme local" \
    "$(echo "$js" | python3 -c 'import json,sys; a=json.load(sys.stdin)[1]; print(a["action"], a["kind"], a["domain"], a["name"])')"

# --- a new key makes the provider changed, once ------------------------------
printf '%s\n' "$KEY_B" >"$T_DIR/key"
out=$(ctl apply -f "$T_DIR/in.json")
check_contains "a new key file: provider changed" "changed    provider   acme/local" "$out"
check_contains "the rest unchanged" "0 created, 1 changed" "$out"
out=$(ctl apply -f "$T_DIR/in.json")
check_contains "and then unchanged" "nothing to change" "$out"
http POST /proxy/acme/v1/chat/completions "$(ctl -o json token create -d acme 2>/dev/null | json token)" \
    '{"model":"chat","messages":[{"role":"user","content":"hi"}]}' >/dev/null
check_eq "the new key is in use" "Bearer $KEY_B" \
    "$(backend_requests | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["authorization"])')"
export CUBE_TEST_KEY=$KEY_B
python3 - "$T_DIR/in.json" >"$T_DIR/env.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["domains"][0]["providers"][0]
del p["api_key_file"]
p["api_key_env"] = "CUBE_TEST_KEY"
print(json.dumps(d))
PY
out=$(ctl apply -f "$T_DIR/env.json")
check_contains "the same key from the environment: unchanged" "nothing to change" "$out"

# --- a changed field changes; one left out is left alone ----------------------
python3 - "$T_DIR/in.json" >"$T_DIR/edit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = d["domains"][0]["models"][0]
m["price_input"] = "0.150"
m["price_output"] = "0.7"
del m["temperature"]
print(json.dumps(d))
PY
out=$(ctl apply -f "$T_DIR/edit.json")
check_contains "a new price: model changed" "changed    model      acme/chat" "$out"
m=$(ctl -o json model show -d acme chat)
check_eq "price changed, temperature kept" "0.15 0.7 0.25" \
    "$(echo "$m" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["pricing"]["input"], m["pricing"]["output"], m["settings"]["temperature"])')"
out=$(ctl apply -f "$T_DIR/edit.json")
check_contains "equal money spelled otherwise is no change" "nothing to change" "$out"
ctl apply -f "$T_DIR/in.json" >/dev/null
edit_doc() {	# PYTHON: in.json with d changed by PYTHON, into edit.json
	python3 - "$T_DIR/in.json" "$1" >"$T_DIR/edit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(d))
PY
}
edit_doc 'd["domains"][0]["providers"][0]["responses_api"] = False'
out=$(ctl apply -f "$T_DIR/edit.json")
check_contains "responses_api turned off: provider changed" "changed    provider   acme/local" "$out"
check_eq "and off on the agent" false \
    "$(ctl -o json provider list -d acme | json 0.responses_api)"
ctl apply -f "$T_DIR/in.json" >/dev/null
check_eq "and on again" true \
    "$(ctl -o json provider list -d acme | json 0.responses_api)"

# --- an attest_policy: absent keeps it, null removes it, text sets it ---------
edit_doc 'del d["domains"][0]["providers"][1]["attest_policy"]'
out=$(ctl apply -f "$T_DIR/edit.json")
check_contains "a document without attest_policy (an older export) changes nothing" \
    "nothing to change" "$out"
edit_doc 'd["domains"][0]["providers"][1]["attest_policy"] = None'
out=$(ctl apply -f "$T_DIR/edit.json")
check_contains "attest_policy null: provider changed" "changed    provider   acme/plain" "$out"
check_eq "and the agent's provider has none" false \
    "$(ctl -o json provider list -d acme | json 1.attest_policy)"
out=$(ctl apply -f "$T_DIR/in.json")
check_contains "the policy again: provider changed" "changed    provider   acme/plain" "$out"
check_eq "and the agent's provider has it" "$(cat "$T_DIR/sim.json")" \
    "$(ctl -o json provider list -d acme | json 1.attest_policy_text)"

# --- invalid documents change nothing and exit 2 -----------------------------
ctl export >"$T_DIR/before.json"
invalid() {	# description, expected message, python edit of d
	python3 - "$T_DIR/in.json" "$3" >"$T_DIR/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(d))
PY
	out=$(ctl apply -f "$T_DIR/bad.json" 2>&1)
	check_eq "$1: exit 2" 2 "$?"
	check_contains "$1: names the path" "$2" "$out"
}
# Each also holds a valid change before the problem: it must not be made.
pre='d["domains"][0]["trace_retention_days"] = 9; d["domains"].insert(0, {"name": "zeta"}); '
invalid "unknown field" "domains[1].models[0].colour: unknown field of a model" \
    "$pre"'d["domains"][1]["models"][0]["colour"] = "red"'
invalid "wrong type" "domains[1].models[1].max_tokens: expected a number" \
    "$pre"'d["domains"][1]["models"][1]["max_tokens"] = "64"'
invalid "bad enum" "domains[1].providers[1].driver: 'tgi' is not one of" \
    "$pre"'d["domains"][1]["providers"][1]["driver"] = "tgi"'
# A model's deployments stand for provider and model_id: these take them out.
invalid "missing field" "domains[1].models[0]: missing \"model_id\"" \
    "$pre"'del d["domains"][1]["models"][0]["model_id"]; d["domains"][1]["models"][0].pop("deployments", None)'
invalid "unknown provider" "domains[1].models[1].provider: provider 'ghost' is neither in the document nor on the agent" \
    "$pre"'d["domains"][1]["models"][1]["provider"] = "ghost"; d["domains"][1]["models"][1].pop("deployments", None)'
invalid "unknown provider of a deployment" "domains[1].models[1].deployments[0].provider: provider 'ghost' is neither in the document nor on the agent" \
    "$pre"'d["domains"][1]["models"][1].pop("provider"); d["domains"][1]["models"][1].pop("model_id"); d["domains"][1]["models"][1]["deployments"] = [{"provider": "ghost", "model_id": "m"}]'
invalid "inline api_key" "domains[1].providers[1].api_key: keys are never put in a document" \
    "$pre"'d["domains"][1]["providers"][1]["api_key"] = "sk-inline"'
invalid "unreadable key file" "domains[1].providers[0].api_key_file: $T_DIR/nope" \
    "$pre"'d["domains"][1]["providers"][0]["api_key_file"] = "'"$T_DIR/nope"'"'
invalid "unset key variable" "domains[1].providers[0].api_key_env: \$CUBE_UNSET_KEY is not set" \
    "$pre"'del d["domains"][1]["providers"][0]["api_key_file"]; d["domains"][1]["providers"][0]["api_key_env"] = "CUBE_UNSET_KEY"'
printf '{"cube_export":1,"cube_export":1,"domains":[]}' >"$T_DIR/dup.json"
out=$(ctl apply -f "$T_DIR/dup.json" 2>&1)
check_eq "duplicate key: exit 2" "2 cubectl: $T_DIR/dup.json: cube_export: given twice" "$? $out"
out=$(echo '{"cube_export":1,' | ctl apply -f - 2>&1)
check_eq "not JSON, from stdin: exit 2" "2 cubectl: -: line 1, column 18: not valid JSON" "$? $out"
ctl export >"$T_DIR/after.json"
check "nothing changed by invalid documents" cmp -s "$T_DIR/before.json" "$T_DIR/after.json"

# --- provider edit -------------------------------------------------------------
out=$(ctl provider edit -d acme plain --url "$BACKEND_URL/")
check_contains "provider edit changes the URL" "url          $BACKEND_URL" "$out"
printf '%s\n' "$KEY_A" | ctl provider edit -d acme plain --api-key-stdin >/dev/null
check_eq "provider edit seals a key" sealed "$(ctl -o json provider list -d acme | json 1.credential)"
ctl provider edit -d acme plain --no-api-key >/dev/null
check_eq "provider edit removes it" none "$(ctl -o json provider list -d acme | json 1.credential)"
ctl provider edit -d acme plain >/dev/null 2>&1
check_eq "provider edit needs a change" 2 "$?"

# --- the key is nowhere in the clear ---------------------------------------------
for k in "$KEY_A" "$KEY_B"; do
	check_fails "key not in the first agent's data dir" grep -rqa -- "$k" "$A_DATA"
	check_fails "key not in the second agent's data dir" grep -rqa -- "$k" "$AGENT_DATA"
	check_fails "key not in the first agent's log" grep -qa -- "$k" "$A_LOG"
	check_fails "key not in the second agent's log" grep -qa -- "$k" "$AGENT_LOG"
done
t_done
