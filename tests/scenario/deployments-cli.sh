#!/usr/bin/env bash
# A model's deployments, fallbacks and retries from the operator's side,
# against the real agent and the fake backend: cubectl refuses a bad
# --deployment before the agent sees it; deploy with two deployments and a
# fallback; model show's table and provider list's BREAKERS-OPEN; export
# writes them without live state; apply of a changed file changes the
# list and sets fallbacks to a model the same file creates after it; the
# TUI's Configure tab shows them and its routing form adds a deployment
# and checks a bad line as cubectl does.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../tui-lib.sh"

start_backend
start_agent
setup_domain acme chat demo-model
ctl provider add -d acme fake2 --driver openai --url "$BACKEND_URL/v1" >/dev/null
ctl model deploy -d acme --provider fake --name small --key small \
    --model-id demo-small --price-input 1 --price-output 1 >/dev/null 2>&1

# --- cubectl's own checks: exit 2, the agent never asked ---------------------

# Against a socket nobody listens on: a call would exit 5 (unreachable).
usage() {	# description, expected message, cubectl args...
	local d=$1 want=$2 out rc
	shift 2
	out=$("$CUBE_BIN/cubectl" -s "$T_DIR/nobody.sock" "$@" 2>&1)
	rc=$?
	check_eq "$d: exit 2" 2 "$rc"
	check_contains "$d: says so" "$want" "$out"
}
usage "a deployment without model-id" "--deployment: missing model-id=" \
    model deploy -d acme --name x --deployment provider=fake
usage "an unknown key" "--deployment: unknown key 'zone' (valid: provider, model-id, weight, priority)" \
    model deploy -d acme --name x --deployment provider=fake,model-id=m,zone=eu
usage "a weight of 0" "--deployment weight: '0' is not an integer from 1 to 1000" \
    model deploy -d acme --name x --deployment provider=fake,model-id=m,weight=0
usage "an empty value" "--deployment: model-id= is empty" \
    model edit -d acme chat --deployment provider=fake,model-id=
usage "both forms" "--deployment and --provider cannot be used together" \
    model edit -d acme chat --provider fake --deployment provider=fake,model-id=m
usage "a deployment twice" "--deployment: provider fake, model id m given twice" \
    model edit -d acme chat --deployment provider=fake,model-id=m \
    --deployment model-id=m,provider=fake,weight=2
usage "retries past 5" "--retries: '6' is not an integer from 0 to 5" \
    model edit -d acme chat --retries 6
out=$("$CUBE_BIN/cubectl" -s "$T_DIR/nobody.sock" model edit -d acme chat \
    --deployment provider=fake,model-id=m --fallback small 2>&1)
check_eq "a good line does go to the agent (there is none: exit 5)" 5 $?
check_eq "chat kept its one deployment" "demo-model" \
    "$(ctl -o json model show -d acme chat | json model_id)"

# --- deploy with two deployments and a fallback ------------------------------

out=$(ctl model deploy -d acme --name "HA" --key ha \
    --deployment provider=fake,model-id=demo-a,weight=3 \
    --deployment provider=fake2,model-id=demo-b,priority=1 \
    --fallback small --retries 1 --retry-deadline-ms 5000 2>&1)
check_eq "deploy with two deployments exits 0" 0 $?
check_contains "deploy's answer lists them" "fake2     demo-b    1       1" "$out"
m=$(ctl -o json model show -d acme ha)
check_eq "two deployments, in order, weight and priority as given" \
    '[["fake", "demo-a", 3, 0], ["fake2", "demo-b", 1, 1]]' \
    "$(echo "$m" | python3 -c 'import json,sys
print(json.dumps([[d["provider"], d["model_id"], d["weight"], d["priority"]] for d in json.load(sys.stdin)["deployments"]]))')"
check_eq "provider is the first deployment's" fake "$(echo "$m" | json provider)"
check_eq "model_id is the first deployment's" demo-a "$(echo "$m" | json model_id)"
check_eq "the fallback" '["small"]' "$(echo "$m" | json fallbacks)"
check_eq "the retries" 1 "$(echo "$m" | json retries)"
check_eq "the deadline" 5000 "$(echo "$m" | json retry_deadline_ms)"
check_eq "a breaker per deployment, closed" "closed closed" \
    "$(echo "$m" | python3 -c 'import json,sys
print(" ".join(d["breaker"] for d in json.load(sys.stdin)["deployments"]))')"

out=$(ctl model show -d acme ha)
check_contains "model show: the fallbacks line" "fallbacks       small" "$out"
check_contains "model show: the deployments table" \
    "PROVIDER  MODEL-ID  WEIGHT  PRIORITY  BREAKER  OUTSTANDING  FAILURES" "$out"
check_contains "model show: the first row" \
    "fake      demo-a    3       0         closed   0            0" "$out"
out=$(ctl model list -d acme)
check_contains "model list: how many deployments" "DEPLOYMENTS" "$out"
check_contains "provider list: BREAKERS-OPEN" "BREAKERS-OPEN" \
    "$(ctl provider list -d acme)"
check_eq "no breaker open on fake2" 0 \
    "$(ctl -o json provider list -d acme | python3 -c 'import json,sys
print([p for p in json.load(sys.stdin) if p["name"] == "fake2"][0]["breakers_open"])')"

# --- export, then apply a changed file ---------------------------------------

ctl export -d acme >"$T_DIR/a.json"
check_eq "export writes the deployments, without live state" \
    '[{"provider": "fake", "model_id": "demo-a", "weight": 3, "priority": 0}, {"provider": "fake2", "model_id": "demo-b", "weight": 1, "priority": 1}] ["small"] 1 5000' \
    "$(python3 -c 'import json,sys
m=[m for m in json.load(open(sys.argv[1]))["domains"][0]["models"] if m["key"] == "ha"][0]
print(json.dumps(m["deployments"]), json.dumps(m["fallbacks"]), m["retries"], m["retry_deadline_ms"])' "$T_DIR/a.json")"
out=$(ctl apply -f "$T_DIR/a.json")
check_contains "its own export changes nothing" "nothing to change" "$out"

# ha's second deployment weighs 5; ha falls back to tiny (created by the
# same file, after ha) and then small; weight and priority left out of
# the first mean 1 and 0.
python3 - "$T_DIR/a.json" >"$T_DIR/b.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ms = d["domains"][0]["models"]
ha = [m for m in ms if m["key"] == "ha"][0]
del ha["provider"], ha["model_id"]
ha["deployments"] = [{"provider": "fake", "model_id": "demo-a"},
    {"provider": "fake2", "model_id": "demo-b", "weight": 5, "priority": 1}]
ha["fallbacks"] = ["tiny", "small"]
ms.append({"key": "tiny", "name": "tiny",
    "deployments": [{"provider": "fake2", "model_id": "demo-tiny"}]})
print(json.dumps(d, indent=1))
PY
out=$(ctl apply -f "$T_DIR/b.json" 2>&1)
check_eq "apply of the changed file exits 0" 0 $?
check_contains "the plan names what changed" \
    "changed    model      acme/ha  # deployments, fallbacks" "$out"
check_contains "the new model is created" "created    model      acme/tiny" "$out"
check_contains "counted once each" "1 created, 1 changed" "$out"
m=$(ctl -o json model show -d acme ha)
check_eq "the list as the file says" \
    '[["fake", "demo-a", 1, 0], ["fake2", "demo-b", 5, 1]]' \
    "$(echo "$m" | python3 -c 'import json,sys
print(json.dumps([[d["provider"], d["model_id"], d["weight"], d["priority"]] for d in json.load(sys.stdin)["deployments"]]))')"
check_eq "the fallbacks, in order, to a model made after it" \
    '["tiny", "small"]' "$(echo "$m" | json fallbacks)"
check_eq "tiny's one deployment" demo-tiny \
    "$(ctl -o json model show -d acme tiny | json model_id)"
js=$(ctl -o json apply -f "$T_DIR/b.json")
check_contains "applied again: nothing to change" unchanged "$js"
check_not_contains "... no model changed" '"changed"' "$js"

python3 - "$T_DIR/a.json" >"$T_DIR/c.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ha = [m for m in d["domains"][0]["models"] if m["key"] == "ha"][0]
ha["provider"] = "fake2"
print(json.dumps(d))
PY
out=$(ctl apply -f "$T_DIR/c.json" 2>&1)
check_eq "a provider that is not the first deployment's: exit 2" 2 $?
check_contains "... with its path" "domains[0].models[" "$out"
check_contains "... and why" "'fake2' is not the first deployment's 'fake'" "$out"

out=$(ctl model edit -d acme ha --no-fallbacks)
check_eq "--no-fallbacks clears them" "[]" \
    "$(ctl -o json model show -d acme ha | json fallbacks)"

# --- the TUI: Configure shows them, d edits them -----------------------------

command -v tmux >/dev/null || { echo "# SKIP tmux is not installed (the TUI part)"; t_done; }
export HOME="$T_DIR/home"
mkdir -p "$HOME"
tui_tmux deployments
start_tui dep -s "$AGENT_SOCK" local
expect "the TUI starts" "domain acme"
keys :
type_text "model ha"
keys Enter
expect ":model ha opens its page" "[1 Overview]"
keys 2
expect "Configure lists the deployments" "deployments (d edits"
expect "with the first one's breaker" "closed"
keys d
expect "d opens the routing form" "routing ha"
# (the cursor, "_", is on that field)
check_eq "the first line as --deployment takes it" \
    "provider=fake,model-id=demo-a,weight=1,priority=0_" "$(field 'deployment 1')"
# deployment 3 is the empty one: a new deployment there.
keys Down Down
type_text "provider=fake2,model-id=demo-c,weight=2"
keys Down Down Down Enter
expect "the routing is saved" "saved ha's routing"
check_eq "cubectl sees the third deployment" \
    '["fake2", "demo-c", 2, 0]' \
    "$(ctl -o json model show -d acme ha | python3 -c 'import json,sys
d=json.load(sys.stdin)["deployments"][2]; print(json.dumps([d["provider"], d["model_id"], d["weight"], d["priority"]]))')"

keys d
expect "d again" "routing ha"
keys C-u
type_text "provider=fake,model-id=demo-a,weight=0"
# three deployments, an empty line, fallbacks, retries, deadline: the last.
keys Down Down Down Down Down Down Enter
expect "a bad line: cubectl's parser says why" \
    "deployment 1 weight: '0' is not an integer from 1 to 1000"
check_eq "nothing was saved" 1 \
    "$(ctl -o json model show -d acme ha | json deployments.0.weight)"
keys Escape
expect_gone() { local i; for ((i = 0; i < 200; i++)); do screen | grep -qF -- "$2" || { ok "$1"; return; }; sleep 0.05; done; not_ok "$1" "$(screen)"; }
expect_gone "Esc closes the form" "routing ha"

t_done
